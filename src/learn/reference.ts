/**
 * The reference loop: N learners on ONE environment, called directly, with consensus done in
 * place — no Agent, no transport, no replicas. It is what the learning-core benchmark measures
 * and what the Agent-over-transport test compares against, number for number.
 *
 * Order per iteration t (Alg. 1; ALGORITHMS.md steps): every agent's local steps 2,4–7 (shares
 * ω̃_t), the environment moves to s_{t+2} with a_{t+1}, every agent draws a^i_{t+2} (step 3 of
 * iteration t+1, with θ_{t+1}), then consensus (step 9). Alg. 2: local steps 2–7, draws
 * a^i_{t+1} (step 10), consensus, then the environment moves to s_{t+2}. Drawing before consensus
 * is equivalent: the draw uses θ^i and the agent's own stream only, consensus touches the critic.
 */
import type { Environment } from '../env/types.js';
import { consensusRow, type ConsensusRule } from '../topology/consensus.js';
import type { Topology } from '../topology/types.js';
import type { Learner } from './learner.js';

export interface ReferenceRunOptions {
  readonly env: Environment;
  readonly learners: readonly Learner[];
  readonly topology: Topology;
  readonly consensusRule: ConsensusRule;
  readonly steps: number;
  /** Feed every learner the team-average reward (the centralized baseline). */
  readonly teamAverageReward?: boolean;
  /** Called after iteration t's consensus with the per-agent rewards r^i_{t+1} of that iteration. */
  readonly onIteration?: (t: number, privateRewards: Float64Array) => void;
}

/** Runs iterations 0..steps−1 of the learners' algorithm on one shared environment. */
export function runReference(options: ReferenceRunOptions): void {
  const { env, learners, topology, consensusRule, steps } = options;
  const agentCount = learners.length;
  const lead = learners[0].actionLead;
  const states: unknown[] = [];
  const joints = [0, 1, 2].map(() => new Int32Array(agentCount));
  const rewardHistory = [0, 1, 2].map(() => new Float64Array(agentCount));
  const learnerRewards = [0, 1, 2].map(() => new Float64Array(agentCount));
  const shares: Float32Array[] = new Array(agentCount);
  const neighbourShares: Float32Array[] = [];

  const observeRewards = (time: number): void => {
    const rewards = rewardHistory[time % 3];
    let total = 0;
    for (let i = 0; i < agentCount; i++) total += rewards[i] = env.reward(i);
    const fed = learnerRewards[time % 3];
    for (let i = 0; i < agentCount; i++) fed[i] = options.teamAverageReward ? total / agentCount : rewards[i];
  };
  const drawJoint = (time: number): void => {
    const joint = joints[time % 3];
    for (let i = 0; i < agentCount; i++) joint[i] = learners[i].act(states[time % 3]);
  };
  const stepEnvironment = (time: number): void => {
    // s_time → s_{time+1} under a_time
    env.step(joints[time % 3]);
    states[(time + 1) % 3] = env.observe();
    observeRewards(time + 1);
  };

  env.reset();
  states[0] = env.observe();
  drawJoint(0);
  stepEnvironment(0);
  if (lead === 2) drawJoint(1); // Alg. 1 start-up: a_1 ~ π(·|s_1; θ_0)

  for (let t = 0; t < steps; t++) {
    const transitionJoint = joints[t % 3];
    for (let i = 0; i < agentCount; i++) {
      shares[i] = learners[i].localStep(t, {
        state: states[t % 3],
        joint: transitionJoint,
        reward: learnerRewards[(t + 1) % 3][i],
        nextState: states[(t + 1) % 3],
        nextJoint: lead === 2 ? joints[(t + 1) % 3] : undefined,
      });
    }
    const last = t === steps - 1;
    if (lead === 2) {
      if (!last) stepEnvironment(t + 1);
      drawJoint(t + 2);
    } else {
      drawJoint(t + 1);
    }
    const graph = topology.graphAt(t);
    for (let i = 0; i < agentCount; i++) {
      const row = consensusRow(graph, i, consensusRule);
      neighbourShares.length = row.neighbours.length;
      for (let k = 0; k < row.neighbours.length; k++) neighbourShares[k] = shares[row.neighbours[k]];
      learners[i].consensus(row, neighbourShares);
    }
    options.onIteration?.(t, rewardHistory[(t + 1) % 3]);
    if (lead === 1 && !last) stepEnvironment(t + 1);
  }
}
