/**
 * The run config of a peer-to-peer run (`run.yaml`): which experiment, and who the agents are.
 * Every agent process reads the same file; nothing else is shared. Paths inside it (scenario,
 * topology, key files, swarm key, out) are relative to the run file's folder.
 *
 * ```yaml
 * run: ring8-20261121            # run id: topics, run tag on the wire, discovery
 * scenario: ../scenarios/paper-synthetic.yaml
 * topology: ../topologies/ring.yaml   # or centralized / independent
 * seed: 0                        # run seed
 * steps: 2000                    # optional: overrides the scenario's
 * out: .                         # metrics and checkpoints go to <out>/<label>/seed-<seed>/
 * checkpointEvery: 500           # iterations between checkpoints (also written on SIGINT/SIGTERM)
 * swarmKey: keys/swarm.key       # optional: private network (libp2p pnet)
 * agents:
 *   - id: 0
 *     peerId: 12D3KooW...
 *     key: keys/agent-0.key
 *     listen: [/ip4/127.0.0.1/tcp/40100]
 *     addresses: [/ip4/127.0.0.1/tcp/40100]   # where the others dial it (default: listen,
 *                                               # without 0.0.0.0 / ::); [] with mDNS discovery
 *     host: hostA                # optional: `netac agent --run run.yaml --host hostA` starts it
 * bootstrap: []                  # optional: more addresses of listed agents, each ending in
 *                                # /p2p/<its peer id>; dialled and redialled like `addresses`
 * discovery: { mdns: true }      # optional: find the agents on the LAN by mDNS (docs/LAN.md)
 * faults: { dropShares: 0.2 }    # optional fault injection (src/run/faults.ts)
 * ```
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import * as z from 'zod';
import { checkTopLevel, ConfigError, failure, readStructuredFile } from './config.js';
import { expected, intAtLeast, nameSchema, strictObject } from './config-schema.js';
import { faultSchema, NO_FAULTS, type FaultConfig } from './faults.js';

const multiaddrSchema = () =>
  z.string(expected('a multiaddr string such as /ip4/127.0.0.1/tcp/4001')).regex(/^\//, expected('a multiaddr starting with /'));

const agentEntrySchema = strictObject({
  id: intAtLeast(0),
  peerId: z.string(expected('a peer id (netac keygen prints it)')).min(1, expected('a peer id')),
  key: z.string(expected('the path of the agent\'s private key file')).optional(),
  listen: z.array(multiaddrSchema(), expected('a list of multiaddrs')).optional(),
  addresses: z.array(multiaddrSchema(), expected('a list of multiaddrs')).optional(),
  host: z.string(expected('a host name')).optional(),
});

const runConfigSchema = strictObject({
  run: nameSchema(),
  scenario: z.string(expected('the path of a scenario file')),
  topology: z.string(expected("the path of a topology file, or 'centralized' / 'independent'")),
  seed: intAtLeast(0).default(0),
  steps: intAtLeast(1).optional(),
  out: z.string(expected('a folder')).default('.'),
  checkpointEvery: intAtLeast(1).default(500),
  denyUnknownPeers: z.boolean(expected('true or false')).default(true),
  swarmKey: z.string(expected('the path of a swarm key file')).optional(),
  agents: z.array(agentEntrySchema, expected('a list of agents')).min(1, expected('at least one agent')),
  bootstrap: z.array(multiaddrSchema(), expected('a list of multiaddrs')).default([]),
  faults: faultSchema.optional(),
  discovery: strictObject({
    mdns: z.boolean(expected('true or false')).default(false),
    intervalMs: intAtLeast(100).optional(),
  }).optional(),
});

export interface RunAgentEntry {
  readonly id: number;
  readonly peerId: string;
  /** Absolute path of the private key file, when this machine has it. */
  readonly key?: string;
  readonly listen: readonly string[];
  readonly addresses: readonly string[];
  readonly host?: string;
}

