// Across a LAN: agents on several "machines" (Linux network namespaces joined by a bridge, private
// addresses 10.77.0.0/24, all inside namespaces this file creates) find each other by mDNS alone,
// one `netac agent --host` command per machine, and learn exactly what `netac sim` computes. An
// agent without the swarm key, and an agent of another run, cannot join or disturb the run; a
// machine losing its network for a few seconds does not end it.
// Needs root and iproute2 (CI runs as root); elsewhere the tests are skipped, saying why.
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { NETAC_ENTRY, metricsFiles, netac } from './netac-cli.js';

const HOSTS = 2;
const PER_HOST = 2;
const AGENTS = HOSTS * PER_HOST;
const STEPS = 300;
/**
 * The network-flap test's run: long enough that the run is still going after the 3 s outage
 * (with merged round messages 4 agents run 300 steps in about 2.5 s here).
 */
const FLAP_STEPS = 3000;
const SEED = 3;
const LABEL = 'random-4-over-n';
const RUN_TIMEOUT_MS = 150_000;

/** Why namespaces cannot be made here, or undefined when they can. */
function lanUnsupported(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'not root (creating network namespaces needs root; CI runs as root)';
  const version = spawnSync('ip', ['-V'], { encoding: 'utf8' });
  if (version.error !== undefined || version.status !== 0) return "no 'ip' command (iproute2)";
  const probe = `netac-probe-${process.pid}`;
  const add = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (add.status !== 0) return `cannot create a network namespace ('ip netns add' failed: ${add.stderr.trim() || add.error?.message})`;
  const veth = spawnSync('ip', ['-n', probe, 'link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1'], { encoding: 'utf8' });
  spawnSync('ip', ['netns', 'del', probe]);
  if (veth.status !== 0) return `cannot create a veth pair in a namespace: ${veth.stderr.trim()}`;
  return undefined;
}

const unsupported = lanUnsupported();
if (unsupported !== undefined) console.warn(`test/process/lan.test.ts: skipped: ${unsupported}`);

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** K namespaces ("hosts") on a bridge that lives in a namespace of its own. */
class Lan {
  readonly prefix = `netac-t${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
  readonly created: string[] = [];
  readonly bridge = `${this.prefix}-br`;

  host(h: number): string {
    return `${this.prefix}-h${h}`;
  }

  create(hosts: number): void {
    ip('netns', 'add', this.bridge);
    this.created.push(this.bridge);
    ip('-n', this.bridge, 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0');
    ip('-n', this.bridge, 'link', 'set', 'br0', 'up');
    for (let h = 0; h < hosts; h++) {
      const ns = this.host(h);
      ip('netns', 'add', ns);
      this.created.push(ns);
      ip('-n', this.bridge, 'link', 'add', `v${h}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      ip('-n', this.bridge, 'link', 'set', `v${h}`, 'master', 'br0', 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'addr', 'add', `10.77.0.${h + 1}/24`, 'dev', 'eth0');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
      // Namespaces have no default route: mDNS needs one for multicast (FACTS.md).
      ip('-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0');
    }
  }

  /** Ends whatever still runs in these namespaces (only processes this file started), then deletes them. */
  destroy(): void {
    for (const ns of this.created) {
      const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout?.split(/\s+/).filter(Boolean) ?? [];
      for (const pid of pids) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    for (const ns of this.created.splice(0)) spawnSync('ip', ['netns', 'del', ns]);
  }

  remaining(): string[] {
    return ip('netns', 'list')
      .split('\n')
      .map((line) => line.split(' ')[0])
      .filter((name) => name.startsWith(`${this.prefix}-`));
  }
}

interface Started {
  readonly child: ChildProcess;
  readonly log: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children: ChildProcess[] = [];

/** `netac <args>` inside namespace `ns`, in its own process group, output to `log`. */
function startIn(ns: string, args: string[], log: string): Started {
  const fd = openSync(log, 'w');
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, NETAC_ENTRY, ...args], { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  children.push(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, log, exited };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal); // the agent and the children it spawned (--host)
  } catch {
    // already gone
  }
}

