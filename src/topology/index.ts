/** The topology layer: communication graphs, time-varying topologies and consensus weights. */
export type { ConsensusRow, Graph, Topology } from './types.js';
export * from './graphs.js';
export * from './topology.js';
export * from './consensus.js';
