/**
 * One agent as its own OS process (`netac agent`): the same Agent as the simulator, built from
 * the same config by the same functions (./experiment.ts), over a libp2p gossipsub transport.
 * Writes the same per-agent metrics files as the simulator, under <out>/<label>/seed-<seed>/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DesyncError } from '../agent/agent.js';
import { JsonlMetricsWriter } from '../agent/metrics-writer.js';
import { checkpointStore, loadCheckpoint, writeCheckpoint, type LoadedCheckpoint } from '../agent/checkpoint.js';
import type { AgentSnapshot } from '../agent/agent.js';
import { requestSync, serveSync, type SyncResponse } from '../net/sync.js';
import { writeStatus } from './status.js';
import { Libp2pTransport } from '../net/libp2p-transport.js';
import { describeFaults, FaultInjectingTransport, hasFaults } from '../net/fault-transport.js';
import type { Transport } from '../net/transport.js';
import { describeHostile } from './faults.js';
import { readKeyFile, readSwarmKeyFile } from '../net/keys.js';
import type { Logger } from '../cli/log.js';
import { loadScenario, loadTopology } from './config.js';
import type { ScenarioConfig } from './config-schema.js';
import { agentFor, selectBackendFor, environmentFactory, learnerFor, modelMakerFor, runParts, withAgentCount, type TopologyChoice } from './experiment.js';
import { dialAddressesOf, isWildcardAddress, type RunConfig } from './run-config.js';

export interface PeerOptions {
  readonly run: RunConfig;
  readonly agent: number;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
  /** Re-publish period while a round waits (ms); default 100. */
  readonly republishMs?: number;
  /** Re-publish back-off of the transport (see Libp2pTransportOptions.republishBackoff);
   * default 200 ms doubling to 1600 ms. */
  readonly republishBackoff?: { readonly initialMs: number; readonly maxMs: number };
  /** Listen addresses overriding the run config's (e.g. /ip4/0.0.0.0/tcp/4001). */
  readonly listen?: readonly string[];
}

export interface PeerResult {
  /** False when stopped by a signal before the last round. */
  readonly completed: boolean;
  readonly rounds: number;
  readonly metricsPath: string;
}

/** The experiment a run config names, with its steps and agent count applied. */
export function runExperiment(run: RunConfig): { scenario: ScenarioConfig; choice: TopologyChoice } {
  let scenario = loadScenario(run.scenario);
  const environment = scenario.environment;
  if (environment.kind !== 'explicit-mdp' && environment.agents !== run.agents.length) {
    scenario = withAgentCount(scenario, run.agents.length);
  }
  if (run.steps !== undefined) scenario = { ...scenario, steps: run.steps };
  const choice: TopologyChoice =
    run.topology === 'centralized' || run.topology === 'independent' ? run.topology : loadTopology(run.topology);
  return { scenario, choice };
}

/** Re-publish tick of the Agent while a round waits. The transport's back-off decides what
 * actually goes out again, so this only bounds how late a re-publish can be. */
const DEFAULT_REPUBLISH_MS = 100;
const DEFAULT_REPUBLISH_BACKOFF = { initialMs: 200, maxMs: 1600 };

