/**
 * `netac bench`: speed and memory, never asserted by tests. Each case runs in a fresh child
 * process so that its peak RSS is its own. Results go to BENCHMARKS.md by hand, with the machine,
 * command and date this prints.
 */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import type { Command } from 'commander';
import { loadScenario } from '../run/config.js';
import { environmentFactory, learnerFor, runParts } from '../run/experiment.js';
import { simulateRun } from '../run/sim.js';
import { makeLinearModel } from '../learn/model-maker.js';
import { runReference } from '../learn/reference.js';
import { loadTopologyChoice } from './sim.js';
import { NEURAL_BENCH_CASES } from './bench-neural.js';
import { LAUNCH_BENCH_CASES, LAUNCH_TABLE_HEADER, launchTableRow, runLaunchCase } from './bench-launch.js';
import { resolveShippedFile } from './paths.js';
import { positiveInteger } from './options.js';

interface BenchResult {
  readonly name: string;
  readonly agents: number;
  readonly iterations: number;
  /** Measured runs (after one warm-up run); the figures are the fastest run's. */
  readonly runs: number;
  readonly seconds: number;
  readonly iterationsPerSecond: number;
  readonly agentStepsPerSecond: number;
  /** Iterations per second of this process's CPU time: steadier than wall time on a shared machine. */
  readonly iterationsPerCpuSecond: number;
  readonly peakRssMb: number;
}

interface BenchCase {
  readonly name: string;
  readonly description: string;
  /** Measured runs by default (3 unless set). */
  readonly repeats?: number;
  run(steps: number): Promise<{ agents: number; iterations: number; seconds: number }>;
}

function scenarioWithSteps(name: string, steps: number) {
  return { ...loadScenario(resolveShippedFile(name, 'scenarios')), steps };
}

/** The learning core alone: N learners on one environment, the reference loop. */
function coreCase(name: string, scenarioName: string, topologyName: string): BenchCase {
  return {
    name,
    description: `learning core (reference loop, one environment): ${scenarioName}, ${topologyName}`,
    async run(steps) {
      const scenario = scenarioWithSteps(scenarioName, steps);
      const seed = 0;
      const env = environmentFactory(scenario, seed)();
      const parts = runParts(loadTopologyChoice(topologyName), env.agentCount, seed);
      const learners = Array.from({ length: env.agentCount }, (_, i) =>
        learnerFor(scenario, env, i, seed, parts.rewardMode, makeLinearModel),
      );
      const started = performance.now();
      runReference({ env, learners, topology: parts.topology, consensusRule: parts.consensusRule, steps });
      return { agents: env.agentCount, iterations: steps, seconds: (performance.now() - started) / 1000 };
    },
  };
}

/** `netac sim`'s engine: N Agents with N environment replicas over the in-memory transport. */
function simCase(name: string, scenarioName: string, topologyName: string): BenchCase {
  return {
    name,
    description: `netac sim (Agents + replicas + memory transport, no files): ${scenarioName}, ${topologyName}`,
    async run(steps) {
      const scenario = scenarioWithSteps(scenarioName, steps);
      const started = performance.now();
      const result = await simulateRun(scenario, loadTopologyChoice(topologyName), 0);
      return { agents: result.agents.length, iterations: steps, seconds: (performance.now() - started) / 1000 };
    },
  };
}

export const BENCH_CASES: readonly BenchCase[] = [
  coreCase('core-alg1', 'paper-synthetic', 'random-4-over-n'),
  coreCase('core-alg2', 'paper-synthetic-alg2', 'random-4-over-n'),
  simCase('sim-alg1', 'paper-synthetic', 'random-4-over-n'),
  simCase('sim-alg2', 'paper-synthetic-alg2', 'random-4-over-n'),
  ...NEURAL_BENCH_CASES,
];

