// The system the users asked for: N agent OS processes over libp2p on 127.0.0.1 compute, bit for
// bit, what the simulator computes for the same seed and config — for Algorithm 1 and 2.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ENTRY = join(import.meta.dirname, '..', '..', 'bin', 'netac.js');
const scratch = mkdtempSync(join(tmpdir(), 'netac-launch-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function netac(args: string[]): string {
  return execFileSync(process.execPath, [ENTRY, ...args], { encoding: 'utf8', timeout: 240_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

function metrics(directory: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const name of readdirSync(directory).sort()) if (name.endsWith('.metrics.jsonl')) files.set(name, readFileSync(join(directory, name), 'utf8'));
  return files;
}

describe('netac launch (4 processes, libp2p) versus netac sim', () => {
  for (const [scenario, topology] of [
    ['paper-synthetic', 'ring'],
    ['paper-synthetic-alg2', 'random-4-over-n'],
  ] as const) {
    it(`${scenario} on ${topology}: byte-identical learning metrics`, () => {
      const launched = join(scratch, `launch-${scenario}`);
      const simulated = join(scratch, `sim-${scenario}`);
      const common = ['--scenario', scenario, '--topology', topology, '--steps', '300', '--quiet', '--no-report'];
      netac(['launch', '--agents', '4', '--seed', '5', '--out', launched, ...common]);
      netac(['sim', '--agents', '4', '--seeds', '5', '--out', simulated, ...common]);
      const fromProcesses = metrics(join(launched, topology, 'seed-5'));
      const fromSimulator = metrics(join(simulated, topology, 'seed-5'));
      expect([...fromProcesses.keys()]).toEqual(['agent-0.metrics.jsonl', 'agent-1.metrics.jsonl', 'agent-2.metrics.jsonl', 'agent-3.metrics.jsonl']);
      for (const [name, content] of fromSimulator) {
        expect(content.trim().split('\n')).toHaveLength(3);
        expect(fromProcesses.get(name)).toBe(content);
      }
      // The runtime stats show real traffic between the processes.
      const runtime = readFileSync(join(launched, topology, 'seed-5', 'agent-0.runtime.jsonl'), 'utf8').trim().split('\n');
      expect(JSON.parse(runtime.at(-1)!).messagesIn).toBeGreaterThan(300 * 3);
    });
  }
});
