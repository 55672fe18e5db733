/**
 * Exact evaluation of finite MDPs with enumerable joint actions: the ground truth that learning
 * curves and learned critics are judged against.
 *
 * - J(θ) = Σ_s d_π(s) Σ_a π(a|s) r̄(s,a), the globally averaged long-run reward of
 *   shared/ALGORITHMS.md ("Setting"), r̄ = (1/N) Σ_i R^i, for a factored policy
 *   π(a|s) = Π_i π^i(a^i|s), with d_π the stationary distribution of the induced chain P_π.
 * - J* = max over all joint (centralized, deterministic, stationary) policies, by relative value
 *   iteration: the benchmark of the paper's claim that the networked algorithms approach the
 *   centralized optimum.
 * - The differential values V_π, Q_π (average-reward Bellman equations), normalised so that
 *   Σ_s d_π(s) V_π(s) = 0: what a converged critic of Algorithm 1 or 2 matches up to a constant.
 *
 * Everything assumes the policy's chain is unichain (one recurrent class), as the paper's random
 * MDPs (all transition probabilities positive) are; a multichain policy is reported as an error.
 */
import { assertIndexable } from './joint.js';
import type { FiniteMdp } from './types.js';

/**
 * A factored policy: per agent, per state, the distribution over that agent's actions, either as
 * a function or as a nested [agent][state][action] array.
 */
export type FactoredPolicy =
  | ((agent: number, state: number) => ArrayLike<number>)
  | ArrayLike<ArrayLike<ArrayLike<number>>>;

/** Which reward a value is of: the team average r̄ = (1/N) Σ_i R^i, or agent i's own R^i. */
export type RewardChoice = 'team' | { readonly agent: number };

/** Tolerance on Σ_b π^i(b|s) = 1 (learners keep float32 probabilities, hence not 1e-12). */
const POLICY_SUM_TOLERANCE = 1e-5;
/** A pivot below this means the linear system is singular: the chain is not unichain. */
const SINGULAR_PIVOT = 1e-12;

/** FiniteMdp optionally offering all agents' mean rewards in one call (one joint decode). */
interface WithMeanRewards {
  meanRewards?(state: number, jointIndex: number, out: Float64Array): void;
}

export interface ChainEvaluation {
  /** J(θ) for the chosen reward. */
  readonly averageReward: number;
  /** d_π(s). */
  readonly stationary: Float64Array;
  /** P_π(s'|s) at s · S + s'. */
  readonly chain: Float64Array;
  /** r_π(s) = Σ_a π(a|s) r(s,a). */
  readonly stateReward: Float64Array;
}

export interface DifferentialV extends ChainEvaluation {
  /** V_π(s), with Σ_s d(s) V(s) = 0. */
  readonly values: Float64Array;
}

export interface DifferentialQ extends DifferentialV {
  readonly jointActionCount: number;
  /** Q_π(s, a) at s · jointActionCount + a, with Σ_s d(s) Σ_a π(a|s) Q(s,a) = 0. */
  readonly q: Float64Array;
  /** Q_π(s, a) of a state and joint index. */
  at(state: number, jointIndex: number): number;
}

export interface OptimalAverageReward {
  /** J*, the midpoint of the final bounds. */
  readonly averageReward: number;
  /** Bounds lower ≤ J* ≤ upper from the last iteration (upper − lower ≤ tolerance). */
  readonly lower: number;
  readonly upper: number;
  /** An optimal deterministic joint policy: the joint index chosen in each state. */
  readonly policy: Int32Array;
  /** The relative values h of the aperiodicity-transformed MDP (h(reference) = 0). */
  readonly bias: Float64Array;
  readonly iterations: number;
}

