/**
 * Agent identities and the swarm key, as files (used by `netac keygen` and `netac agent`).
 *
 * - An agent key file holds the hex of the libp2p protobuf encoding of an Ed25519 private key,
 *   one line, mode 0600. Its peer id is what the run config lists for the agent.
 * - A swarm key file holds a libp2p pnet pre-shared key ("/key/swarm/psk/1.0.0/", "/base16/",
 *   64 hex digits; 95 bytes), mode 0600. Every agent of a run must hold the same one.
 */
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { generateKey } from '@libp2p/pnet';
import type { PrivateKey } from '@libp2p/interface';

export type { PrivateKey } from '@libp2p/interface';

export const SWARM_KEY_BYTES = 95;
const SWARM_KEY_HEADER = '/key/swarm/psk/1.0.0/\n/base16/\n';

export interface WriteKeyOptions {
  /** Replace an existing file (default false: refuse, so a key is never lost by accident). */
  readonly overwrite?: boolean;
}

/** A new Ed25519 agent key. */
export async function generateAgentKey(): Promise<PrivateKey> {
  return generateKeyPair('Ed25519');
}

/** The peer id (base58 string) of a key: what the run config lists for the agent. */
export function peerIdOf(key: PrivateKey): string {
  return peerIdFromPrivateKey(key).toString();
}

function errnoCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
}

async function writeSecret(path: string, data: string | Uint8Array, what: string, options: WriteKeyOptions): Promise<void> {
  try {
    await writeFile(path, data, { mode: 0o600, flag: options.overwrite === true ? 'w' : 'wx' });
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') throw new Error(`${what} ${path} already exists: refusing to overwrite it`);
    throw new Error(`cannot write ${what} ${path}: ${(error as Error).message}`);
  }
  // mode applies only when the file is created, and through the umask: set it explicitly.
  await chmod(path, 0o600);
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') throw new Error(`${what} ${path} does not exist`);
    throw new Error(`cannot read ${what} ${path}: ${(error as Error).message}`);
  }
}

/** Writes `key` to `path` as hex of its protobuf encoding, mode 0600. */
export async function writeKeyFile(path: string, key: PrivateKey, options: WriteKeyOptions = {}): Promise<void> {
  const hex = Buffer.from(privateKeyToProtobuf(key)).toString('hex');
  await writeSecret(path, `${hex}\n`, 'key file', options);
}

/** Reads an agent key file. Errors name the file: missing, not hex, or not a private key. */
export async function readKeyFile(path: string): Promise<PrivateKey> {
  const text = (await readText(path, 'key file')).trim();
  if (text.length === 0) throw new Error(`key file ${path} is empty`);
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(text)) {
    throw new Error(`key file ${path} is not hex (expected the hex of a libp2p private key, as written by netac keygen)`);
  }
  try {
    return privateKeyFromProtobuf(Buffer.from(text, 'hex'));
  } catch (error) {
    throw new Error(`key file ${path} does not hold a libp2p private key: ${(error as Error).message}`);
  }
}

/** A new pnet pre-shared key (95 bytes of text). */
export function generateSwarmKey(): Uint8Array {
  const key = new Uint8Array(SWARM_KEY_BYTES);
  generateKey(key);
  return key;
}

/** Writes a new swarm key to `path` (mode 0600) and returns it. */
export async function writeSwarmKeyFile(path: string, options: WriteKeyOptions = {}): Promise<Uint8Array> {
  const key = generateSwarmKey();
  await writeSecret(path, key, 'swarm key file', options);
  return key;
}

/** Reads a swarm key file for `preSharedKey({ psk })`. Errors name the file. */
export async function readSwarmKeyFile(path: string): Promise<Uint8Array> {
  const text = await readText(path, 'swarm key file');
  // Tolerate a trailing newline added by an editor; the key itself is exactly 95 bytes.
  const body = text.replace(/\s+$/, '');
  if (!body.startsWith(SWARM_KEY_HEADER) || !/^[0-9a-f]{64}$/.test(body.slice(SWARM_KEY_HEADER.length))) {
    throw new Error(`swarm key file ${path} is not a libp2p swarm key (expected "/key/swarm/psk/1.0.0/", "/base16/" and 64 hex digits)`);
  }
  return new TextEncoder().encode(body);
}
