import { describe, expect, it } from 'vitest';
import {
  COOP_ACTION_COUNT,
  CoopAction,
  CoopNavigation,
  coopNavigationFactory,
  coopStateSize,
  type CoopNavigationOptions,
} from '../../src/env/coop-navigation.js';

const f = Math.fround;

/** A deterministic pseudo-random joint action (no RNG state shared with the code under test). */
function randomJoint(n: number, salt: number, out = new Int32Array(n)): Int32Array {
  let x = (salt * 2654435761) >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + i * 0x9e3779b1) >>> 0;
    x = Math.imul(x ^ (x >>> 13), 0x85ebca6b) >>> 0;
    out[i] = (x >>> 8) % COOP_ACTION_COUNT;
  }
  return out;
}

/** "Move towards your landmark": the axis with the larger offset, stay when within 0.03. */
function greedyJoint(env: CoopNavigation, out: Int32Array): Int32Array {
  const s = env.observe();
  const n = env.agentCount;
  for (let i = 0; i < n; i++) {
    const ox = s[4 * n + 2 * i] - s[4 * i];
    const oy = s[4 * n + 2 * i + 1] - s[4 * i + 1];
    if (Math.sqrt(ox * ox + oy * oy) < 0.03) out[i] = CoopAction.stay;
    else if (Math.abs(ox) > Math.abs(oy)) out[i] = ox > 0 ? CoopAction.right : CoopAction.left;
    else out[i] = oy > 0 ? CoopAction.up : CoopAction.down;
  }
  return out;
}

interface Body {
  p: [number, number];
  v?: [number, number];
}

/**
 * Puts an environment at time `time` with the given agents and landmarks through restore() of a
 * crafted snapshot (the documented way to set a layout). Values must be float32 numbers.
 */
function place(env: CoopNavigation, agents: Body[], landmarks: [number, number][], time = 0): void {
  const L = env.parameters.episodeLength;
  const state: number[] = [];
  for (const a of agents) state.push(f(a.p[0]), f(a.p[1]), f(a.v?.[0] ?? 0), f(a.v?.[1] ?? 0));
  for (const l of landmarks) state.push(f(l[0]), f(l[1]));
  state.push(f((time % L) / L));
  env.restore({ ...env.save(), time, episode: Math.floor(time / L), state, rewards: null });
}

const dist = (x: number, y: number): number => Math.sqrt(x * x + y * y);

/** Two agents, no random scales: the small hand-computed world. */
const small: CoopNavigationOptions = {
  seed: 5,
  agents: 2,
  rewardScales: [2, 0.5],
  damping: 0.5,
  acceleration: 1,
  dt: 0.1,
  agentRadius: 0.05,
  collisionPenalty: 1,
};

