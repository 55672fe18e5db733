/**
 * What both algorithms share: agent i's softmax actor, its private action stream, the actor
 * step of ALGORITHMS.md (θ ← θ + β_θ · (advantage or TD error) · ∇_θ log π(a^i_t|s_t; θ_t)), and
 * small caches that avoid recomputing features of states seen a moment ago.
 */
import { RandomStream, StreamName } from '../core/rng.js';
import type { Environment, JointAction } from '../env/types.js';
import type { Approximator } from '../model/types.js';
import { SoftmaxPolicy } from './policy.js';
import { policyInput, type PolicyInput } from './inputs.js';
import type { LearnerOptions } from './learner.js';

/** A uniform ±scale initialiser drawing from `stream`. */
export function uniformSource(stream: RandomStream): () => number {
  return () => stream.nextFloat();
}

/** ||v||_2 accumulated in double precision. */
export function euclideanNorm(vector: Float32Array, from = 0, to = vector.length): number {
  let total = 0;
  for (let k = from; k < to; k++) total += vector[k] * vector[k];
  return Math.sqrt(total);
}

/** Joint actions equal entry by entry. */
export function sameJoint(a: JointAction, b: JointAction): boolean {
  if (a === b) return true;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}

const POLICY_CACHE_SLOTS = 4;

export abstract class ActorCriticAgent {
  readonly agent: number;
  protected readonly env: Environment;
  protected readonly policy: SoftmaxPolicy;
  protected readonly actor: Approximator;
  protected actionStream: RandomStream;
  protected readonly probabilities: Float64Array;
  protected readonly actorGradient: Float32Array;

  // Policy inputs x(s) of the last few states, keyed by state identity (an integer state, or the
  // same immutable state object): Alg. 1 draws at s_{t+2} and learns at s_t, so one slot misses.
  private readonly policyInputs: PolicyInput;
  private readonly cachedStates: unknown[] = new Array(POLICY_CACHE_SLOTS).fill(undefined);
  private readonly cachedInputs: Float32Array[];
  private readonly cachedValid: boolean[] = new Array(POLICY_CACHE_SLOTS).fill(false);
  private nextCacheSlot = 0;

  constructor(env: Environment, options: LearnerOptions) {
    this.agent = options.agent;
    this.env = env;
    this.policyInputs = policyInput(env, options.agent, options.actor);
    const initStream = RandomStream.create(options.runSeed, `${StreamName.init(options.agent)}/actor`);
    this.actor = options.makeModel(options.actor, this.policyInputs.size, this.policyInputs.actionCount, {
      random: uniformSource(initStream),
      scale: options.actorInitScale ?? 0,
    });
    this.policy = new SoftmaxPolicy(this.actor, this.policyInputs);
    this.actionStream = RandomStream.create(options.runSeed, StreamName.actions(options.agent));
    this.probabilities = new Float64Array(this.policyInputs.actionCount);
    this.actorGradient = new Float32Array(this.actor.parameterCount);
    this.cachedInputs = Array.from({ length: POLICY_CACHE_SLOTS }, () => new Float32Array(this.policyInputs.size));
  }

  /** x(s) for the policy, from the cache when s was seen recently. */
  protected policyInputAt(state: unknown): Float32Array {
    for (let slot = 0; slot < POLICY_CACHE_SLOTS; slot++) {
      if (this.cachedValid[slot] && this.cachedStates[slot] === state) return this.cachedInputs[slot];
    }
    const slot = this.nextCacheSlot;
    this.nextCacheSlot = (slot + 1) % POLICY_CACHE_SLOTS;
    this.policyInputs.write(state, this.cachedInputs[slot]);
    this.cachedStates[slot] = state;
    this.cachedValid[slot] = true;
    return this.cachedInputs[slot];
  }

  /** π(·|s; θ) into this.probabilities. */
  protected policyAt(state: unknown): Float64Array {
    this.policy.probabilities(this.policyInputAt(state), this.probabilities);
    return this.probabilities;
  }

  actionProbabilities(state: unknown, out: Float64Array): void {
    this.policy.probabilities(this.policyInputAt(state), out);
  }

  act(state: unknown): number {
    this.policy.probabilities(this.policyInputAt(state), this.probabilities);
    return this.policy.sample(this.probabilities, this.actionStream);
  }

  /**
   * Actor step (Alg. 1 step 7, Alg. 2 step 7): θ_{t+1} = θ_t + β_θ,t · signal · ∇_θ log π(a^i_t | s_t; θ_t),
   * with signal the advantage A^i_t (Alg. 1) or the team TD error δ̃^i_t (Alg. 2).
   * Expects π(·|s_t; θ_t) in this.probabilities (see policyAt).
   */
  protected actorStep(state: unknown, ownAction: number, signal: number, actorStepSize: number): void {
    const input = this.policyInputAt(state);
    this.policy.gradLogProbability(input, ownAction, this.probabilities, this.actorGradient);
    this.actor.addScaled(actorStepSize * signal, this.actorGradient);
  }
}
