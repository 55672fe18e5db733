import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeJointIndex, encodeJointAction } from '../../src/env/joint.js';
import { NetworkedMdp, NetworkedMdpCache, networkedMdpFactory } from '../../src/env/networked-mdp.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A deterministic pseudo-random joint action (no RNG state shared with the code under test). */
function jointOf(counts: readonly number[], salt: number): Int32Array {
  const joint = new Int32Array(counts.length);
  let x = (salt * 2654435761) >>> 0;
  for (let i = 0; i < counts.length; i++) {
    x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + i) >>> 0;
    joint[i] = x % counts[i];
  }
  return joint;
}

/** The numbers the two-process test compares: tables at a few (s, a) and a short trajectory. */
function fingerprintNumbers(mdp: NetworkedMdp): Record<string, number[]> {
  const out: Record<string, number[]> = { rows: [], rewards: [], critic: [], state: [], actor: [], trajectory: [] };
  const row = new Float64Array(mdp.stateCount);
  const critic = new Float32Array(mdp.criticFeatureSize);
  const state = new Float32Array(mdp.stateFeatureSize);
  const actor = new Float32Array(mdp.actorFeatureSize);
  for (let k = 0; k < 5; k++) {
    const s = (k * 7) % mdp.stateCount;
    const joint = jointOf(mdp.actionCounts, k + 1);
    mdp.transitionRowOf(s, joint, row);
    out.rows.push(...row);
    for (let i = 0; i < mdp.agentCount; i++) out.rewards.push(mdp.meanRewardOf(s, joint, i));
    mdp.criticFeatures(s, joint, critic);
    out.critic.push(...critic);
    mdp.stateFeatures(s, state);
    out.state.push(...state);
    mdp.actorFeatures(s, k % mdp.agentCount, 1, actor);
    out.actor.push(...actor);
  }
  mdp.reset();
  for (let t = 0; t < 30; t++) {
    mdp.step(jointOf(mdp.actionCounts, 100 + t));
    out.trajectory.push(mdp.observe(), mdp.reward(t % mdp.agentCount), mdp.stateHash());
  }
  return out;
}

