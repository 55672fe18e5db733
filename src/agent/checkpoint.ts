/**
 * Crash-safe checkpoint files: one agent's full state (θ, critic, μ, RNG states, environment
 * state, step) as JSON behind a checked header.
 *
 * Files, per agent i in the run directory:
 *   agent-<i>.ckpt            the newest checkpoint
 *   agent-<i>.prev.ckpt       the one before it (a second generation, kept while the newest is written)
 *   agent-<i>.ckpt.<pid>.tmp  a checkpoint being written; left behind only by a crash, ignored by
 *                             the reader and removed by the next write
 *
 * Format: one ASCII header line, then the payload (JSON text, UTF-8):
 *   NETAC-CKPT version=1 agent=3 step=1200 bytes=5400 sha256=<64 hex>\n<5400 payload bytes>
 * The SHA-256 covers the header fields before it (the text "NETAC-CKPT … bytes=5400") and the
 * payload, so a flipped digit in the step is caught as well as one in the payload. `version`
 * comes first so that a later format can change everything after it and still be recognised.
 *
 * Writing is synchronous (it runs on the SIGINT/SIGTERM path just before exit): write a temp file
 * in the same directory, fsync it, rename the current file to `.prev` (only when it is itself a
 * valid checkpoint, so a corrupt file never pushes out the good one), rename the temp file over
 * the current one, fsync the directory. Each rename is atomic, so at every instant the directory
 * holds at least one complete good checkpoint: a crash between the two renames leaves only
 * `.prev`, which the reader then uses.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

export const CHECKPOINT_FORMAT_VERSION = 1;

const MAGIC = 'NETAC-CKPT';
/** A header line is about 130 bytes; anything without a newline in this many bytes is not a header. */
const MAX_HEADER_BYTES = 1024;
const HEADER = /^NETAC-CKPT version=(\d+) agent=(\d+) step=(\d+) bytes=(\d+) sha256=([0-9a-f]{64})$/;
const VERSION = /^NETAC-CKPT version=(\d+)[ \n]/;

export interface CheckpointStore {
  readonly directory: string;
  readonly agent: number;
}

export function checkpointStore(directory: string, agent: number): CheckpointStore {
  if (!Number.isSafeInteger(agent) || agent < 0) throw new RangeError(`checkpoint store: agent id must be a non-negative integer, got ${agent}`);
  return { directory, agent };
}

export function checkpointFileName(agent: number): string {
  return `agent-${agent}.ckpt`;
}

export function previousCheckpointFileName(agent: number): string {
  return `agent-${agent}.prev.ckpt`;
}

export type CheckpointFault = 'truncated' | 'checksum' | 'version' | 'format' | 'agent';

/** A checkpoint file refused on reading. The message is one line naming the file and the fault. */
export class CheckpointError extends Error {
  constructor(
    readonly path: string,
    readonly fault: CheckpointFault,
    readonly detail: string,
  ) {
    super(`checkpoint ${path}: ${fault} (${detail})`);
    this.name = 'CheckpointError';
  }
}

export interface LoadedCheckpoint {
  /** The file the state came from: the current file, or `.prev` when the current one was refused or missing. */
  readonly path: string;
  readonly step: number;
  readonly state: unknown;
  /** One-line reasons (CheckpointError messages) for the files refused on the way; empty normally. */
  readonly rejected: readonly string[];
}

/**
 * Atomically writes `state` (any JSON-serialisable value) as the newest checkpoint for `step`,
 * keeping the previous good checkpoint as `.prev`. Synchronous; on error the existing files are
 * untouched and the temp file is removed.
 */
