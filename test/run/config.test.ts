import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  loadScenario,
  loadTopology,
  parseScenario,
  parseSeeds,
  parseTopology,
  readStructuredFile,
  resolveRatio,
  type RatioConfig,
  type ScenarioConfig,
} from '../../src/run/config.js';

const tmp = mkdtempSync(join(tmpdir(), 'netac-config-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(tmp, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

/** The ConfigError message of `fn`, asserting it is one line. */
function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected a ConfigError');
}

const mdp = { kind: 'networked-mdp' };

describe('scenario defaults', () => {
  it('fills every default from a minimal scenario, names it after the file', () => {
    const s = parseScenario({ environment: mdp }, 'scenarios/my-run.yaml');
    expect(s).toEqual({
      name: 'my-run',
      environment: {
        kind: 'networked-mdp',
        agents: 20,
        states: 20,
        actionsPerAgent: 2,
        criticFeatures: 10,
        stateFeatures: 10,
        actorFeatures: 5,
        rewardMax: 4,
        rewardNoise: 0.5,
      },
      algorithm: 1,
      model: { critic: { kind: 'linear' }, actor: { kind: 'linear' } },
      stepSizes: { critic: { kind: 'decaying', c: 1, p: 0.65 }, actor: { kind: 'decaying', c: 1, p: 0.85 } },
      initialization: { criticScale: 0, actorScale: 0 },
      steps: 20000,
      metricsEvery: 100,
      seed: 0,
    } satisfies ScenarioConfig);
  });

  it('defaults inside partial objects (mlp sizes, the other schedule, coop-navigation)', () => {
    const s = parseScenario(
      {
        environment: { kind: 'coop-navigation' },
        model: { actor: { kind: 'mlp' } },
        stepSizes: { actor: { kind: 'constant', value: 0.01 } },
        initialization: { actorScale: 0.1 },
        algorithm: 2,
      },
      'x.json',
    );
    expect(s.environment).toEqual({ kind: 'coop-navigation', agents: 3, episodeLength: 50 });
    expect(s.model).toEqual({ critic: { kind: 'linear' }, actor: { kind: 'mlp', hidden: [64, 64], activation: 'tanh' } });
    expect(s.stepSizes).toEqual({ critic: { kind: 'decaying', c: 1, p: 0.65 }, actor: { kind: 'constant', value: 0.01 } });
    expect(s.initialization).toEqual({ criticScale: 0, actorScale: 0.1 });
    expect(s.algorithm).toBe(2);
  });

  it('makes a file name with odd characters into a safe default name', () => {
    expect(parseScenario({ environment: mdp }, '/a/my run (2).yml').name).toBe('my-run-2-');
  });
});

describe('scenario errors name the file, the field and what was expected', () => {
  const cases: [string, unknown, string][] = [
    ['unknown field', { environment: mdp, stpes: 5 }, "s.yaml: unknown field 'stpes' (did you mean 'steps'?)"],
    ['unknown nested field', { environment: { kind: 'networked-mdp', agentz: 3 } }, "s.yaml: environment: unknown field 'agentz' (did you mean 'agents'?)"],
    [
      'wrong type',
      { environment: mdp, stepSizes: { critic: { kind: 'constant', value: 'fast' } } },
      's.yaml: stepSizes.critic.value: expected a number > 0, got "fast"',
    ],
    [
      'out of range',
      { environment: mdp, stepSizes: { critic: { kind: 'decaying', c: 1, p: -0.5 } } },
      's.yaml: stepSizes.critic.p: expected a number >= 0, got -0.5',
    ],
    ['not an integer', { environment: mdp, steps: 1.5 }, 's.yaml: steps: expected an integer >= 1, got 1.5'],
    ['too few actions', { environment: { kind: 'networked-mdp', actionsPerAgent: 1 } }, 's.yaml: environment.actionsPerAgent: expected an integer >= 2, got 1'],
    ['bad algorithm', { environment: mdp, algorithm: 3 }, 's.yaml: algorithm: expected 1 or 2, got 3'],
    [
      'bad enum',
      { environment: mdp, model: { critic: { kind: 'mlp', activation: 'gelu' } } },
      "s.yaml: model.critic.activation: expected one of 'tanh', 'relu', 'sigmoid', got \"gelu\"",
    ],
    ['bad list entry', { environment: mdp, model: { actor: { kind: 'mlp', hidden: [64, 0] } } }, 's.yaml: model.actor.hidden[1]: expected an integer >= 1, got 0'],
    [
      'bad kind',
      { environment: { kind: 'gridworld' } },
      "s.yaml: environment.kind: expected one of 'networked-mdp', 'explicit-mdp', 'coop-navigation', got \"gridworld\"",
    ],
    ['missing kind', { environment: { agents: 3 } }, "s.yaml: environment.kind: missing, expected one of 'networked-mdp'"],
    ['missing environment', {}, 's.yaml: environment: missing, expected a mapping with kind:'],
    ['missing explicit file', { environment: { kind: 'explicit-mdp' } }, 's.yaml: environment.file: missing, expected a path'],
    ['missing schedule field', { environment: mdp, stepSizes: { actor: { kind: 'constant' } } }, 's.yaml: stepSizes.actor.value: missing, expected a number > 0'],
    ['infinite number', { environment: { kind: 'networked-mdp', rewardNoise: Infinity } }, 's.yaml: environment.rewardNoise: expected a number >= 0, got Infinity'],
    ['unsafe name', { environment: mdp, name: '../escape' }, 's.yaml: name: expected a name of letters, digits'],
    ['not a mapping', [1, 2], 's.yaml: expected a scenario (a mapping of fields), got a list of 2'],
  ];
  it.each(cases)('%s', (_label, value, expected) => {
    expect(errorOf(() => parseScenario(value, 's.yaml'))).toContain(expected);
  });
});

describe('topologies', () => {
  it('defaults and normalises consensus strings to objects', () => {
    expect(parseTopology({ family: 'ring' }, 'topologies/r.yaml')).toEqual({
      name: 'r',
      family: 'ring',
      consensus: { kind: 'metropolis' },
      shareDeadlineMs: null,
    });
    expect(parseTopology({ family: 'random', ratio: '4/N', consensus: 'equal-neighbour', shareDeadlineMs: 50 }, 'x.yaml')).toEqual({
      name: 'x',
      family: 'random',
      ratio: '4/N',
      redrawEvery: 1,
      connected: false,
      consensus: { kind: 'equal-neighbour' },
      shareDeadlineMs: 50,
    });
    const explicit = parseTopology(
      { family: 'explicit', edges: [[0, 1], [1, 2]], consensus: { kind: 'matrix', matrix: [[0.5, 0.5, 0], [0.25, 0.5, 0.25], [0, 0.5, 0.5]] } },
      'e.json',
    );
    expect(explicit).toMatchObject({ family: 'explicit', edges: [[0, 1], [1, 2]], consensus: { kind: 'matrix' } });
    expect(parseTopology({ family: 'grid', rows: 4, columns: 5, consensus: { kind: 'laplacian', alpha: 0.2 } }, 'g.yaml')).toMatchObject({
      rows: 4,
      columns: 5,
      consensus: { kind: 'laplacian', alpha: 0.2 },
    });
  });

  const cases: [string, unknown, string][] = [
    ['unknown field', { family: 'random', ratoi: 0.3 }, "t.yaml: unknown field 'ratoi' (did you mean 'ratio'?)"],
    ['unknown field, no near match', { family: 'ring', colour: 'red' }, "t.yaml: unknown field 'colour' (allowed: family, name,"],
    ['random needs ratio', { family: 'random' }, "t.yaml: ratio: missing, expected a number in (0, 1] or a string \"c/N\" such as \"4/N\" (required when family is 'random')"],
    ['explicit needs edges', { family: 'explicit' }, "t.yaml: edges: missing, expected a list of pairs [i, j] of agent indices (required when family is 'explicit')"],
    ['rows only for grid', { family: 'ring', rows: 3 }, "t.yaml: field 'rows' is only allowed when family is 'grid'"],
    ['edges only for explicit', { family: 'random', ratio: 0.5, edges: [] }, "t.yaml: field 'edges' is only allowed when family is 'explicit'"],
    ['redrawEvery only for random', { family: 'complete', redrawEvery: 2 }, "t.yaml: field 'redrawEvery' is only allowed when family is 'random'"],
    ['ratio out of range', { family: 'random', ratio: 1.5 }, 't.yaml: ratio: expected a number in (0, 1] or a string "c/N" such as "4/N", got 1.5'],
    ['ratio zero', { family: 'random', ratio: 0 }, 't.yaml: ratio: expected a number in (0, 1]'],
    ['ratio bad string', { family: 'random', ratio: '4/M' }, 't.yaml: ratio: expected a number in (0, 1] or a string "c/N" such as "4/N", got "4/M"'],
    ['bad family', { family: 'hex' }, "t.yaml: family: expected one of 'ring', 'line', 'star', 'complete', 'grid', 'empty', 'random', 'explicit', got \"hex\""],
    ['missing family', { name: 'x' }, "t.yaml: family: missing, expected one of 'ring'"],
    ['bad consensus name', { family: 'ring', consensus: 'metro' }, "t.yaml: consensus: expected one of 'metropolis', 'equal-neighbour', 'laplacian', or"],
    ['bad consensus kind', { family: 'ring', consensus: { kind: 'gossip' } }, "t.yaml: consensus.kind: expected one of 'metropolis', 'equal-neighbour', 'laplacian', 'matrix', 'trimmed-mean', got \"gossip\""],
    ['bad alpha', { family: 'ring', consensus: { kind: 'laplacian', alpha: -1 } }, 't.yaml: consensus.alpha: expected a number > 0, got -1'],
    [
      'matrix not stochastic',
      { family: 'ring', consensus: { kind: 'matrix', matrix: [[0.5, 0.5], [0.2, 0.7]] } },
      't.yaml: consensus.matrix[1]: expected a row summing to 1 (row-stochastic), got a sum of 0.9',
    ],
    ['matrix not square', { family: 'ring', consensus: { kind: 'matrix', matrix: [[1, 0, 0], [0, 1]] } }, 't.yaml: consensus.matrix[0]: expected 2 entries'],
    ['matrix zero diagonal', { family: 'ring', consensus: { kind: 'matrix', matrix: [[0, 1], [1, 0]] } }, 't.yaml: consensus.matrix[0][0]: expected a positive diagonal entry, got 0'],
    ['self-loop', { family: 'explicit', edges: [[0, 1], [2, 2]] }, 't.yaml: edges[1]: expected two different agents, got [2, 2] (a self-loop)'],
    ['duplicate edge', { family: 'explicit', edges: [[0, 1], [1, 0]] }, 't.yaml: edges[1]: expected each edge once, got [1, 0] again (see edges[0])'],
    ['edge not a pair', { family: 'explicit', edges: [[0, 1, 2]] }, 't.yaml: edges[0]: expected a pair [i, j] of agent indices, got a list of 3'],
    ['negative agent', { family: 'explicit', edges: [[0, -1]] }, 't.yaml: edges[0][1]: expected an integer >= 0, got -1'],
    ['bad boolean', { family: 'random', ratio: 0.3, connected: 'yes' }, 't.yaml: connected: expected true or false, got "yes"'],
    ['bad deadline', { family: 'ring', shareDeadlineMs: 0 }, 't.yaml: shareDeadlineMs: expected a number > 0 (milliseconds) or null, got 0'],
    ['bad grid rows', { family: 'grid', rows: 0 }, 't.yaml: rows: expected an integer >= 1, got 0'],
    ['baseline label as name', { family: 'ring', name: 'centralized' }, "t.yaml: name: expected a name other than 'centralized', 'independent'"],
  ];
  it.each(cases)('%s', (_label, value, expected) => {
    expect(errorOf(() => parseTopology(value, 't.yaml'))).toContain(expected);
  });

  it('resolves "c/N" ratios, capped at 1', () => {
    expect(resolveRatio('4/N', 20)).toBeCloseTo(0.2);
    expect(resolveRatio(' 2.5 / N ' as RatioConfig, 10)).toBeCloseTo(0.25);
    expect(resolveRatio('4/N', 3)).toBe(1);
    expect(resolveRatio(0.3, 100)).toBe(0.3);
  });
});

describe('files', () => {
  it('reads JSON and YAML alike', () => {
    const yaml = write('a/t1.yaml', '# comment\nfamily: star\nconsensus: laplacian\n');
    const json = write('a/t2.json', '{ "family": "star", "consensus": "laplacian" }');
    const yml = write('a/t3.yml', 'family: star\nconsensus: laplacian\n');
    const [a, b, c] = [loadTopology(yaml), loadTopology(json), loadTopology(yml)];
    expect(a).toEqual({ ...b, name: 't1' });
    expect(c).toEqual({ ...b, name: 't3' });
    expect(b.name).toBe('t2');
  });

  it('reports YAML syntax errors with file, line and column', () => {
    const path = write('bad.yaml', 'family: ring\nconsensus: [metropolis\nname: x\n');
    expect(errorOf(() => loadTopology(path))).toMatch(new RegExp(`^${escape(path)}:\\d+:\\d+: invalid YAML: `));
    const duplicate = write('dup.yaml', 'family: ring\nfamily: line\n');
    expect(errorOf(() => loadTopology(duplicate))).toBe(`${duplicate}:2:1: invalid YAML: Map keys must be unique`);
    const tabs = write('tabs.yaml', 'family: ring\n\tname: x\n');
    expect(errorOf(() => loadTopology(tabs))).toContain(`${tabs}:2:1: invalid YAML: Tabs are not allowed`);
  });

  it('reports JSON syntax errors naming the file', () => {
    const path = write('bad.json', '{\n  "family": "ring",\n  "name": \n}\n');
    expect(errorOf(() => loadTopology(path))).toMatch(new RegExp(`^${escape(path)}(:\\d+:\\d+)?: invalid JSON: `));
  });

  it('reports a missing file, an empty file, a folder and an unknown extension', () => {
    expect(errorOf(() => loadScenario(join(tmp, 'nope.yaml')))).toBe(`${join(tmp, 'nope.yaml')}: cannot read file: no such file`);
    const empty = write('empty.yaml', '\n# nothing\n');
    expect(errorOf(() => loadScenario(empty))).toBe(`${empty}: the file is empty`);
    mkdirSync(join(tmp, 'folder.yaml'), { recursive: true });
    expect(errorOf(() => loadTopology(join(tmp, 'folder.yaml')))).toContain('cannot read file: it is a folder');
    const toml = write('x.toml', 'family = "ring"');
    expect(errorOf(() => loadTopology(toml))).toBe(`${toml}: expected a .json, .yaml or .yml file, got '.toml'`);
  });

  it('reports a top-level scalar or list', () => {
    const scalar = write('scalar.yaml', 'ring\n');
    expect(errorOf(() => loadTopology(scalar))).toBe(`${scalar}: expected a topology (a mapping of fields), got "ring"`);
  });

  it('resolves the explicit MDP file against the scenario folder and reads it', () => {
    write('exp/nested/tiny.mdp.json', '{ "states": 2, "note": "opaque to config.ts" }');
    const scenario = write('exp/s.yaml', 'environment:\n  kind: explicit-mdp\n  file: nested/tiny.mdp.json\n');
    const s = loadScenario(scenario);
    expect(s.environment).toEqual({ kind: 'explicit-mdp', file: join(tmp, 'exp/nested/tiny.mdp.json'), mdp: { states: 2, note: 'opaque to config.ts' } });
    // parseScenario alone resolves the path but does not read the file.
    expect(parseScenario({ environment: { kind: 'explicit-mdp', file: 'm.json' } }, join(tmp, 'exp/s.yaml')).environment).toEqual({
      kind: 'explicit-mdp',
      file: join(tmp, 'exp/m.json'),
    });
    expect(parseScenario({ environment: { kind: 'explicit-mdp', file: 'm.json' } }, 'inline', { baseDir: '/base' }).environment).toEqual({
      kind: 'explicit-mdp',
      file: '/base/m.json',
    });
  });

  it('blames the scenario for a missing MDP file and the MDP file for bad JSON', () => {
    const missing = write('exp2/s.yaml', 'environment: { kind: explicit-mdp, file: gone.json }\n');
    expect(errorOf(() => loadScenario(missing))).toBe(`${missing}: environment.file: cannot read '${join(tmp, 'exp2/gone.json')}': no such file`);
    write('exp3/broken.json', '{ "states": 2,, }');
    const broken = write('exp3/s.yaml', 'environment: { kind: explicit-mdp, file: broken.json }\n');
    expect(errorOf(() => loadScenario(broken))).toMatch(new RegExp(`^${escape(join(tmp, 'exp3/broken.json'))}(:\\d+:\\d+)?: invalid JSON: `));
  });
});

describe('shipped files', () => {
  const root = join(import.meta.dirname, '../..');
  const files = (folder: string) =>
    readdirSync(join(root, folder))
      .filter((f) => /\.(json|ya?ml)$/.test(f) && !f.endsWith('.mdp.json'))
      .map((f) => join(folder, f));

  it.each(files('topologies'))('%s loads', (file) => {
    const t = loadTopology(join(root, file));
    expect(t.name).toBe(file.replace(/^topologies\//, '').replace(/\.(json|ya?ml)$/, ''));
  });

  it('ships the expected topologies', () => {
    expect(files('topologies').sort()).toEqual(
      ['complete', 'complete-trimmed', 'empty', 'grid', 'line', 'random-4-over-n', 'ring', 'ring-deadline', 'star'].map((n) => `topologies/${n}.yaml`).sort(),
    );
    expect(loadTopology(join(root, 'topologies/random-4-over-n.yaml'))).toMatchObject({ family: 'random', ratio: '4/N', redrawEvery: 1 });
  });

  it.each(files('scenarios'))('%s validates', (file) => {
    const path = join(root, file);
    const s = parseScenario(readStructuredFile(path), path);
    expect(s.name).toBe(file.replace(/^scenarios\//, '').replace(/\.(json|ya?ml)$/, ''));
    if (s.environment.kind !== 'explicit-mdp' || existsSync(s.environment.file)) {
      expect(loadScenario(path).name).toBe(s.name);
    }
  });

  it('paper scenarios match the paper', () => {
    const a1 = loadScenario(join(root, 'scenarios/paper-synthetic.yaml'));
    const a2 = loadScenario(join(root, 'scenarios/paper-synthetic-alg2.yaml'));
    expect(a1.environment).toMatchObject({ kind: 'networked-mdp', agents: 20, states: 20, actionsPerAgent: 2, criticFeatures: 10, actorFeatures: 5 });
    expect([a1.algorithm, a2.algorithm]).toEqual([1, 2]);
    expect(a1.stepSizes).toEqual({ critic: { kind: 'decaying', c: 1, p: 0.65 }, actor: { kind: 'decaying', c: 1, p: 0.85 } });
    expect({ ...a2, name: '', description: '', algorithm: 1 }).toEqual({ ...a1, name: '', description: '' });
    expect([a1.steps, a1.metricsEvery]).toEqual([20000, 100]);
  });

  it('small-explicit points at small-explicit.mdp.json next to it', () => {
    const path = join(root, 'scenarios/small-explicit.yaml');
    const s = parseScenario(readStructuredFile(path), path);
    expect(s.environment).toEqual({ kind: 'explicit-mdp', file: join(root, 'scenarios/small-explicit.mdp.json') });
    expect([s.algorithm, s.steps]).toEqual([1, 20000]);
  });
});

describe('parseSeeds', () => {
  it('parses ranges, lists and single seeds', () => {
    expect(parseSeeds('0..4')).toEqual([0, 1, 2, 3, 4]);
    expect(parseSeeds('1,3,7')).toEqual([1, 3, 7]);
    expect(parseSeeds('5')).toEqual([5]);
    expect(parseSeeds(' 0..2, 9 ')).toEqual([0, 1, 2, 9]);
    expect(parseSeeds('3..3')).toEqual([3]);
  });
  it.each(['', 'a', '-1', '1.5', '3..1', '1,1', '1,,2', '0..1e3', '0..100000', '99999999999999999999'])('rejects %j', (text) => {
    expect(() => parseSeeds(text)).toThrow(/^invalid seeds '.*': .+ \(expected e\.g\. "5", "0\.\.4" or "1,3,7"\)$/);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
