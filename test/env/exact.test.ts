import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  averageReward,
  differentialQ,
  differentialV,
  evaluatePolicy,
  optimalAverageReward,
  solveOptimalAverageReward,
  stationaryDistribution,
  uniformAverageReward,
  uniformPolicy,
  type FactoredPolicy,
} from '../../src/env/exact.js';
import { parseExplicitMdp } from '../../src/env/explicit-mdp.js';
import { decodeJointIndex } from '../../src/env/joint.js';
import { NetworkedMdp } from '../../src/env/networked-mdp.js';
import type { FiniteMdp } from '../../src/env/types.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const small = (): FiniteMdp =>
  parseExplicitMdp(JSON.parse(fs.readFileSync(path.join(repoRoot, 'scenarios/small-explicit.mdp.json'), 'utf8')), 0);

/** Hand-made: 2 states, agent 0 with 2 actions, agent 1 with 1 action. */
const handMade = (): FiniteMdp =>
  parseExplicitMdp(
    {
      kind: 'explicit-mdp',
      agents: 2,
      states: 2,
      actions: [2, 1],
      transitions: [
        [
          [0.9, 0.1],
          [0.2, 0.8],
        ],
        [
          [0.5, 0.5],
          [0.3, 0.7],
        ],
      ],
      rewards: [
        [
          [1, 3],
          [0, 2],
        ],
        [
          [4, 2],
          [0, 0],
        ],
      ],
      rewardNoise: 0,
      initialState: 0,
    },
    0,
  );

/** A random factored stochastic policy from a small LCG (deterministic per salt). */
function randomPolicy(mdp: FiniteMdp, salt: number): number[][][] {
  let x = salt * 7919 + 1;
  const next = (): number => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) / 2 ** 24 + 0.01;
  };
  return mdp.actionCounts.map((n) =>
    Array.from({ length: mdp.stateCount }, () => {
      const w = Array.from({ length: n }, next);
      const sum = w.reduce((a, b) => a + b, 0);
      return w.map((v) => v / sum);
    }),
  );
}

/** The factored (deterministic) policy playing joint index choice[s] in state s. */
function jointDeterministic(mdp: FiniteMdp, choice: readonly number[]): number[][][] {
  const joint = new Int32Array(mdp.agentCount);
  const policy = mdp.actionCounts.map((n) => Array.from({ length: mdp.stateCount }, () => new Array<number>(n).fill(0)));
  choice.forEach((a, s) => {
    decodeJointIndex(a, mdp.actionCounts, joint);
    for (let i = 0; i < mdp.agentCount; i++) policy[i][s][joint[i]] = 1;
  });
  return policy;
}

/** π(a|s) of a factored policy given as an array. */
function jointProbability(mdp: FiniteMdp, policy: number[][][], s: number, a: number): number {
  const joint = decodeJointIndex(a, mdp.actionCounts, new Int32Array(mdp.agentCount));
  let p = 1;
  for (let i = 0; i < mdp.agentCount; i++) p *= policy[i][s][joint[i]];
  return p;
}

