/** `netac agent`: run one agent of a run config as this process, over libp2p. */
import type { Command } from 'commander';
import { loadRunConfig } from '../run/run-config.js';
import { runPeer } from '../run/peer.js';
import { createLogger, type LogFormat } from './log.js';

interface AgentFlags {
  run: string;
  id: string;
  listen?: string[];
  logFormat?: LogFormat;
  logLevel: string;
}

export function registerAgent(program: Command): void {
  program
    .command('agent')
    .description('run one agent of a run config in this process, talking to its peers over libp2p gossipsub')
    .requiredOption('--run <file>', 'run config (netac init-run writes one)')
    .requiredOption('--id <n>', 'this agent\'s id in the run config')
    .option('--listen <multiaddr...>', 'listen address(es), overriding the run config (e.g. /ip4/0.0.0.0/tcp/4001)')
    .option('--log-format <format>', "'pretty' or 'json' (default: pretty on a terminal)")
    .option('--log-level <level>', 'trace, debug, info, warn or error', 'info')
    .addHelpText('after', '\nExample:\n  netac agent --run runs/ring8/run.yaml --id 3')
    .action(async (flags: AgentFlags) => {
      if (!/^\d+$/.test(flags.id)) throw new Error(`--id expects an agent id (a whole number), got '${flags.id}'`);
      if (flags.logFormat !== undefined && flags.logFormat !== 'json' && flags.logFormat !== 'pretty') {
        throw new Error(`--log-format expects 'pretty' or 'json', got '${String(flags.logFormat)}'`);
      }
      const id = Number(flags.id);
      const run = loadRunConfig(flags.run);
      const logger = createLogger({ format: flags.logFormat, level: flags.logLevel, bindings: { agent: id } });
      // SIGINT/SIGTERM: stop cleanly — leave the round loop, flush metrics, stop libp2p, exit 0.
      const controller = new AbortController();
      const onSignal = (signal: NodeJS.Signals) => {
        logger.warn({ event: 'signal', signal }, `${signal}: stopping`);
        controller.abort();
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const result = await runPeer({ run, agent: id, logger, signal: controller.signal, listen: flags.listen });
      if (!result.completed) logger.warn({ event: 'stopped', rounds: result.rounds }, `stopped at round ${result.rounds}`);
      // libp2p may leave handles open for a moment after stop(): do not linger.
      process.exit(0);
    });
}