describe('cooperative navigation: dynamics and rewards by hand', () => {
  it('moves an agent right for two steps with damped velocity', () => {
    const env = new CoopNavigation(small);
    place(env, [{ p: [0, 0] }, { p: [0.3, 0.3] }], [
      [0.5, 0],
      [-0.5, 0.5],
    ]);
    const joint = Int32Array.of(CoopAction.right, CoopAction.stay);

    env.step(joint);
    // v = 0.5·0 + 1·1·0.1 = 0.1; p = 0 + 0.1·0.1 = 0.01.
    let s = env.observe();
    expect(s[0]).toBeCloseTo(0.01, 7);
    expect(s[1]).toBe(0);
    expect(s[2]).toBeCloseTo(0.1, 7);
    expect(s[3]).toBe(0);
    expect(Array.from(s.subarray(4, 8))).toEqual([f(0.3), f(0.3), 0, 0]);
    expect(env.reward(0)).toBeCloseTo(-2 * 0.49, 6);
    expect(env.reward(1)).toBeCloseTo(-0.5 * Math.sqrt(0.68), 6);
    expect(env.time).toBe(1);

    env.step(joint);
    // v = 0.5·0.1 + 0.1 = 0.15; p = 0.01 + 0.15·0.1 = 0.025.
    s = env.observe();
    expect(s[0]).toBeCloseTo(0.025, 7);
    expect(s[2]).toBeCloseTo(0.15, 7);
    expect(env.reward(0)).toBeCloseTo(-2 * 0.475, 6);
    // Landmarks do not move; the phase is t / L.
    expect(Array.from(s.subarray(8, 12))).toEqual([f(0.5), 0, f(-0.5), f(0.5)]);
    expect(s[12]).toBe(f(2 / 50));

    // Up and down, left: velocity keeps decaying along the old axis while the new one grows.
    env.step(Int32Array.of(CoopAction.up, CoopAction.left));
    s = env.observe();
    expect(s[2]).toBeCloseTo(0.075, 7);
    expect(s[0]).toBeCloseTo(0.0325, 7);
    expect(s[3]).toBeCloseTo(0.1, 7);
    expect(s[1]).toBeCloseTo(0.01, 7);
    expect(s[6]).toBeCloseTo(-0.1, 7);
    expect(s[4]).toBeCloseTo(0.29, 7);
  });

  it('keeps drifting with damping when staying', () => {
    const env = new CoopNavigation(small);
    place(env, [{ p: [0, 0], v: [0, 0.2] }, { p: [0.5, 0.5], v: [-0.4, 0] }], [
      [0, 0],
      [0, 0],
    ]);
    env.step(Int32Array.of(CoopAction.stay, CoopAction.down));
    const s = env.observe();
    expect(s[3]).toBeCloseTo(0.1, 7); // 0.5·0.2
    expect(s[1]).toBeCloseTo(0.01, 7);
    expect(s[6]).toBeCloseTo(-0.2, 7); // 0.5·(−0.4)
    expect(s[7]).toBeCloseTo(-0.1, 7); // 0 − 0.1
    expect(s[4]).toBeCloseTo(0.48, 7);
    expect(s[5]).toBeCloseTo(0.49, 7);
  });

  it('charges a collision to both agents, scaled by c_i and collisionPenalty', () => {
    // Agents 0.078 apart (< 2·0.05): one collision each.
    const landmarks: [number, number][] = [
      [0, 0.5],
      [-0.4, 0],
    ];
    const bodies: Body[] = [{ p: [0, 0] }, { p: [0.06, 0.05] }];
    const d0 = 0.5;
    const d1 = dist(f(0.06) - f(-0.4), f(0.05));
    for (const penalty of [1, 3]) {
      const env = new CoopNavigation({ ...small, collisionPenalty: penalty });
      place(env, bodies, landmarks);
      env.step(Int32Array.of(CoopAction.stay, CoopAction.stay));
      expect(env.reward(0)).toBeCloseTo(-2 * (d0 + penalty), 6);
      expect(env.reward(1)).toBeCloseTo(-0.5 * (d1 + penalty), 6);
    }
    // 0.106 apart: no collision.
    const env = new CoopNavigation(small);
    place(env, [{ p: [0, 0] }, { p: [0.08, 0.07] }], landmarks);
    env.step(Int32Array.of(CoopAction.stay, CoopAction.stay));
    expect(env.reward(0)).toBeCloseTo(-2 * d0, 6);
    expect(env.reward(1)).toBeCloseTo(-0.5 * dist(f(0.08) + f(0.4), f(0.07)), 6);
    // Three agents in a clump: each collides with the two others.
    const three = new CoopNavigation({ ...small, agents: 3, rewardScales: [1, 1, 1] });
    place(three, [{ p: [0, 0] }, { p: [0.05, 0] }, { p: [0, 0.05] }], [
      [0, 0],
      [0.05, 0],
      [0, 0.05],
    ]);
    three.step(Int32Array.of(0, 0, 0));
    for (let i = 0; i < 3; i++) expect(three.reward(i)).toBeCloseTo(-2, 6);
  });

  it('clamps positions to the box and stops the velocity at the wall', () => {
    const env = new CoopNavigation(small);
    place(env, [{ p: [0.99, -0.99], v: [0.3, -0.3] }, { p: [-1, 1], v: [0, 0] }], [
      [0, 0],
      [0, 0],
    ]);
    env.step(Int32Array.of(CoopAction.right, CoopAction.left));
    const s = env.observe();
    // x: v = 0.15 + 0.1 → p = 1.015 → 1, v = 0. y: v = −0.15 → p = −1.005 → −1, v = 0.
    expect(Array.from(s.subarray(0, 4))).toEqual([1, -1, 0, 0]);
    // Agent 1 pushes left into the wall: stays at −1 with no velocity.
    expect(Array.from(s.subarray(4, 8))).toEqual([-1, 1, 0, 0]);
    // Away from the wall again: the velocity builds up from 0.
    env.step(Int32Array.of(CoopAction.left, CoopAction.stay));
    expect(env.observe()[2]).toBeCloseTo(-0.1, 7);
    expect(env.observe()[0]).toBeCloseTo(0.99, 7);
  });

  it('returns fresh immutable snapshots and validates actions', () => {
    const env = new CoopNavigation(small);
    const before = env.observe();
    const copy = Float32Array.from(before);
    env.step(Int32Array.of(4, 1));
    expect(env.observe()).not.toBe(before);
    expect(before).toEqual(copy);
    expect(() => env.step(Int32Array.of(5, 0))).toThrow(/agent 0 has action 5/);
    expect(() => env.step(Int32Array.of(0))).toThrow(/joint action has 1 entries, expected 2/);
    expect(() => new CoopNavigation(small).reward(0)).toThrow(/before the first step/);
    expect(() => env.reward(2)).toThrow(/agent 2/);
  });

  it('validates its options', () => {
    expect(() => new CoopNavigation({ ...small, damping: 1 })).toThrow(/damping: expected a finite number in \[0, 1\)/);
    expect(() => new CoopNavigation({ ...small, rewardScales: [1] })).toThrow(/rewardScales: expected 2 numbers/);
    expect(() => new CoopNavigation({ ...small, rewardScales: [1, 0] })).toThrow(/rewardScales\[1\]/);
    expect(() => new CoopNavigation({ seed: 1.5 })).toThrow(/seed: expected a safe integer/);
    expect(() => coopNavigationFactory({ seed: 1, agents: 0 })).toThrow(/agents: expected a positive integer/);
  });
});

