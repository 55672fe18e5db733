/**
 * Topologies: the communication graph G_t as a function of the step t. Static topologies return
 * one graph; random topologies redraw G_t every `redrawEvery` steps as a pure function of
 * (run seed, t), so all agents agree on G_t without exchanging anything (shared/DESIGN.md).
 */
import { streamSeed, StreamName } from '../core/rng.js';
import {
  completeGraph,
  emptyGraph,
  explicitGraph,
  gridGraph,
  lineGraph,
  RandomGraphSampler,
  ringGraph,
  starGraph,
  type Edge,
  type StaticGraph,
} from './graphs.js';
import type { Graph, Topology } from './types.js';

function checkStep(t: number): void {
  if (!Number.isSafeInteger(t) || t < 0) throw new Error(`topology: step t must be a non-negative integer, got ${t}`);
}

/** The same graph at every step. */
export class StaticTopology implements Topology {
  readonly timeVarying = false;
  readonly agentCount: number;

  constructor(readonly graph: Graph) {
    this.agentCount = graph.agentCount;
  }

  graphAt(t: number): Graph {
    checkStep(t);
    return this.graph;
  }
}

export interface RandomTopologyOptions {
  readonly agentCount: number;
  /** Connectivity ratio ρ = 2|E|/(N(N−1)) in (0, 1]; the paper uses 4/N. */
  readonly ratio: number;
  /** Redraw the graph every k ≥ 1 steps (default 1: a new graph every step, as in the paper). */
  readonly redrawEvery?: number;
  /** Every drawn graph connected (spanning tree first; see RandomGraphSampler). Default false. */
  readonly connected?: boolean;
  /**
   * The run seed. The graphs come from the run's 'graph' stream, seeded with
   * streamSeed(seed, StreamName.graph), so they are independent of every other random choice.
   */
  readonly seed: number;
}

/**
 * G_t = the random graph of epoch floor(t / redrawEvery): a pure function of (seed, t).
 *
 * Caching: in the simulator every agent asks for G_t with the same t, thousands of times per
 * second. The last two epochs' graphs are kept (two rather than one so that a caller alternating
 * between G_t and G_{t+1} does not rebuild on every call), and a graph's consensus rows are cached
 * per graph object in consensus.ts, so each epoch's graph and rows are built once.
 */
export class RandomTopology implements Topology {
  readonly timeVarying = true;
  readonly agentCount: number;
  readonly ratio: number;
  readonly redrawEvery: number;
  readonly connected: boolean;
  readonly seed: number;
  /** Edges every G_t has (see randomEdgeCount). */
  readonly edgeCount: number;
  private readonly sampler: RandomGraphSampler;
  private recentEpoch = -1;
  private recentGraph: StaticGraph | undefined;
  private previousEpoch = -1;
  private previousGraph: StaticGraph | undefined;

  constructor(options: RandomTopologyOptions) {
    const { agentCount, ratio, redrawEvery = 1, connected = false, seed } = options;
    if (!Number.isInteger(redrawEvery) || redrawEvery < 1) {
      throw new Error(`random topology: redrawEvery must be an integer ≥ 1, got ${redrawEvery}`);
    }
    if (!Number.isSafeInteger(seed)) throw new Error(`random topology: seed must be an integer, got ${seed}`);
    this.agentCount = agentCount;
    this.ratio = ratio;
    this.redrawEvery = redrawEvery;
    this.connected = connected;
    this.seed = seed;
    this.sampler = new RandomGraphSampler({
      agentCount,
      ratio,
      connected,
      graphSeed: streamSeed(seed, StreamName.graph),
    });
    this.edgeCount = this.sampler.edgeCount;
  }

  /** The epoch whose graph is G_t: floor(t / redrawEvery). */
  epochOf(t: number): number {
    return Math.floor(t / this.redrawEvery);
  }

