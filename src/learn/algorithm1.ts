/**
 * Algorithm 1 of Zhang et al. (ICML 2018): networked actor-critic with an action-value critic
 * Q(s, a; ω) over the global state and the JOINT action. Steps numbered as in ALGORITHMS.md.
 *
 * Private to agent i: θ^i (actor), μ^i (its average-reward estimate), its rewards.
 * Shared with neighbours: ω̃^i_t only.
 */
import { RandomStream, StreamName } from '../core/rng.js';
import type { Environment, JointAction } from '../env/types.js';
import type { Approximator } from '../model/types.js';
import { mixShares } from '../topology/consensus.js';
import type { ConsensusRow } from '../topology/types.js';
import { ActorCriticAgent, euclideanNorm, sameJoint, uniformSource } from './actor-critic.js';
import { jointActionInput, type JointActionInput } from './inputs.js';
import type { Learner, LearnerOptions, LearnerState, Transition } from './learner.js';
import { stepSizeAt } from './schedule.js';

export class Algorithm1Learner extends ActorCriticAgent implements Learner {
  readonly algorithm = 1 as const;
  readonly actionLead = 2 as const;
  readonly shareSize: number;

  private readonly critic: Approximator;
  private readonly criticInputs: JointActionInput;
  private readonly options: LearnerOptions;
  private muEstimate = 0;
  private tdError = 0;

  // x(s_t, a_t) and x(s_{t+1}, a_{t+1}): the second becomes the first at the next iteration.
  private inputNow: Float32Array;
  private inputNext: Float32Array;
  private cachedNextState: unknown = undefined;
  private readonly cachedNextJoint: Int32Array;
  private cachedNextValid = false;
  /** x(s_t, (b, a^{-i}_t)) for the advantage of step 6. */
  private readonly inputAlternative: Float32Array;
  private readonly alternativeJoint: Int32Array;
  private readonly criticGradient: Float32Array;
  private readonly criticValue = new Float32Array(1);
  private readonly unitWeight = new Float32Array([1]);
  private readonly share: Float32Array;

  constructor(env: Environment, options: LearnerOptions) {
    super(env, options);
    this.options = options;
    this.criticInputs = jointActionInput(env, options.critic);
    const initName = options.sharedCriticInit ? 'init/critic/shared' : `${StreamName.init(options.agent)}/critic`;
    this.critic = options.makeModel(options.critic, this.criticInputs.size, 1, {
      random: uniformSource(RandomStream.create(options.runSeed, initName)),
      scale: options.criticInitScale ?? 0,
    });
    this.shareSize = this.critic.parameterCount;
    this.inputNow = new Float32Array(this.criticInputs.size);
    this.inputNext = new Float32Array(this.criticInputs.size);
    this.inputAlternative = new Float32Array(this.criticInputs.size);
    this.cachedNextJoint = new Int32Array(env.agentCount);
    this.alternativeJoint = new Int32Array(env.agentCount);
    this.criticGradient = new Float32Array(this.critic.parameterCount);
    this.share = new Float32Array(this.shareSize);
  }

  get mu(): number {
    return this.muEstimate;
  }

  get lastTdError(): number {
    return this.tdError;
  }

  private q(input: Float32Array): number {
    this.critic.evaluate(input, this.criticValue);
    return this.criticValue[0];
  }

  /** x(s_t, a_t): reuses last iteration's x(s_{t+1}, a_{t+1}) when it is the same pair. */
  private writeCurrentInput(state: unknown, joint: JointAction): void {
    if (this.cachedNextValid && this.cachedNextState === state && sameJoint(this.cachedNextJoint, joint)) {
      const previousNext = this.inputNext;
      this.inputNext = this.inputNow;
      this.inputNow = previousNext;
    } else {
      this.criticInputs.write(state, joint, this.inputNow);
    }
  }

