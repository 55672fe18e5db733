/**
 * From config files to the parts of one run: environment replicas, topology, consensus rule,
 * reward mode and learners. The simulator and the peer process (`netac agent`) both build their
 * agents here, which is what makes them compute the same numbers for the same seed.
 *
 * Seeds: the scenario's `seed` fixes the environment INSTANCE (an MDP's tables), so every run
 * seed learns on the same problem; the run seed drives everything random during learning
 * (transitions, reward noise, initial parameters, action draws, time-varying graphs).
 */
import type { Environment } from '../env/types.js';
import { RandomStream } from '../core/rng.js';
import { networkedMdpFactory } from '../env/networked-mdp.js';
import { explicitMdpFactory } from '../env/explicit-mdp.js';
import { coopNavigationFactory } from '../env/coop-navigation.js';
import { createLearner, type Learner } from '../learn/index.js';
import { loadModelMaker } from '../learn/model-maker.js';
import type { ModelMaker } from '../learn/learner.js';
import { createTopology } from '../topology/topology.js';
import { parseConsensusRule, type ConsensusRule } from '../topology/consensus.js';
import type { Topology } from '../topology/types.js';
import { Agent, type MetricsSink, type RewardMode } from '../agent/agent.js';
import { hostileTransform, type FaultConfig } from './faults.js';
import { resolveRatio } from './config.js';
import type { ConsensusConfig, ScenarioConfig, TopologyConfig } from './config-schema.js';
import type { BackendSelection } from '../model/backend.js';

/** A topology file, or one of the two baselines of ALGORITHMS.md. */
export type TopologyChoice = TopologyConfig | 'centralized' | 'independent';

export function labelOf(choice: TopologyChoice): string {
  return typeof choice === 'string' ? choice : choice.name;
}

/** The scenario with `--agents` applied (only where the environment is generated). */
export function withAgentCount(scenario: ScenarioConfig, agents: number | undefined): ScenarioConfig {
  if (agents === undefined) return scenario;
  const environment = scenario.environment;
  if (environment.kind === 'explicit-mdp') {
    throw new Error(`--agents: scenario '${scenario.name}' uses an explicit MDP file whose agent count is fixed`);
  }
  return { ...scenario, environment: { ...environment, agents } };
}

/** Makes environment replicas: every call gives a fresh replica of the same environment. */
export function environmentFactory(scenario: ScenarioConfig, runSeed: number): () => Environment {
  const config = scenario.environment;
  switch (config.kind) {
    case 'networked-mdp':
      return networkedMdpFactory({
        seed: scenario.seed,
        sampleSeed: runSeed,
        agents: config.agents,
        states: config.states,
        actions: config.actionsPerAgent,
        criticFeatureSize: config.criticFeatures,
        stateFeatureSize: config.stateFeatures,
        actorFeatureSize: config.actorFeatures,
        rewardMax: config.rewardMax,
        rewardNoise: config.rewardNoise,
      });
    case 'explicit-mdp': {
      if (config.mdp === undefined) throw new Error(`scenario '${scenario.name}': explicit MDP file ${config.file} was not loaded`);
      // Validated once; the replicas share the immutable tables.
      return explicitMdpFactory(config.mdp, runSeed, config.file);
    }
    case 'coop-navigation':
      // The scenario seed fixes the instance (reward scales c_i), the run seed the episode layouts.
      try {
        return coopNavigationFactory({
          seed: scenario.seed,
          sampleSeed: runSeed,
          agents: config.agents,
          episodeLength: config.episodeLength,
          damping: config.damping,
          acceleration: config.acceleration,
          dt: config.dt,
          agentRadius: config.agentRadius,
          collisionPenalty: config.collisionPenalty,
          rewardScales: config.rewardScales,
        });
      } catch (error) {
        throw new Error(`scenario '${scenario.name}': environment: ${(error as Error).message}`);
      }
  }
}

function consensusRuleOf(config: ConsensusConfig, agentCount: number, source: string): ConsensusRule {
  if (config.kind === 'metropolis' || config.kind === 'equal-neighbour') return config.kind;
  return parseConsensusRule(config, agentCount, `${source}: consensus`);
}

export interface RunParts {
  readonly label: string;
  readonly topology: Topology;
  readonly consensusRule: ConsensusRule;
  readonly rewardMode: RewardMode;
  /** Per-step share deadline (null: wait for every share, deterministic). */
  readonly shareDeadlineMs: number | null;
}

