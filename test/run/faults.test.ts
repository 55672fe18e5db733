// Robustness in the simulator: lost shares with a deadline, and a hostile neighbour against plain
// Metropolis and trimmed-mean consensus. Same Agents, same fault injection as the peer processes.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadScenario, loadTopology } from '../../src/run/config.js';
import { runSimulation, type RunSummary } from '../../src/run/sim.js';
import { loadFaults, parseFaults } from '../../src/run/faults.js';
import type { TopologyChoice } from '../../src/run/experiment.js';
import type { FaultConfig } from '../../src/run/faults.js';

const scratch = mkdtempSync(join(tmpdir(), 'netac-faults-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const SEEDS = [0, 1, 2, 3];

async function scores(scenarioFile: string, topology: TopologyChoice, name: string, faults?: FaultConfig): Promise<RunSummary[]> {
  return runSimulation({ scenario: loadScenario(scenarioFile), choices: [topology], seeds: SEEDS, outDir: join(scratch, name), faults });
}
const mean = (runs: RunSummary[]) => runs.reduce((total, run) => total + run.normalizedScore!, 0) / runs.length;
function lastRecord(name: string, label: string, seed: number, agent: number, kind: 'metrics' | 'runtime') {
  const lines = readFileSync(join(scratch, name, label, `seed-${seed}`, `agent-${agent}.${kind}.jsonl`), 'utf8').trim().split('\n');
  return JSON.parse(lines.at(-1)!) as Record<string, number>;
}

describe('fault injection in the simulator', () => {
  it('20% of shares dropped with a deadline: Algorithm 1 stays within 0.1 of the lossless score', async () => {
    const lossless = await scores('scenarios/small-explicit.yaml', loadTopology('topologies/ring.yaml'), 'lossless');
    const lossy = await scores('scenarios/small-explicit.yaml', loadTopology('topologies/ring-deadline.yaml'), 'lossy', loadFaults('experiments/drop-20.yaml'));
    expect(Math.abs(mean(lossy) - mean(lossless))).toBeLessThan(0.1);
    expect(mean(lossless)).toBeGreaterThan(0.8);
    // The drops happened: ~20% of 2 neighbours × 20000 steps are counted as late shares.
    const late = lastRecord('lossy', 'ring-deadline', 0, 0, 'runtime').lateShares;
    expect(late).toBeGreaterThan(0.17 * 40000);
    expect(late).toBeLessThan(0.23 * 40000);
  });

  it('one hostile agent sending 1000s: Metropolis is damaged, trimmed mean (trim 1) is not', async () => {
    const hostile = loadFaults('experiments/hostile-constant.yaml');
    const metropolis = loadTopology('topologies/complete.yaml');
    const trimmed = loadTopology('topologies/complete-trimmed.yaml');
    const clean = mean(await scores('scenarios/resource-4-alg2.yaml', metropolis, 'clean'));
    const cleanTrimmed = mean(await scores('scenarios/resource-4-alg2.yaml', trimmed, 'clean-trimmed'));
    const attacked = mean(await scores('scenarios/resource-4-alg2.yaml', metropolis, 'attacked', hostile));
    const attackedTrimmed = mean(await scores('scenarios/resource-4-alg2.yaml', trimmed, 'attacked-trimmed', hostile));
    expect(clean).toBeGreaterThan(0.8);
    expect(attacked).toBeLessThan(clean - 0.5); // visibly damaged
    expect(lastRecord('attacked', 'complete', 0, 0, 'metrics').criticNorm).toBeGreaterThan(
      20 * lastRecord('clean', 'complete', 0, 0, 'metrics').criticNorm,
    ); // critic norms blow up
    expect(Math.abs(attackedTrimmed - clean)).toBeLessThan(0.1);
    expect(Math.abs(attackedTrimmed - cleanTrimmed)).toBeLessThan(0.1);
  });

  it('refuses fault settings the simulator cannot honour', async () => {
    const scenario = loadScenario('scenarios/small-explicit.yaml');
    const ring = loadTopology('topologies/ring.yaml');
    await expect(runSimulation({ scenario, choices: [ring], seeds: [0], outDir: join(scratch, 'x'), faults: parseFaults({ dropShares: 0.1 }, 'f.yaml') })).rejects.toThrow(
      /dropShares: topology 'ring' sets no shareDeadlineMs/,
    );
    await expect(
      runSimulation({ scenario, choices: [ring], seeds: [0], outDir: join(scratch, 'y'), faults: parseFaults({ partition: { agents: [0], fromMs: 0, toMs: 10 } }, 'f.yaml') }),
    ).rejects.toThrow(/need a real network/);
  });

  it('validates fault files with one clear line', () => {
    expect(() => parseFaults({ dropShares: 1.5 }, 'f.yaml')).toThrow(/f\.yaml: dropShares: expected a probability in \[0, 1\], got 1\.5/);
    expect(() => parseFaults({ dropshares: 0.1 }, 'f.yaml')).toThrow(/unknown field 'dropshares' \(did you mean 'dropShares'\?\)/);
    expect(() => parseFaults({ hostile: [{ agent: 1, share: 'loud' }] }, 'f.yaml')).toThrow(/f\.yaml: hostile\[0\]/);
    expect(() => parseFaults({ partition: { agents: [0], fromMs: 10, toMs: 5 } }, 'f.yaml')).toThrow(/toMs > fromMs/);
  });
});
