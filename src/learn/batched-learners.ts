/**
 * Algorithms 1 and 2 for all N agents at once, with MLP critics and actors evaluated and updated
 * in batched TensorFlow.js ops (./batched-mlp.ts): the batched simulator's learning core.
 *
 * It computes the same math as N Algorithm1Learner / Algorithm2Learner objects (./algorithm1.ts,
 * ./algorithm2.ts) driven by the Agent round machine: same inputs (./inputs.ts), same initial
 * parameters and action streams (taken from real learners' save()), same steps in the same order,
 * same consensus rows. What differs is floating-point rounding: the per-agent learners do scalar
 * arithmetic in float64 on the host and each matMul at batch 1, this does it in float32 batched
 * kernels; parameters agree to ~1e-6 relative over the first hundred steps (test/learn/batched*).
 * Action draws use the agents' own streams on the host, from scores read back once per iteration.
 *
 * Per iteration t, everything below happens in one tf.tidy with one read-back at the end (the
 * TD errors and the scores of the next action draw):
 *
 * Algorithm 1 (ALGORITHMS.md step numbers), for every agent i in parallel:
 *   2. μ^i_{t+1} = (1 − β_ω,t) μ^i_t + β_ω,t r^i_{t+1}                      (host, float64)
 *   4. δ^i_t = r^i_{t+1} − μ^i_t + Q(s_{t+1}, a_{t+1}; ω^i_t) − Q(s_t, a_t; ω^i_t)
 *   5. ω̃^i_t = ω^i_t + β_ω,t δ^i_t ∇_ω Q(s_t, a_t; ω^i_t)
 *   6. A^i_t = Σ_b π^i(b|s_t; θ^i_t) [Q(s_t, a_t; ω̃^i_t) − Q(s_t, (b, a^{-i}_t); ω̃^i_t)]
 *   7. θ^i_{t+1} = θ^i_t + β_θ,t A^i_t ∇_θ log π^i(a^i_t | s_t; θ^i_t)
 *   3'. scores of π^i(·|s_{t+2}; θ^i_{t+1}) for the draw of a^i_{t+2} (step 3 of iteration t+1)
 *   9. ω^i_{t+1} = Σ_j c_t(i,j) ω̃^j_t                                         (one matMul by C_t)
 * Algorithm 2:
 *   2. μ̃^i_t = (1 − β_v,t) μ^i_t + β_v,t r^i_{t+1}                           (host; float32 as shared)
 *   3. λ̃^i_t = λ^i_t + β_v,t [r^i_{t+1} − R̄(s_t, a_t; λ^i_t)] ∇_λ R̄(s_t, a_t; λ^i_t)
 *   4. δ^i_t = r^i_{t+1} − μ^i_t + V(s_{t+1}; v^i_t) − V(s_t; v^i_t)
 *   5. ṽ^i_t = v^i_t + β_v,t δ^i_t ∇_v V(s_t; v^i_t)
 *   6. δ̃^i_t = R̄(s_t, a_t; λ^i_t) − μ^i_t + V(s_{t+1}; v^i_t) − V(s_t; v^i_t)
 *   7. θ^i_{t+1} = θ^i_t + β_θ,t δ̃^i_t ∇_θ log π^i(a^i_t | s_t; θ^i_t)
 *  10. scores of π^i(·|s_{t+1}; θ^i_{t+1}) for the draw of a^i_{t+1}
 *   9. μ^i_{t+1}, v^i_{t+1}, λ^i_{t+1} = Σ_j c_t(i,j) (μ̃, ṽ, λ̃)^j_t
 *
 * ∇_θ log π(a|s) = Σ_b (1[b = a] − π(b|s)) ∇_θ score_b: the one-hot of a^i_t is a host-built
 * mask (FACTS.md: gather's gradient fails on wasm; nothing here needs it anyway).
 */
import * as tf from '@tensorflow/tfjs';
import type { Environment, JointAction } from '../env/types.js';
import type { ModelSpec } from '../model/types.js';
import { consensusMatrix, type ConsensusRule } from '../topology/consensus.js';
import type { Graph } from '../topology/types.js';
import { BatchedMlp, mixingMatrix } from './batched-mlp.js';
import { jointActionInput, policyInput, stateInput, type JointActionInput, type PolicyInput, type StateInput } from './inputs.js';
import type { Learner } from './learner.js';
import { stepSizeAt, type StepSizeSchedule } from './schedule.js';