export async function runPeer(options: PeerOptions): Promise<PeerResult> {
  const { run, logger } = options;
  const republishMs = options.republishMs ?? DEFAULT_REPUBLISH_MS;
  const entry = run.agents.find((agent) => agent.id === options.agent);
  if (!entry) throw new Error(`${run.source}: no agent with id ${options.agent} (ids 0..${run.agents.length - 1})`);
  if (!entry.key) throw new Error(`${run.source}: agents[${options.agent}] has no key file (key: ...)`);
  const { scenario, choice } = runExperiment(run);
  const env = environmentFactory(scenario, run.seed)();
  if (env.agentCount !== run.agents.length) {
    throw new Error(`${run.source}: lists ${run.agents.length} agents but scenario '${scenario.name}' has ${env.agentCount}`);
  }
  const parts = runParts(choice, env.agentCount, run.seed);
  const learner = learnerFor(scenario, env, entry.id, run.seed, parts.rewardMode, await modelMakerFor(scenario));
  const directory = join(run.out, parts.label, `seed-${run.seed}`);
  mkdirSync(directory, { recursive: true });
  const store = checkpointStore(directory, entry.id);
  let resumed: LoadedCheckpoint | undefined;
  try {
    resumed = loadCheckpoint(store);
  } catch (error) {
    // Every checkpoint file is bad: say which and why, and refuse to silently start over.
    throw new Error(`${error instanceof Error ? error.message : String(error)} (delete the files to start this agent from scratch)`);
  }
  for (const reason of resumed?.rejected ?? []) logger.error({ event: 'checkpoint-refused' }, `${reason}; using the previous checkpoint`);
  const writer = new JsonlMetricsWriter(directory, entry.id, { append: resumed !== undefined });
  const agent = agentFor({
    scenario,
    parts,
    env,
    learner,
    agent: entry.id,
    faults: run.faults,
    sink: {
      learning(record) {
        writer.learning(record);
        logger.info({ event: 'metrics', step: record.step, steps: scenario.steps, meanReward: record.meanReward }, 'metrics');
      },
      runtime(record) {
        writer.runtime(record);
      },
    },
  });
  if (resumed) {
    agent.restore(resumed.state as AgentSnapshot);
    writer.truncateAfter(resumed.step);
    logger.info({ event: 'resume', step: resumed.step, file: resumed.path }, `resumed from checkpoint ${resumed.path} at step ${resumed.step}`);
  }
  const saveCheckpoint = () => {
    if (agent.midRound) return false;
    writeCheckpoint(store, Math.max(0, agent.round - agent.actionLead), agent.snapshot());
    return true;
  };
  // The health view: a status file rewritten about once a second.
  let state = 'starting';
  let lastMessagesIn = 0;
  let lastMessageAt: number | null = null;
  let awaiting: number[] = [];
  const reportStatus = () => {
    const stats = transport.stats;
    if (stats.messagesIn !== lastMessagesIn) {
      lastMessagesIn = stats.messagesIn;
      lastMessageAt = Date.now();
    }
    writeStatus(directory, {
      agent: entry.id,
      pid: process.pid,
      state,
      round: agent.round,
      step: Math.max(0, Math.min(scenario.steps, agent.round - agent.actionLead)),
      steps: scenario.steps,
      lastMessageAt,
      messagesIn: stats.messagesIn,
      messagesOut: stats.messagesOut,
      rejected: stats.rejected,
      lateShares: agent.lateShareCount,
      awaiting,
      updatedAt: Date.now(),
    });
  };
  const privateKey = await readKeyFile(entry.key);
  const listen = options.listen ?? (entry.listen.length > 0 ? entry.listen : undefined);
  // Listening on all interfaces: announce (identify, mDNS) where the run config says to dial it.
  const announce = listen?.some(isWildcardAddress) === true && entry.addresses.length > 0 ? entry.addresses : undefined;
  const network = new Libp2pTransport({
    agent: entry.id,
    runId: run.run,
    agentCount: env.agentCount,
    shareDimension: learner.shareSize,
    privateKey,
    listen,
    announce,
    peers: run.agents.map((peer) => ({ agent: peer.id, peerId: peer.peerId, addresses: dialAddressesOf(run, peer.id) })),
    mdns: run.discovery.mdns ? { intervalMs: run.discovery.intervalMs } : undefined,
    shareSources: agent.shareSources(),
    requiredPeers: run.agents.filter((peer) => peer.id !== entry.id).map((peer) => peer.id),
    swarmKey: run.swarmKey ? await readSwarmKeyFile(run.swarmKey) : undefined,
    initialStep: agent.round,
    denyUnknownPeers: run.denyUnknownPeers,
    republishBackoff: options.republishBackoff ?? DEFAULT_REPUBLISH_BACKOFF,
    onLog: (line) => logger.info({ event: 'net' }, line),
  });
  const transport: Transport = hasFaults(run.faults) ? new FaultInjectingTransport(network, run.faults, run.seed) : network;
  if (hasFaults(run.faults) || run.faults.hostile.length > 0) {
    // Loud on purpose: a run with injected faults must never pass for a clean one.
    logger.warn({ event: 'faults' }, `FAULT INJECTION ON: ${[describeFaults(run.faults), describeHostile(run.faults)].filter(Boolean).join('; ')}`);
  }
  if (parts.shareDeadlineMs !== null) logger.info({ event: 'deadline' }, `share deadline ${parts.shareDeadlineMs} ms: late shares are skipped (ALGORITHMS.md)`);
  const backend = await selectBackendFor(scenario); // what modelMakerFor selected (idempotent)
  logger.info(
    { event: 'start', run: run.run, scenario: scenario.name, label: parts.label, seed: run.seed, steps: scenario.steps, backend: backend?.name ?? 'none (linear models)' },
    `agent ${entry.id} of ${env.agentCount}: ${scenario.name}, ${parts.label}, seed ${run.seed}, ${scenario.steps} steps`,
  );
  agent.attach(transport);
  reportStatus();
  const statusTimer = setInterval(reportStatus, 1000);
  statusTimer.unref();
  let completed = false;
  let runStarted = performance.now();
  let runCpuStarted = process.cpuUsage();
  try {
    const stopped = new Promise<void>((resolve) => options.signal?.addEventListener('abort', () => resolve(), { once: true }));
    await Promise.race([transport.start(agent), stopped]);
    if (options.signal?.aborted) return { completed: false, rounds: agent.round, metricsPath: writer.learningPath };
    logger.info({ event: 'ready', addresses: network.listenAddresses() }, 'all peers connected and subscribed');
    const node = network.libp2p!;
    await serveSync(node, run.run, (request) => agent.syncAnswer(request.agent, request.fromRound));
    // Always ask: a process restarted without a checkpoint (killed before its first one) must
    // catch up too. In a fresh run every peer answers "round 0" and nothing is replayed.
    const responses = await catchUp(node, run, entry.id, agent.round, logger, options.signal);
    const replayed = agent.rejoin(responses);
    if (replayed > 0 || resumed) {
      logger.warn(
        { event: 'rejoin', fromStep: resumed?.step ?? 0, round: agent.round, replayed },
        `rejoined at round ${agent.round}: replayed ${replayed} joint actions from peers; this agent's learning of ${replayed} steps since ${resumed ? 'its checkpoint' : 'the start'} is lost`,
      );
    }
    runStarted = performance.now();
    runCpuStarted = process.cpuUsage();
    state = 'running';
    await agent.run({
      republishMs,
      shareDeadlineMs: parts.shareDeadlineMs,
      onRound: (round) => {
        awaiting = [];
        if ((round - agent.actionLead) % run.checkpointEvery === 0 && round > agent.actionLead) saveCheckpoint();
      },
      signal: options.signal,
      onWait: (round, actions, shares, waitedMs) => {
        awaiting = [...new Set([...actions, ...shares])];
        logger.warn(
          { event: 'waiting', round, actions, shares, waitedMs },
          `round ${round}: waiting ${(waitedMs / 1000).toFixed(1)} s for ${describeAwaited(actions, shares)}`,
        );
      },
    });
    awaiting = [];
    completed = agent.finished;
    if (completed) {
      const missing = await agent.finish({ republishMs, signal: options.signal });
      if (missing.length > 0) logger.warn({ event: 'finish', missing }, `finished; no done message from agent(s) ${missing.join(', ')}`);
      const cpu = process.cpuUsage();
      logger.info(
        {
          event: 'done',
          rounds: agent.round,
          iterations: scenario.steps,
          // For benchmarks: this process's CPU time and traffic over the whole run.
          cpuMs: (cpu.user + cpu.system) / 1000,
          // The same over the rounds only (from 'ready' to the end of the closing handshake):
          // start-up (imports, keys, dialling) costs ~1.5 CPU-s, which distorts short runs.
          runCpuMs: (cpu.user - runCpuStarted.user + cpu.system - runCpuStarted.system) / 1000,
          // Replicas must agree to the end: tests compare this across agents.
          stateHash: env.stateHash(),
          runMs: performance.now() - runStarted,
          stats: transport.stats,
        },
        'finished',
      );
    }
  } catch (error) {
    if (error instanceof DesyncError) logger.error({ event: 'desync', step: error.step, agents: error.agents }, error.message);
    throw error;
  } finally {
    // On SIGINT/SIGTERM (or the end of the run): a checkpoint at the round boundary, if at one.
    if (!saveCheckpoint()) logger.warn({ event: 'checkpoint' }, 'stopped in the middle of a round: the last periodic checkpoint stands');
    writer.close();
    clearInterval(statusTimer);
    state = completed ? 'finished' : 'stopped';
    reportStatus();
    await transport.stop();
    learner.dispose();
  }
  return { completed, rounds: agent.round, metricsPath: writer.learningPath };
}

