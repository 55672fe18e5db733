import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { peerIdFromString } from '@libp2p/peer-id';
import {
  generateAgentKey,
  generateSwarmKey,
  peerIdOf,
  readKeyFile,
  readSwarmKeyFile,
  SWARM_KEY_BYTES,
  writeKeyFile,
  writeSwarmKeyFile,
} from '../../src/net/keys.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'netac-keys-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('agent key files', () => {
  it('round-trips a key through a file with mode 0600', async () => {
    const key = await generateAgentKey();
    const path = join(dir, 'agent-0.key');
    await writeKeyFile(path, key);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const read = await readKeyFile(path);
    expect(read.equals(key)).toBe(true);
    expect(peerIdOf(read)).toBe(peerIdOf(key));
    expect(peerIdFromString(peerIdOf(key)).type).toBe('Ed25519');
  });

  it('gives different keys different peer ids', async () => {
    expect(peerIdOf(await generateAgentKey())).not.toBe(peerIdOf(await generateAgentKey()));
  });

  it('refuses to overwrite a key file unless told to', async () => {
    const path = join(dir, 'agent-1.key');
    const first = await generateAgentKey();
    await writeKeyFile(path, first);
    await expect(writeKeyFile(path, await generateAgentKey())).rejects.toThrow(`${path} already exists`);
    expect((await readKeyFile(path)).equals(first)).toBe(true);
    const second = await generateAgentKey();
    await writeKeyFile(path, second, { overwrite: true });
    expect((await readKeyFile(path)).equals(second)).toBe(true);
  });

  it('tightens the mode of an existing file it overwrites', async () => {
    const path = join(dir, 'loose.key');
    await writeFile(path, 'x', { mode: 0o644 });
    await writeKeyFile(path, await generateAgentKey(), { overwrite: true });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('names the file when it is missing', async () => {
    const path = join(dir, 'missing.key');
    await expect(readKeyFile(path)).rejects.toThrow(`key file ${path} does not exist`);
  });

  it('names the file when it is not hex', async () => {
    const path = join(dir, 'not-hex.key');
    await writeFile(path, 'this is not hex\n');
    await expect(readKeyFile(path)).rejects.toThrow(`key file ${path} is not hex`);
  });

  it('names the file when it is empty', async () => {
    const path = join(dir, 'empty.key');
    await writeFile(path, '\n');
    await expect(readKeyFile(path)).rejects.toThrow(`key file ${path} is empty`);
  });

  it('names the file when the hex is not a key', async () => {
    const path = join(dir, 'not-a-key.key');
    await writeFile(path, 'deadbeef00ff\n');
    await expect(readKeyFile(path)).rejects.toThrow(`key file ${path} does not hold a libp2p private key`);
  });
});

describe('swarm key files', () => {
  it('generates 95-byte pnet keys, different each time', () => {
    const a = generateSwarmKey();
    expect(a.length).toBe(SWARM_KEY_BYTES);
    expect(new TextDecoder().decode(a)).toMatch(/^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}$/);
    expect(Buffer.from(a).equals(Buffer.from(generateSwarmKey()))).toBe(false);
  });

  it('round-trips through a file with mode 0600', async () => {
    const path = join(dir, 'swarm.key');
    const key = await writeSwarmKeyFile(path);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(Buffer.from(await readSwarmKeyFile(path)).equals(Buffer.from(key))).toBe(true);
    await expect(writeSwarmKeyFile(path)).rejects.toThrow('already exists');
  });

  it('tolerates a trailing newline', async () => {
    const path = join(dir, 'swarm-newline.key');
    const key = generateSwarmKey();
    await writeFile(path, Buffer.concat([Buffer.from(key), Buffer.from('\n')]));
    expect((await readSwarmKeyFile(path)).length).toBe(SWARM_KEY_BYTES);
  });

  it('names the file when it is missing or not a swarm key', async () => {
    const missing = join(dir, 'no-swarm.key');
    await expect(readSwarmKeyFile(missing)).rejects.toThrow(`swarm key file ${missing} does not exist`);
    const bad = join(dir, 'bad-swarm.key');
    await writeFile(bad, '/key/swarm/psk/1.0.0/\n/base16/\nabc\n');
    await expect(readSwarmKeyFile(bad)).rejects.toThrow(`swarm key file ${bad} is not a libp2p swarm key`);
  });
});