describe('exact evaluation', () => {
  it('computes J of a hand-made 2-state MDP', () => {
    const mdp = handMade();
    const policy = [
      [
        [0.5, 0.5],
        [1, 0],
      ],
      [[1], [1]],
    ];
    // P_π = [[0.55, 0.45], [0.5, 0.5]] → d = (10/19, 9/19); r̄_π = (1.5, 3) → J = 42/19.
    const evaluation = evaluatePolicy(mdp, policy);
    expect(evaluation.stationary[0]).toBeCloseTo(10 / 19, 14);
    expect(evaluation.stationary[1]).toBeCloseTo(9 / 19, 14);
    expect(evaluation.averageReward).toBeCloseTo(42 / 19, 14);
    // Agent 0's own reward: r_π = (0.5, 4) → 41/19.
    expect(averageReward(mdp, policy, { agent: 0 })).toBeCloseTo(41 / 19, 14);
    // The function form of a policy gives the same.
    const asFunction: FactoredPolicy = (agent, state) => Float64Array.from(policy[agent][state]);
    expect(averageReward(mdp, asFunction)).toBeCloseTo(42 / 19, 14);
    // J* of this MDP: best is a=0 in both states: d = (5/6, 1/6), J = 5/6·2 + 1/6·3 = 13/6.
    // versus a=(1,0): P = [[.2,.8],[.5,.5]] → d = (5/13, 8/13), J = 5/13 + 24/13 = 29/13 > 13/6.
    expect(optimalAverageReward(mdp)).toBeCloseTo(29 / 13, 9);
  });

  it('finds a stationary distribution with dP = d', () => {
    const mdp = new NetworkedMdp({ seed: 3, agents: 3, states: 6 });
    const { chain, stationary } = evaluatePolicy(mdp, randomPolicy(mdp, 1));
    for (let next = 0; next < 6; next++) {
      let mass = 0;
      for (let s = 0; s < 6; s++) mass += stationary[s] * chain[s * 6 + next];
      expect(mass).toBeCloseTo(stationary[next], 13);
    }
    expect(stationary.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 14);
    // A chain with two closed classes has no unique stationary distribution.
    expect(() => stationaryDistribution(Float64Array.of(1, 0, 0, 1), 2)).toThrow(/not unichain/);
  });

  it('has J* >= J(π) for random policies, equal to the brute-force optimum', () => {
    const mdp = new NetworkedMdp({ seed: 12, agents: 2, states: 3 }); // 4 joint actions, 64 policies
    const optimum = solveOptimalAverageReward(mdp);
    let best = -Infinity;
    let bestChoice: number[] = [];
    for (let code = 0; code < 4 ** 3; code++) {
      const choice = [code % 4, (code >> 2) % 4, (code >> 4) % 4];
      const j = averageReward(mdp, jointDeterministic(mdp, choice));
      if (j > best) {
        best = j;
        bestChoice = choice;
      }
    }
    expect(optimum.averageReward).toBeCloseTo(best, 9);
    expect(optimum.upper - optimum.lower).toBeLessThanOrEqual(1e-10);
    expect([...optimum.policy]).toEqual(bestChoice);
    for (let salt = 0; salt < 20; salt++) {
      expect(averageReward(mdp, randomPolicy(mdp, salt))).toBeLessThanOrEqual(optimum.averageReward + 1e-9);
    }
    expect(uniformAverageReward(mdp)).toBeLessThan(optimum.averageReward);
  });

  it('handles a periodic MDP through the aperiodicity transform', () => {
    // Deterministic 2-cycle whatever the action; rewards favour action 1 in state 0.
    const mdp = parseExplicitMdp(
      {
        kind: 'explicit-mdp',
        agents: 1,
        states: 2,
        actions: [2],
        transitions: [
          [
            [0, 1],
            [0, 1],
          ],
          [
            [1, 0],
            [1, 0],
          ],
        ],
        rewards: [[[0], [2]], [[1], [0]]],
        rewardNoise: 0,
        initialState: 0,
      },
      0,
    );
    expect(optimalAverageReward(mdp)).toBeCloseTo(1.5, 9);
    expect(() => optimalAverageReward(mdp, { tau: 1, maxIterations: 1000 })).toThrow(/did not reach span/);
  });

  it('documents the shipped small scenario: optimum, uniform and the selfish equilibrium', () => {
    const mdp = small();
    const optimum = solveOptimalAverageReward(mdp);
    expect(optimum.averageReward).toBeCloseTo(1.9254, 4);
    expect([...optimum.policy]).toEqual([7, 7, 7]); // everyone tends in every state
    const uniform = uniformAverageReward(mdp);
    expect(uniform).toBeCloseTo(1.1975, 4);
    expect(optimum.averageReward - uniform).toBeGreaterThan(0.5);
    // Agents 1 and 2: harvesting (action 0) everywhere raises their own long-run reward whatever
    // the others do (checked against every deterministic profile of the others), yet lowers J.
    const harvest = [
      [1, 0],
      [1, 0],
      [1, 0],
    ];
    const tend = [
      [0, 1],
      [0, 1],
      [0, 1],
    ];
    const deterministic = (mask: number): number[][] => [0, 1, 2].map((s) => ((mask >> s) & 1 ? [0, 1] : [1, 0]));
    for (const agent of [1, 2]) {
      for (let mask = 0; mask < 64; mask++) {
        const others = [deterministic(mask & 7), deterministic(mask >> 3)];
        const withAction = (mine: number[][]): number[][][] =>
          agent === 1 ? [others[0], mine, others[1]] : [others[0], others[1], mine];
        const own = (mine: number[][]): number => averageReward(mdp, withAction(mine), { agent });
        expect(own(harvest)).toBeGreaterThan(own(tend));
      }
    }
    const allTend = [tend, tend, tend];
    expect(averageReward(mdp, allTend)).toBeCloseTo(optimum.averageReward, 9);
    expect(averageReward(mdp, [tend, harvest, tend])).toBeLessThan(averageReward(mdp, allTend));
    // The own-reward equilibrium: agent 0 harvests only in state 0, agents 1 and 2 always harvest.
    const equilibrium = [[[1, 0], [0, 1], [0, 1]], harvest, harvest];
    expect(averageReward(mdp, equilibrium)).toBeCloseTo(0.8304, 4);
    expect(averageReward(mdp, equilibrium)).toBeLessThan(uniform);
  });

  it('gives a differential Q that satisfies its Bellman equation', () => {
    for (const [mdp, reward] of [
      [small(), 'team'],
      [small(), { agent: 2 }],
      [new NetworkedMdp({ seed: 4, agents: 3, states: 5, actions: [2, 3, 2] }), 'team'],
    ] as const) {
      const policy = randomPolicy(mdp, 7);
      const result = differentialQ(mdp, policy, reward);
      const S = mdp.stateCount;
      const A = mdp.jointActionCount;
      const v = new Float64Array(S);
      for (let s = 0; s < S; s++) {
        for (let a = 0; a < A; a++) v[s] += jointProbability(mdp, policy, s, a) * result.at(s, a);
      }
      const row = new Float64Array(S);
      let normalisation = 0;
      for (let s = 0; s < S; s++) {
        expect(v[s]).toBeCloseTo(result.values[s], 10);
        normalisation += result.stationary[s] * v[s];
        for (let a = 0; a < A; a++) {
          mdp.transitionRow(s, a, row);
          let r = 0;
          if (reward === 'team') {
            for (let i = 0; i < mdp.agentCount; i++) r += mdp.meanReward(s, a, i) / mdp.agentCount;
          } else {
            r = mdp.meanReward(s, a, reward.agent);
          }
          let expected = 0;
          for (let next = 0; next < S; next++) expected += row[next] * v[next];
          expect(result.q[s * A + a]).toBeCloseTo(r - result.averageReward + expected, 10);
        }
      }
      expect(normalisation).toBeCloseTo(0, 12);
    }
  });

  it('gives a differential V that satisfies its Poisson equation', () => {
    const mdp = new NetworkedMdp({ seed: 9, agents: 2, states: 7, actions: 3 });
    const { values, chain, stateReward, averageReward: J, stationary } = differentialV(mdp, randomPolicy(mdp, 3));
    let normalisation = 0;
    for (let s = 0; s < 7; s++) {
      let expected = 0;
      for (let next = 0; next < 7; next++) expected += chain[s * 7 + next] * values[next];
      expect(values[s]).toBeCloseTo(stateReward[s] - J + expected, 12);
      normalisation += stationary[s] * values[s];
    }
    expect(normalisation).toBeCloseTo(0, 12);
  });

  it('rejects bad policies and oversized problems with clear errors', () => {
    const mdp = small();
    const policy = uniformPolicy(mdp);
    policy[1][2] = Float64Array.of(0.7, 0.7);
    expect(() => averageReward(mdp, policy)).toThrow('policy of agent 1 in state 2: probabilities sum to 1.4, expected 1');
    expect(() => averageReward(mdp, [policy[0]])).toThrow(/policy\[1\]/);
    expect(() => averageReward(mdp, uniformPolicy(mdp), { agent: 3 })).toThrow(/agent 3/);
    expect(() => optimalAverageReward(new NetworkedMdp({ seed: 1 }))).toThrow(/exact J\* is for small MDPs/);
  });
});
