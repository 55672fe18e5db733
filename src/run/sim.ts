/**
 * `netac sim`: N Agents in one process over the in-memory transport — the same Agent the peer
 * process runs over libp2p, driven round by round. Writes the run directory of DESIGN.md:
 *
 *   <out>/config.json                                   resolved configuration
 *   <out>/<label>/seed-<s>/agent-<i>.metrics.jsonl      learning metrics (deterministic for a seed)
 *   <out>/<label>/seed-<s>/agent-<i>.runtime.jsonl      runtime stats (vary run to run)
 *   <out>/summary.json                                  per label and seed: final return, exact J for explicit MDPs
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent } from '../agent/agent.js';
import { JsonlMetricsWriter } from '../agent/metrics-writer.js';
import type { Environment, FiniteMdp } from '../env/types.js';
import type { Learner } from '../learn/learner.js';
import { MemoryHub } from '../net/memory-transport.js';
import { FaultInjectingTransport, hasFaults } from '../net/fault-transport.js';
import type { Transport } from '../net/transport.js';
import { NO_FAULTS, type FaultConfig } from './faults.js';
import type { ScenarioConfig } from './config-schema.js';
import { agentFor, environmentFactory, labelOf, learnerFor, modelMakerFor, runParts, uniformPolicyReturn, type TopologyChoice } from './experiment.js';
import { exactScores, type ExactScores } from './exact-scores.js';

export interface SimulationOptions {
  readonly scenario: ScenarioConfig;
  readonly choices: readonly TopologyChoice[];
  readonly seeds: readonly number[];
  readonly outDir: string;
  /** Fault injection and hostile agents (default none). */
  readonly faults?: FaultConfig;
  /** Called now and then with the progress over all (label, seed) runs. */
  readonly onProgress?: (progress: SimulationProgress) => void;
}

export interface SimulationProgress {
  readonly label: string;
  readonly seed: number;
  /** Iterations done, over all runs. */
  readonly done: number;
  readonly total: number;
  /** Globally averaged return over the last metrics window of the current run. */
  readonly averageReturn: number;
}

export interface RunSummary extends Partial<ExactScores> {
  readonly label: string;
  readonly seed: number;
  /** Globally averaged return (mean over agents of r^i) over the last 10% of the run. */
  readonly finalReturn: number;
}

export interface SingleRunResult {
  readonly summary: RunSummary;
  readonly agents: readonly Agent[];
  readonly learners: readonly Learner[];
  readonly replicas: readonly Environment[];
}

/** One (scenario, topology choice, seed) run, all agents in this process. */
export async function simulateRun(
  scenario: ScenarioConfig,
  choice: TopologyChoice,
  seed: number,
  options: {
    readonly outDir?: string;
    readonly onRound?: (round: number, averageReturn: number) => void;
    readonly faults?: FaultConfig;
  } = {},
): Promise<SingleRunResult> {
  const faults = options.faults ?? NO_FAULTS;
  const makeReplica = environmentFactory(scenario, seed);
  const replicas: Environment[] = [];
  const first = makeReplica();
  const agentCount = first.agentCount;
  const parts = runParts(choice, agentCount, seed);
  if (faults.delayMs || faults.partition) {
    throw new Error('faults.delayMs and faults.partition act in time: they need a real network (netac launch); the simulator delivers synchronously');
  }
  // With a share deadline, a share that is not there when the round's actions are complete is late
  // (in the synchronous simulator: dropped); without one the agents would wait for it forever.
  const allowMissingShares = parts.shareDeadlineMs !== null;
  if (faults.dropShares && !allowMissingShares && typeof choice !== 'string') {
    throw new Error(`faults.dropShares: topology '${parts.label}' sets no shareDeadlineMs, so the agents would wait for dropped shares forever`);
  }
  const makeModel = await modelMakerFor(scenario);
  // Lockstep: the driver below has every agent publish round r before any completes it.
  const hub = new MemoryHub({ lockstep: true });
  const learners: Learner[] = [];
  const agents: Agent[] = [];
  const writers: JsonlMetricsWriter[] = [];
  const recentReturns = new Float64Array(agentCount);
  const finalWindow = new FinalWindow(scenario.steps);
  const directory = options.outDir ? join(options.outDir, parts.label, `seed-${seed}`) : undefined;
  if (directory) mkdirSync(directory, { recursive: true });

  for (let i = 0; i < agentCount; i++) {
    const env = i === 0 ? first : makeReplica();
    replicas.push(env);
    const learner = learnerFor(scenario, env, i, seed, parts.rewardMode, makeModel);
    learners.push(learner);
    const writer = directory ? new JsonlMetricsWriter(directory, i) : undefined;
    if (writer) writers.push(writer);
    const agent = agentFor({
      scenario,
      parts,
      env,
      learner,
      agent: i,
      faults,
      jointHistoryRounds: 0, // no peer restarts in one process: keep no history
      sink: {
        learning(record) {
          writer?.learning(record);
          recentReturns[i] = record.meanReward;
          finalWindow.add(record.step, record.meanReward);
        },
        runtime(record) {
          writer?.runtime(record);
        },
      },
    });
    agents.push(agent);
  }
  for (const agent of agents) {
    const memory = hub.transport(agent.id);
    const transport: Transport = hasFaults(faults) ? new FaultInjectingTransport(memory, faults, seed) : memory;
    hub.subscribeShares(agent.id, agent.shareSources());
    agent.attach(transport);
    await transport.start(agent);
  }

  const onRound = options.onRound;
  playRounds(agents, allowMissingShares, onRound && ((round) => onRound(round, mean(recentReturns))));
  for (const writer of writers) writer.close();

  const summary: RunSummary = {
    label: parts.label,
    seed,
    finalReturn: finalWindow.value(),
    ...(isFiniteMdp(first) ? exactScores(first, learners) : {}),
    // Where J cannot be computed exactly, the uniform random policy's return on the same
    // trajectory randomness is the yardstick.
    ...(scenario.environment.kind === 'coop-navigation' ? { Juniform: uniformPolicyReturn(scenario, seed, scenario.steps) } : {}),
  };
  return { summary, agents, learners, replicas };
}

