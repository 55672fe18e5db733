/**
 * Writes a ready-to-run run config: fresh agent keys and free loopback ports, paths relative to
 * the run file so the folder can be moved or copied to other machines as a whole.
 *
 * With `hosts` (several machines, docs/LAN.md): agents are assigned to the hosts in order (host:
 * field), each listens on all interfaces at /ip4/0.0.0.0/tcp/<basePort + its index on its host>,
 * and mDNS discovery is on. A host given as an IPv4 address also gets fixed addresses
 * (/ip4/<ip>/tcp/<port>), so its agents are found without mDNS too; a host given as a name is a
 * label only (its agents have no addresses: `addresses: []`) and is found by mDNS alone.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, isIPv4, type Server } from 'node:net';
import { dirname, join, relative, resolve } from 'node:path';
import { stringify } from 'yaml';
import { generateAgentKey, peerIdOf, writeKeyFile, writeSwarmKeyFile } from '../net/keys.js';
import type { FaultConfig } from './faults.js';

export interface InitRunOptions {
  /** Path of the run file to write (e.g. runs/ring8/run.yaml). */
  readonly out: string;
  readonly agents: number;
  readonly scenario: string;
  /** A topology file path, or 'centralized' / 'independent'. */
  readonly topology: string;
  readonly runId: string;
  readonly seed: number;
  readonly steps?: number;
  /** Folder for key files (default: keys/ beside the run file). */
  readonly keysDir?: string;
  /** Also write a swarm key and name it in the run config (private network). */
  readonly swarmKey?: boolean;
  /** Listen host (default 127.0.0.1). */
  readonly host?: string;
  /** Fixed first port (ports base..base+N-1); default: free ports chosen by the OS. */
  readonly basePort?: number;
  /** Iterations between checkpoints (default: the run config's default). */
  readonly checkpointEvery?: number;
  /** A faults section to embed (already validated). */
  readonly faults?: FaultConfig;
  /** Several machines: which host runs how many agents (agents = their sum). */
  readonly hosts?: readonly HostShare[];
  /** mDNS discovery (default: on with `hosts`, off otherwise). */
  readonly mdns?: boolean;
}

/** One machine of a multi-host run and how many agents it runs. */
export interface HostShare {
  readonly host: string;
  readonly agents: number;
}

/** Default first port of each host in a multi-host run (`--base-port` overrides). */
export const DEFAULT_HOST_PORT = 4001;

/** Parses `hostA:4,hostB:4` (a host without `:n` runs one agent). */
export function parseHosts(text: string): HostShare[] {
  const hosts: HostShare[] = [];
  for (const part of text.split(',').map((item) => item.trim()).filter((item) => item.length > 0)) {
    const match = /^([A-Za-z0-9._-]+)(?::(\d+))?$/.exec(part);
    if (match === null || (match[2] !== undefined && Number(match[2]) < 1)) {
      throw new Error(`--hosts: '${part}' is not host:agents (e.g. hostA:4 or 192.168.1.10:4)`);
    }
    if (hosts.some((share) => share.host === match[1])) throw new Error(`--hosts: host ${match[1]} is listed twice`);
    hosts.push({ host: match[1], agents: match[2] === undefined ? 1 : Number(match[2]) });
  }
  if (hosts.length === 0) throw new Error('--hosts: no host given (e.g. --hosts hostA:4,hostB:4)');
  return hosts;
}

/** N distinct free TCP ports on `host`, held open together so that none is handed out twice. */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let index = 0; index < count; index++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolvePort, reject) => {
        server.once('error', reject);
        server.listen(0, host, () => resolvePort());
      });
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('could not read a free port');
      ports.push(address.port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((done) => server.close(() => done()))));
  }
}

