// The system the users asked for: N agent OS processes over libp2p on 127.0.0.1 compute, bit for
// bit, what the simulator computes for the same seed and config — for Algorithm 1 and 2.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { metricsFiles, netac } from './netac-cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'netac-launch-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));



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
      const fromProcesses = metricsFiles(join(launched, topology, 'seed-5'));
      const fromSimulator = metricsFiles(join(simulated, topology, 'seed-5'));
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