/** One iteration's data, shared by every agent (rewards per agent). */
export interface BatchedTransition {
  /** s_t */
  readonly state: unknown;
  /** a_t */
  readonly joint: JointAction;
  /** r^i_{t+1} fed to agent i (the team average for the centralized baseline). */
  readonly rewards: Float64Array;
  /** s_{t+1} */
  readonly nextState: unknown;
  /** a_{t+1}: Algorithm 1 only. */
  readonly nextJoint?: JointAction;
  /** Where the next actions are drawn: s_{t+2} (Algorithm 1) or s_{t+1} (Algorithm 2). */
  readonly drawState: unknown;
}

/** The graph G_t and rule of step 9 (consensus skipped when the graph has no edges). */
export interface BatchedConsensus {
  readonly graph: Graph;
  readonly rule: ConsensusRule;
}

export interface BatchedStepResult {
  /** δ^i_t per agent (Algorithm 2: the TD error of V, not δ̃). */
  readonly tdErrors: Float64Array;
  /** Scores of the next draw's policies, agent-major [N · |A|] (see drawAction). */
  readonly nextScores: Float32Array;
  /** With `captureShares`: agent i's share of step 8 (before consensus), as its learner sends it. */
  readonly shares?: Float32Array[];
}

/** Initial state of one agent, as a learner's save() has it. */
export interface BatchedAgentInit {
  readonly mu: number;
  readonly critic: Float32Array;
  readonly actor: Float32Array;
  /** Algorithm 2's R̄. */
  readonly rewardModel?: Float32Array;
}

export interface BatchedLearnerOptions {
  readonly env: Environment;
  readonly critic: ModelSpec;
  readonly actor: ModelSpec;
  readonly criticSchedule: StepSizeSchedule;
  readonly actorSchedule: StepSizeSchedule;
  /** Per agent: initial parameters and μ (from the per-agent learners, so runs start identical). */
  readonly init: readonly BatchedAgentInit[];
}

export interface BatchedLearners {
  readonly algorithm: 1 | 2;
  readonly actionLead: 1 | 2;
  readonly agentCount: number;
  readonly actionCount: number;
  /** μ^i per agent (after the last consensus). */
  readonly mu: Float64Array;
  /** Scores of π^i(·|state; θ^i) for every agent, agent-major [N · |A|] (start-up draws). */
  actionScores(state: unknown): Float32Array;
  /** Iteration t (local steps, next-draw scores, consensus). */
  step(t: number, transition: BatchedTransition, consensus: BatchedConsensus | null, captureShares?: boolean): BatchedStepResult;
  /** ||critic parameters||_2 per agent (Algorithm 2: of v), as Learner.criticNorm. */
  criticNorms(): Float64Array;
  /** Per agent, the named flat parameter vectors of Learner.save() (critic, actor, rewardModel). */
  parameters(): Record<string, Float32Array>[];
  dispose(): void;
}

/** Agent i's initial state from its per-agent learner (parameters and μ; the stream is the caller's). */
export function initFromLearner(learner: Learner): BatchedAgentInit {
  const saved = learner.save();
  const vector = (name: string): Float32Array => {
    const values = saved.parameters[name];
    if (!values) throw new Error(`learner of agent ${learner.agent} saved no '${name}' parameters`);
    return Float32Array.from(values);
  };
  return {
    mu: saved.mu,
    critic: vector('critic'),
    actor: vector('actor'),
    rewardModel: saved.algorithm === 2 ? vector('rewardModel') : undefined,
  };
}

/**
 * Softmax probabilities of one agent's scores (agent-major `scores`, offset agent·|A|) into
 * `probabilities`, computed exactly as SoftmaxPolicy.probabilities does (float64, shifted by the
 * max): the same scores give the same draw as the per-agent learner.
 */
export function softmaxInto(scores: Float32Array, offset: number, probabilities: Float64Array): void {
  const count = probabilities.length;
  let maxScore = -Infinity;
  for (let b = 0; b < count; b++) if (scores[offset + b] > maxScore) maxScore = scores[offset + b];
  let total = 0;
  for (let b = 0; b < count; b++) {
    const weight = Math.exp(scores[offset + b] - maxScore);
    probabilities[b] = weight;
    total += weight;
  }
  for (let b = 0; b < count; b++) probabilities[b] /= total;
}

