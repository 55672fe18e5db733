// Crash and rejoin with real processes on 127.0.0.1: kill -9 one of 4 agents mid-run, start it
// again with the same command; it resumes from its checkpoint, catches up from its peers, and
// the run completes with every replica in the same environment state. Then the same with its
// newest checkpoint corrupted: refused with a message naming the file, the previous one is used.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, truncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { NETAC_ENTRY } from './netac-cli.js';
import { RandomStream } from '../../src/core/rng.js';

const scratch = mkdtempSync(join(tmpdir(), 'netac-crash-'));
const children = new Set<ChildProcess>();
afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface AgentProcess {
  child: ChildProcess;
  records: Record<string, unknown>[];
  exited: Promise<number | null>;
}

function startAgent(runFile: string, id: number): AgentProcess {
  const child = spawn(process.execPath, [NETAC_ENTRY, 'agent', '--run', runFile, '--id', String(id), '--log-format', 'json'], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  const records: Record<string, unknown>[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    try {
      records.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      records.push({ msg: line });
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => setTimeout(() => resolve(code), 50)));
  return { child, records, exited };
}

async function until(condition: () => boolean, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const lastStep = (agent: AgentProcess) =>
  Math.max(0, ...agent.records.filter((record) => record.event === 'metrics').map((record) => Number(record.step)));

async function crashAndRejoin(name: string, corrupt?: (checkpoint: string) => void) {
  const dir = join(scratch, name);
  const runFile = join(dir, 'run.yaml');
  execFileSync(process.execPath, [NETAC_ENTRY, 'init-run', '--agents', '4', '--scenario', 'paper-synthetic', '--topology', 'ring', '--steps', '1200', '--checkpoint-every', '100', '--out', runFile]);
  const agents = [0, 1, 2, 3].map((id) => startAgent(runFile, id));
  // A random step (seeded: the test is reproducible) between 300 and 700.
  const killAfter = 300 + RandomStream.create(Date.now() % 1000, 'test').nextInt(400);
  await until(() => lastStep(agents[2]) >= killAfter, `agent 2 to reach step ${killAfter}`);
  agents[2].child.kill('SIGKILL');
  expect(await agents[2].exited).toBe(null); // killed, not exited
  const checkpoint = join(dir, 'ring', 'seed-0', 'agent-2.ckpt');
  corrupt?.(checkpoint);
  // While it is gone the others wait for its action and say so (after 2 s).
  await until(() => agents.some((agent) => agent.records.some((r) => r.event === 'waiting' && (r.actions as number[]).includes(2))), 'a waiting log naming agent 2');
  const restarted = startAgent(runFile, 2);
  const codes = await Promise.all([agents[0].exited, agents[1].exited, agents[3].exited, restarted.exited]);
  expect(codes).toEqual([0, 0, 0, 0]);
  const done = [agents[0], agents[1], agents[3], restarted].map((agent) => agent.records.find((r) => r.event === 'done'));
  expect(done.every(Boolean)).toBe(true);
  // Every replica ends in the same environment state.
  expect(new Set(done.map((record) => record!.stateHash)).size).toBe(1);
  // The others' learning continued to the end.
  for (const id of [0, 1, 3]) {
    const lines = readFileSync(join(dir, 'ring', 'seed-0', `agent-${id}.metrics.jsonl`), 'utf8').trim().split('\n');
    expect(JSON.parse(lines.at(-1)!).step).toBe(1200);
    expect(lines).toHaveLength(12);
  }
  return { killAfter, restarted };
}

describe('crash and rejoin (4 agent processes)', () => {
  it('kill -9 one agent at a random step and restart it: the run completes and replicas agree', async () => {
    const { killAfter, restarted } = await crashAndRejoin('clean');
    const resume = restarted.records.find((r) => r.event === 'resume');
    expect(resume).toBeDefined();
    expect(Number(resume!.step)).toBeGreaterThanOrEqual(Math.floor(killAfter / 100) * 100 - 100);
    const rejoin = restarted.records.find((r) => r.event === 'rejoin');
    expect(rejoin?.msg).toMatch(/rejoined at round \d+: replayed \d+ joint actions from peers; this agent's learning of \d+ steps since its checkpoint is lost/);
  }, 240_000);

  it('a corrupted newest checkpoint is refused, naming the file and the fault; the previous one is used', async () => {
    const { restarted } = await crashAndRejoin('corrupt', (checkpoint) => truncateSync(checkpoint, statSync(checkpoint).size - 10));
    const refused = restarted.records.find((r) => r.event === 'checkpoint-refused');
    expect(refused?.msg).toMatch(/checkpoint .*agent-2\.ckpt: truncated \(file ends after \d+ of \d+ payload bytes\)/);
    expect(String(restarted.records.find((r) => r.event === 'resume')?.msg)).toMatch(/agent-2\.prev\.ckpt/);
  }, 240_000);
});
