/**
 * Algorithm 2 of Zhang et al. (ICML 2018): networked actor-critic with a state-value critic
 * V(s; v) and a team-reward estimator R̄(s, a; λ). Consensus pulls each agent's μ^i towards J
 * and its R̄ towards the team-average reward. Steps numbered as in ALGORITHMS.md.
 *
 * Private to agent i: θ^i and its rewards. Shared with neighbours: (μ̃^i_t, ṽ^i_t, λ̃^i_t),
 * laid out as one vector [μ̃, ṽ..., λ̃...].
 */
import { RandomStream, StreamName } from '../core/rng.js';
import type { Environment } from '../env/types.js';
import type { Approximator } from '../model/types.js';
import { mixShares } from '../topology/consensus.js';
import type { ConsensusRow } from '../topology/types.js';
import { ActorCriticAgent, euclideanNorm, sameJoint, uniformSource } from './actor-critic.js';
import { restoreParameters } from './algorithm1.js';
import { jointActionInput, stateInput, type JointActionInput, type StateInput } from './inputs.js';
import type { Learner, LearnerOptions, LearnerState, Transition } from './learner.js';
import { stepSizeAt } from './schedule.js';

export class Algorithm2Learner extends ActorCriticAgent implements Learner {
  readonly algorithm = 2 as const;
  readonly actionLead = 1 as const;
  readonly shareSize: number;

  private readonly valueModel: Approximator; // V(s; v)
  private readonly rewardModel: Approximator; // R̄(s, a; λ)
  private readonly valueInputs: StateInput;
  private readonly rewardInputs: JointActionInput;
  private readonly options: LearnerOptions;
  private muEstimate = 0;
  private tdError = 0;

  // ψ(s_t) and ψ(s_{t+1}): the second becomes the first at the next iteration.
  private stateInputNow: Float32Array;
  private stateInputNext: Float32Array;
  private cachedNextState: unknown = undefined;
  private cachedNextValid = false;
  private readonly rewardInput: Float32Array;
  private lastRewardState: unknown = undefined;
  private readonly lastRewardJoint: Int32Array;
  private lastRewardValid = false;
  private readonly valueGradient: Float32Array;
  private readonly rewardGradient: Float32Array;
  private readonly scalar = new Float32Array(1);
  private readonly unitWeight = new Float32Array([1]);
  private readonly share: Float32Array;
  private readonly mixed: Float32Array;

  constructor(env: Environment, options: LearnerOptions) {
    super(env, options);
    this.options = options;
    this.valueInputs = stateInput(env);
    this.rewardInputs = jointActionInput(env, options.critic);
    const initName = options.sharedCriticInit ? 'init/critic/shared' : `${StreamName.init(options.agent)}/critic`;
    const criticInit = RandomStream.create(options.runSeed, initName);
    const init = { random: uniformSource(criticInit), scale: options.criticInitScale ?? 0 };
    this.valueModel = options.makeModel(options.critic, this.valueInputs.size, 1, init);
    this.rewardModel = options.makeModel(options.critic, this.rewardInputs.size, 1, init);
    this.shareSize = 1 + this.valueModel.parameterCount + this.rewardModel.parameterCount;
    this.stateInputNow = new Float32Array(this.valueInputs.size);
    this.stateInputNext = new Float32Array(this.valueInputs.size);
    this.rewardInput = new Float32Array(this.rewardInputs.size);
    this.lastRewardJoint = new Int32Array(env.agentCount);
    this.valueGradient = new Float32Array(this.valueModel.parameterCount);
    this.rewardGradient = new Float32Array(this.rewardModel.parameterCount);
    this.share = new Float32Array(this.shareSize);
    this.mixed = new Float32Array(this.shareSize);
  }

  get mu(): number {
    return this.muEstimate;
  }

  get lastTdError(): number {
    return this.tdError;
  }

  private evaluate(model: Approximator, input: Float32Array): number {
    model.evaluate(input, this.scalar);
    return this.scalar[0];
  }

