// Checkpoint files on real disk: atomic two-generation writes, and every kind of damaged file
// refused with a one-line reason while the previous good checkpoint is used.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CHECKPOINT_FORMAT_VERSION,
  CheckpointError,
  checkpointStore,
  loadCheckpoint,
  writeCheckpoint,
  type CheckpointStore,
} from '../../src/agent/checkpoint.js';

let directory: string;
let store: CheckpointStore;
let current: string;
let previous: string;

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'netac-ckpt-'));
  store = checkpointStore(directory, 3);
  current = join(directory, 'agent-3.ckpt');
  previous = join(directory, 'agent-3.prev.ckpt');
});

afterEach(() => {
  rmSync(directory, { recursive: true, force: true });
});

function stateAt(step: number): { step: number; theta: number[]; note: string } {
  return { step, theta: [0.1 * step, -1e-300, 2.5e10, step / 3], note: `μ at step ${step} — ünïcode` };
}

/** A hand-made checkpoint file, following the documented format (so the format is pinned by the test). */
function craft(options: { agent?: number; step?: number; payload?: Buffer; version?: number }): Buffer {
  const { agent = 3, step = 7, payload = Buffer.from('{"ok":true}'), version = 1 } = options;
  const prefix = `NETAC-CKPT version=${version} agent=${agent} step=${step} bytes=${payload.length}`;
  const sha = createHash('sha256').update(prefix, 'latin1').update(payload).digest('hex');
  return Buffer.concat([Buffer.from(`${prefix} sha256=${sha}\n`, 'latin1'), payload]);
}

function payloadStart(file: Buffer): number {
  return file.indexOf('\n') + 1;
}

describe('writeCheckpoint / loadCheckpoint', () => {
  it('round-trips the state and leaves no temp file', () => {
    expect(CHECKPOINT_FORMAT_VERSION).toBe(1);
    expect(loadCheckpoint(store)).toBeUndefined();
    writeCheckpoint(store, 10, stateAt(10));
    const loaded = loadCheckpoint(store);
    expect(loaded).toEqual({ path: current, step: 10, state: stateAt(10), rejected: [] });
    expect(readdirSync(directory)).toEqual(['agent-3.ckpt']);
    const header = readFileSync(current, 'latin1').split('\n')[0];
    expect(header).toMatch(/^NETAC-CKPT version=1 agent=3 step=10 bytes=\d+ sha256=[0-9a-f]{64}$/);
    expect(readFileSync(current)).toEqual(craft({ step: 10, payload: Buffer.from(JSON.stringify(stateAt(10)), 'utf8') }));
  });

  it('the newest checkpoint wins, and the one before is kept as .prev', () => {
    for (const step of [10, 20, 30]) writeCheckpoint(store, step, stateAt(step));
    expect(loadCheckpoint(store)?.step).toBe(30);
    expect(readdirSync(directory).sort()).toEqual(['agent-3.ckpt', 'agent-3.prev.ckpt']);
    unlinkSync(current);
    expect(loadCheckpoint(store)).toEqual({ path: previous, step: 20, state: stateAt(20), rejected: [] });
  });

  it('creates the directory and keeps agents sharing a directory apart', () => {
    const nested = join(directory, 'runs', 'x');
    const a3 = checkpointStore(nested, 3);
    const a31 = checkpointStore(nested, 31);
    writeCheckpoint(a3, 1, 'three');
    writeCheckpoint(a31, 2, 'thirty-one');
    writeFileSync(join(nested, 'agent-31.ckpt.12345.tmp'), 'partial');
    writeCheckpoint(a3, 3, 'three again'); // cleans agent 3's temp files only
    expect(existsSync(join(nested, 'agent-31.ckpt.12345.tmp'))).toBe(true);
    expect(loadCheckpoint(a3)).toMatchObject({ step: 3, state: 'three again' });
    expect(loadCheckpoint(a31)).toMatchObject({ step: 2, state: 'thirty-one' });
  });

  it('refuses bad arguments before touching the disk', () => {
    expect(() => writeCheckpoint(store, -1, {})).toThrow(RangeError);
    expect(() => writeCheckpoint(store, 1.5, {})).toThrow(RangeError);
    expect(() => writeCheckpoint(store, 1, undefined)).toThrow(/not JSON-serialisable/);
    expect(() => checkpointStore(directory, -2)).toThrow(RangeError);
    expect(readdirSync(directory)).toEqual([]);
  });
});