/** ||v||_2 in double precision, as euclideanNorm. */
function norm(vector: Float32Array, from = 0, to = vector.length): number {
  let total = 0;
  for (let k = from; k < to; k++) total += vector[k] * vector[k];
  return Math.sqrt(total);
}

function mlpSpec(spec: ModelSpec, what: string): Extract<ModelSpec, { kind: 'mlp' }> {
  if (spec.kind !== 'mlp') throw new Error(`the batched simulator needs MLP models; the ${what} is '${spec.kind}'`);
  return spec;
}

/** What both algorithms share: the actors, input buffers, the consensus matrix cache. */
abstract class BatchedBase {
  readonly agentCount: number;
  readonly actionCount: number;
  readonly mu: Float64Array;
  protected readonly env: Environment;
  protected readonly options: BatchedLearnerOptions;
  protected readonly actor: BatchedMlp;
  protected readonly policyInputs: PolicyInput[];
  protected readonly actorInputSize: number;
  /**
   * Actor inputs x^i(s) = [ψ(s), one-hot of i] (policyInput's MLP layout, checked): the actors
   * then see ψ(s) only, the code row acting as a per-agent bias (BatchedMlp's agentCode).
   */
  private readonly actorCode: boolean;
  /** Columns of the actor inputs on the device. */
  protected readonly actorColumns: number;
  private readonly actorScratch: Float32Array;
  /** Actor inputs x^i(s) of every agent, [N, 1, in]: at s_t and at the draw state. */
  protected readonly actorNow: Float32Array;
  protected readonly actorDraw: Float32Array;
  private readonly actorDrawBuffers: [Float32Array, Float32Array];
  private nextDrawBuffer = 0;
  /** The last draw's forward pass, kept for the next actor step (Algorithm 2). */
  private keptDraw: { state: unknown; forward: ReturnType<BatchedMlp['forward']> } | null = null;
  /** One-hot of a^i_t, [N, |A|]. */
  protected readonly ownAction: Float32Array;
  /** [−1, 1]ᵀ: f(row 1) − f(row 0) of a [N, 2] output by one matMul. */
  private readonly differenceColumn: tf.Tensor2D;
  private cachedGraph: Graph | undefined;
  private cachedRule: ConsensusRule | undefined;
  private cachedMatrix: tf.Tensor2D | null = null;
  protected cachedHasEdges = false;
  protected cachedRows: Float64Array[] = [];
  private disposed = false;

  constructor(options: BatchedLearnerOptions) {
    const { env, init } = options;
    this.env = env;
    this.options = options;
    this.agentCount = env.agentCount;
    const counts = new Set(env.actionCounts);
    if (counts.size !== 1) throw new Error(`the batched simulator needs equal action counts, got ${env.actionCounts.join(', ')}`);
    this.actionCount = env.actionCounts[0];
    if (init.length !== this.agentCount) throw new Error(`batched learners: ${init.length} initial states for ${this.agentCount} agents`);
    this.mu = Float64Array.from(init, (a) => a.mu);
    const actorSpec = mlpSpec(options.actor, 'actor');
    this.policyInputs = Array.from({ length: this.agentCount }, (_, i) => policyInput(env, i, actorSpec));
    this.actorInputSize = this.policyInputs[0].size;
    this.actorScratch = new Float32Array(this.actorInputSize);
    this.actorCode = this.codeLayoutHolds();
    this.actorColumns = this.actorCode ? this.actorInputSize - this.agentCount : this.actorInputSize;
    this.actor = new BatchedMlp({
      agents: this.agentCount,
      inputSize: this.actorInputSize,
      outputSize: this.actionCount,
      hidden: actorSpec.hidden,
      activation: actorSpec.activation,
      initial: init.map((a) => a.actor),
      agentCode: this.actorCode,
    });
    this.actorNow = new Float32Array(this.agentCount * this.actorColumns);
    this.actorDraw = new Float32Array(this.agentCount * this.actorColumns);
    this.actorDrawBuffers = [new Float32Array(this.actorDraw.length), new Float32Array(this.actorDraw.length)];
    this.ownAction = new Float32Array(this.agentCount * this.actionCount);
    this.differenceColumn = tf.tensor2d([-1, 1], [2, 1]);
  }

