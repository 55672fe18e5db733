// Run configs for several machines: `init-run --hosts`, the discovery section, bootstrap
// addresses, wildcard listen addresses, and the per-run mDNS service tag.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { initRun, parseHosts } from '../../src/run/init-run.js';
import { dialAddressesOf, loadRunConfig, parseRunConfig } from '../../src/run/run-config.js';
import { mdnsServiceTag } from '../../src/net/libp2p-transport.js';

const ROOT = join(import.meta.dirname, '..', '..');
const scratch = mkdtempSync(join(tmpdir(), 'netac-lan-config-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const PEER_A = '12D3KooWFdnfJCn6W5WJxYR1wqt2DohierTmBWXjJ3vEaW8uerKD';
const PEER_B = '12D3KooWCQLVvN8FgJqwXJZJh7qxxvV7vCdrr6HKfgaiftpZWVwV';

function config(extra: Record<string, unknown>, agents?: unknown[]) {
  return {
    run: 'lan',
    scenario: 'scenario.yaml',
    topology: 'ring.yaml',
    agents: agents ?? [
      { id: 0, peerId: PEER_A, listen: ['/ip4/0.0.0.0/tcp/4001'] },
      { id: 1, peerId: PEER_B, listen: ['/ip4/0.0.0.0/tcp/4002', '/ip4/127.0.0.1/tcp/4003'] },
    ],
    ...extra,
  };
}

describe('parseHosts', () => {
  it('reads host:agents lists; a bare host runs one agent', () => {
    expect(parseHosts('hostA:4, hostB:2,10.0.0.7')).toEqual([
      { host: 'hostA', agents: 4 },
      { host: 'hostB', agents: 2 },
      { host: '10.0.0.7', agents: 1 },
    ]);
  });

  it('names the bad entry', () => {
    expect(() => parseHosts('hostA:4,hostB:x')).toThrow("--hosts: 'hostB:x' is not host:agents");
    expect(() => parseHosts('hostA:0')).toThrow("'hostA:0'");
    expect(() => parseHosts('a:1,a:2')).toThrow('host a is listed twice');
    expect(() => parseHosts(' , ')).toThrow('no host given');
  });
});

describe('init-run --hosts', () => {
  it('assigns agents to hosts, listens on 0.0.0.0, turns mDNS on, and gives addresses only to IP hosts', async () => {
    const out = join(scratch, 'multi', 'run.yaml');
    await initRun({
      out,
      agents: 5,
      hosts: parseHosts('hostA:3,192.168.1.20:2'),
      scenario: join(ROOT, 'scenarios', 'paper-synthetic.yaml'),
      topology: join(ROOT, 'topologies', 'ring.yaml'),
      runId: 'multi',
      seed: 0,
      swarmKey: true,
    });
    const text = readFileSync(out, 'utf8');
    expect(text).toContain('netac agent --run');
    expect(text).toContain('--host hostA');
    expect(text).toContain('--host 192.168.1.20');
    const written = parse(text) as { discovery: unknown; agents: Array<{ host: string; listen: string[]; addresses: string[] }> };
    expect(written.discovery).toEqual({ mdns: true });
    expect(written.agents.map((agent) => [agent.host, agent.listen, agent.addresses])).toEqual([
      ['hostA', ['/ip4/0.0.0.0/tcp/4001'], []],
      ['hostA', ['/ip4/0.0.0.0/tcp/4002'], []],
      ['hostA', ['/ip4/0.0.0.0/tcp/4003'], []],
      ['192.168.1.20', ['/ip4/0.0.0.0/tcp/4001'], ['/ip4/192.168.1.20/tcp/4001']],
      ['192.168.1.20', ['/ip4/0.0.0.0/tcp/4002'], ['/ip4/192.168.1.20/tcp/4002']],
    ]);
    const run = loadRunConfig(out);
    expect(run.discovery.mdns).toBe(true);
    expect(run.swarmKey).toBe(join(scratch, 'multi', 'keys', 'swarm.key'));
    expect(run.agents[0].addresses).toEqual([]);
    expect(run.agents[4].host).toBe('192.168.1.20');
  });

  it('refuses a host count that disagrees with --agents', async () => {
    await expect(
      initRun({
        out: join(scratch, 'bad', 'run.yaml'),
        agents: 3,
        hosts: parseHosts('a:1,b:1'),
        scenario: join(ROOT, 'scenarios', 'paper-synthetic.yaml'),
        topology: 'independent',
        runId: 'bad',
        seed: 0,
      }),
    ).rejects.toThrow('--hosts assigns 2 agents, but --agents is 3');
  });

  it('a single-machine run config has no discovery section (mDNS off)', async () => {
    const out = join(scratch, 'local', 'run.yaml');
    await initRun({ out, agents: 2, scenario: join(ROOT, 'scenarios', 'paper-synthetic.yaml'), topology: 'independent', runId: 'local', seed: 0 });
    expect(parse(readFileSync(out, 'utf8'))).not.toHaveProperty('discovery');
    expect(loadRunConfig(out).discovery).toEqual({ mdns: false });
  });
});

describe('run config: discovery, wildcard listen addresses, bootstrap', () => {
  it('never dials a wildcard listen address (0.0.0.0, ::): it is not where an agent is', () => {
    const run = parseRunConfig(config({}), '/x/run.yaml');
    expect(run.agents[0].addresses).toEqual([]);
    expect(run.agents[1].addresses).toEqual(['/ip4/127.0.0.1/tcp/4003']);
    expect(run.discovery).toEqual({ mdns: false });
  });

  it('reads discovery: { mdns, intervalMs } and names bad fields', () => {
    expect(parseRunConfig(config({ discovery: { mdns: true, intervalMs: 2000 } }), '/x/run.yaml').discovery).toEqual({ mdns: true, intervalMs: 2000 });
    expect(() => parseRunConfig(config({ discovery: { mdns: 'yes' } }), '/x/run.yaml')).toThrow(/discovery\.mdns/);
    expect(() => parseRunConfig(config({ discovery: { mnds: true } }), '/x/run.yaml')).toThrow(/mnds/);
  });

  it('adds bootstrap addresses to the agent they name, and refuses one naming no listed agent', () => {
    const run = parseRunConfig(config({ bootstrap: [`/ip4/192.168.1.9/tcp/4001/p2p/${PEER_B}`] }), '/x/run.yaml');
    expect(dialAddressesOf(run, 0)).toEqual([]);
    expect(dialAddressesOf(run, 1)).toEqual(['/ip4/127.0.0.1/tcp/4003', `/ip4/192.168.1.9/tcp/4001/p2p/${PEER_B}`]);
    expect(() => parseRunConfig(config({ bootstrap: ['/ip4/192.168.1.9/tcp/4001'] }), '/x/run.yaml')).toThrow(
      'bootstrap[0]: /ip4/192.168.1.9/tcp/4001 must end in /p2p/<peer id> of an agent the run config lists',
    );
    expect(() =>
      parseRunConfig(config({ bootstrap: ['/ip4/192.168.1.9/tcp/4001/p2p/12D3KooWKczX1z8vX2d2F1hqD9TuTjQmGSWMXS7wKgZtgA6v1ECY'] }), '/x/run.yaml'),
    ).toThrow('bootstrap[0]');
  });
});

describe('mdnsServiceTag', () => {
  it('differs between runs, stays one short DNS label, and shows the run id', () => {
    const a = mdnsServiceTag('lan-demo-1');
    expect(a).toMatch(/^_netac-lan-demo-1-[0-9a-f]{8}\._udp\.local$/);
    expect(mdnsServiceTag('lan-demo-2')).not.toBe(a);
    expect(mdnsServiceTag('lan-demo-1')).toBe(a);
    const long = mdnsServiceTag(`a.${'x'.repeat(100)}`);
    expect(long.split('.')[0].length).toBeLessThanOrEqual(63);
    expect(long.startsWith('_netac-a-xxx')).toBe(true);
    // Runs whose ids differ beyond the readable part still differ (the run tag).
    expect(mdnsServiceTag(`${'y'.repeat(50)}1`)).not.toBe(mdnsServiceTag(`${'y'.repeat(50)}2`));
  });
});
