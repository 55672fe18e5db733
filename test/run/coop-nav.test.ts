// Cooperative navigation with neural (TensorFlow.js) critics and actors, end to end in one
// process: the scenario files, the environment wiring, reproducibility of the per-agent simulator,
// the batched simulator's run directory, and no tensor leaks over long runs in either simulator.
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CoopNavigation } from '../../src/env/coop-navigation.js';
import { loadScenario, loadTopology, parseScenario } from '../../src/run/config.js';
import type { ScenarioConfig } from '../../src/run/config-schema.js';
import { environmentFactory } from '../../src/run/experiment.js';
import { runSimulation, simulateRun } from '../../src/run/sim.js';
import { runBatchedSimulation, simulateBatchedRun, uniformPolicyReturn } from '../../src/run/batched-sim.js';
import { writeReport } from '../../src/run/report.js';

const scratch = mkdtempSync(join(tmpdir(), 'netac-coopnav-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const coop3 = (overrides: Partial<ScenarioConfig> = {}): ScenarioConfig => ({ ...loadScenario('scenarios/coop-nav-3.yaml'), ...overrides });

function metricsFiles(directory: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const name of readdirSync(directory).sort()) if (name.endsWith('.metrics.jsonl')) files.set(name, readFileSync(join(directory, name), 'utf8'));
  return files;
}

describe('coop-navigation scenarios', () => {
  it('ship coop-nav-3 and coop-nav-6 with MLP critics and actors', () => {
    for (const [file, agents] of [['scenarios/coop-nav-3.yaml', 3], ['scenarios/coop-nav-6.yaml', 6]] as const) {
      const s = loadScenario(file);
      expect(s.environment).toMatchObject({ kind: 'coop-navigation', agents });
      expect(s.model.critic).toEqual({ kind: 'mlp', hidden: [64, 64], activation: 'tanh' });
      expect(s.model.actor).toEqual({ kind: 'mlp', hidden: [64, 64], activation: 'tanh' });
    }
  });

  it('validates the environment options and the backend', () => {
    const s = parseScenario({ environment: { kind: 'coop-navigation', agents: 2, acceleration: 4, rewardScales: [1, 2] }, backend: 'wasm' }, 's.yaml');
    expect(s.environment).toEqual({ kind: 'coop-navigation', agents: 2, episodeLength: 50, acceleration: 4, rewardScales: [1, 2] });
    expect(s.backend).toBe('wasm');
    expect(parseScenario({ environment: { kind: 'coop-navigation' } }, 's.yaml').backend).toBeUndefined();
    expect(() => parseScenario({ environment: { kind: 'coop-navigation' }, backend: 'gpu' }, 's.yaml')).toThrow(
      /s\.yaml: backend: expected one of 'auto', 'tfjs-node', 'wasm', 'cpu', got "gpu"/,
    );
    expect(() => parseScenario({ environment: { kind: 'coop-navigation', damping: 1 } }, 's.yaml')).toThrow(/environment\.damping/);
    expect(() => environmentFactory(parseScenario({ environment: { kind: 'coop-navigation', agents: 3, rewardScales: [1] } }, 's.yaml'), 0)).toThrow(
      /rewardScales: expected 3 numbers/,
    );
  });

  it('builds the environment: instance from the scenario seed, layouts from the run seed', () => {
    const s = coop3();
    const a = environmentFactory(s, 1)() as CoopNavigation;
    const b = environmentFactory(s, 2)() as CoopNavigation;
    const c = environmentFactory({ ...s, seed: 5 }, 1)() as CoopNavigation;
    expect(a).toBeInstanceOf(CoopNavigation);
    expect(a.agentCount).toBe(3);
    expect(a.rewardScales).toEqual(b.rewardScales);
    expect(a.rewardScales).not.toEqual(c.rewardScales);
    expect(Array.from(a.observe())).not.toEqual(Array.from(b.observe()));
    expect(Array.from(a.observe())).toEqual(Array.from(environmentFactory(s, 1)().observe() as Float32Array));
  });
});

describe('per-agent simulator with MLPs', () => {
  it('same seed: byte-identical learning metrics', async () => {
    const scenario = coop3({ steps: 120, metricsEvery: 40 });
    const ring = loadTopology('topologies/ring.yaml');
    for (const name of ['a', 'b']) await runSimulation({ scenario, choices: [ring], seeds: [4], outDir: join(scratch, name) });
    const a = metricsFiles(join(scratch, 'a', 'ring', 'seed-4'));
    const b = metricsFiles(join(scratch, 'b', 'ring', 'seed-4'));
    expect(a.size).toBe(3);
    for (const [name, content] of a) {
      expect(content.trim().split('\n')).toHaveLength(3);
      expect(b.get(name)).toBe(content);
    }
  });

  it('live tensor count after 1000 iterations equals that after 10', async () => {
    const counts: number[] = [];
    for (const steps of [10, 1000]) {
      const { learners } = await simulateRun(coop3({ steps, metricsEvery: 10 }), loadTopology('topologies/ring.yaml'), 0);
      counts.push(tf.memory().numTensors);
      for (const learner of learners) learner.dispose();
    }
    expect(counts[1]).toBe(counts[0]);
  });
});

describe('batched simulator', () => {
  it('live tensor count after 1000 iterations equals that after 10', async () => {
    const counts = new Map<number, number>();
    const before = tf.memory().numTensors;
    const { learners } = await simulateBatchedRun(coop3({ steps: 1000, metricsEvery: 100 }), loadTopology('topologies/ring.yaml'), 0, {
      uniformBaseline: false,
      onIteration: (t) => {
        if (t === 9 || t === 999) counts.set(t, tf.memory().numTensors);
      },
    });
    expect(counts.get(999)).toBe(counts.get(9));
    learners.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('writes the run directory: metrics per agent, summary with the uniform policy’s return, a report', async () => {
    const outDir = join(scratch, 'batched');
    const scenario = coop3({ steps: 200, metricsEvery: 50 });
    const summaries = await runBatchedSimulation({ scenario, choices: [loadTopology('topologies/ring.yaml'), 'centralized'], seeds: [1], outDir });
    expect(summaries.map((s) => s.label)).toEqual(['ring', 'centralized']);
    for (const summary of summaries) {
      expect(Number.isFinite(summary.finalReturn)).toBe(true);
      expect(summary.Juniform).toBe(uniformPolicyReturn(scenario, 1, 200));
      expect(summary.Juniform!).toBeLessThan(0);
    }
    const files = metricsFiles(join(outDir, 'ring', 'seed-1'));
    expect(files.size).toBe(3);
    const lines = files.get('agent-0.metrics.jsonl')!.trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    expect(lines.map((l) => l.step)).toEqual([50, 100, 150, 200]);
    expect(lines[3].consensusDistance).toBeGreaterThan(0);
    const report = await writeReport(outDir, { quiet: true });
    expect(report.table).toMatch(/J\(uniform\)/);
    expect(JSON.parse(readFileSync(join(outDir, 'config.json'), 'utf8'))).toMatchObject({ batched: true, labels: ['ring', 'centralized'] });
  });

  it('refuses linear models', async () => {
    await expect(simulateBatchedRun(loadScenario('scenarios/small-explicit.yaml'), 'centralized', 0)).rejects.toThrow(/--batched needs MLP/);
  });
});