  localStep(t: number, transition: Transition): Float32Array {
    const { state, joint, reward, nextState } = transition;
    const stepSize = stepSizeAt(this.options.criticSchedule, t); // β_v,t
    const actorStepSize = stepSizeAt(this.options.actorSchedule, t); // β_θ,t
    const ownAction = joint[this.agent];

    if (this.cachedNextValid && this.cachedNextState === state) {
      const previousNext = this.stateInputNext;
      this.stateInputNext = this.stateInputNow;
      this.stateInputNow = previousNext;
    } else {
      this.valueInputs.write(state, this.stateInputNow);
    }
    this.valueInputs.write(nextState, this.stateInputNext);
    this.cachedNextState = nextState;
    this.cachedNextValid = true;
    if (!(this.lastRewardValid && this.lastRewardState === state && sameJoint(this.lastRewardJoint, joint))) {
      this.rewardInputs.write(state, joint, this.rewardInput);
      this.lastRewardState = state;
      this.lastRewardJoint.set(joint);
      this.lastRewardValid = true;
    }

    const muNow = this.muEstimate;
    const valueNow = this.evaluate(this.valueModel, this.stateInputNow); // V(s_t; v_t)
    const valueNext = this.evaluate(this.valueModel, this.stateInputNext); // V(s_{t+1}; v_t)
    const estimatedTeamReward = this.evaluate(this.rewardModel, this.rewardInput); // R̄(s_t, a_t; λ_t)

    // Step 1 is the caller's: s_{t+1} and r^i_{t+1} arrive in `transition`.
    // Step 2: μ̃^i_t = (1 − β_v,t) μ^i_t + β_v,t r^i_{t+1}
    const muShared = (1 - stepSize) * muNow + stepSize * reward;

    // Step 3: λ̃^i_t = λ^i_t + β_v,t [r^i_{t+1} − R̄(s_t, a_t; λ^i_t)] ∇_λ R̄(s_t, a_t; λ^i_t)
    this.rewardModel.gradient(this.rewardInput, this.unitWeight, this.rewardGradient);
    this.rewardModel.addScaled(stepSize * (reward - estimatedTeamReward), this.rewardGradient);

    // Step 4: δ^i_t = r^i_{t+1} − μ^i_t + V(s_{t+1}; v^i_t) − V(s_t; v^i_t)
    const tdError = reward - muNow + valueNext - valueNow;
    this.tdError = tdError;

    // Step 5, critic step: ṽ^i_t = v^i_t + β_v,t δ^i_t ∇_v V(s_t; v^i_t)
    this.valueModel.gradient(this.stateInputNow, this.unitWeight, this.valueGradient);
    this.valueModel.addScaled(stepSize * tdError, this.valueGradient);

    // Step 6: δ̃^i_t = R̄(s_t, a_t; λ^i_t) − μ^i_t + V(s_{t+1}; v^i_t) − V(s_t; v^i_t)
    const teamTdError = estimatedTeamReward - muNow + valueNext - valueNow;

    // Step 7, actor step: θ^i_{t+1} = θ^i_t + β_θ,t δ̃^i_t ∇_θ log π^i(a^i_t | s_t; θ^i_t)
    this.policyAt(state);
    this.actorStep(state, ownAction, teamTdError, actorStepSize);

    // Step 8: (μ̃, ṽ, λ̃)^i_t is what goes to the neighbours.
    const valueCount = this.valueModel.parameterCount;
    this.share[0] = muShared;
    this.share.set(this.valueModel.parameters(), 1);
    this.share.set(this.rewardModel.parameters(), 1 + valueCount);
    // Without neighbours (step 9 with c(i,i) = 1) μ_{t+1} = μ̃_t; v and λ are already in the models.
    this.muEstimate = this.share[0];
    return this.share;
  }

  consensus(row: ConsensusRow, neighbourShares: readonly Float32Array[]): void {
    // Step 9: μ^i_{t+1} = Σ_j c_t(i,j) μ̃^j_t,  v^i_{t+1} = Σ_j c_t(i,j) ṽ^j_t,  λ^i_{t+1} = Σ_j c_t(i,j) λ̃^j_t
    if (row.neighbours.length === 0) return;
    mixShares(row, this.share, neighbourShares, this.mixed);
    const valueEnd = 1 + this.valueModel.parameterCount;
    this.muEstimate = this.mixed[0];
    this.valueModel.setParameters(this.mixed.subarray(1, valueEnd));
    this.rewardModel.setParameters(this.mixed.subarray(valueEnd));
  }

  criticNorm(): number {
    return euclideanNorm(this.valueModel.parameters());
  }

  save(): LearnerState {
    return {
      algorithm: 2,
      agent: this.agent,
      mu: this.muEstimate,
      parameters: {
        critic: Array.from(this.valueModel.parameters()),
        rewardModel: Array.from(this.rewardModel.parameters()),
        actor: Array.from(this.actor.parameters()),
      },
      actionStream: this.actionStream.save(),
    };
  }

  restore(state: LearnerState): void {
    if (state.algorithm !== 2 || state.agent !== this.agent) {
      throw new Error(`learner state is for algorithm ${state.algorithm} agent ${state.agent}, not algorithm 2 agent ${this.agent}`);
    }
    restoreParameters(this.valueModel, state.parameters.critic, 'critic');
    restoreParameters(this.rewardModel, state.parameters.rewardModel, 'reward model');
    restoreParameters(this.actor, state.parameters.actor, 'actor');
    this.muEstimate = state.mu;
    this.actionStream = RandomStream.restore(state.actionStream);
    this.cachedNextValid = false;
    this.lastRewardValid = false;
  }

  dispose(): void {
    this.valueModel.dispose();
    this.rewardModel.dispose();
    this.actor.dispose();
  }
}