  /** True when every agent's actor input is [ψ(s), one-hot of the agent] (at the current state). */
  private codeLayoutHolds(): boolean {
    const n = this.agentCount;
    const size = this.actorInputSize;
    if (size <= n) return false;
    const state = this.env.observe();
    const first = new Float32Array(size);
    this.policyInputs[0].write(state, first);
    for (let i = 0; i < n; i++) {
      this.policyInputs[i].write(state, this.actorScratch);
      for (let k = 0; k < size - n; k++) if (this.actorScratch[k] !== first[k]) return false;
      for (let j = 0; j < n; j++) if (this.actorScratch[size - n + j] !== (j === i ? 1 : 0)) return false;
    }
    return true;
  }

  /** Every agent's actor input rows at `state`, [N, 1, actorColumns]. */
  protected writeActorInputs(state: unknown, out: Float32Array): void {
    const columns = this.actorColumns;
    if (this.actorCode) {
      this.policyInputs[0].write(state, this.actorScratch);
      for (let i = 0; i < this.agentCount; i++) out.set(this.actorScratch.subarray(0, columns), i * columns);
      return;
    }
    for (let i = 0; i < this.agentCount; i++) this.policyInputs[i].write(state, out.subarray(i * columns, (i + 1) * columns));
  }

  /** The actor's forward pass on rows written by writeActorInputs. */
  protected actorForward(rows: Float32Array): ReturnType<BatchedMlp['forward']> {
    const columns = this.actorColumns;
    const x = tf.tensor3d(rows, [this.agentCount, 1, columns]);
    return this.actor.forward(x, this.actorCode ? tf.tensor3d(rows.subarray(0, columns), [1, 1, columns]) : undefined);
  }

  protected writeOwnActions(joint: JointAction): void {
    this.ownAction.fill(0);
    for (let i = 0; i < this.agentCount; i++) this.ownAction[i * this.actionCount + joint[i]] = 1;
  }

  actionScores(state: unknown): Float32Array {
    this.writeActorInputs(state, this.actorDraw);
    let scores: Float32Array | undefined;
    tf.tidy(() => {
      scores = Float32Array.from(this.actorForward(this.actorDraw).output.dataSync());
    });
    return scores!;
  }

  /** f(·, row 1) − f(·, row 0) of a [N, 2, 1] output: [N, 1]. */
  protected rowDifference(output: tf.Tensor3D): tf.Tensor2D {
    return tf.matMul(tf.reshape(output, [this.agentCount, 2]), this.differenceColumn);
  }

  /**
   * Actor step 7 for every agent: θ^i ← θ^i + signal_i · ∇_θ log π^i(a^i_t | s_t; θ^i), with
   * signal = β_θ,t · (advantage or δ̃), [N, 1]; π^i(·|s_t; θ^i_t) from `forward` (its scores).
   */
  protected actorStep(forward: ReturnType<BatchedMlp['forward']>, policy: tf.Tensor2D, signal: tf.Tensor2D): void {
    const n = this.agentCount;
    const mask = tf.tensor2d(this.ownAction, [n, this.actionCount]);
    const weights = tf.mul(tf.sub(mask, policy), signal);
    this.actor.applyGradient(forward, tf.reshape(weights, [n, 1, this.actionCount]));
  }

  /**
   * π^i(·|s_t; θ^i_t) for every agent and the forward pass behind it: the kept pass of the last
   * draw when it was at this state with these actor parameters (Algorithm 2 draws a_{t+1} at
   * s_{t+1} with θ_{t+1}, exactly what iteration t+1's actor step evaluates), else a fresh one.
   */
  protected policyNow(state: unknown): { forward: ReturnType<BatchedMlp['forward']>; policy: tf.Tensor2D } {
    const n = this.agentCount;
    let forward: ReturnType<BatchedMlp['forward']>;
    if (this.keptDraw !== null && this.keptDraw.state === state) {
      forward = this.keptDraw.forward;
    } else {
      this.writeActorInputs(state, this.actorNow);
      forward = this.actorForward(this.actorNow);
    }
    return { forward, policy: tf.softmax(tf.reshape(forward.output, [n, this.actionCount])) };
  }

