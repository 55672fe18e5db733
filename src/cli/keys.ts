/** `netac keygen` and `netac init-run`. */
import { isIPv4 } from 'node:net';
import { basename, dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { generateAgentKey, peerIdOf, writeKeyFile, writeSwarmKeyFile } from '../net/keys.js';
import { DEFAULT_HOST_PORT, initRun, parseHosts } from '../run/init-run.js';
import { nonNegativeInteger, positiveInteger } from './options.js';
import { resolveShippedFile } from './paths.js';
import { loadTopologyChoice } from './sim.js';
import { loadScenario } from '../run/config.js';

/** A --topology value for a run config: a baseline keyword or an existing topology file. */
export function topologyArgument(argument: string): string {
  if (argument === 'centralized' || argument === 'independent') return argument;
  const path = resolveShippedFile(argument, 'topologies');
  loadTopologyChoice(path); // validate now, with the file's own error
  return path;
}

export function scenarioArgument(argument: string): string {
  const path = resolveShippedFile(argument, 'scenarios');
  loadScenario(path);
  return path;
}

export function registerKeys(program: Command): void {
  program
    .command('keygen')
    .description("write an agent's private key (prints its peer id), or a swarm key for a private network")
    .requiredOption('--out <file>', 'key file to write (mode 0600)')
    .option('--swarm-key', 'write a libp2p pre-shared swarm key instead (peers without it cannot connect)')
    .option('--force', 'overwrite an existing file')
    .addHelpText('after', '\nExamples:\n  netac keygen --out keys/agent-3.key\n  netac keygen --swarm-key --out keys/swarm.key')
    .action(async (flags: { out: string; swarmKey?: boolean; force?: boolean }) => {
      if (flags.swarmKey) {
        await writeSwarmKeyFile(flags.out, { overwrite: flags.force ?? false });
        process.stdout.write(`swarm key written to ${flags.out}: name it as swarmKey in the run config\n`);
        return;
      }
      const key = await generateAgentKey();
      await writeKeyFile(flags.out, key, { overwrite: flags.force ?? false });
      process.stdout.write(`${peerIdOf(key)}\n`);
    });

  program
    .command('init-run')
    .description('write a ready run config with fresh agent keys and free loopback ports, or for several machines (--hosts)')
    .option('--agents <n>', 'number of agents (with --hosts: their sum, the default)', positiveInteger('--agents'))
    .option('--scenario <file>', 'scenario file or shipped name', 'paper-synthetic')
    .option('--topology <file>', "topology file or shipped name, or 'centralized' / 'independent'", 'ring')
    .requiredOption('--out <file>', 'run config to write, e.g. runs/ring8/run.yaml (keys go to keys/ beside it)')
    .option('--seed <n>', 'run seed', nonNegativeInteger('--seed'), 0)
    .option('--steps <n>', "iterations (default: the scenario's)", positiveInteger('--steps'))
    .option('--run-id <id>', 'run id (default: the run file\'s folder name)')
    .option('--swarm-key', 'also write a swarm key: a private network only key holders can join')
    .option('--checkpoint-every <n>', 'iterations between checkpoints (default 500)', positiveInteger('--checkpoint-every'))
    .option(
      '--hosts <list>',
      'several machines: host:agents,... (e.g. hostA:4,hostB:4); agents listen on 0.0.0.0, mDNS on; a host given as an IPv4 address also gets fixed addresses (docs/LAN.md)',
    )
    .option('--base-port <n>', `first TCP port (with --hosts: on each host, default ${DEFAULT_HOST_PORT}; else default: free ports)`, positiveInteger('--base-port'))
    .option('--mdns', 'find the agents by mDNS on the LAN (default with --hosts)')
    .option('--no-mdns', 'no mDNS discovery (with --hosts: every host must be an IPv4 address)')
    .addHelpText(
      'after',
      '\nExamples:\n  netac init-run --agents 8 --scenario scenarios/paper-synthetic.yaml --topology topologies/ring.yaml --out runs/ring8/run.yaml\n' +
        '  netac init-run --hosts hostA:4,hostB:4 --swarm-key --out runs/lan/run.yaml     # then on each host: netac agent --run runs/lan/run.yaml --host hostA',
    )
    .action(
      async (flags: {
        agents?: number;
        scenario: string;
        topology: string;
        out: string;
        seed: number;
        steps?: number;
        runId?: string;
        swarmKey?: boolean;
        checkpointEvery?: number;
        hosts?: string;
        basePort?: number;
        mdns?: boolean;
      }) => {
        const runId = flags.runId ?? basename(dirname(resolve(flags.out)));
        const hosts = flags.hosts === undefined ? undefined : parseHosts(flags.hosts);
        const agents = flags.agents ?? hosts?.reduce((sum, share) => sum + share.agents, 0);
        if (agents === undefined) throw new Error('give --agents <n>, or --hosts host:agents,... for several machines');
        if (hosts !== undefined && flags.mdns === false) {
          const named = hosts.filter((share) => !isIPv4(share.host)).map((share) => share.host);
          if (named.length > 0) {
            throw new Error(`--no-mdns: host(s) ${named.join(', ')} are names, so nothing would tell the agents where they are: give IPv4 addresses, or keep mDNS`);
          }
        }
        const { runFile, peerIds } = await initRun({
          out: flags.out,
          agents,
          hosts,
          basePort: flags.basePort,
          mdns: flags.mdns,
          scenario: scenarioArgument(flags.scenario),
          topology: topologyArgument(flags.topology),
          runId: runId.replace(/[^A-Za-z0-9._-]/g, '-'),
          seed: flags.seed,
          steps: flags.steps,
          swarmKey: flags.swarmKey,
          checkpointEvery: flags.checkpointEvery,
        });
        if (hosts !== undefined) {
          process.stdout.write(
            `run config written to ${runFile} (${peerIds.length} agents on ${hosts.length} hosts${flags.mdns === false ? '' : ', mDNS discovery'})\n` +
              `copy ${dirname(flags.out)} to every host, then run on each:\n${hosts.map((share) => `  netac agent --run ${flags.out} --host ${share.host}\n`).join('')}`,
          );
          return;
        }
        process.stdout.write(`run config written to ${runFile} (${peerIds.length} agents)\nstart each agent with: netac agent --run ${flags.out} --id <0..${peerIds.length - 1}>\n`);
      },
    );
}
