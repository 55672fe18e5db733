// The simulator is not a second implementation of the algorithms: N Agents over the in-memory
// transport must compute exactly the numbers of calling the learners directly (reference loop).
import { describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import type { LearningRecord } from '../../src/agent/metrics.js';
import { readFileSync } from 'node:fs';
import { networkedMdpFactory } from '../../src/env/networked-mdp.js';
import { explicitMdpFactory } from '../../src/env/explicit-mdp.js';
import type { Environment } from '../../src/env/types.js';
import { createLearner, type Learner } from '../../src/learn/index.js';
import { makeLinearModel } from '../../src/learn/model-maker.js';
import { runReference } from '../../src/learn/reference.js';
import { MemoryHub } from '../../src/net/memory-transport.js';
import { createTopology } from '../../src/topology/topology.js';
import type { Topology } from '../../src/topology/types.js';

const STEPS = 300;

/** 'round': beginRound/completeRound per agent, one message at a time (a peer's order);
 *  'phased': the simulator's passes over all agents on a lockstep hub. */
type Driver = 'round' | 'phased';

function learners(env: () => Environment, algorithm: 1 | 2, agentCount: number, seed: number, envs?: Environment[]): Learner[] {
  return Array.from({ length: agentCount }, (_, agent) => {
    const replica = env();
    envs?.push(replica);
    return createLearner(algorithm, replica, {
      agent,
      runSeed: seed,
      critic: { kind: 'linear' },
      actor: { kind: 'linear' },
      criticSchedule: { kind: 'decaying', c: 0.5, p: 0.65 },
      actorSchedule: { kind: 'decaying', c: 0.5, p: 0.85 },
      makeModel: makeLinearModel,
      criticInitScale: 0.1,
      actorInitScale: 0.1,
    });
  });
}

async function runAgents(
  factory: () => Environment,
  algorithm: 1 | 2,
  topology: Topology,
  seed: number,
  driver: Driver,
): Promise<{ learners: Learner[]; records: LearningRecord[][] }> {
  const envs: Environment[] = [];
  const agentCount = factory().agentCount;
  const all = learners(factory, algorithm, agentCount, seed, envs);
  const hub = new MemoryHub({ lockstep: driver === 'phased' });
  const records: LearningRecord[][] = all.map(() => []);
  const agents = all.map(
    (learner, i) =>
      new Agent({
        agent: i,
        env: envs[i],
        learner,
        topology,
        consensusRule: 'metropolis',
        rewardMode: 'private',
        steps: STEPS,
        metricsEvery: 50,
        sink: { learning: (record) => records[i].push(record), runtime: () => {} },
      }),
  );
  for (const agent of agents) {
    const transport = hub.transport(agent.id);
    hub.subscribeShares(agent.id, agent.shareSources());
    agent.attach(transport);
    await transport.start(agent);
  }
  for (let round = 0; round <= agents[0].lastRound; round++) {
    if (driver === 'phased') {
      // What netac sim does: each half round in two passes over all agents, batched delivery.
      for (const agent of agents) agent.learnLocally();
      for (const agent of agents) agent.drawAndPublish();
      for (const agent of agents) expect(agent.roundReady()).toBe(true);
      for (const agent of agents) agent.mixRound();
      for (const agent of agents) agent.advanceRound();
    } else {
      for (const agent of agents) agent.beginRound();
      for (const agent of agents) {
        expect(agent.roundReady()).toBe(true);
        agent.completeRound();
      }
    }
  }
  return { learners: all, records };
}

const smallExplicit: unknown = JSON.parse(readFileSync(new URL('../../scenarios/resource-4.mdp.json', import.meta.url), 'utf8'));

describe('Agent over the in-memory transport', () => {
  for (const algorithm of [1, 2] as const) {
    for (const family of ['ring', 'random'] as const) {
      for (const mdp of ['explicit', 'procedural'] as const) {
      for (const driver of ['round', 'phased'] as const) {
      it(`reproduces the reference loop exactly: algorithm ${algorithm}, ${family} graph, ${mdp} MDP, ${driver} driver`, async () => {
        const seed = 7;
        const factory =
          mdp === 'explicit'
            ? explicitMdpFactory(smallExplicit, seed, 'resource-4.mdp.json')
            : networkedMdpFactory({ seed: 3, sampleSeed: seed, agents: 4, states: 4, actions: 2 });
        const topology = createTopology(family === 'ring' ? { family } : { family, ratio: 0.5 }, 4, seed);

        const direct = learners(factory, algorithm, 4, seed);
        const rewards: number[] = [];
        runReference({
          env: factory(),
          learners: direct,
          topology,
          consensusRule: 'metropolis',
          steps: STEPS,
          onIteration: (_t, r) => rewards.push(r[0]),
        });
        const { learners: viaAgents, records } = await runAgents(factory, algorithm, topology, seed, driver);

        for (let i = 0; i < 4; i++) {
          const a = direct[i].save();
          const b = viaAgents[i].save();
          expect(b.mu).toBe(a.mu);
          expect(b.parameters).toEqual(a.parameters);
          expect(b.actionStream).toEqual(a.actionStream);
        }
        // The parameters moved: the comparison is not between two untouched initial states.
        expect(direct[0].save().parameters.actor).not.toEqual(learners(factory, algorithm, 4, seed)[0].save().parameters.actor);
        // Agent 0's windowed mean reward equals the mean of the rewards the reference saw.
        const window = rewards.slice(0, 50);
        expect(records[0][0].step).toBe(50);
        expect(records[0][0].meanReward).toBeCloseTo(window.reduce((x, y) => x + y, 0) / 50, 12);
      });
      }
      }
    }
  }
});
