/**
 * `netac bench --launch`: `netac launch` on this machine (one OS process per agent, libp2p
 * gossipsub over TCP on 127.0.0.1, signed messages) next to `netac sim` on the same config.
 *
 * Each case writes a fresh run config (keys, free loopback ports) in a temporary folder, starts
 * the agents with the Launcher and reads every agent's final 'done' record:
 *  - iterations/s: iterations / runMs (from 'ready' to the end of the closing handshake), the
 *    mean over agents and the slowest agent (lockstep: they differ by the handshake only);
 *  - CPU-ms per agent per iteration: runCpuMs / iterations (the rounds only; start-up, about
 *    1.5 CPU-s per process for imports, keys and dialling, is reported apart as cpuMs);
 *  - bytes sent per agent per iteration: the transport's bytesOut (wire-format payloads handed to
 *    gossipsub, re-publishes included; not counting signatures, framing and encryption);
 *  - messages in and out per agent per iteration, re-publishes, rejections.
 * Then `netac sim` runs the same scenario, topology, agent count and steps in this process for
 * its iterations/s (see simIterationsPerSecond).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initRun } from '../run/init-run.js';
import { Launcher, type AgentExit, type DoneRecord } from '../run/launch.js';
import { loadScenario } from '../run/config.js';
import { withAgentCount } from '../run/experiment.js';
import { simulateRun } from '../run/sim.js';
import { loadTopologyChoice } from './sim.js';
import { PACKAGE_ROOT, resolveShippedFile } from './paths.js';

export interface LaunchBenchCase {
  readonly name: string;
  readonly agents: number;
  /** Shipped topology name (topologies/<name>.yaml) or a path. */
  readonly topology: string;
  /** Shipped scenario name or a path. */
  readonly scenario: string;
  /** Iterations per run (`--steps` overrides it, capped for large swarms by `maxSteps`). */
  readonly steps: number;
}

export interface LaunchBenchResult {
  readonly name: string;
  readonly agents: number;
  readonly topology: string;
  readonly scenario: string;
  readonly iterations: number;
  /** Mean over agents of iterations / runMs. */
  readonly iterationsPerSecond: number;
  /** The slowest agent's iterations / runMs. */
  readonly slowestIterationsPerSecond: number;
  /** runCpuMs / iterations, mean over agents (NaN when agents do not report runCpuMs). */
  readonly cpuMsPerIteration: number;
  /** cpuMs / iterations (start-up included), mean over agents. */
  readonly totalCpuMsPerIteration: number;
  /** Start-up CPU per agent process (cpuMs − runCpuMs), ms. */
  readonly startupCpuMs: number;
  readonly bytesOutPerIteration: number;
  readonly messagesInPerIteration: number;
  readonly messagesOutPerIteration: number;
  /** Re-publishes that went out, all agents together. */
  readonly republished: number;
  readonly rejected: number;
  /** `netac sim` on the same config in this process. */
  readonly simIterationsPerSecond: number;
}

function launchCase(agents: number, topology: string, steps: number): LaunchBenchCase {
  return { name: `launch-${agents}-${topology}`, agents, topology, scenario: 'paper-synthetic', steps };
}

/** 4, 8 and 16 agents on the ring and on the paper's random graph (ratio 4/N), Algorithm 1. */
export const LAUNCH_BENCH_CASES: readonly LaunchBenchCase[] = [
  launchCase(4, 'ring', 2000),
  launchCase(4, 'random-4-over-n', 2000),
  launchCase(8, 'ring', 2000),
  launchCase(8, 'random-4-over-n', 2000),
  launchCase(16, 'ring', 500),
  launchCase(16, 'random-4-over-n', 500),
];

function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;
}