  localStep(t: number, transition: Transition): Float32Array {
    const { state, joint, reward, nextState, nextJoint } = transition;
    if (!nextJoint) throw new Error('Algorithm 1 needs the next joint action a_{t+1} in each transition');
    const criticStepSize = stepSizeAt(this.options.criticSchedule, t); // β_ω,t
    const actorStepSize = stepSizeAt(this.options.actorSchedule, t); // β_θ,t
    const ownAction = joint[this.agent];

    this.writeCurrentInput(state, joint);
    this.criticInputs.write(nextState, nextJoint, this.inputNext);
    this.cachedNextState = nextState;
    this.cachedNextJoint.set(nextJoint);
    this.cachedNextValid = true;

    // Step 1 is the caller's: s_{t+1} and r^i_{t+1} arrive in `transition`.
    // Step 2: μ^i_{t+1} = (1 − β_ω,t) μ^i_t + β_ω,t r^i_{t+1}   (μ^i_t is still used in step 4)
    const muNow = this.muEstimate;
    this.muEstimate = (1 - criticStepSize) * muNow + criticStepSize * reward;

    // Step 3 (a^i_{t+1} ~ π^i(·|s_{t+1}; θ^i_t)) happened before this call: the joint a_{t+1} is known.
    // Step 4: δ^i_t = r^i_{t+1} − μ^i_t + Q(s_{t+1}, a_{t+1}; ω^i_t) − Q(s_t, a_t; ω^i_t)
    const qNow = this.q(this.inputNow);
    const qNext = this.q(this.inputNext);
    const tdError = reward - muNow + qNext - qNow;
    this.tdError = tdError;

    // Step 5, critic step: ω̃^i_t = ω^i_t + β_ω,t δ^i_t ∇_ω Q(s_t, a_t; ω^i_t)
    this.critic.gradient(this.inputNow, this.unitWeight, this.criticGradient);
    this.critic.addScaled(criticStepSize * tdError, this.criticGradient);

    // Step 6, advantage with the updated critic ω̃:
    // A^i_t = Q(s_t, a_t; ω̃) − Σ_b π^i(b | s_t; θ^i_t) Q(s_t, (b, a^{-i}_t); ω̃)
    this.policyAt(state); // π^i(·|s_t; θ^i_t), also used by the actor step
    const qTaken = this.q(this.inputNow);
    this.alternativeJoint.set(joint);
    let baseline = 0;
    for (let b = 0; b < this.probabilities.length; b++) {
      let qAlternative: number;
      if (b === ownAction) {
        qAlternative = qTaken;
      } else {
        this.alternativeJoint[this.agent] = b;
        this.criticInputs.write(state, this.alternativeJoint, this.inputAlternative);
        qAlternative = this.q(this.inputAlternative);
      }
      baseline += this.probabilities[b] * qAlternative;
    }
    const advantage = qTaken - baseline;

    // Step 7, actor step: θ^i_{t+1} = θ^i_t + β_θ,t A^i_t ∇_θ log π^i(a^i_t | s_t; θ^i_t)
    this.actorStep(state, ownAction, advantage, actorStepSize);

    // Step 8: ω̃^i_t is what goes to the neighbours.
    this.share.set(this.critic.parameters());
    return this.share;
  }

  consensus(row: ConsensusRow, neighbourShares: readonly Float32Array[]): void {
    // Step 9: ω^i_{t+1} = Σ_j c_t(i,j) ω̃^j_t
    if (row.neighbours.length === 0) return; // c(i,i) = 1: ω_{t+1} = ω̃_t, already in the model
    mixShares(row, this.share, neighbourShares, this.criticGradient);
    this.critic.setParameters(this.criticGradient);
  }

  criticNorm(): number {
    return euclideanNorm(this.critic.parameters());
  }

  save(): LearnerState {
    return {
      algorithm: 1,
      agent: this.agent,
      mu: this.muEstimate,
      parameters: { critic: Array.from(this.critic.parameters()), actor: Array.from(this.actor.parameters()) },
      actionStream: this.actionStream.save(),
    };
  }

  restore(state: LearnerState): void {
    if (state.algorithm !== 1 || state.agent !== this.agent) {
      throw new Error(`learner state is for algorithm ${state.algorithm} agent ${state.agent}, not algorithm 1 agent ${this.agent}`);
    }
    restoreParameters(this.critic, state.parameters.critic, 'critic');
    restoreParameters(this.actor, state.parameters.actor, 'actor');
    this.muEstimate = state.mu;
    this.actionStream = RandomStream.restore(state.actionStream);
    this.cachedNextValid = false;
  }

  dispose(): void {
    this.critic.dispose();
    this.actor.dispose();
  }
}

/** Write saved parameters into a model, checking the length. */
export function restoreParameters(model: Approximator, values: readonly number[] | undefined, name: string): void {
  if (!values || values.length !== model.parameterCount) {
    throw new Error(`saved ${name} parameters have length ${values?.length ?? 'none'}, expected ${model.parameterCount}`);
  }
  model.setParameters(Float32Array.from(values));
}