describe('damaged checkpoints are refused and the previous good one is used', () => {
  beforeEach(() => {
    writeCheckpoint(store, 10, stateAt(10));
    writeCheckpoint(store, 20, stateAt(20));
  });

  function expectFallback(fault: CheckpointError['fault'], detail: string | RegExp): void {
    const loaded = loadCheckpoint(store);
    expect(loaded?.path).toBe(previous);
    expect(loaded?.step).toBe(10);
    expect(loaded?.state).toEqual(stateAt(10));
    expect(loaded?.rejected).toHaveLength(1);
    const reason = loaded?.rejected[0] ?? '';
    expect(reason).not.toContain('\n');
    if (typeof detail === 'string') expect(reason).toBe(`checkpoint ${current}: ${fault} (${detail})`);
    else {
      expect(reason.startsWith(`checkpoint ${current}: ${fault} (`)).toBe(true);
      expect(reason).toMatch(detail);
    }
  }

  it('truncated payload', () => {
    const file = readFileSync(current);
    const length = file.length - payloadStart(file);
    truncateSync(current, file.length - 25);
    expectFallback('truncated', `file ends after ${length - 25} of ${length} payload bytes`);
  });

  it('truncated inside the header, and empty', () => {
    truncateSync(current, 40);
    expectFallback('truncated', 'file ends after 40 bytes, inside the header');
    truncateSync(current, 4);
    expectFallback('truncated', 'file ends after 4 bytes, inside the header');
    truncateSync(current, 0);
    expectFallback('truncated', 'file is empty');
  });

  it('flipped payload byte → checksum', () => {
    const file = readFileSync(current);
    file[payloadStart(file) + 30] ^= 0x01;
    writeFileSync(current, file);
    expectFallback('checksum', /^.*SHA-256 of the contents is [0-9a-f]{12}…, header says [0-9a-f]{12}…\)$/);
  });

  it('flipped step digit in the header → checksum (the checksum covers the header)', () => {
    writeFileSync(current, readFileSync(current, 'latin1').replace('step=20 ', 'step=29 '), 'latin1');
    expectFallback('checksum', /SHA-256/);
  });

  it('other format version → version', () => {
    writeFileSync(current, readFileSync(current, 'latin1').replace('version=1 ', 'version=7 '), 'latin1');
    expectFallback('version', 'written by format version 7, this netac reads version 1');
  });

  it('a newer version is recognised even when the rest of its header is unknown or cut', () => {
    writeFileSync(current, 'NETAC-CKPT version=2 something entirely different');
    expectFallback('version', 'written by format version 2, this netac reads version 1');
  });

  it('another agent’s checkpoint → agent', () => {
    writeFileSync(current, craft({ agent: 4 }));
    expectFallback('agent', 'written by agent 4, expected agent 3');
  });

  it('not a checkpoint, malformed header, trailing bytes, bad JSON → format', () => {
    writeFileSync(current, '{"step": 20}\n');
    expectFallback('format', 'does not start with "NETAC-CKPT": not a netac checkpoint');
    writeFileSync(current, 'NETAC-CKPT version=1 agent=3 step=x\n{}');
    expectFallback('format', 'malformed header "NETAC-CKPT version=1 agent=3 step=x"');
    writeFileSync(current, `NETAC-CKPT version=1 ${'x'.repeat(2000)}`);
    expectFallback('format', 'no header line in the first 1024 bytes');
    writeFileSync(current, Buffer.concat([craft({}), Buffer.from('junk')]));
    expectFallback('format', '4 unexpected bytes after the 11-byte payload');
    writeFileSync(current, craft({ payload: Buffer.from('{"cut": ') }));
    expectFallback('format', /^.*payload is not valid JSON: /);
  });

  it('both files bad → throws, listing each file and fault on one line', () => {
    truncateSync(current, 200);
    writeFileSync(previous, readFileSync(previous, 'latin1').replace('version=1 ', 'version=7 '), 'latin1');
    let thrown: unknown;
    try {
      loadCheckpoint(store);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(AggregateError);
    const error = thrown as AggregateError;
    expect(error.message).not.toContain('\n');
    expect(error.message).toContain(`no valid checkpoint for agent 3 in ${directory}: `);
    expect(error.message).toContain(`checkpoint ${current}: truncated (file ends after `);
    expect(error.message).toContain(`checkpoint ${previous}: version (written by format version 7, this netac reads version 1)`);
    expect(error.errors.map((e: CheckpointError) => [e.path, e.fault])).toEqual([
      [current, 'truncated'],
      [previous, 'version'],
    ]);
    expect(error.errors.every((e) => e instanceof CheckpointError)).toBe(true);
  });

  it('only the current file, and bad → throws naming it', () => {
    unlinkSync(previous);
    truncateSync(current, 0);
    expect(() => loadCheckpoint(store)).toThrow(`no valid checkpoint for agent 3 in ${directory}: checkpoint ${current}: truncated (file is empty)`);
  });

  it('a corrupt current file is overwritten, not demoted over the good .prev', () => {
    truncateSync(current, 100);
    writeCheckpoint(store, 30, stateAt(30));
    expect(loadCheckpoint(store)).toMatchObject({ path: current, step: 30, rejected: [] });
    unlinkSync(current);
    expect(loadCheckpoint(store)).toMatchObject({ path: previous, step: 10, rejected: [] });
  });
});