export interface OptimalOptions {
  /** Stop when span(Th − h) ≤ tolerance (default 1e-10). */
  readonly tolerance?: number;
  /** Give up (with an error) after this many iterations (default 1e6). */
  readonly maxIterations?: number;
  /** Aperiodicity transform P̃ = τP + (1−τ)I (default 0.5; 1 disables it). */
  readonly tau?: number;
  /** Refuse MDPs whose S·|A|·S table exceeds this many entries (default 2^24). */
  readonly maxTableEntries?: number;
}

// ---- policies ----

/** Per-agent, per-state action distributions in one flat table (validated, normalised). */
interface PolicyTable {
  /** π^i(b|s) at (i · S + s) · maxA + b. */
  readonly probs: Float64Array;
  readonly maxActions: number;
}

function policyTable(mdp: FiniteMdp, policy: FactoredPolicy): PolicyTable {
  const N = mdp.agentCount;
  const S = mdp.stateCount;
  const maxActions = Math.max(...mdp.actionCounts);
  const probs = new Float64Array(N * S * maxActions);
  for (let i = 0; i < N; i++) {
    const perState = typeof policy === 'function' ? null : policy[i];
    if (perState !== null && (perState === undefined || perState.length !== S)) {
      throw new Error(`policy[${i}]: expected ${S} state distributions, got ${perState?.length}`);
    }
    for (let s = 0; s < S; s++) {
      const dist = perState === null ? (policy as (agent: number, state: number) => ArrayLike<number>)(i, s) : perState[s];
      const n = mdp.actionCounts[i];
      if (dist === undefined || dist.length !== n) {
        throw new Error(`policy of agent ${i} in state ${s}: expected ${n} probabilities, got ${dist?.length}`);
      }
      let sum = 0;
      for (let b = 0; b < n; b++) {
        const p = dist[b];
        if (!Number.isFinite(p) || p < 0) throw new Error(`policy of agent ${i} in state ${s}: probability ${p} of action ${b}`);
        sum += p;
      }
      if (Math.abs(sum - 1) > POLICY_SUM_TOLERANCE) {
        throw new Error(`policy of agent ${i} in state ${s}: probabilities sum to ${sum}, expected 1`);
      }
      for (let b = 0; b < n; b++) probs[(i * S + s) * maxActions + b] = dist[b] / sum;
    }
  }
  return { probs, maxActions };
}

/** The uniform random policy: every agent picks each of its actions with equal probability. */
export function uniformPolicy(mdp: FiniteMdp): Float64Array[][] {
  return mdp.actionCounts.map((n) => Array.from({ length: mdp.stateCount }, () => new Float64Array(n).fill(1 / n)));
}

/**
 * Calls visit(jointIndex, probability) for every joint action with π(a|s) > 0, pruning whole
 * subtrees where an agent's action has probability 0 (a deterministic policy visits one).
 */
function forEachJointAction(
  mdp: FiniteMdp,
  table: PolicyTable,
  state: number,
  visit: (jointIndex: number, probability: number) => void,
): void {
  const N = mdp.agentCount;
  const S = mdp.stateCount;
  const counts = mdp.actionCounts;
  const strides = new Array<number>(N);
  let stride = 1;
  for (let i = 0; i < N; i++) {
    strides[i] = stride;
    stride *= counts[i];
  }
  const { probs, maxActions } = table;
  // Depth-first from the most significant agent down to agent 0.
  const recurse = (agent: number, index: number, probability: number): void => {
    if (agent < 0) {
      visit(index, probability);
      return;
    }
    const offset = (agent * S + state) * maxActions;
    for (let b = 0; b < counts[agent]; b++) {
      const p = probs[offset + b];
      if (p > 0) recurse(agent - 1, index + b * strides[agent], probability * p);
    }
  };
  recurse(N - 1, 0, 1);
}

