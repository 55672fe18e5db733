// Saving and restoring RNG and learner state mid-run gives the identical continuation.
import { describe, expect, it } from 'vitest';
import { RandomStream } from '../../src/core/rng.js';
import { networkedMdpFactory } from '../../src/env/networked-mdp.js';
import { createLearner, type Learner } from '../../src/learn/index.js';
import { makeLinearModel } from '../../src/learn/model-maker.js';
import { createTopology } from '../../src/topology/topology.js';
import { consensusRow } from '../../src/topology/consensus.js';

const factory = networkedMdpFactory({ seed: 11, sampleSeed: 5, agents: 4, states: 5, actions: 3 });

function newLearners(algorithm: 1 | 2): Learner[] {
  return Array.from({ length: 4 }, (_, agent) =>
    createLearner(algorithm, factory(), {
      agent,
      runSeed: 5,
      critic: { kind: 'linear' },
      actor: { kind: 'linear' },
      criticSchedule: { kind: 'decaying', c: 1, p: 0.65 },
      actorSchedule: { kind: 'decaying', c: 1, p: 0.85 },
      makeModel: makeLinearModel,
      actorInitScale: 0.5,
    }),
  );
}

/** Drives learners on one environment from iteration `from` to `to`, recording everything they emit. */
function drive(learners: Learner[], env: ReturnType<typeof factory>, from: number, to: number, joints: Int32Array[]): number[] {
  const topology = createTopology({ family: 'ring' }, 4, 5);
  const trace: number[] = [];
  for (let t = from; t < to; t++) {
    const state = env.observe();
    const joint = joints[t % 2];
    for (let i = 0; i < 4; i++) joint[i] = learners[i].act(state);
    const snapshotState = state;
    env.step(joint);
    const nextState = env.observe();
    const nextJoint = joints[(t + 1) % 2];
    for (let i = 0; i < 4; i++) nextJoint[i] = learners[i].act(nextState);
    const shares = learners.map((learner, i) =>
      Float32Array.from(learner.localStep(t, { state: snapshotState, joint, reward: env.reward(i), nextState, nextJoint })),
    );
    for (let i = 0; i < 4; i++) {
      const row = consensusRow(topology.graphAt(t), i, 'metropolis');
      learners[i].consensus(row, row.neighbours.map((j) => shares[j]));
      trace.push(learners[i].mu, learners[i].lastTdError, ...shares[i], ...joint);
    }
  }
  return trace;
}

describe('learner save/restore', () => {
  it('a RandomStream restored from save() continues identically', () => {
    const stream = RandomStream.create(9, 'actions/3');
    for (let n = 0; n < 37; n++) stream.nextFloat();
    const saved = JSON.parse(JSON.stringify(stream.save()));
    const continued = Array.from({ length: 50 }, () => stream.nextFloat());
    const restored = RandomStream.restore(saved);
    expect(Array.from({ length: 50 }, () => restored.nextFloat())).toEqual(continued);
  });

  for (const algorithm of [1, 2] as const) {
    it(`algorithm ${algorithm}: restore(save()) mid-run gives the identical continuation`, () => {
      const learners = newLearners(algorithm);
      const env = factory();
      env.reset();
      const joints = [new Int32Array(4), new Int32Array(4)];
      drive(learners, env, 0, 150, joints);
      const savedLearners = JSON.parse(JSON.stringify(learners.map((l) => l.save())));
      const savedEnv = JSON.parse(JSON.stringify(env.save()));
      const original = drive(learners, env, 150, 300, joints);

      const restored = newLearners(algorithm);
      restored.forEach((learner, i) => learner.restore(savedLearners[i]));
      const restoredEnv = factory();
      restoredEnv.restore(savedEnv);
      const continued = drive(restored, restoredEnv, 150, 300, [new Int32Array(4), new Int32Array(4)]);
      expect(continued).toEqual(original);
      // A learner that was not restored diverges (the check can fail).
      const fresh = newLearners(algorithm);
      const freshEnv = factory();
      freshEnv.restore(savedEnv);
      expect(drive(fresh, freshEnv, 150, 300, [new Int32Array(4), new Int32Array(4)])).not.toEqual(original);
    });
  }

  it('refuses state of another algorithm or agent', () => {
    const [first] = newLearners(1);
    const second = newLearners(2)[0];
    expect(() => second.restore(first.save())).toThrow(/algorithm 1 agent 0, not algorithm 2 agent 0/);
  });
});
