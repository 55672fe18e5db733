// Policy evaluation: with the actor frozen, Algorithm 1's critic with tabular features converges to
// the true differential action-value Q_π of that policy (computed exactly here), up to the additive
// constant that average-reward TD leaves free; and μ converges to the policy's average reward.
import { describe, expect, it } from 'vitest';
import { parseExplicitMdp } from '../../src/env/explicit-mdp.js';
import { differentialQ } from '../../src/env/exact.js';
import { Algorithm1Learner } from '../../src/learn/algorithm1.js';
import { makeLinearModel } from '../../src/learn/model-maker.js';
import { runReference } from '../../src/learn/reference.js';
import { createTopology } from '../../src/topology/topology.js';

// 3 states, 2 agents with 2 actions each (4 joint actions), stochastic transitions.
const mdpJson = {
  kind: 'explicit-mdp',
  agents: 2,
  states: 3,
  actions: [2, 2],
  transitions: [
    [[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.1, 0.1, 0.8], [0.3, 0.3, 0.4]],
    [[0.5, 0.25, 0.25], [0.1, 0.8, 0.1], [0.3, 0.4, 0.3], [0.05, 0.15, 0.8]],
    [[0.7, 0.2, 0.1], [0.25, 0.25, 0.5], [0.4, 0.5, 0.1], [0.1, 0.2, 0.7]],
  ],
  rewards: [
    [[1, 0], [0, 2], [3, 1], [0.5, 0.5]],
    [[2, 1], [1, 1], [0, 3], [2, 0]],
    [[0, 0], [4, 1], [1, 2], [1, 1]],
  ],
  rewardNoise: 0.5,
  initialState: 0,
};

describe('Algorithm 1 critic, frozen actor (policy evaluation)', () => {
  it('converges to the exact differential Q of the policy, up to a constant', () => {
    const seed = 4;
    const env = parseExplicitMdp(mdpJson, seed, 'test MDP');
    const learners = [0, 1].map(
      (agent) =>
        new Algorithm1Learner(env, {
          agent,
          runSeed: seed,
          critic: { kind: 'linear' },
          actor: { kind: 'linear' },
          criticSchedule: { kind: 'decaying', c: 1, p: 0.65 },
          actorSchedule: { kind: 'constant', value: 0 }, // frozen actor
          makeModel: makeLinearModel,
          actorInitScale: 1, // a non-uniform fixed policy
        }),
    );
    runReference({ env, learners, topology: createTopology({ family: 'empty' }, 2, seed), consensusRule: 'metropolis', steps: 300_000 });

    for (const agent of [0, 1]) {
      const learner = learners[agent];
      const policy = (i: number, s: number) => {
        const out = new Float64Array(2);
        learners[i].actionProbabilities(s, out);
        return out;
      };
      const exact = differentialQ(env, policy, { agent });
      const learned = learner.save().parameters.critic; // tabular: index s·|A| + a
      expect(learned).toHaveLength(exact.q.length);
      // Remove the free constant: the d_π·π-weighted mean of learned − exact.
      const weights: number[] = [];
      for (let s = 0; s < 3; s++) {
        const joint = new Float64Array(4);
        const p0 = policy(0, s);
        const p1 = policy(1, s);
        for (let a = 0; a < 4; a++) joint[a] = p0[a & 1] * p1[a >> 1];
        for (let a = 0; a < 4; a++) weights.push(exact.stationary[s] * joint[a]);
      }
      let offset = 0;
      for (let k = 0; k < exact.q.length; k++) offset += weights[k] * (learned[k] - exact.q[k]);
      const errors = exact.q.map((q, k) => Math.abs(learned[k] - offset - q));
      const spread = Math.max(...exact.q) - Math.min(...exact.q);
      expect(spread).toBeGreaterThan(1); // Q is not flat: the comparison means something
      expect(Math.max(...errors)).toBeLessThan(0.05); // measured: ~0.02
      expect(learner.mu).toBeCloseTo(exact.averageReward, 1);
    }
  });
});