  /**
   * Scores of π^i(·|drawState; θ^i) after the actor step, flattened [N · |A|]. With `keep`, the
   * forward pass outlives this iteration's tidy for policyNow (until the next draw replaces it).
   */
  protected drawScores(drawState: unknown, keep = false): tf.Tensor1D {
    // Two input buffers in turn: a kept pass's input tensor may share its buffer (cpu backend).
    const buffer = this.actorDrawBuffers[this.nextDrawBuffer];
    this.nextDrawBuffer ^= 1;
    this.writeActorInputs(drawState, buffer);
    const forward = this.actorForward(buffer);
    if (keep) {
      this.releaseKeptDraw();
      for (const t of forward.layerInputs) tf.keep(t);
      tf.keep(forward.output);
      if (forward.shared) tf.keep(forward.shared);
      this.keptDraw = { state: drawState, forward };
    }
    return tf.reshape(forward.output, [this.agentCount * this.actionCount]);
  }

  private releaseKeptDraw(): void {
    if (this.keptDraw === null) return;
    for (const t of this.keptDraw.forward.layerInputs) t.dispose();
    this.keptDraw.forward.output.dispose();
    this.keptDraw.forward.shared?.dispose();
    this.keptDraw = null;
  }

  /** C_t as a [N, N] float32 tensor (see mixingMatrix), or null when G_t has no edges (consensus is then the identity). */
  protected mixingMatrix(consensus: BatchedConsensus | null): tf.Tensor2D | null {
    if (consensus === null) {
      this.cachedHasEdges = false;
      return null;
    }
    if (consensus.graph !== this.cachedGraph || consensus.rule !== this.cachedRule) {
      this.cachedMatrix?.dispose();
      this.cachedMatrix = null;
      this.cachedGraph = consensus.graph;
      this.cachedRule = consensus.rule;
      this.cachedHasEdges = consensus.graph.edgeCount > 0;
      this.cachedRows = consensusMatrix(consensus.graph, consensus.rule);
      if (this.cachedHasEdges) {
        const n = this.agentCount;
        this.cachedMatrix = tf.keep(tf.tensor2d(mixingMatrix(this.cachedRows), [n, n]));
      }
    }
    return this.cachedMatrix;
  }

  /** One read-back per iteration: the TD errors [N] and the next-draw scores [N · |A|]. */
  protected readBack(tdErrors: tf.Tensor, scores: tf.Tensor1D): { tdErrors: Float64Array; nextScores: Float32Array } {
    const n = this.agentCount;
    const values = tf.concat([tf.reshape(tdErrors, [n]), scores]).dataSync();
    return { tdErrors: Float64Array.from(values.subarray(0, n)), nextScores: Float32Array.from(values.subarray(n)) };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.actor.dispose();
    this.differenceColumn.dispose();
    this.cachedMatrix?.dispose();
    this.cachedMatrix = null;
    this.releaseKeptDraw();
    this.disposeModels();
  }

  protected abstract disposeModels(): void;
}

/** Algorithm 1 (action-value critic Q over the joint action) for all agents. */
export class BatchedAlgorithm1 extends BatchedBase implements BatchedLearners {
  readonly algorithm = 1 as const;
  readonly actionLead = 2 as const;
  private readonly critic: BatchedMlp;
  private readonly criticInputs: JointActionInput;
  private readonly criticInputSize: number;
  /** [N, 2, in]: x(s_t, a_t) and x(s_{t+1}, a_{t+1}) for every agent (the same rows). */
  private readonly criticPair: Float32Array;
  /** [N, |A|, in]: x(s_t, (b, a^{-i}_t)) for agent i, action b. */
  private readonly alternatives: Float32Array;
  private readonly alternativeJoint: Int32Array;
  private readonly offsetReward: Float32Array;

  constructor(options: BatchedLearnerOptions) {
    super(options);
    const spec = mlpSpec(options.critic, 'critic');
    this.criticInputs = jointActionInput(options.env, spec);
    this.criticInputSize = this.criticInputs.size;
    this.critic = new BatchedMlp({
      agents: this.agentCount,
      inputSize: this.criticInputSize,
      outputSize: 1,
      hidden: spec.hidden,
      activation: spec.activation,
      initial: options.init.map((a) => a.critic),
    });
    this.criticPair = new Float32Array(this.agentCount * 2 * this.criticInputSize);
    this.alternatives = new Float32Array(this.agentCount * this.actionCount * this.criticInputSize);
    this.alternativeJoint = new Int32Array(this.agentCount);
    this.offsetReward = new Float32Array(this.agentCount);
  }