  graphAt(t: number): Graph {
    checkStep(t);
    const epoch = Math.floor(t / this.redrawEvery);
    if (epoch === this.recentEpoch) return this.recentGraph!;
    if (epoch === this.previousEpoch) {
      // Swap so the most recently used epoch stays in the first slot.
      const graph = this.previousGraph!;
      this.previousEpoch = this.recentEpoch;
      this.previousGraph = this.recentGraph;
      this.recentEpoch = epoch;
      this.recentGraph = graph;
      return graph;
    }
    const graph = this.sampler.sample(epoch);
    this.previousEpoch = this.recentEpoch;
    this.previousGraph = this.recentGraph;
    this.recentEpoch = epoch;
    this.recentGraph = graph;
    return graph;
  }
}

// ---------------------------------------------------------------------------------------------
// Spec (topologies/*.json|yaml) → Topology

export type TopologyFamily = 'ring' | 'line' | 'star' | 'complete' | 'grid' | 'empty' | 'random' | 'explicit';

export const TOPOLOGY_FAMILIES: readonly TopologyFamily[] = [
  'ring',
  'line',
  'star',
  'complete',
  'grid',
  'empty',
  'random',
  'explicit',
];

/** A graph family and its parameters as written in a topology file. */
export interface TopologySpec {
  readonly family: TopologyFamily;
  /** grid only: rows and/or columns (rows × columns = N; neither: most square). */
  readonly rows?: number;
  readonly columns?: number;
  /** random only: connectivity ratio, a number or "c/N" (c divided by the agent count). */
  readonly ratio?: number | string;
  /** random only: redraw period in steps (default 1). */
  readonly redrawEvery?: number;
  /** random only: every drawn graph connected (default false). */
  readonly connected?: boolean;
  /** explicit only: undirected edges [a, b] on agent ids 0..N-1. */
  readonly edges?: readonly (readonly [number, number])[];
}

/** Which optional spec fields each family takes; any other of them is an error. */
const FAMILY_FIELDS: Record<TopologyFamily, readonly string[]> = {
  ring: [],
  line: [],
  star: [],
  complete: [],
  empty: [],
  grid: ['rows', 'columns'],
  random: ['ratio', 'redrawEvery', 'connected'],
  explicit: ['edges'],
};
const FAMILY_SPECIFIC_FIELDS = ['rows', 'columns', 'ratio', 'redrawEvery', 'connected', 'edges'] as const;

/**
 * Evaluates a connectivity ratio: a number, a numeric string, or "c/N" meaning c divided by the
 * agent count (the paper's 4/N). The result must lie in (0, 1].
 */
