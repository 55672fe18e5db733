// A rogue libp2p peer on 127.0.0.1 joins a run of real agent processes (which accept strangers'
// connections here: denyUnknownPeers false) and publishes on the run's topics: garbage bytes, a
// share with NaN, one with the wrong dimension, one claiming another agent's id, a replayed old
// step. The agents reject and count every one, learn exactly what they learn without the rogue,
// and none crashes.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { gossipsub, type GossipSub } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import { noise } from '@libp2p/noise';
import { tcp } from '@libp2p/tcp';
import { yamux } from '@libp2p/yamux';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p, type Libp2p } from 'libp2p';
import { afterAll, describe, expect, it } from 'vitest';
import { NETAC_ENTRY } from './netac-cli.js';
import { encodeAction, encodeShare, runTagOf } from '../../src/net/codec.js';
import { actionTopic, shareTopic } from '../../src/net/libp2p-transport.js';

const scratch = mkdtempSync(join(tmpdir(), 'netac-rogue-'));
const children: ChildProcess[] = [];
let rogue: Libp2p<{ identify: ReturnType<ReturnType<typeof identify>>; pubsub: GossipSub }> | undefined;
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await rogue?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe('a rogue peer publishing on the run topics', () => {
  it('is rejected and counted by every agent, and changes nothing they learn', async () => {
    const runFile = join(scratch, 'run.yaml');
    execFileSync(process.execPath, [NETAC_ENTRY, 'init-run', '--agents', '3', '--scenario', 'paper-synthetic', '--topology', 'ring', '--steps', '600', '--out', runFile]);
    appendFileSync(runFile, 'denyUnknownPeers: false\n');
    const runId = basename(scratch); // init-run names the run after the run file's folder
    const addresses: string[] = [];
    const done: Record<string, unknown>[] = [];
    const exits = [0, 1, 2].map((id) => {
      const child = spawn(process.execPath, [NETAC_ENTRY, 'agent', '--run', runFile, '--id', String(id), '--log-format', 'json'], { stdio: ['ignore', 'ignore', 'pipe'] });
      children.push(child);
      createInterface({ input: child.stderr! }).on('line', (line) => {
        const record = JSON.parse(line) as Record<string, unknown>;
        if (record.event === 'ready') addresses.push(...(record.addresses as string[]));
        if (record.event === 'done') done.push(record);
      });
      return new Promise<number | null>((resolve) => child.on('exit', (code) => setTimeout(() => resolve(code), 50)));
    });

    rogue = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify(), pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }) },
    });
    const pubsub = rogue.services.pubsub;
    const act = actionTopic(runId);
    const shares = [0, 1, 2].map((agent) => shareTopic(runId, agent));
    for (const topic of [act, ...shares]) pubsub.subscribe(topic);
    while (addresses.length < 3) await new Promise((resolve) => setTimeout(resolve, 50));
    for (const address of addresses) await rogue.dial(multiaddr(address));

    const tag = runTagOf(runId);
    const attack = async (step: number) => {
      const publish = (topic: string, bytes: Uint8Array) => pubsub.publish(topic, bytes).catch(() => {});
      await publish(act, new TextEncoder().encode('garbage, not the netac wire format'));
      await publish(shares[1], encodeShare(tag, { agent: 1, step, share: new Float32Array(10).fill(Number.NaN) }));
      await publish(shares[2], encodeShare(tag, { agent: 2, step, share: new Float32Array(3) })); // wrong dimension
      await publish(act, encodeAction(tag, { agent: 0, step, action: 1, stateHash: 12345 })); // claims agent 0
      await publish(act, encodeAction(tag, { agent: 1, step: 0, action: 0, stateHash: 0 })); // replayed old step
    };
    let step = 0;
    let finished = false;
    const exited = Promise.all(exits).then((codes) => {
      finished = true;
      return codes;
    });
    while (!finished) {
      await attack(step++);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await exited).toEqual([0, 0, 0]); // none crashed

    // Every agent rejected and counted the rogue's messages (runtime stats).
    for (const agent of [0, 1, 2]) {
      const runtime = readFileSync(join(scratch, 'ring', 'seed-0', `agent-${agent}.runtime.jsonl`), 'utf8').trim().split('\n');
      expect(JSON.parse(runtime.at(-1)!).rejected).toBeGreaterThan(0);
    }
    expect(done).toHaveLength(3);
    for (const record of done) expect((record.stats as { rejected: number }).rejected).toBeGreaterThanOrEqual(3);

    // Their learning is exactly that of a run without the rogue.
    execFileSync(process.execPath, [NETAC_ENTRY, 'sim', '--scenario', 'paper-synthetic', '--agents', '3', '--topology', 'ring', '--seeds', '0', '--steps', '600', '--out', join(scratch, 'sim'), '--quiet', '--no-report']);
    for (const agent of [0, 1, 2]) {
      const name = `agent-${agent}.metrics.jsonl`;
      expect(readFileSync(join(scratch, 'ring', 'seed-0', name), 'utf8')).toBe(readFileSync(join(scratch, 'sim', 'ring', 'seed-0', name), 'utf8'));
    }
  }, 180_000);
});