/** r(s, a) for the chosen reward. */
function rewardReader(mdp: FiniteMdp, reward: RewardChoice): (state: number, jointIndex: number) => number {
  if (reward === 'team') {
    const N = mdp.agentCount;
    const withAll = mdp as FiniteMdp & WithMeanRewards;
    if (typeof withAll.meanRewards === 'function') {
      const all = new Float64Array(N);
      return (state, jointIndex) => {
        withAll.meanRewards!(state, jointIndex, all);
        let sum = 0;
        for (let i = 0; i < N; i++) sum += all[i];
        return sum / N;
      };
    }
    return (state, jointIndex) => {
      let sum = 0;
      for (let i = 0; i < N; i++) sum += mdp.meanReward(state, jointIndex, i);
      return sum / N;
    };
  }
  const agent = reward.agent;
  if (!Number.isInteger(agent) || agent < 0 || agent >= mdp.agentCount) {
    throw new Error(`reward choice: agent ${agent} is not in [0, ${mdp.agentCount})`);
  }
  return (state, jointIndex) => mdp.meanReward(state, jointIndex, agent);
}

// ---- linear algebra ----

/**
 * Solves M x = b in place by Gaussian elimination with partial pivoting (M row-major n×n; both
 * overwritten; the solution is left in b). Throws `singular` when a pivot vanishes.
 */
function solveInPlace(M: Float64Array, b: Float64Array, n: number, singular: string): void {
  for (let col = 0; col < n; col++) {
    let pivot = col;
    let best = Math.abs(M[col * n + col]);
    for (let row = col + 1; row < n; row++) {
      const v = Math.abs(M[row * n + col]);
      if (v > best) {
        best = v;
        pivot = row;
      }
    }
    if (best < SINGULAR_PIVOT) throw new Error(singular);
    if (pivot !== col) {
      for (let k = 0; k < n; k++) {
        const tmp = M[col * n + k];
        M[col * n + k] = M[pivot * n + k];
        M[pivot * n + k] = tmp;
      }
      const tmp = b[col];
      b[col] = b[pivot];
      b[pivot] = tmp;
    }
    const diagonal = M[col * n + col];
    for (let row = col + 1; row < n; row++) {
      const factor = M[row * n + col] / diagonal;
      if (factor === 0) continue;
      for (let k = col; k < n; k++) M[row * n + k] -= factor * M[col * n + k];
      b[row] -= factor * b[col];
    }
  }
  for (let row = n - 1; row >= 0; row--) {
    let sum = b[row];
    for (let k = row + 1; k < n; k++) sum -= M[row * n + k] * b[k];
    b[row] = sum / M[row * n + row];
  }
}

/**
 * The stationary distribution d of a row-stochastic S×S chain: (P^T − I) d = 0 with one equation
 * replaced by Σ d = 1, which is nonsingular exactly when the chain has one recurrent class.
 */
export function stationaryDistribution(chain: Float64Array, stateCount: number): Float64Array {
  const S = stateCount;
  if (chain.length !== S * S) throw new Error(`stationaryDistribution: chain has ${chain.length} entries, expected ${S * S}`);
  const M = new Float64Array(S * S);
  for (let row = 0; row < S; row++) {
    for (let col = 0; col < S; col++) M[row * S + col] = chain[col * S + row] - (row === col ? 1 : 0);
  }
  for (let col = 0; col < S; col++) M[(S - 1) * S + col] = 1;
  const d = new Float64Array(S);
  d[S - 1] = 1;
  solveInPlace(M, d, S, 'stationary distribution: the chain has more than one recurrent class (not unichain)');
  // Round-off can leave entries like −1e-17: clamp and renormalise.
  let sum = 0;
  for (let s = 0; s < S; s++) {
    if (d[s] < 0) d[s] = 0;
    sum += d[s];
  }
  for (let s = 0; s < S; s++) d[s] /= sum;
  return d;
}

// ---- policy evaluation ----

