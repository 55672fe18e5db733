/**
 * What every learner (Algorithm 1, Algorithm 2, and their baselines) offers the Agent. A learner
 * is one agent's actor-critic: it does math only. The Agent feeds it transitions, sends the share
 * it returns, and hands it the neighbours' shares for consensus; the transport decides nothing.
 */
import type { JointAction } from '../env/types.js';
import type { Approximator, ModelSpec } from '../model/types.js';
import type { SavedStream } from '../core/rng.js';
import type { ConsensusRow } from '../topology/types.js';
import type { StepSizeSchedule } from './schedule.js';

/** One transition as agent i sees it at iteration t. */
export interface Transition {
  /** s_t */
  readonly state: unknown;
  /** a_t (joint) */
  readonly joint: JointAction;
  /** r^i_{t+1} (the team average (1/N)Σ_j r^j_{t+1} for the centralized baseline) */
  readonly reward: number;
  /** s_{t+1} */
  readonly nextState: unknown;
  /** a_{t+1} (joint): Algorithm 1 only (its TD error uses Q(s_{t+1}, a_{t+1})). */
  readonly nextJoint?: JointAction;
}

/** Learner state a checkpoint keeps; restore(save()) gives the identical continuation. */
export interface LearnerState {
  readonly algorithm: 1 | 2;
  readonly agent: number;
  readonly mu: number;
  /** Named flat parameter vectors (critic, actor, rewardModel), as plain numbers (float32 values, exact). */
  readonly parameters: Readonly<Record<string, number[]>>;
  readonly actionStream: SavedStream;
}

export interface Learner {
  readonly agent: number;
  readonly algorithm: 1 | 2;
  /**
   * How far ahead of the iteration the action in a round message is: Alg. 1 sends a^i_{t+2}
   * with its share of iteration t (2 start-up rounds), Alg. 2 sends a^i_{t+1} (1 start-up round).
   */
  readonly actionLead: 1 | 2;
  /** Length of the critic share vector (Alg. 1: |ω|; Alg. 2: 1 + |v| + |λ|). */
  readonly shareSize: number;

  /** π^i(· | state; θ^i) into out (length |A^i|), drawing nothing: for exact evaluation. */
  actionProbabilities(state: unknown, out: Float64Array): void;
  /** Draw a^i ~ π^i(· | state; θ^i) with the agent's own action stream. */
  act(state: unknown): number;
  /**
   * The local part of iteration t (Alg. 1 steps 2, 4–7; Alg. 2 steps 2–7). Returns the share
   * to send (Alg. 1 step 8: ω̃^i_t; Alg. 2 step 8: (μ̃, ṽ, λ̃)^i_t) in a buffer the learner owns,
   * valid until the next call.
   */
  localStep(t: number, transition: Transition): Float32Array;
  /**
   * Step 9, consensus: parameters ← c(i,i)·own share + Σ_j c(i,j)·share_j, with
   * `neighbourShares[k]` the share of `row.neighbours[k]`.
   */
  consensus(row: ConsensusRow, neighbourShares: readonly Float32Array[]): void;

  /** μ^i: the agent's average-reward estimate. */
  readonly mu: number;
  /** δ^i_t of the last local step. */
  readonly lastTdError: number;
  /** ||critic parameters||_2 (Alg. 2: of v). */
  criticNorm(): number;

  save(): LearnerState;
  restore(state: LearnerState): void;
  dispose(): void;
}

/** Makes an approximator; injected so that linear runs never load TensorFlow.js. */
export type ModelMaker = (
  spec: ModelSpec,
  inputSize: number,
  outputSize: number,
  init: { readonly random: () => number; readonly scale: number },
) => Approximator;

export interface LearnerOptions {
  readonly agent: number;
  readonly runSeed: number;
  readonly critic: ModelSpec;
  readonly actor: ModelSpec;
  readonly criticSchedule: StepSizeSchedule;
  readonly actorSchedule: StepSizeSchedule;
  readonly makeModel: ModelMaker;
  /** Uniform ±scale initial parameters for linear models (0: zeros). */
  readonly criticInitScale?: number;
  readonly actorInitScale?: number;
  /**
   * Centralized baseline: every agent's critic starts from the same parameters (and, fed the
   * team-average reward, stays identical: one central critic, computed N times).
   */
  readonly sharedCriticInit?: boolean;
}
