/**
 * Communication graphs G_t = (N, E_t) and consensus weight rules. Undirected graphs on agents
 * 0..N-1. Time-varying graphs are pure functions of (seed, t): every agent computes the same G_t
 * without talking.
 */
export interface Graph {
  readonly agentCount: number;
  /** Neighbours of `agent` in ascending order (never `agent` itself). */
  neighbours(agent: number): readonly number[];
  degree(agent: number): number;
  hasEdge(a: number, b: number): boolean;
  /** Number of undirected edges |E|. */
  readonly edgeCount: number;
}

export interface Topology {
  readonly agentCount: number;
  /** True when G_t changes with t. */
  readonly timeVarying: boolean;
  /** G_t: a pure function of the topology's seed and t. */
  graphAt(t: number): Graph;
}

/** Row i of the consensus matrix C_t: c(i,i) and c(i,j) for the agents j that i listens to. */
export interface ConsensusRow {
  readonly agent: number;
  readonly selfWeight: number;
  /** Ascending agent ids with positive weight (i itself excluded). */
  readonly neighbours: readonly number[];
  readonly weights: readonly number[];
  /**
   * Trimmed-mean consensus (0: plain weighted mixing). Per coordinate, up to `trim` neighbour
   * values above the own value and up to `trim` below are dropped (the most extreme), and the rest
   * are averaged with the own value, equal weights (W-MSR).
   */
  readonly trim: number;
}