export interface RunConfig {
  readonly source: string;
  readonly run: string;
  /** Absolute path, or a baseline keyword for topology. */
  readonly scenario: string;
  readonly topology: string;
  readonly seed: number;
  readonly steps?: number;
  readonly out: string;
  /** Refuse connections from peers not listed here (default true). With false, strangers can
   *  connect (e.g. observers), but every message they send is still rejected by validation. */
  readonly denyUnknownPeers: boolean;
  /** Write a checkpoint every this many iterations (and on SIGINT/SIGTERM). */
  readonly checkpointEvery: number;
  readonly swarmKey?: string;
  readonly agents: readonly RunAgentEntry[];
  readonly bootstrap: readonly string[];
  /** Fault injection and hostile agents (off by default). */
  readonly faults: FaultConfig;
  /** LAN discovery: mDNS with the run's own service tag (off by default). */
  readonly discovery: { readonly mdns: boolean; readonly intervalMs?: number };
}

/** A wildcard listen address (0.0.0.0 or ::) is where an agent listens, never where to dial it. */
export function isWildcardAddress(address: string): boolean {
  return /^\/ip4\/0\.0\.0\.0(\/|$)/.test(address) || /^\/ip6\/::(\/|$)/.test(address);
}

/** Where the others dial agent `id`: its addresses, then the bootstrap addresses naming it. */
export function dialAddressesOf(run: RunConfig, id: number): string[] {
  const agent = run.agents.find((entry) => entry.id === id);
  if (agent === undefined) return [];
  const suffix = `/p2p/${agent.peerId}`;
  return [...agent.addresses, ...run.bootstrap.filter((address) => address.endsWith(suffix))];
}

const BASELINES = new Set(['centralized', 'independent']);

/** Validate run-config data; relative paths resolve against `baseDir` (the run file's folder). */
export function parseRunConfig(obj: unknown, source: string, baseDir = dirname(resolve(source))): RunConfig {
  checkTopLevel(obj, source, 'run config');
  const result = runConfigSchema.safeParse(obj, { reportInput: true });
  if (!result.success) throw failure(result.error, source);
  const data = result.data;
  const at = (path: string) => (isAbsolute(path) ? path : resolve(baseDir, path));
  const ids = data.agents.map((agent) => agent.id).sort((a, b) => a - b);
  ids.forEach((id, index) => {
    if (id !== index) {
      throw new ConfigError(`${source}: agents: ids must be 0..${ids.length - 1} each once, found ${ids.join(', ')}`, source, 'agents');
    }
  });
  const peerIds = new Set<string>();
  for (const [index, agent] of data.agents.entries()) {
    if (peerIds.has(agent.peerId)) {
      throw new ConfigError(`${source}: agents[${index}].peerId: ${agent.peerId} is listed twice`, source, `agents[${index}].peerId`);
    }
    peerIds.add(agent.peerId);
  }
  for (const [index, address] of data.bootstrap.entries()) {
    const peerId = /\/p2p\/([^/]+)$/.exec(address)?.[1];
    if (peerId === undefined || !peerIds.has(peerId)) {
      throw new ConfigError(
        `${source}: bootstrap[${index}]: ${address} must end in /p2p/<peer id> of an agent the run config lists (only listed agents may connect)`,
        source,
        `bootstrap[${index}]`,
      );
    }
  }
  return {
    source,
    run: data.run,
    scenario: at(data.scenario),
    topology: BASELINES.has(data.topology) ? data.topology : at(data.topology),
    seed: data.seed,
    steps: data.steps,
    out: at(data.out),
    checkpointEvery: data.checkpointEvery,
    denyUnknownPeers: data.denyUnknownPeers,
    swarmKey: data.swarmKey === undefined ? undefined : at(data.swarmKey),
    agents: [...data.agents]
      .sort((a, b) => a.id - b.id)
      .map((agent) => ({
        id: agent.id,
        peerId: agent.peerId,
        key: agent.key === undefined ? undefined : at(agent.key),
        listen: agent.listen ?? [],
        addresses: agent.addresses ?? (agent.listen ?? []).filter((address) => !isWildcardAddress(address)),
        host: agent.host,
      })),
    bootstrap: data.bootstrap,
    faults: data.faults ?? NO_FAULTS,
    discovery: { mdns: data.discovery?.mdns ?? false, ...(data.discovery?.intervalMs !== undefined ? { intervalMs: data.discovery.intervalMs } : {}) },
  };
}

export function loadRunConfig(path: string): RunConfig {
  return parseRunConfig(readStructuredFile(path), path);
}