export function writeCheckpoint(store: CheckpointStore, step: number, state: unknown): void {
  if (!Number.isSafeInteger(step) || step < 0) throw new RangeError(`checkpoint: step must be a non-negative integer, got ${step}`);
  const json = JSON.stringify(state);
  if (json === undefined) throw new TypeError(`checkpoint: state of type ${typeof state} is not JSON-serialisable`);
  const file = encodeCheckpoint(store.agent, step, Buffer.from(json, 'utf8'));

  const { directory, agent } = store;
  const current = join(directory, checkpointFileName(agent));
  const previous = join(directory, previousCheckpointFileName(agent));
  mkdirSync(directory, { recursive: true });
  removeStaleTempFiles(store);

  const temp = `${current}.${process.pid}.tmp`;
  try {
    const fd = openSync(temp, 'w');
    try {
      for (let offset = 0; offset < file.length; ) offset += writeSync(fd, file, offset, file.length - offset);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    // Demote the current file only when it is good: a corrupt current file is overwritten
    // instead, so it never replaces the good `.prev`.
    if (isValidFile(current, agent)) renameSync(current, previous);
    renameSync(temp, current);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  fsyncDirectory(directory);
}

/**
 * The newest valid checkpoint (the current file, else `.prev`), or undefined when neither file
 * exists. Refused files are listed in `rejected`. Throws an AggregateError of CheckpointErrors,
 * with a one-line message listing each file and fault, when files exist and all are invalid.
 * Errors other than a missing file (permissions, I/O) are thrown as they are.
 */
export function loadCheckpoint(store: CheckpointStore): LoadedCheckpoint | undefined {
  const errors: CheckpointError[] = [];
  for (const name of [checkpointFileName(store.agent), previousCheckpointFileName(store.agent)]) {
    const path = join(store.directory, name);
    const bytes = readIfExists(path);
    if (bytes === undefined) continue;
    try {
      const { step, state } = decodeCheckpoint(bytes, path, store.agent, true);
      return { path, step, state, rejected: errors.map((error) => error.message) };
    } catch (error) {
      if (!(error instanceof CheckpointError)) throw error;
      errors.push(error);
    }
  }
  if (errors.length === 0) return undefined;
  throw new AggregateError(
    errors,
    `no valid checkpoint for agent ${store.agent} in ${store.directory}: ${errors.map((error) => error.message).join('; ')}`,
  );
}

function headerPrefix(agent: number, step: number, bytes: number): string {
  return `${MAGIC} version=${CHECKPOINT_FORMAT_VERSION} agent=${agent} step=${step} bytes=${bytes}`;
}

function digest(prefix: string, payload: Uint8Array): string {
  return createHash('sha256').update(prefix, 'latin1').update(payload).digest('hex');
}

function encodeCheckpoint(agent: number, step: number, payload: Buffer): Buffer {
  const prefix = headerPrefix(agent, step, payload.length);
  return Buffer.concat([Buffer.from(`${prefix} sha256=${digest(prefix, payload)}\n`, 'latin1'), payload]);
}

/**
 * Checks, in order: magic (→ format), version (→ version), header shape (→ format), agent id
 * (→ agent), payload length (→ truncated; extra bytes → format), checksum (→ checksum), and
 * when `parse` is set, the JSON (→ format).
 */
function decodeCheckpoint(bytes: Buffer, path: string, agent: number, parse: boolean): { step: number; state: unknown } {
  function fail(fault: CheckpointFault, detail: string): never {
    throw new CheckpointError(path, fault, detail);
  }
  if (bytes.length === 0) fail('truncated', 'file is empty');
  // latin1 maps bytes to characters one to one, so string indices are byte offsets.
  const head = bytes.subarray(0, MAX_HEADER_BYTES).toString('latin1');
  const magic = `${MAGIC} `;
  if (!head.startsWith(magic)) {
    if (magic.startsWith(head)) fail('truncated', `file ends after ${bytes.length} bytes, inside the header`);
    fail('format', `does not start with "${MAGIC}": not a netac checkpoint`);
  }
  const version = VERSION.exec(head);
  if (version && Number(version[1]) !== CHECKPOINT_FORMAT_VERSION) {
    fail('version', `written by format version ${version[1]}, this netac reads version ${CHECKPOINT_FORMAT_VERSION}`);
  }
  const newline = head.indexOf('\n');
  if (newline < 0) {
    if (bytes.length < MAX_HEADER_BYTES) fail('truncated', `file ends after ${bytes.length} bytes, inside the header`);
    fail('format', `no header line in the first ${MAX_HEADER_BYTES} bytes`);
  }
  const header = head.slice(0, newline);
  const fields = HEADER.exec(header);
  if (!fields) fail('format', `malformed header "${printable(header)}"`);
  const [, , agentText, stepText, lengthText, checksum] = fields;
  const [writer, step, length] = [agentText, stepText, lengthText].map(Number);
  if (![writer, step, length].every(Number.isSafeInteger)) fail('format', `header number out of range in "${printable(header)}"`);
  if (writer !== agent) fail('agent', `written by agent ${writer}, expected agent ${agent}`);
  const payload = bytes.subarray(newline + 1);
  if (payload.length < length) fail('truncated', `file ends after ${payload.length} of ${length} payload bytes`);
  if (payload.length > length) fail('format', `${payload.length - length} unexpected bytes after the ${length}-byte payload`);
  const actual = digest(header.slice(0, header.lastIndexOf(' sha256=')), payload);
  if (actual !== checksum) fail('checksum', `SHA-256 of the contents is ${actual.slice(0, 12)}…, header says ${checksum.slice(0, 12)}…`);
  if (!parse) return { step, state: undefined };
  try {
    return { step, state: JSON.parse(payload.toString('utf8')) as unknown };
  } catch (error) {
    return fail('format', `payload is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function printable(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 120 ? `${clean.slice(0, 120)}…` : clean;
}

function readIfExists(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Whether `path` holds a complete checkpoint of `agent` with a good checksum (the JSON is not re-parsed). */
function isValidFile(path: string, agent: number): boolean {
  try {
    const bytes = readIfExists(path);
    if (bytes === undefined) return false;
    decodeCheckpoint(bytes, path, agent, false);
    return true;
  } catch {
    return false;
  }
}

/** Removes temp files a crashed writer of this agent left behind (agent-<i>.ckpt.<pid>.tmp). */
function removeStaleTempFiles(store: CheckpointStore): void {
  const prefix = `${checkpointFileName(store.agent)}.`;
  for (const name of readdirSync(store.directory)) {
    if (name.startsWith(prefix) && name.endsWith('.tmp')) rmSync(join(store.directory, name), { force: true });
  }
}

/** Makes the renames durable. Some platforms (Windows) cannot open or fsync a directory: skipped there. */
function fsyncDirectory(directory: string): void {
  let fd: number;
  try {
    fd = openSync(directory, 'r');
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'EBADF') throw error;
  } finally {
    closeSync(fd);
  }
}
