// Both algorithms raise J(θ) — computed exactly — on the shipped small explicit MDP, for several seeds.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { explicitMdpFactory } from '../../src/env/explicit-mdp.js';
import { uniformAverageReward, optimalAverageReward } from '../../src/env/exact.js';
import { createLearner } from '../../src/learn/index.js';
import { makeLinearModel } from '../../src/learn/model-maker.js';
import { runReference } from '../../src/learn/reference.js';
import { learnedAverageReward } from '../../src/run/exact-scores.js';
import { createTopology } from '../../src/topology/topology.js';

const mdpJson: unknown = JSON.parse(readFileSync(new URL('../../scenarios/small-explicit.mdp.json', import.meta.url), 'utf8'));
const STEPS = 8000;

describe('learning on the small explicit MDP', () => {
  for (const algorithm of [1, 2] as const) {
    it(`algorithm ${algorithm} on a ring raises J(θ) from uniform towards J* for seeds 0..2`, () => {
      for (const seed of [0, 1, 2]) {
        const factory = explicitMdpFactory(mdpJson, seed, 'small-explicit.mdp.json');
        const env = factory();
        const learners = [0, 1, 2].map((agent) =>
          createLearner(algorithm, factory(), {
            agent,
            runSeed: seed,
            critic: { kind: 'linear' },
            actor: { kind: 'linear' },
            criticSchedule: { kind: 'decaying', c: 5, p: 0.65 },
            actorSchedule: { kind: 'constant', value: 0.01 },
            makeModel: makeLinearModel,
          }),
        );
        const before = learnedAverageReward(env, learners);
        const uniform = uniformAverageReward(env);
        expect(before).toBeCloseTo(uniform, 6); // zero actor parameters: the uniform policy
        runReference({ env, learners, topology: createTopology({ family: 'ring' }, 3, seed), consensusRule: 'metropolis', steps: STEPS });
        const after = learnedAverageReward(env, learners);
        const normalized = (after - uniform) / (optimalAverageReward(env) - uniform);
        expect(normalized).toBeGreaterThan(0.5);
      }
    });
  }
});
