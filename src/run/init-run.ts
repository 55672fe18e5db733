/**
 * Writes a ready-to-run run config: fresh agent keys and free loopback ports, paths relative to
 * the run file so the folder can be moved or copied to other machines as a whole.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
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
  const ports =
    options.basePort !== undefined
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
    const address = `/ip4/${host}/tcp/${ports[id]}`;
    agents.push({ id, peerId, key: relativeTo(keyFile), listen: [address] });
  }
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
  };
  mkdirSync(base, { recursive: true });
  writeFileSync(
    runFile,
    `# netac run config, written by netac init-run. Start agent i with: netac agent --run ${relative(process.cwd(), runFile)} --id i\n${stringify(config, { lineWidth: 0 })}`,
  );
  return { runFile, peerIds };
}