function evaluateTable(mdp: FiniteMdp, table: PolicyTable, reward: RewardChoice): ChainEvaluation {
  assertIndexable(mdp.jointActionCount, 'exact evaluation');
  const S = mdp.stateCount;
  const chain = new Float64Array(S * S);
  const stateReward = new Float64Array(S);
  const row = new Float64Array(S);
  const rewardOf = rewardReader(mdp, reward);
  for (let s = 0; s < S; s++) {
    const base = s * S;
    let r = 0;
    forEachJointAction(mdp, table, s, (a, p) => {
      mdp.transitionRow(s, a, row);
      for (let next = 0; next < S; next++) chain[base + next] += p * row[next];
      r += p * rewardOf(s, a);
    });
    stateReward[s] = r;
  }
  const stationary = stationaryDistribution(chain, S);
  let averageReward = 0;
  for (let s = 0; s < S; s++) averageReward += stationary[s] * stateReward[s];
  return { averageReward, stationary, chain, stateReward };
}

/** P_π, d_π, r_π and J(θ) of a factored policy (reward: team average unless told). */
export function evaluatePolicy(mdp: FiniteMdp, policy: FactoredPolicy, reward: RewardChoice = 'team'): ChainEvaluation {
  return evaluateTable(mdp, policyTable(mdp, policy), reward);
}

/** J(θ) = Σ_s d_π(s) Σ_a π(a|s) (1/N) Σ_i R^i(s,a). */
export function averageReward(mdp: FiniteMdp, policy: FactoredPolicy, reward: RewardChoice = 'team'): number {
  return evaluatePolicy(mdp, policy, reward).averageReward;
}

/** J of the uniform random joint policy. */
export function uniformAverageReward(mdp: FiniteMdp, reward: RewardChoice = 'team'): number {
  return averageReward(mdp, uniformPolicy(mdp), reward);
}

/** V from an evaluated chain: (I − P_π + 1 d^T) V = r_π − J·1, whence d^T V = 0. */
function valuesOf(evaluation: ChainEvaluation, S: number): Float64Array {
  const { chain, stationary, stateReward, averageReward: J } = evaluation;
  // d^T (I − P + 1 d^T) = d^T, so d^T V = d^T (r − J) = 0 and (I − P) V = r − J: the
  // normalised solution of the Poisson equation in one nonsingular solve (unichain).
  const M = new Float64Array(S * S);
  for (let row = 0; row < S; row++) {
    for (let col = 0; col < S; col++) {
      M[row * S + col] = (row === col ? 1 : 0) - chain[row * S + col] + stationary[col];
    }
  }
  const values = new Float64Array(S);
  for (let s = 0; s < S; s++) values[s] = stateReward[s] - J;
  solveInPlace(M, values, S, 'differential values: the policy chain is not unichain');
  return values;
}

/**
 * The differential state value V_π(s): V(s) = r_π(s) − J + Σ_s' P_π(s'|s) V(s'),
 * normalised so that Σ_s d_π(s) V(s) = 0.
 */
export function differentialV(mdp: FiniteMdp, policy: FactoredPolicy, reward: RewardChoice = 'team'): DifferentialV {
  const evaluation = evaluatePolicy(mdp, policy, reward);
  return { ...evaluation, values: valuesOf(evaluation, mdp.stateCount) };
}

/**
 * The differential action value Q_π(s,a) = r(s,a) − J + Σ_s' P(s'|s,a) V_π(s') for every state
 * and joint action, where V_π(s') = Σ_a' π(a'|s') Q_π(s',a'); normalised so that
 * Σ_s d(s) Σ_a π(a|s) Q(s,a) = Σ_s d(s) V(s) = 0.
 */
export function differentialQ(mdp: FiniteMdp, policy: FactoredPolicy, reward: RewardChoice = 'team'): DifferentialQ {
  const v = differentialV(mdp, policy, reward);
  const S = mdp.stateCount;
  const A = mdp.jointActionCount;
  const q = new Float64Array(S * A);
  const row = new Float64Array(S);
  const rewardOf = rewardReader(mdp, reward);
  for (let s = 0; s < S; s++) {
    for (let a = 0; a < A; a++) {
      mdp.transitionRow(s, a, row);
      let expected = 0;
      for (let next = 0; next < S; next++) expected += row[next] * v.values[next];
      q[s * A + a] = rewardOf(s, a) - v.averageReward + expected;
    }
  }
  return {
    ...v,
    jointActionCount: A,
    q,
    at: (state, jointIndex) => q[state * A + jointIndex],
  };
}