  step(t: number, transition: BatchedTransition, consensus: BatchedConsensus | null, captureShares = false): BatchedStepResult {
    const { state, joint, rewards, nextState, nextJoint, drawState } = transition;
    if (!nextJoint) throw new Error('Algorithm 1 needs the next joint action a_{t+1}');
    const n = this.agentCount;
    const actions = this.actionCount;
    const size = this.criticInputSize;
    const criticStepSize = stepSizeAt(this.options.criticSchedule, t); // β_ω,t
    const actorStepSize = stepSizeAt(this.options.actorSchedule, t); // β_θ,t

    // Host inputs: x(s_t, a_t), x(s_{t+1}, a_{t+1}) (agent 0's rows, copied to the others).
    this.criticInputs.write(state, joint, this.criticPair.subarray(0, size));
    this.criticInputs.write(nextState, nextJoint, this.criticPair.subarray(size, 2 * size));
    for (let i = 1; i < n; i++) this.criticPair.copyWithin(i * 2 * size, 0, 2 * size);
    // x(s_t, (b, a^{-i}_t)) for step 6.
    this.alternativeJoint.set(joint);
    for (let i = 0; i < n; i++) {
      for (let b = 0; b < actions; b++) {
        this.alternativeJoint[i] = b;
        const row = (i * actions + b) * size;
        this.criticInputs.write(state, this.alternativeJoint, this.alternatives.subarray(row, row + size));
      }
      this.alternativeJoint[i] = joint[i];
    }
    this.writeOwnActions(joint);
    // Step 2 (host): μ^i_{t+1} = (1 − β_ω,t) μ^i_t + β_ω,t r^i_{t+1}; δ needs μ^i_t.
    for (let i = 0; i < n; i++) {
      const muNow = this.mu[i];
      this.offsetReward[i] = rewards[i] - muNow; // r^i_{t+1} − μ^i_t
      this.mu[i] = (1 - criticStepSize) * muNow + criticStepSize * rewards[i];
    }

    let out: BatchedStepResult | undefined;
    tf.tidy(() => {
      // Step 4: δ^i_t = r^i_{t+1} − μ^i_t + Q(s_{t+1}, a_{t+1}; ω^i_t) − Q(s_t, a_t; ω^i_t)
      const pair = this.critic.forward(
        tf.tensor3d(this.criticPair, [n, 2, size]),
        tf.tensor3d(this.criticPair.subarray(0, 2 * size), [1, 2, size]),
      );
      const tdError = tf.add(this.rowDifference(pair.output), tf.tensor2d(this.offsetReward, [n, 1]));
      // Step 5: ω̃ = ω + β_ω,t δ ∇_ω Q(s_t, a_t; ω): output weight β δ on the first row, x(s_t, a_t).
      const criticWeights = tf.reshape(tf.mul(tdError, criticStepSize), [n, 1, 1]) as tf.Tensor3D;
      this.critic.applyGradient(pair, criticWeights); // ω̃ (consensus below, once the advantage has used ω̃)
      // Step 6: A^i_t = Σ_b π^i(b|s_t; θ^i_t) [Q(s_t, a_t; ω̃) − Q(s_t, (b, a^{-i}_t); ω̃)]
      // (the differences first: an exact cancellation instead of one of two large sums).
      const alternative = tf.reshape(this.critic.forward(tf.tensor3d(this.alternatives, [n, actions, size])).output, [n, actions]);
      const { forward, policy } = this.policyNow(state);
      const mask = tf.tensor2d(this.ownAction, [n, actions]);
      const taken = tf.sum(tf.mul(mask, alternative), 1, true);
      const advantage = tf.sum(tf.mul(policy, tf.sub(taken, alternative)), 1, true);
      // Step 7: θ^i_{t+1} = θ^i_t + β_θ,t A^i_t ∇_θ log π^i(a^i_t | s_t; θ^i_t)
      this.actorStep(forward, policy, tf.mul(advantage, actorStepSize));
      // Step 3 of iteration t+1: scores of π^i(·|s_{t+2}; θ^i_{t+1}).
      const scores = this.drawScores(drawState);
      // Step 8: ω̃ is the share. Step 9: ω^i_{t+1} = Σ_j c_t(i,j) ω̃^j_t.
      const shares = captureShares ? this.critic.parameters() : undefined;
      const mixing = this.mixingMatrix(consensus);
      if (mixing !== null) this.critic.mix(mixing);
      out = { ...this.readBack(tdError, scores), shares };
    });
    return out!;
  }

  criticNorms(): Float64Array {
    return Float64Array.from(this.critic.parameters(), (w) => norm(w));
  }