describe('NetworkedMdp (the paper synthetic MDP, generated on demand)', () => {
  const tempDirs: string[] = [];
  afterAll(() => {
    for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('gives the same numbers for the same seed in a separate process', () => {
    // Neither tsx nor vite-node is installed and Node 20 cannot strip types, so the child process
    // runs the module transpiled by the TypeScript compiler (a devDependency): the import closure
    // of src/env/networked-mdp.ts is transpiled file by file into a temp dir (imports already end
    // in .js) and node_modules is symlinked there so that pure-rand resolves.
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'netac-env-'));
    tempDirs.push(outDir);
    const pending = ['src/env/networked-mdp.ts'];
    const done = new Set<string>();
    while (pending.length > 0) {
      const file = pending.pop()!;
      if (done.has(file)) continue;
      done.add(file);
      const source = fs.readFileSync(path.join(repoRoot, file), 'utf8');
      for (const match of source.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)) {
        pending.push(path.posix.join(path.posix.dirname(file), `${match[1]}.ts`));
      }
      const js = ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      }).outputText;
      const target = path.join(outDir, file.replace(/\.ts$/, '.js'));
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, js);
    }
    fs.writeFileSync(path.join(outDir, 'package.json'), '{"type":"module"}');
    fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(outDir, 'node_modules'), 'dir');
    // The child runs the very same helper functions (their source, already stripped of types by
    // vitest's transform), so any difference comes from the module, not from the harness.
    const script = `
      import { NetworkedMdp } from './src/env/networked-mdp.js';
      ${jointOf.toString()}
      ${fingerprintNumbers.toString()}
      const mdp = new NetworkedMdp({ seed: 7 });
      process.stdout.write(JSON.stringify(fingerprintNumbers(mdp)));
    `;
    fs.writeFileSync(path.join(outDir, 'child.mjs'), script);
    const child = JSON.parse(execFileSync(process.execPath, [path.join(outDir, 'child.mjs')], { encoding: 'utf8' }));
    const here = fingerprintNumbers(new NetworkedMdp({ seed: 7 }));
    expect(here.rows).toHaveLength(5 * 20);
    expect(child).toEqual(here);
  });

  it('has paper-scale defaults and transition rows that are distributions', () => {
    const mdp = new NetworkedMdp({ seed: 1 });
    expect(mdp.agentCount).toBe(20);
    expect(mdp.stateCount).toBe(20);
    expect(mdp.jointActionCount).toBe(2 ** 20);
    expect([mdp.criticFeatureSize, mdp.stateFeatureSize, mdp.actorFeatureSize]).toEqual([10, 10, 5]);
    const row = new Float64Array(20);
    const critic = new Float32Array(10);
    let rewardSum = 0;
    let rewards = 0;
    for (let k = 0; k < 200; k++) {
      const joint = jointOf(mdp.actionCounts, k);
      const s = k % 20;
      mdp.transitionRowOf(s, joint, row);
      let sum = 0;
      for (const p of row) {
        expect(p).toBeGreaterThan(0);
        sum += p;
      }
      expect(Math.abs(sum - 1)).toBeLessThan(1e-12);
      mdp.criticFeatures(s, joint, critic);
      for (const f of critic) expect(f >= 0 && f < 1).toBe(true);
      for (let i = 0; i < 20; i++) {
        const r = mdp.meanRewardOf(s, joint, i);
        expect(r >= 0 && r < 4).toBe(true);
        rewardSum += r;
        rewards++;
      }
    }
    // U[0,4] has mean 2; 4000 draws put the sample mean within ±0.1 with overwhelming odds.
    expect(Math.abs(rewardSum / rewards - 2)).toBeLessThan(0.1);
  });

  it('gives different tables for different seeds', () => {
    const a = new NetworkedMdp({ seed: 1 });
    const b = new NetworkedMdp({ seed: 2 });
    const joint = jointOf(a.actionCounts, 3);
    const fa = new Float32Array(10);
    const fb = new Float32Array(10);
    a.criticFeatures(4, joint, fa);
    b.criticFeatures(4, joint, fb);
    expect([...fa]).not.toEqual([...fb]);
    expect(a.meanRewardOf(4, joint, 0)).not.toBe(b.meanRewardOf(4, joint, 0));
    const ra = new Float64Array(20);
    const rb = new Float64Array(20);
    a.transitionRowOf(4, joint, ra);
    b.transitionRowOf(4, joint, rb);
    expect([...ra]).not.toEqual([...rb]);
    // sampleSeed changes the trajectory but not the tables.
    const c = new NetworkedMdp({ seed: 1, sampleSeed: 99 });
    const fc = new Float32Array(10);
    c.criticFeatures(4, joint, fc);
    expect([...fc]).toEqual([...fa]);
    const trajectory = (m: NetworkedMdp): number[] => {
      const states: number[] = [];
      for (let t = 0; t < 20; t++) {
        m.step(joint);
        states.push(m.observe());
      }
      return states;
    };
    expect(trajectory(c)).not.toEqual(trajectory(new NetworkedMdp({ seed: 1 })));
  });

  it('agrees between the joint-index path and the joint-array (digest) path', () => {
    const counts = [2, 3, 2, 4];
    const mdp = new NetworkedMdp({ seed: 5, agents: 4, states: 5, actions: counts });
    expect(mdp.jointActionCount).toBe(48);
    const joint = new Int32Array(4);
    const byIndex = new Float64Array(5);
    const byArray = new Float64Array(5);
    const all = new Float64Array(4);
    const seen = new Set<string>();
    for (let s = 0; s < 5; s++) {
      for (let a = 0; a < 48; a++) {
        decodeJointIndex(a, counts, joint);
        expect(encodeJointAction(joint, counts)).toBe(a);
        // Agent 0 is least significant.
        expect(joint[0]).toBe(a % 2);
        mdp.transitionRow(s, a, byIndex);
        mdp.transitionRowOf(s, joint, byArray);
        expect([...byIndex]).toEqual([...byArray]);
        mdp.meanRewards(s, a, all);
        for (let i = 0; i < 4; i++) {
          expect(mdp.meanReward(s, a, i)).toBe(mdp.meanRewardOf(s, joint, i));
          expect(all[i]).toBe(mdp.meanRewardOf(s, joint, i));
        }
        seen.add(byIndex.join(','));
      }
    }
    expect(seen.size).toBe(5 * 48); // every (s, a) has its own row
    // At paper scale too (2^20 joint actions is still indexable).
    const big = new NetworkedMdp({ seed: 5 });
    const bigJoint = new Int32Array(20);
    for (const a of [0, 1, 2 ** 19, 2 ** 20 - 1, 123457]) {
      decodeJointIndex(a, big.actionCounts, bigJoint);
      expect(big.meanReward(3, a, 7)).toBe(big.meanRewardOf(3, bigJoint, 7));
    }
  });

  it('refuses joint indices above 2^31 joint actions but works on joint arrays', () => {
    const mdp = new NetworkedMdp({ seed: 1, agents: 40, states: 3 });
    const joint = jointOf(mdp.actionCounts, 1);
    expect(() => mdp.meanReward(0, 0, 0)).toThrow(/exceed 2\^31/);
    expect(() => mdp.transitionRow(0, 0, new Float64Array(3))).toThrow(/exceed 2\^31/);
    const row = new Float64Array(3);
    mdp.transitionRowOf(0, joint, row);
    expect(row[0] + row[1] + row[2]).toBeCloseTo(1, 12);
    mdp.step(joint);
    expect(Number.isFinite(mdp.reward(39))).toBe(true);
  });

  it('updates a digest in O(1) when one agent changes its action', () => {
    const mdp = new NetworkedMdp({ seed: 3, actions: 3 });
    const joint = jointOf(mdp.actionCounts, 9);
    const digest = new Int32Array(2);
    const expected = new Int32Array(2);
    mdp.jointDigest(joint, digest);
    const from = joint[6];
    const to = (from + 1) % 3;
    mdp.swapAgentAction(digest, 6, from, to);
    joint[6] = to;
    mdp.jointDigest(joint, expected);
    expect([...digest]).toEqual([...expected]);
    const viaDigest = new Float32Array(10);
    const viaJoint = new Float32Array(10);
    mdp.criticFeaturesAt(2, digest[0], digest[1], viaDigest);
    mdp.criticFeatures(2, joint, viaJoint);
    expect([...viaDigest]).toEqual([...viaJoint]);
  });

  it('samples next states with the frequencies of P', () => {
    const mdp = new NetworkedMdp({ seed: 11, agents: 2, states: 4 });
    const joint = Int32Array.of(1, 0);
    const row = new Float64Array(4);
    mdp.transitionRowOf(2, joint, row);
    const n = 20000;
    const counts = [0, 0, 0, 0];
    for (let t = 0; t < n; t++) {
      // The draw depends on t only: restoring (s = 2, t) gives fresh independent draws.
      mdp.restore({ ...mdp.save(), state: 2, time: t, last: null });
      mdp.step(joint);
      counts[mdp.observe()]++;
    }
    for (let k = 0; k < 4; k++) {
      const sd = Math.sqrt((row[k] * (1 - row[k])) / n);
      expect(Math.abs(counts[k] / n - row[k])).toBeLessThan(5 * sd);
    }
  });

  it('computes noisy rewards lazily per agent, centred on the mean reward', () => {
    const mdp = new NetworkedMdp({ seed: 4, agents: 3, states: 2 });
    expect(() => mdp.reward(0)).toThrow(/before the first step/);
    const joint = Int32Array.of(0, 1, 1);
    let sum = 0;
    const n = 5000;
    for (let t = 0; t < n; t++) {
      mdp.restore({ ...mdp.save(), state: 1, time: t, last: null });
      mdp.step(joint);
      const r = mdp.reward(2);
      expect(Math.abs(r - mdp.meanRewardOf(1, joint, 2))).toBeLessThanOrEqual(0.5);
      sum += r;
    }
    // Noise U[−0.5, 0.5] has sd 0.289; the mean of 5000 is within 0.02 with high probability.
    expect(Math.abs(sum / n - mdp.meanRewardOf(1, joint, 2))).toBeLessThan(0.02);
    expect(() => mdp.reward(3)).toThrow(/agent 3/);
  });

  it('restores to the identical continuation, also through JSON', () => {
    const a = new NetworkedMdp({ seed: 8, sampleSeed: 3 });
    for (let t = 0; t < 40; t++) a.step(jointOf(a.actionCounts, t));
    const snapshot = JSON.parse(JSON.stringify(a.save()));
    const run = (m: NetworkedMdp): number[] => {
      const trace = [m.reward(5)];
      for (let t = 40; t < 80; t++) {
        m.step(jointOf(m.actionCounts, t));
        trace.push(m.observe(), m.time, m.reward(t % 20), m.stateHash());
      }
      return trace;
    };
    const b = new NetworkedMdp({ seed: 8, sampleSeed: 3 });
    b.restore(snapshot);
    expect(b.stateHash()).toBe(a.stateHash());
    expect(run(b)).toEqual(run(a));
    expect(() => new NetworkedMdp({ seed: 9, sampleSeed: 3 }).restore(snapshot)).toThrow(/different MDP instance/);
    expect(() => b.restore({ ...snapshot, kind: 'explicit-mdp' })).toThrow(/kind 'explicit-mdp'/);
    expect(() => b.restore({ ...snapshot, state: 20 })).toThrow(/state 20/);
  });

  it('hashes (time, state) identically across replicas and differently over time', () => {
    const make = networkedMdpFactory({ seed: 2 });
    const a = make();
    const b = make();
    const hashes = new Set<number>();
    for (let t = 0; t < 50; t++) {
      expect(a.stateHash()).toBe(b.stateHash());
      hashes.add(a.stateHash());
      const joint = jointOf(a.actionCounts, t);
      a.step(joint);
      b.step(joint);
    }
    expect(hashes.size).toBe(50);
  });

  it('gives the same numbers with a shared cache, a private cache or none', () => {
    const make = networkedMdpFactory({ seed: 6, cacheSlots: 4 }); // tiny: forces evictions
    const shared = [make(), make(), make()];
    const uncached = new NetworkedMdp({ seed: 6, cacheSlots: 0 });
    const withDefault = new NetworkedMdp({ seed: 6 });
    const f = new Float32Array(10);
    const g = new Float32Array(10);
    const r1 = new Float64Array(20);
    const r2 = new Float64Array(20);
    for (let k = 0; k < 300; k++) {
      const m = shared[k % 3];
      const joint = jointOf(m.actionCounts, k % 17);
      const s = (k * 13) % 20;
      m.criticFeatures(s, joint, f);
      uncached.criticFeatures(s, joint, g);
      expect([...f]).toEqual([...g]);
      withDefault.criticFeatures(s, joint, g);
      expect([...f]).toEqual([...g]);
      m.transitionRowOf(s, joint, r1);
      uncached.transitionRowOf(s, joint, r2);
      expect([...r1]).toEqual([...r2]);
      m.actorFeatures(s, k % 20, k & 1, f.subarray(0, 5));
      uncached.actorFeatures(s, k % 20, k & 1, g.subarray(0, 5));
      expect([...f.subarray(0, 5)]).toEqual([...g.subarray(0, 5)]);
    }
    const cache = new NetworkedMdpCache(8);
    new NetworkedMdp({ seed: 1 }, cache);
    expect(() => new NetworkedMdp({ seed: 2 }, cache)).toThrow(/different MDP instances/);
  });

  it('validates its options and inputs with clear errors', () => {
    expect(() => new NetworkedMdp({ seed: 1, agents: 0 })).toThrow(/agents: expected a positive integer/);
    expect(() => new NetworkedMdp({ seed: 1, agents: 3, actions: [2, 2] })).toThrow(/actions: has 2 entries, expected 3/);
    expect(() => new NetworkedMdp({ seed: 1.5 })).toThrow(/seed: expected a safe integer/);
    expect(() => new NetworkedMdp({ seed: 1, rewardNoise: -1 })).toThrow(/rewardNoise/);
    expect(() => new NetworkedMdp({ seed: 1, states: 4, initialState: 4 })).toThrow(/initialState/);
    const mdp = new NetworkedMdp({ seed: 1, agents: 2, states: 3, actions: [2, 3], initialState: 2 });
    expect(mdp.observe()).toBe(2);
    expect(() => mdp.step(Int32Array.of(0, 3))).toThrow(/agent 1 has action 3/);
    expect(() => mdp.step(Int32Array.of(0))).toThrow(/1 entries, expected 2/);
    expect(() => mdp.criticFeatures(3, Int32Array.of(0, 0), new Float32Array(10))).toThrow(/state 3/);
    expect(() => mdp.actorFeatures(0, 0, 2, new Float32Array(5))).toThrow(/no action 2/);
  });
});
