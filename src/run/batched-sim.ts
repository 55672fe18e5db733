/**
 * `netac sim --batched`: the N agents of a neural scenario learned together in batched tensor
 * ops (src/learn/batched-learners.ts) instead of N Agents with their own MLPs over the in-memory
 * transport (./sim.ts). Same experiment, same run directory and metrics files, same numbers up to
 * float32 rounding (see batched-learners.ts); several times faster, because each TensorFlow.js
 * kernel call then serves every agent.
 *
 * The loop follows the Agent round machine (src/agent/agent.ts) exactly, so that the metrics
 * lines mean the same thing: Algorithm 1 draws a_0 and a_1 at start-up and, at iteration t,
 * learns on (s_t, a_t, r_{t+1}, s_{t+1}, a_{t+1}) and draws a_{t+2} at s_{t+2}; Algorithm 2 draws
 * a_0 and, at iteration t, learns on (s_t, a_t, r_{t+1}, s_{t+1}) and draws a_{t+1} at s_{t+1}.
 * One environment serves all agents (the replicas of the per-agent simulator are identical).
 * Each agent draws with its own action stream, from its learner's saved state.
 *
 * Also estimates the return of the uniform random policy on the same run (same layouts, same
 * number of steps), written to summary.json as `Juniform` so that the report shows it beside the
 * learners' returns.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { JsonlMetricsWriter } from '../agent/metrics-writer.js';
import { distanceToMean } from '../agent/agent.js';
import { RandomStream } from '../core/rng.js';
import type { Environment } from '../env/types.js';
import {
  createBatchedLearners,
  initFromLearner,
  softmaxInto,
  type BatchedConsensus,
  type BatchedLearners,
} from '../learn/batched-learners.js';
import { consensusRow } from '../topology/consensus.js';
import type { ScenarioConfig } from './config-schema.js';
import {
  environmentFactory,
  learnerFor,
  modelMakerFor,
  runParts,
  selectBackendFor,
  uniformPolicyReturn,
  type TopologyChoice,
} from './experiment.js';
export { uniformPolicyReturn } from './experiment.js';
import { FinalWindow, mean, runEverySeed, type RunSummary, type SimulationOptions } from './sim.js';

export interface BatchedRunOptions {
  readonly outDir?: string;
  readonly onRound?: (round: number, averageReturn: number) => void;
  /** Called after every iteration t with the batched learners (tests compare parameters). */
  readonly onIteration?: (t: number, learners: BatchedLearners) => void;
  /** Estimate the uniform random policy's return on the same run (default true). */
  readonly uniformBaseline?: boolean;
}

export interface BatchedRunResult {
  readonly summary: RunSummary;
  readonly learners: BatchedLearners;
  readonly env: Environment;
  /** Wall-clock seconds of the learning loop (after setup). */
  readonly seconds: number;
}

const HISTORY = 4;

