import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ExplicitMdp, explicitMdpFactory, parseExplicitMdp, readExplicitMdp } from '../../src/env/explicit-mdp.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const smallJson = (): Record<string, unknown> =>
  JSON.parse(fs.readFileSync(path.join(repoRoot, 'scenarios/small-explicit.mdp.json'), 'utf8'));

/** A 2-agent, 2-state MDP (agent 0: 2 actions, agent 1: 1 action) for hand-made cases. */
function tiny(): Record<string, unknown> {
  return {
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
    rewardNoise: 0.5,
    initialState: 0,
  };
}

/** parse error message of a mutated copy of the small scenario. */
function errorOf(mutate: (json: Record<string, unknown>) => void, base = smallJson()): string {
  mutate(base);
  try {
    parseExplicitMdp(base, 0, 'small.mdp.json');
  } catch (error) {
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected a validation error');
}

describe('explicit MDP validation', () => {
  it('accepts the shipped small scenario', () => {
    const mdp = parseExplicitMdp(smallJson(), 0, 'small-explicit.mdp.json');
    expect(mdp.agentCount).toBe(3);
    expect(mdp.stateCount).toBe(3);
    expect(mdp.jointActionCount).toBe(8);
    expect(mdp.description).toMatch(/harvest/);
    // Tabular features: one-hot of S·|A|, S and S·max n_i.
    expect([mdp.criticFeatureSize, mdp.stateFeatureSize, mdp.actorFeatureSize]).toEqual([24, 3, 6]);
  });

  it('names the row that does not sum to 1', () => {
    const message = errorOf((json) => {
      const transitions = json.transitions as number[][][];
      transitions[2][1] = [0, 0.5, 0.47];
    });
    expect(message).toBe('small.mdp.json: transitions[2][1]: row sums to 0.97, expected 1 (±1e-9)');
  });

  it('names the nested path of a wrong shape', () => {
    expect(
      errorOf((json) => {
        (json.rewards as number[][][])[1][3] = [1, 2];
      }),
    ).toBe('small.mdp.json: rewards[1][3]: expected 3 rewards (one per agent), got 2');
    expect(
      errorOf((json) => {
        (json.transitions as unknown[][])[0].pop();
      }),
    ).toBe('small.mdp.json: transitions[0]: expected 8 joint actions, got 7');
    expect(
      errorOf((json) => {
        (json.transitions as unknown[][][])[1][4] = 'x' as unknown as unknown[];
      }),
    ).toBe('small.mdp.json: transitions[1][4]: expected an array of 3 next-state probabilities, got "x"');
    expect(
      errorOf((json) => {
        json.actions = [2, 2];
      }),
    ).toBe('small.mdp.json: actions: expected 3 action counts (one per agent), got 2');
  });

  it('rejects a negative probability', () => {
    expect(
      errorOf((json) => {
        (json.transitions as number[][][])[0][0] = [1.1, -0.1, 0];
      }),
    ).toBe('small.mdp.json: transitions[0][0][1]: negative probability -0.1');
  });

  it('rejects a bad initial state, a non-integer count and a non-finite reward', () => {
    expect(errorOf((json) => (json.initialState = 3))).toBe(
      'small.mdp.json: initialState: expected an integer in [0, 3), got 3',
    );
    expect(errorOf((json) => (json.initialState = 0.5))).toMatch(/^small\.mdp\.json: initialState: /);
    expect(errorOf((json) => (json.states = 2.5))).toBe('small.mdp.json: states: expected an integer >= 1, got 2.5');
    expect(
      errorOf((json) => {
        (json.rewards as unknown[][][])[2][7][1] = null;
      }),
    ).toBe('small.mdp.json: rewards[2][7][1]: expected a finite number, got null');
  });

  it('rejects unknown and missing fields and a wrong kind', () => {
    expect(errorOf((json) => (json.discount = 0.9))).toMatch(/^small\.mdp\.json: discount: unknown field \(allowed: kind, /);
    expect(errorOf((json) => delete json.rewardNoise)).toBe('small.mdp.json: rewardNoise: missing field');
    expect(errorOf((json) => (json.kind = 'mdp'))).toBe('small.mdp.json: kind: expected "explicit-mdp", got "mdp"');
    expect(() => parseExplicitMdp([], 0, 'x.json')).toThrow('x.json: expected a JSON object, got an array of 0');
    expect(errorOf((json) => (json.description = 5))).toBe('small.mdp.json: description: expected a string, got 5');
  });

  it('validates explicit feature tables', () => {
    const json = tiny();
    json.criticFeatures = [
      [
        [1, 0, 0.5],
        [0, 1, 0.5],
      ],
      [
        [1, 1, 0],
        [0, 0, 1],
      ],
    ];
    json.stateFeatures = [[1], [2]];
    json.actorFeatures = [
      [[[1, 2], [3, 4]], [[5, 6]]],
      [[[7, 8], [9, 10]], [[11, 12]]],
    ];
    const mdp = parseExplicitMdp(json, 0);
    expect([mdp.criticFeatureSize, mdp.stateFeatureSize, mdp.actorFeatureSize]).toEqual([3, 1, 2]);
    const out = new Float32Array(3);
    mdp.criticFeatures(1, Int32Array.of(1, 0), out);
    expect([...out]).toEqual([0, 0, 1]);
    mdp.actorFeatures(1, 0, 1, out);
    expect([...out.subarray(0, 2)]).toEqual([9, 10]);
    mdp.actorFeatures(0, 1, 0, out);
    expect([...out.subarray(0, 2)]).toEqual([5, 6]);
    mdp.stateFeatures(1, out);
    expect(out[0]).toBe(2);

    (json.actorFeatures as number[][][][])[1][1] = [[1, 2], [3, 4]];
    expect(() => parseExplicitMdp(json, 0, 'f.json')).toThrow(
      'f.json: actorFeatures[1][1]: expected 1 actions of this agent, got 2',
    );
    json.actorFeatures = undefined;
    (json.criticFeatures as number[][][])[1][1] = [0, 1];
    expect(() => parseExplicitMdp(json, 0, 'f.json')).toThrow(
      'f.json: criticFeatures[1][1]: expected 3 feature values (as in the first vector), got 2',
    );
  });
});

describe('ExplicitMdp', () => {
  it('uses one-hot features by default with agent 0 least significant', () => {
    const mdp = parseExplicitMdp(smallJson(), 0);
    const critic = new Float32Array(24);
    mdp.criticFeatures(2, Int32Array.of(1, 0, 1), critic); // joint index 1 + 4 = 5
    expect(critic.indexOf(1)).toBe(2 * 8 + 5);
    expect(critic.reduce((a, b) => a + b, 0)).toBe(1);
    const actor = new Float32Array(6);
    mdp.actorFeatures(1, 2, 1, actor);
    expect([...actor]).toEqual([0, 0, 0, 1, 0, 0]);
    const state = new Float32Array(3);
    mdp.stateFeatures(2, state);
    expect([...state]).toEqual([0, 0, 1]);
    expect(mdp.meanReward(2, 5, 1)).toBe((smallJson().rewards as number[][][])[2][5][1]);
  });

  it('steps with the frequencies of P', () => {
    const mdp = parseExplicitMdp(smallJson(), 3);
    const joint = Int32Array.of(1, 1, 0); // joint index 3
    const row = new Float64Array(3);
    mdp.transitionRow(1, 3, row);
    expect([...row]).toEqual([0.2, 0.4, 0.4]);
    const n = 20000;
    const counts = [0, 0, 0];
    for (let t = 0; t < n; t++) {
      mdp.restore({ ...mdp.save(), state: 1, time: t, last: null });
      mdp.step(joint);
      counts[mdp.observe()]++;
    }
    for (let k = 0; k < 3; k++) {
      const sd = Math.sqrt((row[k] * (1 - row[k])) / n);
      expect(Math.abs(counts[k] / n - row[k])).toBeLessThan(5 * sd);
    }
    // Zero-probability next states never occur.
    mdp.restore({ ...mdp.save(), state: 0, time: 0, last: null });
    for (let t = 0; t < 200; t++) {
      mdp.restore({ ...mdp.save(), state: 0, time: t, last: null });
      mdp.step(Int32Array.of(0, 0, 0));
      expect(mdp.observe()).not.toBe(2);
    }
  });

  it('adds bounded reward noise around R and is reproducible per seed', () => {
    const json = tiny();
    const mdp = parseExplicitMdp(json, 1);
    expect(() => mdp.reward(0)).toThrow(/before the first step/);
    let sum = 0;
    const n = 4000;
    for (let t = 0; t < n; t++) {
      mdp.restore({ ...mdp.save(), state: 1, time: t, last: null });
      mdp.step(Int32Array.of(0, 0));
      const r = mdp.reward(0);
      expect(Math.abs(r - 4)).toBeLessThanOrEqual(0.5);
      sum += r;
    }
    expect(Math.abs(sum / n - 4)).toBeLessThan(0.03);
    const trace = (m: ExplicitMdp): number[] => {
      const out: number[] = [];
      for (let t = 0; t < 30; t++) {
        m.step(Int32Array.of(t % 2, 0));
        out.push(m.observe(), m.reward(1));
      }
      return out;
    };
    const make = explicitMdpFactory(json, 5);
    expect(trace(make())).toEqual(trace(make()));
    expect(trace(parseExplicitMdp(json, 5))).not.toEqual(trace(parseExplicitMdp(json, 6)));
  });

  it('restores to the identical continuation', () => {
    const a = parseExplicitMdp(smallJson(), 9);
    for (let t = 0; t < 25; t++) a.step(Int32Array.of(t % 2, (t >> 1) % 2, 1));
    const snapshot = JSON.parse(JSON.stringify(a.save()));
    const run = (m: ExplicitMdp): number[] => {
      const trace = [m.reward(0)];
      for (let t = 25; t < 60; t++) {
        m.step(Int32Array.of(t % 2, (t >> 1) % 2, 1));
        trace.push(m.observe(), m.time, m.reward(t % 3), m.stateHash());
      }
      return trace;
    };
    const b = parseExplicitMdp(smallJson(), 9);
    b.restore(snapshot);
    expect(run(b)).toEqual(run(a));
    const other = smallJson();
    (other.rewards as number[][][])[0][0][0] += 1;
    expect(() => parseExplicitMdp(other, 9).restore(snapshot)).toThrow(/different MDP/);
    expect(() => b.restore({ ...snapshot, last: { state: 0, joint: 8 } })).toThrow(/'last'/);
  });

  it('shares validated tables between replicas', () => {
    const tables = readExplicitMdp(smallJson(), 'small');
    const a = new ExplicitMdp(tables, 1);
    const b = new ExplicitMdp(tables, 1);
    expect(a.tables).toBe(b.tables);
    a.step(Int32Array.of(1, 1, 1));
    b.step(Int32Array.of(1, 1, 1));
    expect(a.stateHash()).toBe(b.stateHash());
    expect(() => a.step(Int32Array.of(1, 2, 1))).toThrow(/agent 1 has action 2/);
  });
});