  parameters(): Record<string, Float32Array>[] {
    const critic = this.critic.parameters();
    const actor = this.actor.parameters();
    return critic.map((w, i) => ({ critic: w, actor: actor[i] }));
  }

  protected disposeModels(): void {
    this.critic.dispose();
  }
}

/** Algorithm 2 (state-value critic V and team-reward model R̄) for all agents. */
export class BatchedAlgorithm2 extends BatchedBase implements BatchedLearners {
  readonly algorithm = 2 as const;
  readonly actionLead = 1 as const;
  private readonly value: BatchedMlp;
  private readonly reward: BatchedMlp;
  private readonly valueInputs: StateInput;
  private readonly rewardInputs: JointActionInput;
  /** [N, 2, in]: ψ(s_t), ψ(s_{t+1}) for every agent. */
  private readonly valuePair: Float32Array;
  /** [N, 1, in]: x(s_t, a_t) for every agent. */
  private readonly rewardRows: Float32Array;
  private readonly fedRewards: Float32Array;
  private readonly muNow: Float32Array;
  private readonly offsetReward: Float32Array;
  /** μ̃^i_t (float32 values, as the share vector holds them). */
  private readonly muShared: Float64Array;

  constructor(options: BatchedLearnerOptions) {
    super(options);
    const spec = mlpSpec(options.critic, 'critic');
    this.valueInputs = stateInput(options.env);
    this.rewardInputs = jointActionInput(options.env, spec);
    const make = (inputSize: number, initial: Float32Array[]) =>
      new BatchedMlp({ agents: this.agentCount, inputSize, outputSize: 1, hidden: spec.hidden, activation: spec.activation, initial });
    this.value = make(this.valueInputs.size, options.init.map((a) => a.critic));
    this.reward = make(
      this.rewardInputs.size,
      options.init.map((a, i) => {
        if (!a.rewardModel) throw new Error(`batched Algorithm 2: agent ${i} has no initial reward model`);
        return a.rewardModel;
      }),
    );
    this.valuePair = new Float32Array(this.agentCount * 2 * this.valueInputs.size);
    this.rewardRows = new Float32Array(this.agentCount * this.rewardInputs.size);
    this.fedRewards = new Float32Array(this.agentCount);
    this.muNow = new Float32Array(this.agentCount);
    this.offsetReward = new Float32Array(this.agentCount);
    this.muShared = new Float64Array(this.agentCount);
  }

