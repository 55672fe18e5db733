/**
 * What each approximator sees. Linear models take the environment's hand-made features
 * (φ(s,a), ψ(s), φ^i(s,b) of ALGORITHMS.md); neural models take the global state features plus
 * one-hot codes (the joint action for Q and R̄, the agent's identity for the actor).
 */
import type { Environment, JointAction } from '../env/types.js';
import type { ModelSpec } from '../model/types.js';

/** Input of a model over (state, joint action): Q(s,a;ω) in Alg. 1, R̄(s,a;λ) in Alg. 2. */
export interface JointActionInput {
  readonly size: number;
  write(state: unknown, joint: JointAction, out: Float32Array): void;
}

/** Input of a model over the state only: V(s;v) in Alg. 2. */
export interface StateInput {
  readonly size: number;
  write(state: unknown, out: Float32Array): void;
}

/** Input of agent i's policy scores: one score per action b ∈ A^i. */
export interface PolicyInput {
  readonly size: number;
  readonly actionCount: number;
  write(state: unknown, out: Float32Array): void;
}

export function jointActionInput(env: Environment, spec: ModelSpec): JointActionInput {
  if (spec.kind === 'linear') {
    return { size: env.criticFeatureSize, write: (state, joint, out) => env.criticFeatures(state, joint, out) };
  }
  const stateSize = env.stateFeatureSize;
  const offsets: number[] = [];
  let size = stateSize;
  for (const count of env.actionCounts) {
    offsets.push(size);
    size += count;
  }
  return {
    size,
    write(state, joint, out) {
      env.stateFeatures(state, out.subarray(0, stateSize));
      out.fill(0, stateSize);
      for (let agent = 0; agent < offsets.length; agent++) out[offsets[agent] + joint[agent]] = 1;
    },
  };
}

export function stateInput(env: Environment): StateInput {
  return { size: env.stateFeatureSize, write: (state, out) => env.stateFeatures(state, out) };
}

export function policyInput(env: Environment, agent: number, spec: ModelSpec): PolicyInput {
  const actionCount = env.actionCounts[agent];
  if (spec.kind === 'linear') {
    // Block layout of LinearModel: scores_b = θ · φ^i(s, b), one feature block per action.
    const featureSize = env.actorFeatureSize;
    const block = new Float32Array(featureSize); // written then copied: no subarray view per call
    return {
      size: actionCount * featureSize,
      actionCount,
      write(state, out) {
        for (let action = 0; action < actionCount; action++) {
          env.actorFeatures(state, agent, action, block);
          out.set(block, action * featureSize);
        }
      },
    };
  }
  const stateSize = env.stateFeatureSize;
  return {
    size: stateSize + env.agentCount,
    actionCount,
    write(state, out) {
      env.stateFeatures(state, out.subarray(0, stateSize));
      out.fill(0, stateSize);
      out[stateSize + agent] = 1;
    },
  };
}
