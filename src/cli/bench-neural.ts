/**
 * `netac bench` cases for neural scenarios (coop-nav-6, 2×64 tanh MLP critics and actors): the
 * per-agent simulator (N Agents, N MlpModels each called at batch 1) against the batched
 * simulator (all agents in batched tensor ops), on the cpu and wasm TensorFlow.js backends.
 *
 * Neural steps are slow next to linear ones, so these cases cap their own iteration counts
 * (the table reports the count actually run): per-agent runs at most PER_AGENT_CAP iterations,
 * batched runs at most BATCHED_CAP.
 */
import { loadScenario } from '../run/config.js';
import type { ScenarioConfig } from '../run/config-schema.js';
import { simulateRun } from '../run/sim.js';
import { loadTopologyChoice } from './sim.js';
import { resolveShippedFile } from './paths.js';

/** Same shape as bench.ts' BenchCase. */
export interface NeuralBenchCase {
  readonly name: string;
  readonly description: string;
  /** Measured runs by default: one (these runs take minutes). */
  readonly repeats: number;
  run(steps: number): Promise<{ agents: number; iterations: number; seconds: number }>;
}

export const PER_AGENT_CAP = 1000;
export const BATCHED_CAP = 5000;

function neuralScenario(name: string, backend: 'cpu' | 'wasm', steps: number): ScenarioConfig {
  return { ...loadScenario(resolveShippedFile(name, 'scenarios')), backend, steps };
}

function perAgentCase(scenarioName: string, backend: 'cpu' | 'wasm'): NeuralBenchCase {
  return {
    name: `sim-${scenarioName}-${backend}`,
    repeats: 1,
    description: `netac sim, per-agent MLPs (Agents + memory transport), ${backend}: ${scenarioName}, ring (≤ ${PER_AGENT_CAP} iterations)`,
    async run(steps) {
      const iterations = Math.min(steps, PER_AGENT_CAP);
      const scenario = neuralScenario(scenarioName, backend, iterations);
      const started = performance.now();
      const result = await simulateRun(scenario, loadTopologyChoice('ring'), 0);
      const seconds = (performance.now() - started) / 1000;
      for (const learner of result.learners) learner.dispose();
      return { agents: result.agents.length, iterations, seconds };
    },
  };
}

function batchedCase(scenarioName: string, backend: 'cpu' | 'wasm'): NeuralBenchCase {
  return {
    name: `batched-${scenarioName}-${backend}`,
    repeats: 1,
    description: `netac sim --batched (all agents' MLPs in batched tensor ops), ${backend}: ${scenarioName}, ring (≤ ${BATCHED_CAP} iterations)`,
    async run(steps) {
      const iterations = Math.min(steps, BATCHED_CAP);
      const scenario = neuralScenario(scenarioName, backend, iterations);
      const started = performance.now();
      // Loaded here, not at the top: importing it loads TensorFlow.js for every netac command.
      const { simulateBatchedRun } = await import('../run/batched-sim.js');
      const result = await simulateBatchedRun(scenario, loadTopologyChoice('ring'), 0, { uniformBaseline: false });
      const seconds = (performance.now() - started) / 1000;
      result.learners.dispose();
      return { agents: result.env.agentCount, iterations, seconds };
    },
  };
}

export const NEURAL_BENCH_CASES: readonly NeuralBenchCase[] = [
  perAgentCase('coop-nav-6', 'cpu'),
  perAgentCase('coop-nav-6', 'wasm'),
  batchedCase('coop-nav-6', 'cpu'),
  batchedCase('coop-nav-6', 'wasm'),
];
