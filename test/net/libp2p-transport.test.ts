/**
 * Real network tests: libp2p nodes on 127.0.0.1 (port 0) inside the test process.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLibp2p, type Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@libp2p/noise';
import { yamux } from '@libp2p/yamux';
import { identify } from '@libp2p/identify';
import { gossipsub, type GossipSub } from '@libp2p/gossipsub';
import { multiaddr } from '@multiformats/multiaddr';
import { peerIdFromString } from '@libp2p/peer-id';
import type { PrivateKey } from '@libp2p/interface';
import { encodeAction, encodeShare, HEADER_BYTES, ROUND_FIXED_BYTES, runTagOf } from '../../src/net/codec.js';
import { generateAgentKey, generateSwarmKey, peerIdOf } from '../../src/net/keys.js';
import {
  actionTopic,
  Libp2pTransport,
  shareTopic,
  type Libp2pTransportOptions,
  type PeerDirectoryEntry,
} from '../../src/net/libp2p-transport.js';
import type { ActionMessage, ShareMessage, TransportHandlers } from '../../src/net/transport.js';

const DIMENSION = 4;

interface Inbox extends TransportHandlers {
  actions: ActionMessage[];
  shares: ShareMessage[];
}

function inbox(): Inbox {
  const actions: ActionMessage[] = [];
  const shares: ShareMessage[] = [];
  // Receivers copy what they keep (the transport may not own the buffer).
  return {
    actions,
    shares,
    onAction: (m) => actions.push({ ...m }),
    onShare: (m) => shares.push({ ...m, share: Float32Array.from(m.share) }),
  };
}

function has(box: Inbox, kind: 'action' | 'share', agent: number, step: number): boolean {
  const list: ReadonlyArray<{ agent: number; step: number }> = kind === 'action' ? box.actions : box.shares;
  return list.some((m) => m.agent === agent && m.step === step);
}

function shareOf(agent: number, step: number): Float32Array {
  return Float32Array.from({ length: DIMENSION }, (_, i) => agent + step / 10 + i / 100);
}

async function rogueNode(): Promise<Libp2p<{ identify: ReturnType<ReturnType<typeof identify>>; pubsub: GossipSub }>> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }) },
  });
}

const logs: string[] = [];
const onLog = (line: string): void => {
  logs.push(line);
};

describe('Libp2pTransport: 3 agents on 127.0.0.1 and a rogue node', () => {
  const RUN = 'net-test-run';
  const COUNT = 3;
  // Line graph 0 - 1 - 2: agent 0 reads 1, agent 1 reads 0 and 2, agent 2 reads 1.
  const SOURCES = [[1], [0, 2], [1]];
  const keys: PrivateKey[] = [];
  const transports: Libp2pTransport[] = [];
  const inboxes: Inbox[] = [];
  let rogue: Awaited<ReturnType<typeof rogueNode>> | undefined;
  let startMs = 0;

  beforeAll(async () => {
    for (let agent = 0; agent < COUNT; agent++) keys.push(await generateAgentKey());
    const directory: PeerDirectoryEntry[] = keys.map((key, agent) => ({ agent, peerId: peerIdOf(key), addresses: [] }));
    const make = (agent: number): Libp2pTransport =>
      new Libp2pTransport({
        agent,
        runId: RUN,
        agentCount: COUNT,
        shareDimension: DIMENSION,
        privateKey: keys[agent],
        peers: directory.map((entry) => ({ ...entry })),
        shareSources: SOURCES[agent],
        requiredPeers: [0, 1, 2],
        onLog,
        denyUnknownPeers: false, // let the rogue connect, so the validator has to stop it
        startTimeoutMs: 30_000,
      });
    // Port 0: each agent listens first and the later ones learn its address (a directory
    // where only some agents have addresses still connects everyone: the others dial out).
    for (let agent = 0; agent < COUNT; agent++) {
      const transport = make(agent);
      transports.push(transport);
      inboxes.push(inbox());
      const addresses = await transport.listen();
      expect(addresses.length).toBeGreaterThan(0);
      for (const address of addresses) expect(address).toMatch(/^\/ip4\/127\.\d+\.\d+\.\d+\/tcp\/\d+\/p2p\/12D3KooW/);
      directory[agent] = { ...directory[agent], addresses };
    }
    const started = performance.now();
    await Promise.all(transports.map((transport, agent) => transport.start(inboxes[agent])));
    startMs = performance.now() - started;
  });

  afterAll(async () => {
    await Promise.all([...transports.map((transport) => transport.stop()), rogue?.stop()]);
  });

  it('starts once every required peer is connected and subscribed', () => {
    for (const transport of transports) {
      expect(transport.connectedAgents()).toEqual([0, 1, 2].filter((a) => a !== transport.agent));
    }
    expect(logs.some((line) => /2\/2 peers ready/.test(line))).toBe(true);
    console.info(`3 transports ready ${startMs.toFixed(0)} ms after start()`);
  });

  it('exchanges lockstep rounds: every action to every agent, shares to the share readers only', async () => {
    const rounds = 20;
    const publishesPerRound: number[] = [];
    const roundMs: number[] = [];
    for (let step = 0; step < rounds; step++) {
      const complete = (): boolean =>
        transports.every((_, receiver) =>
          transports.every(
            (__, sender) =>
              sender === receiver ||
              (has(inboxes[receiver], 'action', sender, step) &&
                (!SOURCES[receiver].includes(sender) || has(inboxes[receiver], 'share', sender, step))),
          ),
        );
      const started = performance.now();
      let publishes = 0;
      // Like the Agent: publish, then re-publish until the round completes.
      while (!complete()) {
        publishes++;
        if (publishes > 100) throw new Error(`round ${step} did not complete`);
        for (const transport of transports) {
          const agent = transport.agent;
          transport.publishAction({ agent, step, action: agent * 10 + (step % 7), stateHash: 1000 + step });
          transport.publishShare({ agent, step, share: shareOf(agent, step) });
        }
        const deadline = performance.now() + 200;
        while (!complete() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 1));
      }
      publishesPerRound.push(publishes);
      roundMs.push(performance.now() - started);
    }
    console.info(
      `rounds: publishes per round ${JSON.stringify(publishesPerRound)}, ms per round ${roundMs.map((ms) => ms.toFixed(1)).join(' ')}`,
    );
    for (let receiver = 0; receiver < COUNT; receiver++) {
      const box = inboxes[receiver];
      for (const m of box.actions) {
        expect(m.action).toBe(m.agent * 10 + (m.step % 7));
        expect(m.stateHash).toBe(1000 + m.step);
      }
      for (const m of box.shares) {
        expect(SOURCES[receiver]).toContain(m.agent);
        expect(m.share).toEqual(shareOf(m.agent, m.step));
      }
      expect(box.actions.some((m) => m.agent === receiver)).toBe(false); // no self-delivery
    }
    // Agent 0 and 2 are not neighbours: they never see each other's shares.
    expect(inboxes[0].shares.some((m) => m.agent === 2)).toBe(false);
    expect(inboxes[2].shares.some((m) => m.agent === 0)).toBe(false);
    for (const transport of transports) {
      expect(transport.stats.rejected).toBe(0);
      expect(transport.stats.messagesOut).toBeGreaterThanOrEqual(2 * rounds);
      expect(transport.stats.bytesOut).toBeGreaterThan(0);
    }
  });

  it("sends a round's action and share as one round message, whichever is published first", async () => {
    const sender = transports[1];
    for (const [step, shareFirst] of [
      [22, true], // the Agent's order
      [23, false],
    ] as const) {
      const before = { ...sender.stats };
      const action = { agent: 1, step, action: 3, stateHash: 4 };
      const share = { agent: 1, step, share: shareOf(1, step) };
      if (shareFirst) {
        sender.publishShare(share);
        sender.publishAction(action);
      } else {
        sender.publishAction(action);
        sender.publishShare(share);
      }
      // Two messages in one signed wire message: header, action, state hash, share step, floats.
      expect(sender.stats.messagesOut - before.messagesOut).toBe(2);
      expect(sender.stats.bytesOut - before.bytesOut).toBe(HEADER_BYTES + ROUND_FIXED_BYTES + 4 * DIMENSION);
      await vi.waitFor(
        () => {
          for (const receiver of [0, 2]) {
            expect(has(inboxes[receiver], 'action', 1, step)).toBe(true);
            expect(has(inboxes[receiver], 'share', 1, step)).toBe(true);
          }
        },
        { timeout: 5000 },
      );
    }
  });

  it('delivers a re-published identical message again (new seqno), for the Agent to deduplicate', async () => {
    const before = inboxes[1].actions.filter((m) => m.agent === 0 && m.step === 25).length;
    const message = { agent: 0, step: 25, action: 1, stateHash: 2 };
    transports[0].publishAction(message);
    transports[0].publishAction(message);
    await vi.waitFor(() => expect(inboxes[1].actions.filter((m) => m.agent === 0 && m.step === 25).length).toBe(2), {
      timeout: 5000,
    });
    expect(before).toBe(0);
    expect(transports[0].stats.publishErrors).toBe(0);
  });

  it('rejects, counts and never forwards a rogue node’s messages', async () => {
    rogue = await rogueNode();
    const pubsub = rogue.services.pubsub;
    const act = actionTopic(RUN);
    const share1 = shareTopic(RUN, 1);
    pubsub.subscribe(act);
    pubsub.subscribe(share1);
    await rogue.dial(multiaddr(transports[0].listenAddresses()[0]));
    const target = transports[0].peerId;
    await vi.waitFor(
      () => {
        expect(pubsub.getSubscribers(act).map(String)).toContain(target);
        expect(pubsub.getSubscribers(share1).map(String)).toContain(target);
      },
      { timeout: 10_000 },
    );
    const before = transports.map((t) => ({ ...t.stats.rejectedByReason }));
    const tag = runTagOf(RUN);
    const step = 26;
    // Garbage, a forged action and a forged NaN share for agent 1, a message from an unknown agent.
    await pubsub.publish(act, new TextEncoder().encode('XX definitely not the netac wire format'));
    await pubsub.publish(act, encodeAction(tag, { agent: 1, step, action: 666, stateHash: 666 }));
    await pubsub.publish(
      share1,
      encodeShare(tag, { agent: 1, step, share: Float32Array.from([Number.NaN, 1, 2, 3]) }),
    );
    await pubsub.publish(act, encodeAction(tag, { agent: 2000, step, action: 666, stateHash: 666 }));
    await vi.waitFor(
      () => {
        const counts = transports[0].stats.rejectedByReason;
        expect(counts.magic - before[0].magic).toBe(1);
        expect(counts.sender - before[0].sender).toBe(2);
        expect(counts.agent - before[0].agent).toBe(1);
      },
      { timeout: 5000 },
    );
    expect(transports[0].stats.rejected).toBe(4);
    // Nothing of it reached a handler, on any node.
    for (const box of inboxes) {
      expect(box.actions.some((m) => m.action === 666 || m.agent >= COUNT)).toBe(false);
      expect(box.shares.some((m) => m.share.some((x) => !Number.isFinite(x)))).toBe(false);
    }
    // Rejected messages are not forwarded: the others never saw them.
    await new Promise((r) => setTimeout(r, 300));
    expect(transports[1].stats.rejected).toBe(0);
    expect(transports[2].stats.rejected).toBe(0);
    expect(logs.some((line) => line.startsWith('agent 0: rejected a message'))).toBe(true);
  });

  it('rejects a listed agent’s NaN share as non-finite, on every reader', async () => {
    transports[1].publishShare({ agent: 1, step: 27, share: Float32Array.from([0, Number.POSITIVE_INFINITY, 0, 0]) });
    await vi.waitFor(
      () => {
        expect(transports[0].stats.rejectedByReason['non-finite']).toBe(1);
        expect(transports[2].stats.rejectedByReason['non-finite']).toBe(1);
      },
      { timeout: 5000 },
    );
    expect(inboxes[0].shares.some((m) => m.step === 27)).toBe(false);
  });

  it('ignores (and counts) messages outside the step window', async () => {
    // The window is centred on the highest step this agent published (27): default ±32.
    transports[1].publishAction({ agent: 1, step: 27 + 33, action: 0, stateHash: 0 });
    await vi.waitFor(() => expect(transports[0].stats.rejectedByReason.step).toBe(1), { timeout: 5000 });
    expect(inboxes[0].actions.some((m) => m.step === 60)).toBe(false);
  });
});

describe('Libp2pTransport: access control', () => {
  const stops: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    await Promise.all(stops.map((stop) => stop()));
  });

  async function pair(options: { swarmKeys?: [Uint8Array | undefined, Uint8Array | undefined]; timeoutMs?: number }) {
    const keys = [await generateAgentKey(), await generateAgentKey()];
    const directory: PeerDirectoryEntry[] = keys.map((key, agent) => ({ agent, peerId: peerIdOf(key), addresses: [] }));
    const base = (agent: number): Libp2pTransportOptions => ({
      agent,
      runId: 'access-run',
      agentCount: 2,
      shareDimension: 1,
      privateKey: keys[agent],
      peers: directory,
      shareSources: [1 - agent],
      requiredPeers: [1 - agent],
      onLog,
      redial: { initialMs: 100, maxMs: 400 },
      ...(options.swarmKeys?.[agent] !== undefined ? { swarmKey: options.swarmKeys[agent] } : {}),
      ...(options.timeoutMs !== undefined ? { startTimeoutMs: options.timeoutMs } : {}),
    });
    const a = new Libp2pTransport(base(0));
    stops.push(() => a.stop());
    const addresses = await a.listen();
    const b = new Libp2pTransport({ ...base(1), peers: [{ ...directory[0], addresses }, directory[1]] });
    stops.push(() => b.stop());
    return { a, b, addresses };
  }

  it('connects agents that share a swarm key', async () => {
    const key = generateSwarmKey();
    const { a, b } = await pair({ swarmKeys: [key, key], timeoutMs: 20_000 });
    await Promise.all([a.start(inbox()), b.start(inbox())]);
    expect(a.connectedAgents()).toEqual([1]);
  });

  it('keeps out an agent with another swarm key: start() times out naming the missing peer', async () => {
    const { a, b } = await pair({ swarmKeys: [generateSwarmKey(), generateSwarmKey()], timeoutMs: 2500 });
    const results = await Promise.allSettled([a.start(inbox()), b.start(inbox())]);
    for (const result of results) expect(result.status).toBe('rejected');
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/agent 1: peers not ready after 2500 ms: agent 0 \(not connected\)/);
    // (With a wrong key the dial fails with ECONNRESET, or hangs until the dial timeout when the
    // garbled handshake announces a long frame: no clearer error is possible by design of pnet.)
  });

  it('refuses connections from peers outside the directory (default)', async () => {
    const { a, addresses } = await pair({ timeoutMs: 60_000 });
    const starting = a.start(inbox()); // waits for agent 1, which never comes
    starting.catch(() => undefined);
    const stranger = await rogueNode();
    stops.push(async () => stranger.stop());
    const strangerId = stranger.peerId.toString();
    // The stranger's own dial may even resolve (its side finishes the upgrade before ours
    // refuses it); either way the connection does not survive.
    await stranger.dial(multiaddr(addresses[0])).catch(() => undefined);
    await vi.waitFor(() => expect(stranger.getConnections(peerIdFromString(a.peerId)).length).toBe(0), { timeout: 5000 });
    expect(a.connectedPeers()).not.toContain(strangerId);
    expect(a.connectedAgents()).toEqual([]);
  });

  it('redials a peer that disconnects, and messages flow again', async () => {
    const { a, b } = await pair({ timeoutMs: 20_000 });
    const boxA = inbox();
    const boxB = inbox();
    await Promise.all([a.start(boxA), b.start(boxB)]);
    // Agent 0 hangs up; agent 1 (which has agent 0's address) must redial.
    const node = (a as unknown as { node: Libp2p }).node;
    await node.hangUp(peerIdFromString(b.peerId));
    await vi.waitFor(() => expect(logs.some((line) => line === 'agent 1: disconnected from agent 0')).toBe(true), { timeout: 5000 });
    await vi.waitFor(
      () => {
        // Re-publish until it arrives, as the Agent does.
        a.publishAction({ agent: 0, step: 3, action: 1, stateHash: 9 });
        expect(has(boxB, 'action', 0, 3)).toBe(true);
      },
      { timeout: 10_000, interval: 200 },
    );
    expect(b.connectedAgents()).toEqual([0]);
  });

  it('checks the directory against the key and the options', async () => {
    const key = await generateAgentKey();
    const other = await generateAgentKey();
    const options: Libp2pTransportOptions = {
      agent: 0,
      runId: 'r',
      agentCount: 2,
      shareDimension: 1,
      privateKey: key,
      peers: [
        { agent: 0, peerId: peerIdOf(key), addresses: [] },
        { agent: 1, peerId: peerIdOf(other), addresses: ['/ip4/127.0.0.1/tcp/1'] },
      ],
      shareSources: [1],
      requiredPeers: [1],
    };
    expect(() => new Libp2pTransport(options)).not.toThrow();
    expect(() => new Libp2pTransport({ ...options, privateKey: other })).toThrow(/the run config lists/);
    expect(() => new Libp2pTransport({ ...options, requiredPeers: [2] })).toThrow(/required peers include agent 2/);
    expect(
      () =>
        new Libp2pTransport({
          ...options,
          peers: [options.peers[0], { ...options.peers[1], addresses: [`/ip4/127.0.0.1/tcp/1/p2p/${peerIdOf(key)}`] }],
        }),
    ).toThrow(/names peer/);
    expect(() => new Libp2pTransport({ ...options, peers: [options.peers[0], { ...options.peers[1], peerId: 'nope' }] })).toThrow(
      /not a peer id/,
    );
  });
});