describe('crash leftovers', () => {
  it('a leftover temp file is ignored by the reader and removed by the next write', () => {
    writeCheckpoint(store, 10, stateAt(10));
    // A crashed writer's temp files: one partial, one complete but never renamed (and newer).
    const partial = join(directory, 'agent-3.ckpt.4242.tmp');
    const complete = join(directory, 'agent-3.ckpt.4243.tmp');
    writeFileSync(partial, readFileSync(current).subarray(0, 60));
    writeFileSync(complete, craft({ step: 99 }));
    expect(loadCheckpoint(store)).toEqual({ path: current, step: 10, state: stateAt(10), rejected: [] });
    writeCheckpoint(store, 20, stateAt(20));
    expect(readdirSync(directory).sort()).toEqual(['agent-3.ckpt', 'agent-3.prev.ckpt']);
    expect(loadCheckpoint(store)?.step).toBe(20);
  });

  it('a crash between the two renames (current already moved to .prev) still loads, and the next write recovers', () => {
    writeCheckpoint(store, 10, stateAt(10));
    writeCheckpoint(store, 20, stateAt(20));
    // The next write got as far as: temp written, current → prev; then the process died.
    writeFileSync(join(directory, 'agent-3.ckpt.777.tmp'), craft({ step: 30 }));
    renameSync(current, previous);
    expect(loadCheckpoint(store)).toEqual({ path: previous, step: 20, state: stateAt(20), rejected: [] });
    writeCheckpoint(store, 30, stateAt(30));
    expect(loadCheckpoint(store)).toMatchObject({ path: current, step: 30 });
    unlinkSync(current);
    expect(loadCheckpoint(store)).toMatchObject({ path: previous, step: 20 });
    expect(readdirSync(directory)).toEqual(['agent-3.prev.ckpt']);
  });

  it('no files (or no directory) → undefined', () => {
    expect(loadCheckpoint(store)).toBeUndefined();
    expect(loadCheckpoint(checkpointStore(join(directory, 'missing'), 0))).toBeUndefined();
    writeFileSync(join(directory, 'agent-3.ckpt.1.tmp'), craft({}));
    expect(loadCheckpoint(store)).toBeUndefined();
  });
});