/** Topology, consensus rule and reward mode of a topology choice for `agentCount` agents. */
export function runParts(choice: TopologyChoice, agentCount: number, runSeed: number): RunParts {
  if (typeof choice === 'string') {
    // Both baselines exchange nothing: the centralized critic is identical in every agent (same
    // start, same team-average data), so computing it N times is one central critic.
    return {
      label: choice,
      topology: createTopology({ family: 'empty' }, agentCount, runSeed),
      consensusRule: 'metropolis',
      rewardMode: choice === 'centralized' ? 'team-average' : 'private',
      shareDeadlineMs: null,
    };
  }
  const spec =
    choice.family === 'random'
      ? { ...choice, ratio: resolveRatio(choice.ratio, agentCount) }
      : choice;
  return {
    label: choice.name,
    topology: createTopology(spec, agentCount, runSeed),
    consensusRule: consensusRuleOf(choice.consensus, agentCount, `topology '${choice.name}'`),
    rewardMode: 'private',
    shareDeadlineMs: choice.shareDeadlineMs,
  };
}

/** True when the scenario needs TensorFlow.js (an MLP critic or actor). */
export function usesNeuralModels(scenario: ScenarioConfig): boolean {
  return scenario.model.critic.kind === 'mlp' || scenario.model.actor.kind === 'mlp';
}

/**
 * Backend selection hook: for a scenario with MLPs, loads and activates the TensorFlow.js backend
 * it asks for (`backend`, default 'auto': tfjs-node, else wasm, else cpu) and returns what ran;
 * undefined for linear-only scenarios, which never load TensorFlow.js. The simulator and the peer
 * process both come through here (modelMakerFor), so the same scenario runs on the same backend in
 * every mode — what byte-identical metrics across modes need.
 */
export async function selectBackendFor(scenario: ScenarioConfig): Promise<BackendSelection | undefined> {
  if (!usesNeuralModels(scenario)) return undefined;
  const { selectBackend } = await import('../model/backend.js');
  return selectBackend(scenario.backend ?? 'auto');
}

/** The ModelMaker for a scenario (TensorFlow.js loads only for MLPs, on the scenario's backend). */
export async function modelMakerFor(scenario: ScenarioConfig): Promise<ModelMaker> {
  await selectBackendFor(scenario);
  return loadModelMaker([scenario.model.critic, scenario.model.actor]);
}

/** Agent i's learner for this scenario, run seed and reward mode. */
export function learnerFor(
  scenario: ScenarioConfig,
  env: Environment,
  agent: number,
  runSeed: number,
  rewardMode: RewardMode,
  makeModel: ModelMaker,
): Learner {
  return createLearner(scenario.algorithm, env, {
    agent,
    runSeed,
    critic: scenario.model.critic,
    actor: scenario.model.actor,
    criticSchedule: scenario.stepSizes.critic,
    actorSchedule: scenario.stepSizes.actor,
    makeModel,
    criticInitScale: scenario.initialization.criticScale,
    actorInitScale: scenario.initialization.actorScale,
    sharedCriticInit: rewardMode === 'team-average',
  });
}

/**
 * Agent i of a run: the one construction the simulator and the peer process share, so both
 * modes run the same Agent with the same settings.
 */
export function agentFor(options: {
  readonly scenario: ScenarioConfig;
  readonly parts: RunParts;
  readonly env: Environment;
  readonly learner: Learner;
  readonly agent: number;
  readonly faults: FaultConfig;
  readonly sink: MetricsSink;
  /** Joint actions kept for restarted peers (0 in the simulator, where nobody restarts). */
  readonly jointHistoryRounds?: number;
}): Agent {
  const { scenario, parts } = options;
  return new Agent({
    agent: options.agent,
    env: options.env,
    learner: options.learner,
    topology: parts.topology,
    consensusRule: parts.consensusRule,
    rewardMode: parts.rewardMode,
    steps: scenario.steps,
    metricsEvery: scenario.metricsEvery,
    now: () => performance.now(),
    tamperShare: hostileTransform(options.faults, options.agent),
    jointHistoryRounds: options.jointHistoryRounds,
    sink: options.sink,
  });
}

/**
 * The globally averaged return (1/N) Σ_i r^i of the uniform random policy over `steps` steps of
 * the run seed's environment (the same episode layouts the learners see), with its own stream.
 */
export function uniformPolicyReturn(scenario: ScenarioConfig, seed: number, steps: number): number {
  const env = environmentFactory(scenario, seed)();
  const stream = RandomStream.create(seed, 'baseline/uniform');
  const joint = new Int32Array(env.agentCount);
  env.reset();
  let total = 0;
  for (let t = 0; t < steps; t++) {
    for (let i = 0; i < env.agentCount; i++) joint[i] = stream.nextInt(env.actionCounts[i]);
    env.step(joint);
    for (let i = 0; i < env.agentCount; i++) total += env.reward(i);
  }
  return total / (steps * env.agentCount);
}