async function runCase(benchCase: BenchCase, steps: number, repeats: number): Promise<BenchResult> {
  // Warm up the JIT on a short run first, then measure `repeats` runs and keep the fastest: on a
  // shared machine the slower runs measure the neighbours as much as the code.
  await benchCase.run(Math.min(2000, steps));
  let best: { seconds: number; cpuSeconds: number; agents: number; iterations: number } | undefined;
  let bestCpuSeconds = Infinity;
  for (let repeat = 0; repeat < repeats; repeat++) {
    const cpuBefore = process.cpuUsage();
    const { agents, iterations, seconds } = await benchCase.run(steps);
    const cpu = process.cpuUsage(cpuBefore);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    if (best === undefined || seconds < best.seconds) best = { seconds, cpuSeconds, agents, iterations };
    bestCpuSeconds = Math.min(bestCpuSeconds, cpuSeconds);
  }
  const { agents, iterations, seconds } = best!;
  return {
    name: benchCase.name,
    agents,
    iterations,
    runs: repeats,
    seconds: round(seconds, 3),
    iterationsPerSecond: Math.round(iterations / seconds),
    agentStepsPerSecond: Math.round((iterations * agents) / seconds),
    iterationsPerCpuSecond: Math.round(iterations / bestCpuSeconds),
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('benchmarks: iterations/s and peak memory of the learning core and the simulator')
    .option('--case <name>', `run one case in this process and print JSON (${BENCH_CASES.map((c) => c.name).join(', ')})`)
    .option('--steps <n>', "iterations per case (default 20000; with --launch, each case's own)", positiveInteger('--steps'))
    .option('--repeat <n>', 'measured runs per case after a warm-up run; the fastest is reported (default 3; 1 for the neural cases)', positiveInteger('--repeat'))
    .option(
      '--launch',
      `netac launch cases instead: one process per agent over libp2p, next to netac sim (${LAUNCH_BENCH_CASES.map((c) => c.name).join(', ')}; --case picks one)`,
    )
    .action(async (flags: { case?: string; steps?: number; repeat?: number; launch?: boolean }) => {
      if (flags.launch) {
        await runLaunchBench(flags.case, flags.steps);
        return;
      }
      const steps = flags.steps ?? 20000;
      if (flags.case) {
        const benchCase = BENCH_CASES.find((c) => c.name === flags.case);
        if (!benchCase) throw new Error(`--case: unknown case '${flags.case}' (expected one of ${BENCH_CASES.map((c) => c.name).join(', ')})`);
        process.stdout.write(`${JSON.stringify(await runCase(benchCase, steps, flags.repeat ?? benchCase.repeats ?? 3))}\n`);
        return;
      }
      process.stdout.write(`netac bench, ${machineLine()}\n\n`);
      process.stdout.write(
        '| case | what | agents | iterations | runs | seconds | iterations/s | agent-steps/s | iterations per CPU-second | peak RSS MB |\n|---|---|---|---|---|---|---|---|---|---|\n',
      );
      for (const benchCase of BENCH_CASES) {
        const repeat = String(flags.repeat ?? benchCase.repeats ?? 3);
        const output = execFileSync(process.execPath, [process.argv[1], 'bench', '--case', benchCase.name, '--steps', String(steps), '--repeat', repeat], {
          encoding: 'utf8',
        });
        const result = JSON.parse(output.trim().split('\n').pop()!) as BenchResult;
        process.stdout.write(
          `| ${result.name} | ${benchCase.description} | ${result.agents} | ${result.iterations} | ${result.runs} | ${result.seconds} | ${result.iterationsPerSecond} | ${result.agentStepsPerSecond} | ${result.iterationsPerCpuSecond} | ${result.peakRssMb} |\n`,
        );
      }
    });
}

/** Date, Node version, CPUs and memory: the head line of a benchmark table. */
function machineLine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown cpu';
  return `${new Date().toISOString().slice(0, 10)}, node ${process.version}, ${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB`;
}

/** `netac bench --launch [--case name] [--steps n]`: the launch cases, one after another. */
async function runLaunchBench(name: string | undefined, steps: number | undefined): Promise<void> {
  const cases = name === undefined ? LAUNCH_BENCH_CASES : LAUNCH_BENCH_CASES.filter((c) => c.name === name);
  if (cases.length === 0) throw new Error(`--case: unknown launch case '${name}' (expected one of ${LAUNCH_BENCH_CASES.map((c) => c.name).join(', ')})`);
  process.stdout.write(`netac bench --launch, ${machineLine()}, load average ${loadavg()[0].toFixed(1)}\n\n${LAUNCH_TABLE_HEADER}`);
  for (const benchCase of cases) {
    const result = await runLaunchCase(benchCase, {
      steps,
      onLine: (agent, line) => process.stderr.write(`[${benchCase.name} agent ${agent}] ${line}\n`),
    });
    process.stdout.write(launchTableRow(result));
    process.stderr.write(`${JSON.stringify({ ...result, load: loadavg()[0] })}\n`);
  }
}
