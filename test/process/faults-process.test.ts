// Faults with real agent processes on 127.0.0.1: a hostile agent's shares travel the network and
// are mixed exactly as in the simulator; a partition heals without changing a single number.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NETAC_ENTRY, metricsFiles, netac } from './netac-cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'netac-faults-process-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));



describe('faults across processes', () => {
  it('a hostile agent over libp2p: byte-identical to the simulator with the same faults', () => {
    const common = ['--scenario', 'resource-4-alg2', '--topology', 'complete', '--steps', '300', '--faults', 'experiments/hostile-constant.yaml', '--quiet', '--no-report'];
    netac(['launch', '--agents', '4', '--seed', '2', '--out', join(scratch, 'launch'), ...common]);
    netac(['sim', '--seeds', '2', '--out', join(scratch, 'sim'), ...common]);
    const launched = metricsFiles(join(scratch, 'launch', 'complete', 'seed-2'));
    const simulated = metricsFiles(join(scratch, 'sim', 'complete', 'seed-2'));
    expect(launched.size).toBe(4);
    for (const [name, content] of simulated) expect(launched.get(name)).toBe(content);
    // The hostile shares did reach the others: their critics were pulled far from a clean run's.
    const record = JSON.parse(simulated.get('agent-0.metrics.jsonl')!.trim().split('\n').at(-1)!);
    expect(record.criticNorm).toBeGreaterThan(100);
  });

  it('a partition of agent 0 for 4 s heals: the run completes with the numbers of a clean run', () => {
    const common = ['--scenario', 'small-explicit', '--topology', 'ring', '--steps', '300', '--no-report'];
    const launch = spawnSync(
      process.execPath,
      [NETAC_ENTRY, 'launch', '--agents', '3', '--seed', '1', '--out', join(scratch, 'partitioned'), '--faults', 'experiments/partition-agent-0.yaml', ...common],
      { encoding: 'utf8', timeout: 240_000 },
    );
    expect(launch.status).toBe(0);
    // It really was cut: the faults are announced, and the others logged that they wait for agent 0.
    expect(launch.stderr).toMatch(/FAULT INJECTION ON: partitioning agents 0/);
    expect(launch.stderr).toMatch(/\[agent [12]\] warning: round \d+: waiting [\d.]+ s for actions of agent\(s\) 0/);
    netac(['sim', '--seeds', '1', '--out', join(scratch, 'clean'), '--quiet', ...common]);
    const partitioned = metricsFiles(join(scratch, 'partitioned', 'ring', 'seed-1'));
    expect(partitioned.size).toBe(3);
    for (const [name, content] of metricsFiles(join(scratch, 'clean', 'ring', 'seed-1'))) expect(partitioned.get(name)).toBe(content);
  });
});
