/**
 * Records an agent writes. Learning metrics are deterministic for a seed (same seed, same bytes in
 * every mode); runtime stats are not (clocks, message counts) and go to a separate file.
 */

/** One line of `agent-<i>.metrics.jsonl`, written every `metricsEvery` iterations. */
export interface LearningRecord {
  /** Iterations completed (t + 1 after iteration t). */
  readonly step: number;
  /** μ^i: the agent's estimate of the (team, Alg. 2) average reward. */
  readonly mu: number;
  /** Mean of the agent's own rewards r^i over the window since the last record. The globally
   *  averaged return (what J(θ) measures) is the mean of this over agents, taken by the report. */
  readonly meanReward: number;
  /** Mean |δ^i_t| over the window. */
  readonly tdError: number;
  /** ||critic parameters||_2 after consensus. */
  readonly criticNorm: number;
  /** ||own critic share − mean of the neighbours' shares||_2 at the last iteration (0 with no neighbours). */
  readonly consensusDistance: number;
}

/** One line of `agent-<i>.runtime.jsonl`: varies run to run. */
export interface RuntimeRecord {
  readonly step: number;
  /** Wall-clock milliseconds per iteration over the window. */
  readonly msPerStep: number;
  readonly messagesIn: number;
  readonly messagesOut: number;
  readonly rejected: number;
  readonly lateShares: number;
}