/**
 * Every round of a run, `onRound` every 256 rounds. The loop is in a plain function of its own, not
 * in async simulateRun: V8 optimizes a hot loop of an ordinary function while it runs (on-stack
 * replacement), but it left the loop of the async function in baseline code until simulateRun as
 * a whole was optimized (`--trace-opt`: during a process's third 20000-iteration run).
 */
function playRounds(agents: readonly Agent[], allowMissingShares: boolean, onRound: ((round: number) => void) | undefined): void {
  const lastRound = agents[0].lastRound;
  for (let round = 0; round <= lastRound; round++) {
    playRound(agents, allowMissingShares);
    if (onRound && (round & 255) === 0) onRound(round);
  }
}

/**
 * One lockstep round over the synchronous hub: every agent begins it (the hub delivers the round
 * once the last action is in), then every agent completes it. Each half runs as two passes over
 * all agents, so that one kind of work at a time runs hot in the CPU's caches. A function of its
 * own, called once per round: the JIT then compiles it by itself instead of as part of the
 * long-running round loop.
 */
function playRound(agents: readonly Agent[], allowMissingShares: boolean): void {
  const count = agents.length;
  for (let i = 0; i < count; i++) agents[i].learnLocally();
  for (let i = 0; i < count; i++) agents[i].drawAndPublish();
  for (let i = 0; i < count; i++) agents[i].mixRound(allowMissingShares);
  for (let i = 0; i < count; i++) agents[i].advanceRound();
}

/** Every (topology choice, seed) of an experiment, written under outDir. */
export async function runSimulation(options: SimulationOptions): Promise<RunSummary[]> {
  return runEverySeed(options, {}, async (choice, seed, onRound) => {
    const { summary, learners } = await simulateRun(options.scenario, choice, seed, { outDir: options.outDir, faults: options.faults, onRound });
    for (const learner of learners) learner.dispose();
    return summary;
  });
}

/**
 * The loop every simulator shares: writes config.json (with `configFields`), runs each
 * (topology choice, seed) in turn with `runOne`, reports progress over all of them, and writes
 * summary.json.
 */
export async function runEverySeed(
  options: SimulationOptions,
  configFields: Readonly<Record<string, unknown>>,
  runOne: (choice: TopologyChoice, seed: number, onRound: (round: number, averageReturn: number) => void) => Promise<RunSummary>,
): Promise<RunSummary[]> {
  const { scenario, choices, seeds, outDir } = options;
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    join(outDir, 'config.json'),
    `${JSON.stringify({ scenario: stripMdp(scenario), topologies: choices, labels: choices.map(labelOf), seeds, ...configFields }, null, 2)}\n`,
  );
  const summaries: RunSummary[] = [];
  const rounds = scenario.steps;
  const total = rounds * choices.length * seeds.length;
  let finishedRuns = 0;
  for (const choice of choices) {
    for (const seed of seeds) {
      const base = finishedRuns * rounds;
      const summary = await runOne(choice, seed, (round, averageReturn) =>
        options.onProgress?.({ label: labelOf(choice), seed, done: base + Math.min(round, rounds), total, averageReturn }),
      );
      summaries.push(summary);
      finishedRuns++;
      options.onProgress?.({ label: labelOf(choice), seed, done: finishedRuns * rounds, total, averageReturn: summary.finalReturn });
    }
  }
  writeFileSync(join(outDir, 'summary.json'), `${JSON.stringify({ runs: summaries }, null, 2)}\n`);
  return summaries;
}

/** Exact scores (J* by relative value iteration) only where the tables stay small. */
const EXACT_JOINT_ACTION_LIMIT = 1 << 12;

function isFiniteMdp(env: Environment): env is FiniteMdp {
  return typeof (env as Partial<FiniteMdp>).transitionRow === 'function' && (env as FiniteMdp).jointActionCount <= EXACT_JOINT_ACTION_LIMIT;
}

/** The scenario as written to config.json: without the (possibly large) embedded MDP tables. */
function stripMdp(scenario: ScenarioConfig): ScenarioConfig {
  if (scenario.environment.kind !== 'explicit-mdp') return scenario;
  const { mdp: _mdp, ...environment } = scenario.environment;
  return { ...scenario, environment };
}

export function mean(values: Float64Array): number {
  let total = 0;
  for (const value of values) total += value;
  return total / values.length;
}

/** Mean over agents and over the records of the last 10% of the run (at least the last record). */
export class FinalWindow {
  private total = 0;
  private count = 0;
  private readonly from: number;
  private lastStepTotal = 0;
  private lastStepCount = 0;
  private lastStep = -1;

  constructor(steps: number) {
    this.from = Math.floor(steps * 0.9);
  }

  add(step: number, meanReward: number): void {
    if (step > this.from) {
      this.total += meanReward;
      this.count++;
    }
    if (step !== this.lastStep) {
      this.lastStep = step;
      this.lastStepTotal = 0;
      this.lastStepCount = 0;
    }
    this.lastStepTotal += meanReward;
    this.lastStepCount++;
  }

  value(): number {
    if (this.count > 0) return this.total / this.count;
    return this.lastStepCount > 0 ? this.lastStepTotal / this.lastStepCount : Number.NaN;
  }
}