export async function initRun(options: InitRunOptions): Promise<{ runFile: string; peerIds: string[] }> {
  const runFile = resolve(options.out);
  const base = dirname(runFile);
  const keysDir = resolve(options.keysDir ?? join(base, 'keys'));
  mkdirSync(keysDir, { recursive: true });
  const host = options.host ?? '127.0.0.1';
  if (options.hosts !== undefined) {
    const total = options.hosts.reduce((sum, share) => sum + share.agents, 0);
    if (total !== options.agents) throw new Error(`--hosts assigns ${total} agents, but --agents is ${options.agents}`);
  }
  // Multi-host: ports count up from the base on each host (other machines, so no free-port probe).
  const hostOf = options.hosts?.flatMap((share) => Array.from({ length: share.agents }, (_, index) => ({ host: share.host, index })));
  const ports =
    hostOf !== undefined
      ? hostOf.map(({ index }) => (options.basePort ?? DEFAULT_HOST_PORT) + index)
      : options.basePort !== undefined
        ? Array.from({ length: options.agents }, (_, i) => options.basePort! + i)
        : await freePorts(options.agents, host);
  const relativeTo = (path: string) => relative(base, resolve(path)) || '.';
  const agents = [];
  const peerIds: string[] = [];
  for (let id = 0; id < options.agents; id++) {
    const key = await generateAgentKey();
    const keyFile = join(keysDir, `agent-${id}.key`);
    await writeKeyFile(keyFile, key, { overwrite: true });
    const peerId = peerIdOf(key);
    peerIds.push(peerId);
    if (hostOf !== undefined) {
      const machine = hostOf[id].host;
      agents.push({
        id,
        peerId,
        key: relativeTo(keyFile),
        host: machine,
        listen: [`/ip4/0.0.0.0/tcp/${ports[id]}`],
        addresses: isIPv4(machine) ? [`/ip4/${machine}/tcp/${ports[id]}`] : [],
      });
      continue;
    }
    const address = `/ip4/${host}/tcp/${ports[id]}`;
    agents.push({ id, peerId, key: relativeTo(keyFile), listen: [address] });
  }
  const mdns = options.mdns ?? options.hosts !== undefined;
  let swarmKey: string | undefined;
  if (options.swarmKey) {
    const swarmFile = join(keysDir, 'swarm.key');
    await writeSwarmKeyFile(swarmFile, { overwrite: true });
    swarmKey = relativeTo(swarmFile);
  }
  const isBaseline = options.topology === 'centralized' || options.topology === 'independent';
  const config = {
    run: options.runId,
    scenario: relativeTo(options.scenario),
    topology: isBaseline ? options.topology : relativeTo(options.topology),
    seed: options.seed,
    ...(options.steps !== undefined ? { steps: options.steps } : {}),
    out: '.',
    ...(options.checkpointEvery !== undefined ? { checkpointEvery: options.checkpointEvery } : {}),
    ...(swarmKey !== undefined ? { swarmKey } : {}),
    agents,
    ...(options.faults !== undefined ? { faults: options.faults } : {}),
    ...(mdns ? { discovery: { mdns: true } } : {}),
  };
  mkdirSync(base, { recursive: true });
  const shown = relative(process.cwd(), runFile);
  const header =
    options.hosts === undefined
      ? `# netac run config, written by netac init-run. Start agent i with: netac agent --run ${shown} --id i\n`
      : `# netac run config, written by netac init-run for ${options.hosts.length} hosts. Copy this folder to every host, then run\n` +
        options.hosts.map((share) => `#   on ${share.host}: netac agent --run ${shown} --host ${share.host}\n`).join('') +
        `# (docs/LAN.md: open TCP ports ${options.basePort ?? DEFAULT_HOST_PORT}..${(options.basePort ?? DEFAULT_HOST_PORT) + Math.max(...options.hosts.map((share) => share.agents)) - 1}${mdns ? ' and UDP 5353 (mDNS)' : ''})\n`;
  writeFileSync(runFile, `${header}${stringify(config, { lineWidth: 0 })}`);
  return { runFile, peerIds };
}