/**
 * Asks every peer what this agent missed since `fromRound`, until at least one answers (peers
 * may still be starting their sync service) or 30 s pass.
 */
async function catchUp(
  node: NonNullable<Libp2pTransport['libp2p']>,
  run: RunConfig,
  agent: number,
  fromRound: number,
  logger: Logger,
  signal: AbortSignal | undefined,
): Promise<SyncResponse[]> {
  const deadline = Date.now() + 30_000;
  for (let attempt = 0; ; attempt++) {
    const answers = await Promise.all(
      run.agents
        .filter((peer) => peer.id !== agent)
        .map((peer) => requestSync(node, peer.peerId, run.run, { agent, fromRound }, run.agents.length).catch(() => undefined)),
    );
    const responses = answers.filter((answer): answer is SyncResponse => answer !== undefined);
    if (responses.length > 0) return responses;
    if (Date.now() > deadline || signal?.aborted) {
      throw new Error(`no peer could tell this agent what it missed since round ${fromRound} (its checkpoint may be older than the peers keep)`);
    }
    if (attempt === 0) logger.info({ event: 'sync' }, 'asking peers what was missed...');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function describeAwaited(actions: readonly number[], shares: readonly number[]): string {
  const parts: string[] = [];
  if (actions.length > 0) parts.push(`actions of agent(s) ${actions.join(', ')}`);
  if (shares.length > 0) parts.push(`shares of agent(s) ${shares.join(', ')}`);
  return parts.join(' and ') || 'nothing';
}