  step(t: number, transition: BatchedTransition, consensus: BatchedConsensus | null, captureShares = false): BatchedStepResult {
    const { state, joint, rewards, nextState, drawState } = transition;
    const n = this.agentCount;
    const valueSize = this.valueInputs.size;
    const rewardSize = this.rewardInputs.size;
    const stepSize = stepSizeAt(this.options.criticSchedule, t); // β_v,t
    const actorStepSize = stepSizeAt(this.options.actorSchedule, t); // β_θ,t

    this.valueInputs.write(state, this.valuePair.subarray(0, valueSize));
    this.valueInputs.write(nextState, this.valuePair.subarray(valueSize, 2 * valueSize));
    for (let i = 1; i < n; i++) this.valuePair.copyWithin(i * 2 * valueSize, 0, 2 * valueSize);
    this.rewardInputs.write(state, joint, this.rewardRows.subarray(0, rewardSize));
    for (let i = 1; i < n; i++) this.rewardRows.copyWithin(i * rewardSize, 0, rewardSize);
    this.writeOwnActions(joint);
    for (let i = 0; i < n; i++) {
      const muNow = this.mu[i];
      this.fedRewards[i] = rewards[i];
      this.muNow[i] = muNow;
      this.offsetReward[i] = rewards[i] - muNow; // r^i_{t+1} − μ^i_t
      // Step 2: μ̃^i_t = (1 − β_v,t) μ^i_t + β_v,t r^i_{t+1}, stored in the float32 share.
      this.muShared[i] = Math.fround((1 - stepSize) * muNow + stepSize * rewards[i]);
    }

    let result: BatchedStepResult | undefined;
    tf.tidy(() => {
      // Step 9 is fused into the updates of steps 3 and 5 (v_{t+1} = C·(v + Δv)), except when the
      // shares themselves are wanted (metrics): then update, read, mix.
      const mixing = this.mixingMatrix(consensus);
      const fused = captureShares ? null : mixing;
      const valuePass = this.value.forward(
        tf.tensor3d(this.valuePair, [n, 2, valueSize]),
        tf.tensor3d(this.valuePair.subarray(0, 2 * valueSize), [1, 2, valueSize]),
      );
      const valueDifference = this.rowDifference(valuePass.output); // V(s_{t+1}; v_t) − V(s_t; v_t)
      const rewardPass = this.reward.forward(
        tf.tensor3d(this.rewardRows, [n, 1, rewardSize]),
        tf.tensor3d(this.rewardRows.subarray(0, rewardSize), [1, 1, rewardSize]),
      );
      const estimated = tf.reshape(rewardPass.output, [n, 1]); // R̄(s_t, a_t; λ_t)
      // Step 3: λ̃ = λ + β_v,t [r − R̄(s_t, a_t; λ)] ∇_λ R̄(s_t, a_t; λ)
      const rewardError = tf.sub(tf.tensor2d(this.fedRewards, [n, 1]), estimated);
      this.reward.applyGradient(rewardPass, tf.reshape(tf.mul(rewardError, stepSize), [n, 1, 1]), fused);
      // Step 4: δ = r − μ + V(s_{t+1}; v) − V(s_t; v)
      const tdError = tf.add(valueDifference, tf.tensor2d(this.offsetReward, [n, 1]));
      // Step 5: ṽ = v + β_v,t δ ∇_v V(s_t; v)
      this.value.applyGradient(valuePass, tf.reshape(tf.mul(tdError, stepSize), [n, 1, 1]) as tf.Tensor3D, fused);
      // Step 6: δ̃ = R̄(s_t, a_t; λ) − μ + V(s_{t+1}; v) − V(s_t; v)
      const teamTdError = tf.add(tf.sub(estimated, tf.tensor2d(this.muNow, [n, 1])), valueDifference);
      // Step 7: θ_{t+1} = θ_t + β_θ,t δ̃ ∇_θ log π(a_t | s_t; θ_t)
      const { forward, policy } = this.policyNow(state);
      this.actorStep(forward, policy, tf.mul(teamTdError, actorStepSize));
      // Step 10: scores of π^i(·|s_{t+1}; θ^i_{t+1}).
      const scores = this.drawScores(drawState, true);
      // Step 8: (μ̃, ṽ, λ̃) is the share. Step 9 (unless fused above): consensus on v and λ; μ below.
      const shares = captureShares ? this.shares() : undefined;
      if (captureShares && mixing !== null) {
        this.value.mix(mixing);
        this.reward.mix(mixing);
      }
      result = { ...this.readBack(tdError, scores), shares };
    });
    this.mixMu();
    return result!;
  }

  /** Step 9 for μ on the host, as mixShares: self first, then neighbours ascending; float32. */
  private mixMu(): void {
    const n = this.agentCount;
    if (!this.cachedHasEdges) {
      for (let i = 0; i < n; i++) this.mu[i] = this.muShared[i];
      return;
    }
    for (let i = 0; i < n; i++) {
      const row = this.cachedRows[i];
      let accumulator = row[i] * this.muShared[i];
      for (let j = 0; j < n; j++) if (j !== i && row[j] > 0) accumulator += row[j] * this.muShared[j];
      this.mu[i] = Math.fround(accumulator);
    }
  }

  private shares(): Float32Array[] {
    const value = this.value.parameters();
    const reward = this.reward.parameters();
    return value.map((v, i) => {
      const share = new Float32Array(1 + v.length + reward[i].length);
      share[0] = this.muShared[i];
      share.set(v, 1);
      share.set(reward[i], 1 + v.length);
      return share;
    });
  }

  criticNorms(): Float64Array {
    return Float64Array.from(this.value.parameters(), (v) => norm(v));
  }

  parameters(): Record<string, Float32Array>[] {
    const value = this.value.parameters();
    const reward = this.reward.parameters();
    const actor = this.actor.parameters();
    return value.map((v, i) => ({ critic: v, rewardModel: reward[i], actor: actor[i] }));
  }

  protected disposeModels(): void {
    this.value.dispose();
    this.reward.dispose();
  }
}

/** The batched learners of Algorithm 1 or 2. */
export function createBatchedLearners(algorithm: 1 | 2, options: BatchedLearnerOptions): BatchedLearners {
  return algorithm === 1 ? new BatchedAlgorithm1(options) : new BatchedAlgorithm2(options);
}