function numberOf(value: unknown): number {
  return typeof value === 'number' ? value : Number.NaN;
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** Summarises the agents' 'done' records; throws naming the agents that failed. */
export function summariseLaunch(benchCase: LaunchBenchCase, exits: readonly AgentExit[], simIterationsPerSecond: number): LaunchBenchResult {
  const failed = exits.filter((exit) => exit.code !== 0 || exit.signal !== null || exit.done === undefined);
  if (failed.length > 0) {
    const first = failed[0];
    throw new Error(
      `${benchCase.name}: agent(s) ${failed.map((exit) => exit.agent).join(', ')} did not finish; agent ${first.agent}: ${first.signal ?? `code ${first.code}`}${first.errors.length > 0 ? `: ${first.errors.at(-1)}` : ''}`,
    );
  }
  const done = exits.map((exit) => exit.done as DoneRecord);
  const iterations = numberOf(done[0].iterations);
  const per = (pick: (record: DoneRecord) => number) => mean(done.map((record) => pick(record) / numberOf(record.iterations)));
  const stat = (record: DoneRecord, key: string) => numberOf(record.stats?.[key]);
  const rates = done.map((record) => numberOf(record.iterations) / (numberOf(record.runMs) / 1000));
  return {
    name: benchCase.name,
    agents: benchCase.agents,
    topology: benchCase.topology,
    scenario: benchCase.scenario,
    iterations,
    iterationsPerSecond: round(mean(rates), 1),
    slowestIterationsPerSecond: round(Math.min(...rates), 1),
    cpuMsPerIteration: round(per((record) => numberOf(record.runCpuMs)), 2),
    totalCpuMsPerIteration: round(per((record) => numberOf(record.cpuMs)), 2),
    startupCpuMs: Math.round(mean(done.map((record) => numberOf(record.cpuMs) - numberOf(record.runCpuMs)))),
    bytesOutPerIteration: Math.round(per((record) => stat(record, 'bytesOut'))),
    messagesInPerIteration: round(per((record) => stat(record, 'messagesIn')), 1),
    messagesOutPerIteration: round(per((record) => stat(record, 'messagesOut')), 1),
    republished: done.reduce((total, record) => total + (stat(record, 'republished') || 0), 0),
    rejected: done.reduce((total, record) => total + (stat(record, 'rejected') || 0), 0),
    simIterationsPerSecond: Math.round(simIterationsPerSecond),
  };
}

/**
 * `netac sim` on the case's config, in this process (after a warm-up run): iterations/s of the
 * rounds alone, timed between the simulator's progress callbacks (every 256 rounds), so that
 * setup and the exact-score step at the end are left out. That step refuses MDPs whose joint
 * action table is too big (16 agents of paper-synthetic) and throws after the rounds: ignored here.
 */
export async function simIterationsPerSecond(benchCase: LaunchBenchCase, steps: number): Promise<number> {
  const base = withAgentCount(loadScenario(resolveShippedFile(benchCase.scenario, 'scenarios')), benchCase.agents);
  const choice = loadTopologyChoice(benchCase.topology);
  const rate = async (iterations: number): Promise<number> => {
    const marks: Array<{ round: number; at: number }> = [];
    try {
      await simulateRun({ ...base, steps: iterations }, choice, 0, { onRound: (round) => marks.push({ round, at: performance.now() }) });
    } catch (error) {
      if (!(error instanceof Error && /exact J\* is for small MDPs/.test(error.message))) throw error;
    }
    const first = marks[0];
    const last = marks.at(-1);
    if (first === undefined || last === undefined || last.round === first.round) return Number.NaN;
    return (last.round - first.round) / ((last.at - first.at) / 1000);
  };
  const iterations = Math.max(steps, 2049);
  await rate(Math.min(iterations, 1025));
  return rate(iterations);
}

/**
 * Runs one case: `netac launch` of `benchCase.agents` processes for `steps` iterations (default the
 * case's), then `netac sim` on the same config. `onLine` gets the agents' warnings and errors.
 */
export async function runLaunchCase(
  benchCase: LaunchBenchCase,
  options: { readonly steps?: number; readonly onLine?: (agent: number, line: string) => void; readonly keep?: boolean } = {},
): Promise<LaunchBenchResult> {
  const steps = options.steps ?? benchCase.steps;
  const dir = mkdtempSync(join(tmpdir(), `netac-bench-${benchCase.name}-`));
  try {
    const runFile = join(dir, 'run.yaml');
    await initRun({
      out: runFile,
      agents: benchCase.agents,
      scenario: resolveShippedFile(benchCase.scenario, 'scenarios'),
      topology: resolveShippedFile(benchCase.topology, 'topologies'),
      runId: `bench-${benchCase.name}`,
      seed: 0,
      steps,
    });
    const launcher = new Launcher({
      entry: join(PACKAGE_ROOT, 'bin', 'netac.js'),
      runFile,
      agents: benchCase.agents,
      steps,
      onLine: options.onLine,
    });
    const exits = await launcher.run();
    const sim = await simIterationsPerSecond(benchCase, steps);
    return summariseLaunch(benchCase, exits, sim);
  } finally {
    if (options.keep !== true) rmSync(dir, { recursive: true, force: true });
  }
}

/** The Markdown table header and one row per result (what BENCHMARKS.md shows). */
export const LAUNCH_TABLE_HEADER =
  '| case | agents | topology | iterations | iterations/s (slowest) | CPU-ms / agent / iteration | start-up CPU-ms / agent | bytes out / agent / iteration | msgs in / out per agent per iteration | re-publishes | rejected | `netac sim` iterations/s |\n' +
  '|---|---|---|---|---|---|---|---|---|---|---|---|\n';

export function launchTableRow(result: LaunchBenchResult): string {
  return (
    `| ${result.name} | ${result.agents} | ${result.topology} | ${result.iterations} | ${result.iterationsPerSecond} (${result.slowestIterationsPerSecond}) | ` +
    `${result.cpuMsPerIteration} | ${result.startupCpuMs} | ${result.bytesOutPerIteration} | ${result.messagesInPerIteration} / ${result.messagesOutPerIteration} | ` +
    `${result.republished} | ${result.rejected} | ${result.simIterationsPerSecond} |\n`
  );
}