/** One (scenario, topology choice, seed) run with batched learners. Dispose result.learners. */
export async function simulateBatchedRun(
  scenario: ScenarioConfig,
  choice: TopologyChoice,
  seed: number,
  options: BatchedRunOptions = {},
): Promise<BatchedRunResult> {
  if (scenario.model.critic.kind !== 'mlp' || scenario.model.actor.kind !== 'mlp') {
    throw new Error(`--batched needs MLP critic and actor models; scenario '${scenario.name}' has ${scenario.model.critic.kind} / ${scenario.model.actor.kind}`);
  }
  const env = environmentFactory(scenario, seed)();
  const agentCount = env.agentCount;
  const parts = runParts(choice, agentCount, seed);
  const rule = parts.consensusRule;
  if (typeof rule === 'object' && rule.kind === 'trimmed-mean') {
    throw new Error(`--batched: topology '${parts.label}' uses trimmed-mean consensus, which is not a fixed weight matrix; run it without --batched`);
  }
  const makeModel = await modelMakerFor(scenario);

  // Initial parameters, μ and action streams exactly as the per-agent learners have them.
  const streams: RandomStream[] = [];
  const init = [];
  for (let i = 0; i < agentCount; i++) {
    const learner = learnerFor(scenario, env, i, seed, parts.rewardMode, makeModel);
    init.push(initFromLearner(learner));
    streams.push(RandomStream.restore(learner.save().actionStream));
    learner.dispose();
  }
  const learners = createBatchedLearners(scenario.algorithm, {
    env,
    critic: scenario.model.critic,
    actor: scenario.model.actor,
    criticSchedule: scenario.stepSizes.critic,
    actorSchedule: scenario.stepSizes.actor,
    init,
  });

  const directory = options.outDir ? join(options.outDir, parts.label, `seed-${seed}`) : undefined;
  if (directory) mkdirSync(directory, { recursive: true });
  const writers = directory ? Array.from({ length: agentCount }, (_, i) => new JsonlMetricsWriter(directory, i)) : [];

  const lead = learners.actionLead;
  const steps = scenario.steps;
  const metricsEvery = scenario.metricsEvery;
  const teamAverage = parts.rewardMode === 'team-average';
  const states: unknown[] = new Array(HISTORY);
  const joints = Array.from({ length: HISTORY }, () => new Int32Array(agentCount));
  const privateRewards = Array.from({ length: HISTORY }, () => new Float64Array(agentCount));
  const fedRewards = Array.from({ length: HISTORY }, () => new Float64Array(agentCount));
  const probabilities = new Float64Array(learners.actionCount);
  const windowReward = new Float64Array(agentCount);
  const windowTd = new Float64Array(agentCount);
  const consensusDistance = new Float64Array(agentCount);
  const recentReturns = new Float64Array(agentCount);
  const finalWindow = new FinalWindow(steps);
  let windowIterations = 0;

  const draw = (time: number, scores: Float32Array): void => {
    const joint = joints[time % HISTORY];
    for (let i = 0; i < agentCount; i++) {
      softmaxInto(scores, i * learners.actionCount, probabilities);
      joint[i] = streams[i].nextCategorical(probabilities);
    }
  };
  const stepEnvironment = (time: number): void => {
    // s_time → s_{time+1} under a_time; r_{time+1}
    env.step(joints[time % HISTORY]);
    states[(time + 1) % HISTORY] = env.observe();
    const own = privateRewards[(time + 1) % HISTORY];
    const fed = fedRewards[(time + 1) % HISTORY];
    let total = 0;
    for (let i = 0; i < agentCount; i++) total += own[i] = env.reward(i);
    for (let i = 0; i < agentCount; i++) fed[i] = teamAverage ? total / agentCount : own[i];
  };

  env.reset();
  states[0] = env.observe();
  draw(0, learners.actionScores(states[0]));
  stepEnvironment(0);
  if (lead === 2) {
    draw(1, learners.actionScores(states[1]));
    stepEnvironment(1);
  }

  const started = performance.now();
  let windowStarted = started;
  for (let t = 0; t < steps; t++) {
    const record = (t + 1) % metricsEvery === 0;
    const graph = parts.topology.graphAt(t);
    const consensus: BatchedConsensus | null = graph.edgeCount > 0 ? { graph, rule: parts.consensusRule } : null;
    const drawTime = t + lead;
    const result = learners.step(
      t,
      {
        state: states[t % HISTORY],
        joint: joints[t % HISTORY],
        rewards: fedRewards[(t + 1) % HISTORY],
        nextState: states[(t + 1) % HISTORY],
        nextJoint: lead === 2 ? joints[(t + 1) % HISTORY] : undefined,
        drawState: states[drawTime % HISTORY],
      },
      consensus,
      record,
    );
    draw(drawTime, result.nextScores);
    const own = privateRewards[(t + 1) % HISTORY];
    for (let i = 0; i < agentCount; i++) {
      windowTd[i] += Math.abs(result.tdErrors[i]);
      windowReward[i] += own[i];
    }
    windowIterations++;
    if (record) {
      // As Agent.record: after consensus; the consensus distance of this iteration's shares.
      if (result.shares) {
        for (let i = 0; i < agentCount; i++) {
          const neighbours = consensus ? consensusRow(graph, i, parts.consensusRule).neighbours : [];
          consensusDistance[i] = distanceToMean(result.shares[i], neighbours.map((j) => result.shares![j]));
        }
      }
      const norms = learners.criticNorms();
      const now = performance.now();
      for (let i = 0; i < agentCount; i++) {
        const meanReward = windowReward[i] / windowIterations;
        writers[i]?.learning({
          step: t + 1,
          mu: learners.mu[i],
          meanReward,
          tdError: windowTd[i] / windowIterations,
          criticNorm: norms[i],
          consensusDistance: consensusDistance[i],
        });
        writers[i]?.runtime({
          step: t + 1,
          msPerStep: (now - windowStarted) / windowIterations,
          messagesIn: 0,
          messagesOut: 0,
          rejected: 0,
          lateShares: 0,
        });
        recentReturns[i] = meanReward;
        finalWindow.add(t + 1, meanReward);
      }
      windowStarted = now;
      windowReward.fill(0);
      windowTd.fill(0);
      windowIterations = 0;
    }
    options.onIteration?.(t, learners);
    // The environment moves on with the action just drawn (not after the last iteration).
    if (t < steps - 1) stepEnvironment(drawTime);
    if (options.onRound && (t & 255) === 0) options.onRound(t, mean(recentReturns));
  }
  const seconds = (performance.now() - started) / 1000;
  for (const writer of writers) writer.close();

  const summary: RunSummary = {
    label: parts.label,
    seed,
    finalReturn: finalWindow.value(),
    ...(options.uniformBaseline === false ? {} : { Juniform: uniformPolicyReturn(scenario, seed, steps) }),
  };
  return { summary, learners, env, seconds };
}


/** Every (topology choice, seed) of an experiment with batched learners, written under outDir. */
export async function runBatchedSimulation(options: SimulationOptions): Promise<RunSummary[]> {
  if (options.faults !== undefined) throw new Error('--batched: fault injection (--faults) needs the per-agent simulator');
  const backend = await selectBackendFor(options.scenario);
  return runEverySeed(options, { batched: true, backend: backend?.name }, async (choice, seed, onRound) => {
    const { summary, learners } = await simulateBatchedRun(options.scenario, choice, seed, { outDir: options.outDir, onRound });
    learners.dispose();
    return summary;
  });
}