describe('cooperative navigation: episodes, seeds, snapshots', () => {
  it('has the documented defaults and draws c_i in [0.5, 1.5) from the seed', () => {
    const env = new CoopNavigation({ seed: 1 });
    expect(env.agentCount).toBe(3);
    expect(env.actionCounts).toEqual([5, 5, 5]);
    const { agents, episodeLength, damping, acceleration, dt, agentRadius, collisionPenalty } = env.parameters;
    expect({ agents, episodeLength, damping, acceleration, dt, agentRadius, collisionPenalty }).toEqual({
      agents: 3,
      episodeLength: 50,
      damping: 0.5,
      acceleration: 2,
      dt: 0.1,
      agentRadius: 0.05,
      collisionPenalty: 1,
    });
    expect(env.maxSpeed).toBeCloseTo(0.4, 12);
    for (const c of env.rewardScales) expect(c >= 0.5 && c < 1.5).toBe(true);
    expect(new Set(env.rewardScales).size).toBe(3);
    expect(new CoopNavigation({ seed: 1, sampleSeed: 77 }).rewardScales).toEqual(env.rewardScales);
    expect(new CoopNavigation({ seed: 2 }).rewardScales).not.toEqual(env.rewardScales);
    // Layouts come from the sample seed: same sampleSeed, same start; the box holds everything.
    const startOf = (seed: number, sampleSeed: number): Float32Array => new CoopNavigation({ seed, sampleSeed }).observe();
    expect(startOf(1, 9)).toEqual(startOf(2, 9));
    expect(startOf(1, 9)).not.toEqual(env.observe());
    const s = env.observe();
    expect(s.length).toBe(coopStateSize(3));
    for (let i = 0; i < 3; i++) {
      expect(s[4 * i + 2]).toBe(0);
      expect(s[4 * i + 3]).toBe(0);
    }
    for (const v of s) expect(Math.abs(v) <= 1).toBe(true);
  });

  it('restarts from a new layout every episodeLength steps while time keeps counting', () => {
    const L = 5;
    const env = new CoopNavigation({ seed: 3, episodeLength: L });
    const long = new CoopNavigation({ seed: 3, episodeLength: 1000 });
    const start = Float32Array.from(env.observe());
    const world = (x: Float32Array): number[] => Array.from(x.subarray(0, 18)); // without the phase
    expect(world(long.observe())).toEqual(world(start)); // episode 0 has the same layout
    const joint = new Int32Array(3);
    for (let t = 0; t < L; t++) {
      randomJoint(3, t + 1, joint);
      if (t < L - 1) {
        env.step(joint);
        long.step(joint);
        expect(world(env.observe())).toEqual(world(long.observe()));
        expect(env.observe()[18]).toBe(f((t + 1) / L));
        expect(env.episode).toBe(0);
      } else {
        env.step(joint);
        long.step(joint);
      }
    }
    // The step that ends the episode: its reward is that of the move, the state the new layout.
    for (let i = 0; i < 3; i++) expect(env.reward(i)).toBe(long.reward(i));
    expect(env.time).toBe(L);
    expect(env.episode).toBe(1);
    const s1 = env.observe();
    expect(world(s1)).not.toEqual(world(long.observe()));
    expect(s1).not.toEqual(start);
    expect(s1[18]).toBe(0);
    for (let i = 0; i < 3; i++) expect([s1[4 * i + 2], s1[4 * i + 3]]).toEqual([0, 0]);
    // The new layout does not depend on the actions taken.
    const other = new CoopNavigation({ seed: 3, episodeLength: L });
    for (let t = 0; t < L; t++) other.step(Int32Array.of(4, 4, 4));
    expect(other.observe()).toEqual(s1);
    // Next episode, next layout; reset goes back to episode 0.
    for (let t = 0; t < L; t++) env.step(randomJoint(3, 50 + t, joint));
    expect(env.time).toBe(2 * L);
    expect(env.episode).toBe(2);
    expect(env.observe()).not.toEqual(s1);
    env.reset();
    expect(env.time).toBe(0);
    expect(env.observe()).toEqual(start);
    expect(() => env.reward(0)).toThrow(/before the first step/);
  });

  it('gives the same trajectory and hashes for the same seed, different ones for another seed', () => {
    const run = (options: CoopNavigationOptions): { bytes: number[]; rewards: number[]; hashes: number[] } => {
      const make = coopNavigationFactory(options);
      const env = make();
      const out = { bytes: [] as number[], rewards: [] as number[], hashes: [env.stateHash()] };
      const joint = new Int32Array(env.agentCount);
      for (let t = 0; t < 130; t++) {
        env.step(randomJoint(env.agentCount, 1000 + t, joint));
        const s = env.observe();
        out.bytes.push(...new Uint8Array(s.buffer, s.byteOffset, s.byteLength));
        for (let i = 0; i < env.agentCount; i++) out.rewards.push(env.reward(i));
        out.hashes.push(env.stateHash());
      }
      return out;
    };
    const a = run({ seed: 11, agents: 4 });
    const b = run({ seed: 11, agents: 4 });
    expect(b).toEqual(a);
    const c = run({ seed: 12, agents: 4 });
    expect(c.bytes).not.toEqual(a.bytes);
    expect(c.rewards).not.toEqual(a.rewards);
    expect(c.hashes.some((h, k) => h === a.hashes[k])).toBe(false);
    // Same layouts, other reward scales: the same states but other rewards.
    const d = run({ seed: 13, sampleSeed: 11, agents: 4 });
    expect(d.bytes).toEqual(a.bytes);
    expect(d.rewards).not.toEqual(a.rewards);
    // Hashes see the time and every float: two replicas one step apart disagree.
    expect(new Set(a.hashes).size).toBe(a.hashes.length);
  });

  it('restore(save()) mid-episode gives the identical continuation, through JSON', () => {
    const options: CoopNavigationOptions = { seed: 21, agents: 3, episodeLength: 30 };
    const env = new CoopNavigation(options);
    const joint = new Int32Array(3);
    for (let t = 0; t < 37; t++) env.step(randomJoint(3, t, joint));
    const saved = JSON.parse(JSON.stringify(env.save()));
    expect(saved).toMatchObject({ kind: 'coop-navigation', time: 37, episode: 1 });
    expect(saved.state).toHaveLength(19);
    const copy = new CoopNavigation(options);
    copy.restore(saved);
    expect(copy.stateHash()).toBe(env.stateHash());
    expect(copy.observe()).toEqual(env.observe());
    for (let i = 0; i < 3; i++) expect(copy.reward(i)).toBe(env.reward(i));
    for (let t = 37; t < 130; t++) {
      randomJoint(3, t, joint);
      env.step(joint);
      copy.step(joint);
      expect(copy.stateHash()).toBe(env.stateHash());
      for (let i = 0; i < 3; i++) expect(copy.reward(i)).toBe(env.reward(i));
    }
    expect(Buffer.from(copy.observe().buffer)).toEqual(Buffer.from(env.observe().buffer));
  });

  it('keeps hashes through JSON while velocities decay to zero (no −0 in the state)', () => {
    // 0.5·v halves a float32 velocity each step until the smallest subnormal rounds to −0 (ties to
    // even) for one step; JSON would turn that −0 into 0 and change the hash.
    const options: CoopNavigationOptions = { seed: 4, agents: 2, episodeLength: 1000 };
    const env = new CoopNavigation(options);
    const copy = new CoopNavigation(options);
    env.step(Int32Array.of(CoopAction.left, CoopAction.down));
    for (let t = 0; t < 200; t++) {
      env.step(Int32Array.of(0, 0));
      for (const v of env.observe()) expect(Object.is(v, -0)).toBe(false);
      copy.restore(JSON.parse(JSON.stringify(env.save())));
      expect(copy.stateHash()).toBe(env.stateHash());
    }
  });

  it('hashes the state, not only the time', () => {
    const a = new CoopNavigation({ seed: 6 });
    const b = new CoopNavigation({ seed: 6 });
    expect(a.stateHash()).toBe(b.stateHash());
    for (let t = 0; t < 10; t++) {
      a.step(Int32Array.of(1, 1, 1));
      b.step(Int32Array.of(1, 1, t === 0 ? 2 : 1));
      expect(a.stateHash()).not.toBe(b.stateHash());
    }
  });

  it('refuses snapshots of another kind, instance or shape with a clear error', () => {
    const env = new CoopNavigation({ seed: 1 });
    env.step(Int32Array.of(1, 2, 3));
    const good = env.save();
    const err = (patch: Record<string, unknown>): string => {
      try {
        new CoopNavigation({ seed: 1 }).restore({ ...good, ...patch } as never);
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error('expected an error');
    };
    expect(err({ kind: 'networked-mdp' })).toBe(
      "coop-navigation restore: snapshot is of kind 'networked-mdp', expected 'coop-navigation'",
    );
    expect(() => new CoopNavigation({ seed: 2 }).restore(good)).toThrow(/different instance/);
    expect(err({ state: [1, 2, 3] })).toMatch(/state: expected an array of 19 numbers \(6N \+ 1 for N = 3\), got 3 values/);
    const state = [...(good.state as number[])];
    state[0] = 0.1; // not a float32 value
    expect(err({ state })).toMatch(/state\[0\]: expected a finite float32 value/);
    state[0] = 2;
    expect(err({ state })).toMatch(/state\[0\]: position 2 is outside the world box/);
    expect(err({ time: 2 })).toMatch(/state\[18\]: episode phase .* does not match time 2/);
    expect(err({ episode: 3 })).toMatch(/episode 3 does not match time 1/);
    expect(err({ time: -1 })).toMatch(/time -1 is not a non-negative integer/);
    expect(err({ rewards: [1] })).toMatch(/rewards: expected null or 3 numbers/);
  });
});

describe('cooperative navigation: features', () => {
  it('has the documented sizes and finite values', () => {
    for (const agents of [1, 3, 5]) {
      const env = new CoopNavigation({ seed: 8, agents, episodeLength: 20 });
      expect(env.stateFeatureSize).toBe(10 * agents + 2);
      expect(env.criticFeatureSize).toBe(18 * agents + 2);
      expect(env.actorFeatureSize).toBe(6);
      const psi = new Float32Array(env.stateFeatureSize);
      const phi = new Float32Array(env.criticFeatureSize);
      const actor = new Float32Array(env.actorFeatureSize);
      const joint = new Int32Array(agents);
      for (let t = 0; t < 60; t++) {
        const s = env.observe();
        randomJoint(agents, t, joint);
        env.stateFeatures(s, psi);
        env.criticFeatures(s, joint, phi);
        for (const v of psi) expect(Number.isFinite(v)).toBe(true);
        for (const v of phi) expect(Number.isFinite(v)).toBe(true);
        expect(Array.from(phi.subarray(0, psi.length))).toEqual(Array.from(psi));
        expect(psi[10 * agents + 1]).toBe(1);
        for (let i = 0; i < agents; i++) {
          for (let b = 0; b < 5; b++) {
            env.actorFeatures(s, i, b, actor);
            for (const v of actor) expect(Number.isFinite(v)).toBe(true);
          }
        }
        env.step(joint);
      }
    }
  });

  it('puts the reward terms in φ(s, a): r^i = −c_i (next distance + penalty · collisions)', () => {
    const env = new CoopNavigation({ seed: 2, agents: 4, agentRadius: 0.3, collisionPenalty: 2, episodeLength: 10 });
    const n = 4;
    const phi = new Float32Array(env.criticFeatureSize);
    const joint = new Int32Array(n);
    let collisions = 0;
    for (let t = 0; t < 40; t++) {
      const s = env.observe();
      randomJoint(n, 300 + t, joint);
      env.criticFeatures(s, joint, phi);
      env.step(joint);
      for (let i = 0; i < n; i++) {
        collisions += phi[17 * n + 2 + i];
        const onehot = Array.from(phi.subarray(10 * n + 2 + 5 * i, 10 * n + 7 + 5 * i));
        expect(onehot).toEqual([0, 1, 2, 3, 4].map((b) => (b === joint[i] ? 1 : 0)));
        expect(env.reward(i)).toBeCloseTo(-env.rewardScales[i] * (phi[16 * n + 2 + i] + 2 * phi[17 * n + 2 + i]), 5);
      }
    }
    expect(collisions).toBeGreaterThan(0); // the large radius makes the collision term show up
  });

  it('gives the hand-computed features of a small layout', () => {
    const env = new CoopNavigation(small);
    place(env, [{ p: [0, 0], v: [0.1, 0] }, { p: [0.05, 0], v: [0, 0] }], [
      [0.3, 0.4],
      [-0.5, 0.5],
    ]);
    const s = env.observe();
    const psi = new Float32Array(env.stateFeatureSize);
    env.stateFeatures(s, psi);
    // vMax = 1·0.1/0.5 = 0.2: v̂ = 0.5. Offset (0.3, 0.4), distance 0.5, closing speed 0.6·0.5.
    expect(psi[2]).toBeCloseTo(0.5, 6);
    expect(psi[12]).toBeCloseTo(0.3, 6);
    expect(psi[13]).toBeCloseTo(0.4, 6);
    expect(psi[16]).toBeCloseTo(0.5, 6);
    expect(psi[18]).toBeCloseTo(0.3, 6);
    expect(psi[19]).toBe(0);
    expect(psi.length).toBe(22);

    const actor = new Float32Array(6);
    env.actorFeatures(s, 0, CoopAction.up, actor);
    // towards = 0.4 (unit: 0.8); v̂·dir = 0; agent 1 is 0.05 to the right (w = 1 − 0.05/0.2).
    expect(actor[0]).toBeCloseTo(0.8, 6);
    expect(actor[1]).toBeCloseTo(0.4, 6);
    expect(actor[2]).toBe(0);
    expect(actor[3]).toBe(0);
    expect(actor[5]).toBe(0);
    env.actorFeatures(s, 0, CoopAction.left, actor);
    expect(actor[0]).toBeCloseTo(-0.6, 6);
    expect(actor[2]).toBeCloseTo(-0.5, 6);
    expect(actor[5]).toBeCloseTo(0.75, 6);
    env.actorFeatures(s, 0, CoopAction.stay, actor);
    expect([actor[0], actor[1], actor[2], actor[3], actor[5]].map((v) => v + 0)).toEqual([0, 0, 0, 1, 0]);
    expect(actor[4]).toBeCloseTo(0.5, 6);

    const phi = new Float32Array(env.criticFeatureSize);
    env.criticFeatures(s, Int32Array.of(CoopAction.up, CoopAction.stay), phi);
    expect(phi.length).toBe(38);
    expect(phi[22 + 1]).toBe(1); // agent 0's one-hot, action up
    expect(phi[22 + 5]).toBe(1); // agent 1's one-hot, stay
    expect(phi[32]).toBeCloseTo(0.8, 6); // û_0 · up
    expect(phi[33]).toBe(0);
    // Agent 0 after the move: v = (0.05, 0.1), p = (0.005, 0.01): distance to (0.3, 0.4).
    expect(phi[34]).toBeCloseTo(dist(0.295, 0.39), 6);
    expect(phi[36]).toBe(1); // 0.045 apart: one collision each
    expect(phi[37]).toBe(1);
  });
});

describe('cooperative navigation: learnability', () => {
  it('moving towards the landmark clearly beats uniform random over 2000 steps', () => {
    const average = (policy: 'greedy' | 'random', seed: number): number => {
      const env = new CoopNavigation({ seed });
      const joint = new Int32Array(env.agentCount);
      let total = 0;
      const T = 2000;
      for (let t = 0; t < T; t++) {
        if (policy === 'greedy') greedyJoint(env, joint);
        else randomJoint(env.agentCount, 7919 * seed + t, joint);
        env.step(joint);
        for (let i = 0; i < env.agentCount; i++) total += env.reward(i) / env.agentCount;
      }
      return total / T;
    };
    for (const seed of [1, 2, 3]) {
      const greedy = average('greedy', seed);
      const random = average('random', seed);
      expect(greedy).toBeGreaterThan(random + 0.4);
      expect(greedy).toBeGreaterThan(0.6 * random); // less than 60 % of random's cost
    }
  });
});
