/**
 * `netac agent`: run one agent of a run config as this process (`--id i`), over libp2p; or every
 * agent the run config assigns to a host (`--host name`), one child process each, so that a
 * person types one command per machine.
 */
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadRunConfig, type RunConfig } from '../run/run-config.js';
import type * as PeerModule from '../run/peer.js';
import { Launcher } from '../run/launch.js';
import { createLogger, type LogFormat } from './log.js';
import { createProgress } from './progress.js';
import { PACKAGE_ROOT } from './paths.js';
import { runToEnd } from './launch.js';

interface AgentFlags {
  run: string;
  id?: string;
  host?: string | true;
  listen?: string[];
  logFormat?: LogFormat;
  logLevel: string;
  logDir?: string;
  quiet?: boolean;
}

export function registerAgent(program: Command): void {
  program
    .command('agent')
    .description('run one agent of a run config in this process (--id), or every agent of one host (--host), talking to its peers over libp2p gossipsub')
    .requiredOption('--run <file>', 'run config (netac init-run writes one)')
    .option('--id <n>', "this agent's id in the run config")
    .option('--host [name]', "start every agent the run config assigns to this host (host: field), one process each; the name defaults to this machine's host name")
    .option('--listen <multiaddr...>', 'with --id: listen address(es), overriding the run config (e.g. /ip4/0.0.0.0/tcp/4001)')
    .option('--log-format <format>', "with --id: 'pretty' or 'json' (default: pretty on a terminal)")
    .option('--log-level <level>', 'trace, debug, info, warn or error', 'info')
    .option('--log-dir <dir>', "with --host: each agent's full log goes to <dir>/agent-<i>.log (default: <out>/logs)")
    .option('--quiet', 'with --host: no progress output')
    .addHelpText(
      'after',
      '\nExamples:\n  netac agent --run runs/ring8/run.yaml --id 3\n  netac agent --run runs/lan/run.yaml --host hostA      # every agent of hostA (netac init-run --hosts)',
    )
    .action(async (flags: AgentFlags) => {
      if ((flags.id === undefined) === (flags.host === undefined)) {
        const choice = '--id <n> (run one agent) or --host <name> (run every agent the run config assigns to that host)';
        throw new Error(flags.id === undefined ? `give ${choice}` : `give ${choice}, not both`);
      }
      if (flags.logFormat !== undefined && flags.logFormat !== 'json' && flags.logFormat !== 'pretty') {
        throw new Error(`--log-format expects 'pretty' or 'json', got '${String(flags.logFormat)}'`);
      }
      const run = loadRunConfig(flags.run);
      if (flags.host !== undefined) {
        await runHost(run, flags, flags.host === true ? hostname() : flags.host);
        process.exit(0);
      }
      if (!/^\d+$/.test(flags.id!)) throw new Error(`--id expects an agent id (a whole number), got '${flags.id}'`);
      const id = Number(flags.id);
      const logger = createLogger({ format: flags.logFormat, level: flags.logLevel, bindings: { agent: id } });
      // SIGINT/SIGTERM: stop cleanly — leave the round loop, flush metrics, stop libp2p, exit 0.
      const controller = new AbortController();
      const onSignal = (signal: NodeJS.Signals) => {
        logger.warn({ event: 'signal', signal }, `${signal}: stopping`);
        controller.abort();
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const { runPeer } = await loadPeer();
      const result = await runPeer({ run, agent: id, logger, signal: controller.signal, listen: flags.listen });
      if (!result.completed) logger.warn({ event: 'stopped', rounds: result.rounds }, `stopped at round ${result.rounds}`);
      // libp2p may leave handles open for a moment after stop(): do not linger.
      process.exit(0);
    });
}

/** Every agent of `host` as its own `netac agent --id i` child process; resolves when all have ended. */
async function runHost(run: RunConfig, flags: AgentFlags, host: string): Promise<void> {
  if (flags.listen !== undefined) {
    throw new Error('--listen names one agent\'s address: use it with --id, or give each agent a listen: address in the run config');
  }
  const ids = run.agents.filter((agent) => agent.host === host).map((agent) => agent.id);
  if (ids.length === 0) {
    const hosts = [...new Set(run.agents.flatMap((agent) => (agent.host === undefined ? [] : [agent.host])))];
    throw new Error(
      `${run.source}: no agent has host: ${host}${hosts.length > 0 ? ` (hosts in the run config: ${hosts.join(', ')})` : ' (no agent has a host: field; netac init-run --hosts writes them)'}`,
    );
  }
  const { scenario } = (await loadPeer()).runExperiment(run);
  const logDir = resolve(flags.logDir ?? join(run.out, 'logs'));
  const quiet = flags.quiet ?? false;
  process.stderr.write(`netac agent: host ${host}: agent(s) ${ids.join(', ')} of ${run.agents.length}, ${scenario.steps} steps; logs in ${logDir}\n`);
  const progress = createProgress({ quiet, unit: 'iterations' });
  const launcher = new Launcher({
    entry: join(PACKAGE_ROOT, 'bin', 'netac.js'),
    runFile: resolve(run.source),
    agents: run.agents.length,
    ids,
    steps: scenario.steps,
    logDir,
    extraAgentArgs: ['--log-level', flags.logLevel],
    onProgress: (p) => progress.update(p.step, p.steps, { label: `host ${host}: ${ids.length} agents`, averageReturn: p.averageReturn }),
    onLine: (agent, line) => {
      if (!quiet) process.stderr.write(`[agent ${agent}] ${line}\n`);
    },
  });
  const { signalled } = await runToEnd(launcher, {
    stopping: `netac agent: host ${host}: stopping agent(s) ${ids.join(', ')}`,
    failure: `host ${host}: agent(s)`,
    logs: logDir,
  });
  progress.stop();
  // Agents stopped by a signal exit cleanly too (checkpoint written; they resume where they stopped).
  process.stdout.write(`host ${host}: agent(s) ${ids.join(', ')} ${signalled ? 'stopped' : 'finished'}; metrics under ${run.out}\n`);
}

/**
 * The peer code (libp2p and its crypto) is loaded when an agent command runs, not with the CLI:
 * loaded into `netac sim`'s process it slowed the simulator by 12–15% (a larger heap for the
 * garbage collector, or more code for the JIT: BENCHMARKS.md), though the simulator never uses it.
 */
export function loadPeer(): Promise<typeof PeerModule> {
  return import('../run/peer.js');
}