// A real process killed while writing, through the real module: the TS file is transpiled on its
// own (it imports only node: built-ins) so the child needs neither a build nor the other files.
describe('a writer process killed at arbitrary moments', () => {
  const source = fileURLToPath(new URL('../../src/agent/checkpoint.ts', import.meta.url));
  const fixture = fileURLToPath(new URL('./fixtures/checkpoint-writer.mjs', import.meta.url));
  const payloadBytes = 200_000;
  let moduleDirectory: string;
  let modulePath: string;

  beforeAll(() => {
    const text = readFileSync(source, 'utf8');
    const imports = [...text.matchAll(/^import\s[^;]*?from\s+'([^']+)'/gms)].map((m) => m[1]);
    expect(imports.filter((name) => !name.startsWith('node:'))).toEqual([]);
    const output = ts.transpileModule(text, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      fileName: source,
    });
    moduleDirectory = mkdtempSync(join(tmpdir(), 'netac-ckpt-module-'));
    modulePath = join(moduleDirectory, 'checkpoint.mjs');
    writeFileSync(modulePath, output.outputText);
  });

  afterAll(() => {
    rmSync(moduleDirectory, { recursive: true, force: true });
  });

  function expectWhole(loaded: ReturnType<typeof loadCheckpoint>): number {
    expect(loaded).toBeDefined();
    const { step, state, rejected } = loaded!;
    expect(rejected).toEqual([]);
    const { filler, weights } = state as { filler: string; weights: number[] };
    // (compared as a boolean: a failing diff of 200 kB of filler is unreadable)
    expect(filler === String(step % 10).repeat(payloadBytes)).toBe(true);
    expect(state).toEqual({ step, filler, weights: [step * 0.5, -step - 1, 1 / (step + 1)] });
    expect(weights).toHaveLength(3);
    return step;
  }

  /** Starts the writer; resolves once it has written its first checkpoint, with a promise of its exit and output. */
  function startWriter(): Promise<{ kill: (signal: NodeJS.Signals) => void; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> }> {
    return new Promise((resolveReady, rejectReady) => {
      const child = spawn(process.execPath, [fixture, modulePath, directory, '3', String(payloadBytes)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      let errors = '';
      let ready = false;
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        output += chunk;
        if (!ready && output.includes('ready\n')) {
          ready = true;
          resolveReady({ kill: (signal) => child.kill(signal), done });
        }
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (errors += chunk));
      const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>((resolve) => {
        // 'close' comes after the exit and after stdout has drained.
        child.on('close', (code, signal) => {
          if (!ready) rejectReady(new Error(`writer exited before it was ready (${code ?? signal}): ${errors}`));
          resolve({ code, signal, output });
        });
      });
    });
  }

  it('SIGKILL never leaves the agent without a whole checkpoint, and a restart resumes from it', async () => {
    let last = -1;
    for (let round = 0; round < 12; round++) {
      const writer = await startWriter();
      await new Promise((resolve) => setTimeout(resolve, (round * 7) % 40));
      writer.kill('SIGKILL');
      const { signal, output } = await writer.done;
      expect(signal).toBe('SIGKILL');
      const resumed = Number(/resumed (-?\d+)/.exec(output)?.[1]);
      expect(resumed).toBe(last);
      last = expectWhole(loadCheckpoint(store));
      expect(last).toBeGreaterThan(resumed);
      // At most the one temp file of the killed write survives.
      expect(readdirSync(directory).filter((name) => name.endsWith('.tmp')).length).toBeLessThanOrEqual(1);
    }
  });

  it('SIGTERM writes a final checkpoint and exits with no temp file left', async () => {
    const writer = await startWriter();
    await new Promise((resolve) => setTimeout(resolve, 20));
    writer.kill('SIGTERM');
    const { code, output } = await writer.done;
    expect(code).toBe(0);
    const final = Number(/final (\d+)/.exec(output)?.[1]);
    expect(expectWhole(loadCheckpoint(store))).toBe(final);
    expect(readdirSync(directory).sort()).toEqual(['agent-3.ckpt', 'agent-3.prev.ckpt']);
  });
});
