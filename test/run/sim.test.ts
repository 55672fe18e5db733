// netac sim end to end (in-process): reproducibility of the learning metrics files, and the
// small explicit scenario's outcome over 5 seeds.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadScenario, loadTopology } from '../../src/run/config.js';
import { runSimulation, type RunSummary } from '../../src/run/sim.js';

const scratch = mkdtempSync(join(tmpdir(), 'netac-sim-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function metricsFiles(directory: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const name of readdirSync(directory)) if (name.endsWith('.metrics.jsonl')) files.set(name, readFileSync(join(directory, name), 'utf8'));
  return files;
}

describe('netac sim', () => {
  it('same seed: byte-identical learning metrics files; another seed: different', async () => {
    const scenario = { ...loadScenario('scenarios/paper-synthetic.yaml'), steps: 600, metricsEvery: 50 };
    const topology = loadTopology('topologies/random-4-over-n.yaml');
    for (const [name, seed] of [['a', 3], ['b', 3], ['c', 4]] as const) {
      await runSimulation({ scenario, choices: [topology], seeds: [seed], outDir: join(scratch, name) });
    }
    const a = metricsFiles(join(scratch, 'a', 'random-4-over-n', 'seed-3'));
    const b = metricsFiles(join(scratch, 'b', 'random-4-over-n', 'seed-3'));
    const c = metricsFiles(join(scratch, 'c', 'random-4-over-n', 'seed-4'));
    expect(a.size).toBe(20);
    expect([...a.values()][0].trim().split('\n')).toHaveLength(12);
    for (const [name, content] of a) {
      expect(b.get(name)).toBe(content);
      expect(c.get(name)).not.toBe(content);
    }
  });

  it('small-explicit over 5 seeds: exact J, J* and normalised score; networked close to centralized', async () => {
    const results: Record<string, RunSummary[]> = {};
    for (const file of ['scenarios/small-explicit.yaml', 'scenarios/small-explicit-alg2.yaml']) {
      const scenario = loadScenario(file);
      const summaries = await runSimulation({
        scenario,
        choices: [loadTopology('topologies/ring.yaml'), 'centralized', 'independent'],
        seeds: [0, 1, 2, 3, 4],
        outDir: join(scratch, scenario.name),
      });
      for (const summary of summaries) (results[`${scenario.name}/${summary.label}`] ??= []).push(summary);
    }
    const meanScore = (key: string) => {
      const runs = results[key];
      expect(runs).toHaveLength(5);
      for (const run of runs) {
        expect(run.J).toBeGreaterThan(0);
        expect(run.Jstar).toBeGreaterThanOrEqual(run.J!);
        expect(run.normalizedScore).toBeCloseTo((run.J! - run.Juniform!) / (run.Jstar! - run.Juniform!), 12);
      }
      return runs.reduce((total, run) => total + run.normalizedScore!, 0) / runs.length;
    };
    const ring1 = meanScore('small-explicit/ring');
    const centralized1 = meanScore('small-explicit/centralized');
    const independent1 = meanScore('small-explicit/independent');
    const ring2 = meanScore('small-explicit-alg2/ring');
    const centralized2 = meanScore('small-explicit-alg2/centralized');
    expect(Math.abs(ring1 - centralized1)).toBeLessThan(0.1);
    expect(centralized1).toBeGreaterThan(0.8);
    expect(ring2).toBeGreaterThan(0.8);
    expect(centralized2).toBeGreaterThan(0.8);
    // What consensus buys: independent learners, each optimising its own reward, do worse.
    expect(independent1).toBeLessThan(ring1 - 0.5);
  });
});