// ---- the optimum ----

/**
 * J* over all joint deterministic stationary policies, by relative value iteration on the team
 * average reward r̄ = (1/N) Σ_i R^i, with the aperiodicity transform P̃ = τP + (1−τ)I: it keeps
 * every policy's stationary distribution (d P̃ = d), hence every gain and J*, and makes RVI
 * converge on periodic chains too. Stops when span(T h − h) ≤ tolerance, where
 * min(T h − h) ≤ J* ≤ max(T h − h).
 */
export function solveOptimalAverageReward(mdp: FiniteMdp, options: OptimalOptions = {}): OptimalAverageReward {
  const tolerance = options.tolerance ?? 1e-10;
  const maxIterations = options.maxIterations ?? 1_000_000;
  const tau = options.tau ?? 0.5;
  const maxTableEntries = options.maxTableEntries ?? 2 ** 24;
  if (!(tau > 0 && tau <= 1)) throw new Error(`optimalAverageReward: tau must be in (0, 1], got ${tau}`);
  assertIndexable(mdp.jointActionCount, 'optimalAverageReward');
  const S = mdp.stateCount;
  const A = mdp.jointActionCount;
  if (S * A * S > maxTableEntries) {
    throw new Error(
      `optimalAverageReward: the S·|A|·S transition table has ${S * A * S} entries, more than the limit ` +
        `${maxTableEntries}; exact J* is for small MDPs`,
    );
  }
  const P = new Float64Array(S * A * S);
  const r = new Float64Array(S * A);
  const rewardOf = rewardReader(mdp, 'team');
  const row = new Float64Array(S);
  for (let s = 0; s < S; s++) {
    for (let a = 0; a < A; a++) {
      mdp.transitionRow(s, a, row);
      P.set(row, (s * A + a) * S);
      r[s * A + a] = rewardOf(s, a);
    }
  }
  let h = new Float64Array(S);
  let next = new Float64Array(S);
  const policy = new Int32Array(S);
  for (let iteration = 1; iteration <= maxIterations; iteration++) {
    let lower = Infinity;
    let upper = -Infinity;
    for (let s = 0; s < S; s++) {
      let best = -Infinity;
      let bestAction = 0;
      for (let a = 0; a < A; a++) {
        const base = (s * A + a) * S;
        let expected = 0;
        for (let k = 0; k < S; k++) expected += P[base + k] * h[k];
        const value = r[s * A + a] + tau * expected + (1 - tau) * h[s];
        if (value > best) {
          best = value;
          bestAction = a;
        }
      }
      next[s] = best;
      policy[s] = bestAction;
      const gain = best - h[s];
      if (gain < lower) lower = gain;
      if (gain > upper) upper = gain;
    }
    // Relative step: keep h(0) = 0 so h stays bounded.
    const reference = next[0];
    for (let s = 0; s < S; s++) next[s] -= reference;
    const swap = h;
    h = next;
    next = swap;
    if (upper - lower <= tolerance) {
      return { averageReward: (lower + upper) / 2, lower, upper, policy, bias: h, iterations: iteration };
    }
  }
  throw new Error(
    `optimalAverageReward: relative value iteration did not reach span ${tolerance} in ${maxIterations} iterations ` +
      '(is the MDP multichain?)',
  );
}

/** J*: the best globally averaged reward of any joint policy (see solveOptimalAverageReward). */
export function optimalAverageReward(mdp: FiniteMdp, options: OptimalOptions = {}): number {
  return solveOptimalAverageReward(mdp, options).averageReward;
}