export function parseRatio(value: unknown, agentCount: number, field = 'topology.ratio'): number {
  let ratio: number;
  if (typeof value === 'number') {
    ratio = value;
  } else if (typeof value === 'string') {
    const perAgent = /^\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*\/\s*N\s*$/i.exec(value);
    const plain = /^\s*[0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?\s*$/i.test(value);
    if (perAgent) ratio = Number(perAgent[1]) / agentCount;
    else if (plain) ratio = Number(value);
    else throw new Error(`${field}: expected a number or "c/N" (e.g. "4/N"), got "${value}"`);
  } else {
    throw new Error(`${field}: expected a number or "c/N" (e.g. "4/N"), got ${JSON.stringify(value)}`);
  }
  if (!(ratio > 0 && ratio <= 1)) {
    throw new Error(`${field}: ${JSON.stringify(value)} gives ${ratio} for ${agentCount} agents, outside (0, 1]`);
  }
  return ratio;
}

function parseEdges(value: unknown, agentCount: number): Edge[] {
  if (!Array.isArray(value)) throw new Error(`topology.edges: expected an array of [a, b] pairs, got ${JSON.stringify(value)}`);
  return value.map((edge: unknown, index): Edge => {
    if (!Array.isArray(edge) || edge.length !== 2) {
      throw new Error(`topology.edges[${index}]: expected a pair [a, b], got ${JSON.stringify(edge)}`);
    }
    const [a, b] = edge as unknown[];
    for (const end of [a, b]) {
      if (typeof end !== 'number' || !Number.isInteger(end) || end < 0 || end >= agentCount) {
        throw new Error(`topology.edges[${index}]: agent id ${JSON.stringify(end)} is not an integer in 0..${agentCount - 1}`);
      }
    }
    if (a === b) throw new Error(`topology.edges[${index}]: self loop [${a}, ${b}] is not allowed`);
    return [a as number, b as number];
  });
}

function optionalPositiveInteger(spec: Record<string, unknown>, field: string): number | undefined {
  const value = spec[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new Error(`topology.${field}: expected a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Builds the topology a spec describes for `agentCount` agents; `seed` is the run seed (used only
 * by random topologies). Fields that do not belong to the family are errors, so a typo such as a
 * ratio on a ring does not pass silently; fields outside the topology's own (e.g. a consensus rule
 * or a name in the same file) are left to the caller.
 */
export function createTopology(spec: TopologySpec, agentCount: number, seed: number): Topology {
  if (!Number.isInteger(agentCount) || agentCount < 1) {
    throw new Error(`topology: agent count must be a positive integer, got ${agentCount}`);
  }
  if (spec === null || typeof spec !== 'object') throw new Error(`topology: expected an object, got ${JSON.stringify(spec)}`);
  const raw = spec as unknown as Record<string, unknown>;
  const family = raw.family;
  if (typeof family !== 'string' || !(TOPOLOGY_FAMILIES as readonly string[]).includes(family)) {
    throw new Error(`topology.family: expected one of ${TOPOLOGY_FAMILIES.join(', ')}, got ${JSON.stringify(family)}`);
  }
  const typedFamily = family as TopologyFamily;
  for (const field of FAMILY_SPECIFIC_FIELDS) {
    if (raw[field] !== undefined && !FAMILY_FIELDS[typedFamily].includes(field)) {
      throw new Error(`topology.${field}: not a parameter of family '${family}'`);
    }
  }
  switch (typedFamily) {
    case 'ring':
      return new StaticTopology(ringGraph(agentCount));
    case 'line':
      return new StaticTopology(lineGraph(agentCount));
    case 'star':
      return new StaticTopology(starGraph(agentCount));
    case 'complete':
      return new StaticTopology(completeGraph(agentCount));
    case 'empty':
      return new StaticTopology(emptyGraph(agentCount));
    case 'grid': {
      const rows = optionalPositiveInteger(raw, 'rows');
      const columns = optionalPositiveInteger(raw, 'columns');
      if ((rows !== undefined && agentCount % rows !== 0) || (columns !== undefined && agentCount % columns !== 0)) {
        const field = rows !== undefined && agentCount % rows !== 0 ? 'rows' : 'columns';
        throw new Error(`topology.${field}: ${raw[field]} does not divide the agent count ${agentCount}`);
      }
      if (rows !== undefined && columns !== undefined && rows * columns !== agentCount) {
        throw new Error(`topology.rows: rows × columns = ${rows} × ${columns} ≠ agent count ${agentCount}`);
      }
      return new StaticTopology(gridGraph(agentCount, { rows, columns }));
    }
    case 'explicit': {
      if (raw.edges === undefined) throw new Error(`topology.edges: required for family 'explicit'`);
      return new StaticTopology(explicitGraph(agentCount, parseEdges(raw.edges, agentCount)));
    }
    case 'random': {
      if (raw.ratio === undefined) throw new Error(`topology.ratio: required for family 'random' (e.g. "4/N")`);
      const ratio = parseRatio(raw.ratio, agentCount);
      const redrawEvery = optionalPositiveInteger(raw, 'redrawEvery') ?? 1;
      const connected = raw.connected ?? false;
      if (typeof connected !== 'boolean') {
        throw new Error(`topology.connected: expected true or false, got ${JSON.stringify(connected)}`);
      }
      if (!Number.isSafeInteger(seed)) throw new Error(`topology: seed must be an integer, got ${seed}`);
      return new RandomTopology({ agentCount, ratio, redrawEvery, connected, seed });
    }
  }
}
