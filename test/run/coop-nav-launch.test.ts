// Cooperative navigation with MLP critics and actors over `netac launch` (3 OS processes, libp2p):
// byte-identical learning metrics to `netac sim` (per-agent, unbatched) for the same seed and
// backend. Runs bin/netac.js, so it needs the build (npm test builds first).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { metricsFiles, netac } from '../process/netac-cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'netac-coopnav-launch-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));



describe('coop-nav-3 over netac launch versus netac sim', () => {
  it('byte-identical learning metrics per agent (ring, 200 steps)', () => {
    const launched = join(scratch, 'launch');
    const simulated = join(scratch, 'sim');
    const common = ['--scenario', 'coop-nav-3', '--topology', 'ring', '--steps', '200', '--quiet', '--no-report'];
    netac(['launch', '--agents', '3', '--seed', '2', '--out', launched, ...common]);
    netac(['sim', '--seeds', '2', '--out', simulated, ...common]);
    const fromProcesses = metricsFiles(join(launched, 'ring', 'seed-2'));
    const fromSimulator = metricsFiles(join(simulated, 'ring', 'seed-2'));
    expect([...fromProcesses.keys()]).toEqual(['agent-0.metrics.jsonl', 'agent-1.metrics.jsonl', 'agent-2.metrics.jsonl']);
    for (const [name, content] of fromSimulator) {
      expect(content.trim().split('\n')).toHaveLength(2);
      expect(fromProcesses.get(name)).toBe(content);
    }
  });
});