async function stopAll(): Promise<void> {
  const running = children.splice(0).filter((child) => child.exitCode === null && child.signalCode === null);
  for (const child of running) killGroup(child, 'SIGTERM');
  await Promise.race([
    Promise.all(running.map((child) => new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once('exit', resolve))))),
    new Promise((resolve) => setTimeout(resolve, 5000)),
  ]);
  for (const child of running) killGroup(child, 'SIGKILL');
}



/** The `msg` of every JSON log line of a file (non-JSON lines as they are). */
function logMessages(path: string): string[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      try {
        return String((JSON.parse(line) as { msg?: unknown }).msg ?? line);
      } catch {
        return line;
      }
    });
}

function tail(path: string, lines = 15): string {
  return existsSync(path) ? readFileSync(path, 'utf8').trim().split('\n').slice(-lines).join('\n') : '(no output)';
}

async function within<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what()}`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

describe.skipIf(unsupported !== undefined)(`netac across a LAN (network namespaces)${unsupported === undefined ? '' : `: skipped: ${unsupported}`}`, () => {
  const lan = new Lan();
  let scratch = '';
  let simulated = new Map<string, string>();

  /** The metrics files of `netac sim` on the same run: what every multi-host run must produce. */
  function simulate(steps: number): Map<string, string> {
    const simDir = join(scratch, `sim-${steps}`);
    netac(['sim', '--scenario', 'paper-synthetic', '--agents', String(AGENTS), '--topology', LABEL, '--seeds', String(SEED), '--steps', String(steps), '--out', simDir, '--quiet', '--no-report'], 120_000);
    const files = metricsFiles(join(simDir, LABEL, `seed-${SEED}`));
    expect(files.size).toBe(AGENTS);
    return files;
  }

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'netac-lan-'));
    lan.create(HOSTS);
    simulated = simulate(STEPS);
  });

  afterAll(async () => {
    try {
      await stopAll();
    } finally {
      lan.destroy();
      // NETAC_TEST_KEEP=1 keeps the run folders and logs for a look (the namespaces still go).
      if (scratch !== '' && process.env.NETAC_TEST_KEEP !== '1') rmSync(scratch, { recursive: true, force: true });
      else if (scratch !== '') console.warn(`lan.test: kept ${scratch}`);
    }
    expect(lan.remaining()).toEqual([]);
  });

  /** A fresh multi-host run config: mDNS discovery, a swarm key, no addresses. */
  function newRun(name: string, steps = STEPS): { dir: string; runFile: string } {
    const dir = join(scratch, name);
    const runFile = join(dir, 'run.yaml');
    const hosts = Array.from({ length: HOSTS }, (_, h) => `h${h}:${PER_HOST}`).join(',');
    netac(['init-run', '--hosts', hosts, '--swarm-key', '--scenario', 'paper-synthetic', '--topology', LABEL, '--steps', String(steps), '--seed', String(SEED), '--run-id', `lan-${name}`, '--out', runFile], 120_000);
    return { dir, runFile };
  }

  /** One `netac agent --run run.yaml --host hN` per namespace. */
  function startHosts(dir: string, runFile: string): Started[] {
    return Array.from({ length: HOSTS }, (_, h) => startIn(lan.host(h), ['agent', '--run', runFile, '--host', `h${h}`, '--quiet'], join(dir, `host-h${h}.out`)));
  }

  async function awaitHosts(dir: string, hosts: Started[], expected = simulated): Promise<void> {
    const exits = await within(Promise.all(hosts.map((host) => host.exited)), RUN_TIMEOUT_MS, () =>
      [`the run did not finish in ${RUN_TIMEOUT_MS / 1000} s`, ...hosts.map((host) => `${host.log}:\n${tail(host.log)}`)].join('\n'),
    );
    exits.forEach((exit, h) => expect(exit, `host h${h}: ${tail(hosts[h].log)}`).toEqual({ code: 0, signal: null }));
    const produced = metricsFiles(join(dir, LABEL, `seed-${SEED}`));
    expect([...produced.keys()]).toEqual([...expected.keys()]);
    for (const [name, content] of expected) expect(produced.get(name), name).toBe(content);
  }

  function agentLog(dir: string, agent: number): string[] {
    return logMessages(join(dir, 'logs', `agent-${agent}.log`));
  }

  it(
    `${HOSTS} hosts x ${PER_HOST} agents find each other by mDNS alone and learn exactly what netac sim computes`,
    async () => {
      const { dir, runFile } = newRun('mdns');
      const config = parse(readFileSync(runFile, 'utf8')) as { discovery: unknown; agents: Array<{ host: string; addresses: unknown[]; listen: string[] }> };
      expect(config.discovery).toEqual({ mdns: true });
      for (const agent of config.agents) {
        expect(agent.addresses).toEqual([]); // nothing tells an agent where the others are
        expect(agent.listen[0]).toMatch(/^\/ip4\/0\.0\.0\.0\/tcp\/\d+$/);
      }
      expect(config.agents.map((agent) => agent.host)).toEqual(['h0', 'h0', 'h1', 'h1']);
      await awaitHosts(dir, startHosts(dir, runFile));
      for (let agent = 0; agent < AGENTS; agent++) {
        const messages = agentLog(dir, agent);
        const found = new Set(messages.flatMap((message) => /mDNS: found agent (\d+) at \/ip4\/10\.77\.0\.\d+\/tcp\/\d+/.exec(message)?.[1] ?? []));
        expect(found.size, `agent ${agent} found ${[...found].join(', ')}`).toBe(AGENTS - 1);
        expect(messages.some((message) => message.includes(`${AGENTS - 1}/${AGENTS - 1} peers ready`))).toBe(true);
      }
    },
    RUN_TIMEOUT_MS + 30_000,
  );

  it(
    'an agent without the swarm key, and an agent of another run, can neither join nor disturb the run',
    async () => {
      const { dir, runFile } = newRun('intruders');
      const config = parse(readFileSync(runFile, 'utf8')) as Record<string, unknown> & { agents: Array<Record<string, unknown>> };
      // Intruder A holds agent 0's identity key and the run id, but another swarm key.
      const otherKey = join(dir, 'keys', 'other-swarm.key');
      netac(['keygen', '--swarm-key', '--out', otherKey], 120_000);
      writeFileSync(join(dir, 'intruder-a.yaml'), stringify({ ...config, swarmKey: 'keys/other-swarm.key', out: 'intruder-a' }));
      // Intruder B has everything (the same agent keys and swarm key) but another run id.
      writeFileSync(join(dir, 'intruder-b.yaml'), stringify({ ...config, run: 'lan-another-run', out: 'intruder-b' }));
      const intruderA = startIn(lan.host(1), ['agent', '--run', join(dir, 'intruder-a.yaml'), '--id', '0', '--listen', '/ip4/0.0.0.0/tcp/4100', '--log-format', 'json'], join(dir, 'intruder-a.log'));
      const intruderB = startIn(lan.host(0), ['agent', '--run', join(dir, 'intruder-b.yaml'), '--id', '1', '--listen', '/ip4/0.0.0.0/tcp/4101', '--log-format', 'json'], join(dir, 'intruder-b.log'));
      // Both intruders are up and announcing themselves before the run starts.
      await within(
        (async () => {
          while (!logMessages(intruderA.log).some((m) => m.includes('listening on')) || !logMessages(intruderB.log).some((m) => m.includes('listening on'))) {
            await new Promise((resolve) => setTimeout(resolve, 200));
          }
        })(),
        60_000,
        () => `intruders did not start:\n${tail(intruderA.log)}\n${tail(intruderB.log)}`,
      );

      await awaitHosts(dir, startHosts(dir, runFile));

      // The run was undisturbed: metrics identical to sim (checked above) and nothing rejected.
      for (let agent = 0; agent < AGENTS; agent++) {
        const runtime = readFileSync(join(dir, LABEL, `seed-${SEED}`, `agent-${agent}.runtime.jsonl`), 'utf8').trim().split('\n');
        expect((JSON.parse(runtime.at(-1)!) as { rejected: number }).rejected).toBe(0);
      }
      // Intruder A heard the run (same run id, same mDNS tag) but the swarm key kept it out.
      const messagesA = logMessages(intruderA.log);
      expect(messagesA.some((m) => m.includes('mDNS: found agent'))).toBe(true);
      expect(messagesA.some((m) => m.includes('cannot reach agent'))).toBe(true);
      // ... and the run's agents heard it too, announcing itself as agent 0 (its key's peer id).
      const heard = Array.from({ length: AGENTS }, (_, agent) => agentLog(dir, agent).some((m) => /mDNS: found agent 0 at \/ip4\/10\.77\.0\.2\/tcp\/4100$/.test(m)));
      expect(heard.some(Boolean), 'no agent heard intruder A').toBe(true);
      // Intruder B (another run id) never even heard of this run.
      const messagesB = logMessages(intruderB.log);
      expect(messagesB.some((m) => m.includes('mDNS: found agent'))).toBe(false);
      for (const [name, intruder, messages] of [['A', intruderA, messagesA], ['B', intruderB, messagesB]] as const) {
        expect(intruder.child.exitCode, `intruder ${name} ended: ${tail(intruder.log)}`).toBeNull();
        expect(messages.some((m) => m.includes('peers ready after') || m.includes('all peers connected')), `intruder ${name} joined`).toBe(false);
        // It never got past its start-up: not one learning step.
        const own = join(dir, `intruder-${name.toLowerCase()}`, LABEL, `seed-${SEED}`, `agent-${name === 'A' ? 0 : 1}.metrics.jsonl`);
        expect(existsSync(own) ? readFileSync(own, 'utf8') : '').toBe('');
      }
      killGroup(intruderA.child, 'SIGTERM');
      killGroup(intruderB.child, 'SIGTERM');
      await within(Promise.all([intruderA.exited, intruderB.exited]), 15_000, () => 'intruders did not stop on SIGTERM');
    },
    RUN_TIMEOUT_MS + 90_000,
  );

  it(
    'a host losing its network for 3 s mid-run (link down, connections closed, link up): the agents reconnect and finish',
    async () => {
      const expected = simulate(FLAP_STEPS);
      const { dir, runFile } = newRun('flap', FLAP_STEPS);
      const hosts = startHosts(dir, runFile);
      const statusDir = join(dir, LABEL, `seed-${SEED}`);
      const minStep = (): number => {
        let least = Number.POSITIVE_INFINITY;
        for (let agent = 0; agent < AGENTS; agent++) {
          try {
            least = Math.min(least, (JSON.parse(readFileSync(join(statusDir, `agent-${agent}.status.json`), 'utf8')) as { step: number }).step);
          } catch {
            return 0; // not written yet (or being replaced)
          }
        }
        return least;
      };
      await within(
        (async () => {
          while (minStep() < FLAP_STEPS / 3) {
            if (hosts.some((host) => host.child.exitCode !== null)) throw new Error(`a host ended early: ${hosts.map((host) => tail(host.log)).join('\n')}`);
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        })(),
        RUN_TIMEOUT_MS,
        () => `the run did not reach step ${FLAP_STEPS / 3}: ${hosts.map((host) => tail(host.log)).join('\n')}`,
      );
      const flapped = lan.host(1);
      const stepAtFlap = minStep();
      ip('netns', 'exec', flapped, 'ip', 'link', 'set', 'eth0', 'down');
      // Also close its TCP connections, so that the agents must reconnect rather than ride out the
      // outage on TCP retransmission (kernels without sock_destroy cannot: then only the link flaps).
      const closed = spawnSync('ip', ['netns', 'exec', flapped, 'ss', '-K', '-tn', 'state', 'established', 'dst', '10.77.0.0/24'], { encoding: 'utf8' }).status === 0;
      await new Promise((resolve) => setTimeout(resolve, 3000));
      ip('netns', 'exec', flapped, 'ip', 'link', 'set', 'eth0', 'up');
      ip('-n', flapped, 'route', 'replace', '224.0.0.0/4', 'dev', 'eth0');
      expect(stepAtFlap).toBeLessThan(FLAP_STEPS);

      await awaitHosts(dir, hosts, expected);
      if (closed) {
        const disconnects = Array.from({ length: AGENTS }, (_, agent) => agentLog(dir, agent).filter((m) => m.includes('disconnected from agent')).length);
        expect(disconnects.reduce((a, b) => a + b, 0), `disconnections per agent: ${disconnects.join(', ')}`).toBeGreaterThan(0);
      } else {
        console.warn('lan.test: ss -K is not available here: the link flapped, but connections were not closed');
      }
    },
    RUN_TIMEOUT_MS + 30_000,
  );
});
