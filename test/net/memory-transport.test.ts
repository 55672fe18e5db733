import { describe, expect, it } from 'vitest';
import { MemoryHub, MemoryTransport } from '../../src/net/memory-transport.js';
import type { ActionMessage, ShareMessage, TransportHandlers } from '../../src/net/transport.js';

interface Inbox extends TransportHandlers {
  actions: ActionMessage[];
  shares: ShareMessage[];
}

function inbox(): Inbox {
  const actions: ActionMessage[] = [];
  const shares: ShareMessage[] = [];
  return { actions, shares, onAction: (m) => actions.push(m), onShare: (m) => shares.push(m) };
}

async function network(count: number, shareSources: number[][]) {
  const hub = new MemoryHub();
  const transports = Array.from({ length: count }, (_, agent) => hub.transport(agent));
  const inboxes = transports.map(() => inbox());
  shareSources.forEach((senders, receiver) => hub.subscribeShares(receiver, senders));
  await Promise.all(transports.map((transport, agent) => transport.start(inboxes[agent])));
  return { hub, transports, inboxes };
}

describe('MemoryTransport', () => {
  it('delivers actions synchronously to every other started agent, passing the object through', async () => {
    const { transports, inboxes } = await network(3, []);
    const message = { agent: 1, step: 4, action: 2, stateHash: 77 };
    transports[1].publishAction(message);
    expect(inboxes[0].actions).toEqual([message]);
    expect(inboxes[2].actions[0]).toBe(message); // same object: no copy
    expect(inboxes[1].actions).toEqual([]); // no self-delivery (gossipsub without emitSelf)
    expect(transports[1].echoesOwnActions).toBe(false);
  });

  it('delivers shares only to the subscribers of the sender', async () => {
    // line 0 - 1 - 2
    const { transports, inboxes } = await network(3, [[1], [0, 2], [1]]);
    const share = { agent: 0, step: 1, share: Float32Array.from([1, 2]) };
    transports[0].publishShare(share);
    expect(inboxes[1].shares).toEqual([share]);
    expect(inboxes[2].shares).toEqual([]);
    transports[1].publishShare({ agent: 1, step: 1, share: new Float32Array(2) });
    expect(inboxes[0].shares.length).toBe(1);
    expect(inboxes[2].shares.length).toBe(1);
    expect(inboxes[1].shares.length).toBe(1);
  });

  it('ignores a self-subscription', async () => {
    const { transports, inboxes } = await network(2, [[0, 1], [0]]);
    transports[0].publishShare({ agent: 0, step: 0, share: new Float32Array(1) });
    expect(inboxes[0].shares).toEqual([]);
    expect(inboxes[1].shares.length).toBe(1);
  });

  it('counts messages and bytes (as the wire format would)', async () => {
    const { transports } = await network(3, [[1, 2], [0], [0]]);
    transports[0].publishAction({ agent: 0, step: 0, action: 1, stateHash: 0 });
    transports[0].publishShare({ agent: 0, step: 0, share: new Float32Array(5) });
    expect(transports[0].stats).toEqual({ messagesIn: 0, messagesOut: 2, rejected: 0, bytesOut: 26 + 18 + 20 });
    expect(transports[1].stats.messagesIn).toBe(2);
    expect(transports[2].stats.messagesIn).toBe(2);
  });

  it('does not deliver to agents that have not started or have stopped', async () => {
    const hub = new MemoryHub();
    const a = new MemoryTransport(hub, 0);
    const b = hub.transport(1);
    const c = hub.transport(2);
    hub.subscribeShares(1, [0]); // declared before start: applies once 1 starts
    const [ia, ib, ic] = [inbox(), inbox(), inbox()];
    await a.start(ia);
    a.publishAction({ agent: 0, step: 0, action: 0, stateHash: 0 });
    a.publishShare({ agent: 0, step: 0, share: new Float32Array(1) });
    await b.start(ib);
    await c.start(ic);
    a.publishAction({ agent: 0, step: 1, action: 0, stateHash: 0 });
    a.publishShare({ agent: 0, step: 1, share: new Float32Array(1) });
    expect(ib.actions.map((m) => m.step)).toEqual([1]);
    expect(ib.shares.map((m) => m.step)).toEqual([1]);
    expect(ic.shares).toEqual([]);
    await b.stop();
    a.publishAction({ agent: 0, step: 2, action: 0, stateHash: 0 });
    expect(ib.actions.map((m) => m.step)).toEqual([1]);
    expect(ic.actions.map((m) => m.step)).toEqual([1, 2]);
    expect(hub.startedAgents).toEqual([0, 2]);
  });

  it('refuses two transports for one agent', () => {
    const hub = new MemoryHub();
    hub.transport(3);
    expect(() => hub.transport(3)).toThrow(/agent 3/);
  });

  it('survives a handler that stops another receiver during delivery', async () => {
    const hub = new MemoryHub();
    const transports = [0, 1, 2].map((agent) => hub.transport(agent));
    const received: number[] = [];
    await transports[0].start(inbox());
    await transports[1].start({ onAction: () => void transports[2].stop(), onShare: () => undefined });
    await transports[2].start({ onAction: (m) => received.push(m.step), onShare: () => undefined });
    transports[0].publishAction({ agent: 0, step: 5, action: 0, stateHash: 0 });
    expect(received).toEqual([]);
  });

  it('delivers every message at scale: 20 agents, all-to-all actions and ring shares', async () => {
    const count = 20;
    const { transports, inboxes } = await network(
      count,
      Array.from({ length: count }, (_, i) => [(i + 1) % count, (i + count - 1) % count]),
    );
    for (const box of inboxes) {
      box.onAction = () => undefined;
      box.onShare = () => undefined;
    }
    const actions = transports.map((_, agent) => ({ agent, step: 0, action: 0, stateHash: 0 }));
    const shares = transports.map((_, agent) => ({ agent, step: 0, share: new Float32Array(16) }));
    // Speed is a benchmark's business (BENCHMARKS.md), not a test's: this checks the counts.
    const rounds = 2000;
    for (let round = 0; round < rounds; round++) {
      for (let agent = 0; agent < count; agent++) {
        transports[agent].publishAction(actions[agent]);
        transports[agent].publishShare(shares[agent]);
      }
    }
    // Each agent receives 19 actions and its 2 ring neighbours' shares per round.
    for (const transport of transports) expect(transport.stats.messagesIn).toBe(rounds * (count - 1 + 2));
  });
});

describe('MemoryHub in lockstep mode', () => {
  interface BatchInbox extends Inbox {
    batches: { step: number; actions: number[]; hashes: number[] }[];
  }

  /** An inbox that also takes a round's actions in one call (as the Agent does). */
  function batchInbox(): BatchInbox {
    const box = inbox() as BatchInbox;
    box.batches = [];
    box.onActions = (step, senders, actions, hashes) => {
      const sent = [...senders.keys()].filter((j) => senders[j] === 1);
      box.batches.push({ step, actions: sent.map((j) => actions[j]), hashes: sent.map((j) => hashes[j]) });
    };
    return box;
  }

  async function lockstep(count: number, withBatches: boolean[]) {
    const hub = new MemoryHub({ lockstep: true });
    const transports = Array.from({ length: count }, (_, agent) => hub.transport(agent));
    const inboxes = withBatches.map((batch) => (batch ? batchInbox() : (inbox() as BatchInbox)));
    await Promise.all(transports.map((transport, agent) => transport.start(inboxes[agent])));
    return { hub, transports, inboxes };
  }

  const action = (agent: number, step: number) => ({ agent, step, action: agent + 10, stateHash: 100 + agent });

  it('holds a round until every started agent has published, then hands each receiver all of it at once', async () => {
    const { transports, inboxes } = await lockstep(3, [true, true, false]);
    transports[0].publishAction(action(0, 4));
    transports[1].publishAction(action(1, 4));
    expect(inboxes[0].batches).toEqual([]);
    expect(inboxes[2].actions).toEqual([]); // held
    transports[2].publishAction(action(2, 4));
    // Receivers with onActions: one call with the three actions (their own included).
    for (const box of inboxes.slice(0, 2)) expect(box.batches).toEqual([{ step: 4, actions: [10, 11, 12], hashes: [100, 101, 102] }]);
    expect(inboxes[0].actions).toEqual([]);
    // A receiver without onActions gets the messages one by one, its own too (echoesOwnActions).
    expect(inboxes[2].actions).toEqual([action(0, 4), action(1, 4), action(2, 4)]);
    expect(transports.every((transport) => transport.echoesOwnActions)).toBe(true);
    // The counts are those of delivering each message to every other agent: the echo is not one.
    for (const transport of transports) expect(transport.stats.messagesIn).toBe(2);
  });

  it('falls back to one-by-one delivery, in order, when a round does not fill up first', async () => {
    const { transports, inboxes } = await lockstep(3, [true, true, true]);
    transports[0].publishAction(action(0, 1));
    transports[1].publishAction(action(1, 2)); // another round: what was held goes out now
    // To everyone, the sender included (echoesOwnActions).
    for (const box of inboxes) expect(box.actions).toEqual([action(0, 1)]);
    transports[1].publishAction(action(1, 2)); // a repeat: the first copy goes out now, the repeat is held
    expect(inboxes[0].actions).toEqual([action(0, 1), action(1, 2)]);
    expect(inboxes[1].actions).toEqual([action(0, 1), action(1, 2)]);
    expect(inboxes[2].actions).toEqual([action(0, 1), action(1, 2)]);
    // Echoes are not messages in: 1 and 2 got 0's action, 0 and 2 got 1's.
    expect(transports.map((transport) => transport.stats.messagesIn)).toEqual([1, 1, 2]);
    for (const box of inboxes) expect(box.batches).toEqual([]);
    // The round then fills up: everything held goes out in one batch.
    transports[0].publishAction(action(0, 2));
    transports[2].publishAction(action(2, 2));
    for (const box of inboxes) expect(box.batches).toEqual([{ step: 2, actions: [10, 11, 12], hashes: [100, 101, 102] }]);
  });

  it('releases held actions when an agent starts or stops', async () => {
    const { hub, transports, inboxes } = await lockstep(3, [true, true, true]);
    transports[0].publishAction(action(0, 0));
    await transports[2].stop();
    expect(inboxes[1].actions).toEqual([action(0, 0)]);
    // Two agents started now: a round fills up with two.
    transports[0].publishAction(action(0, 1));
    transports[1].publishAction(action(1, 1));
    expect(inboxes[0].batches.map((batch) => batch.actions)).toEqual([[10, 11]]);
    expect(hub.startedAgents).toEqual([0, 1]);
  });

  it('holds shares with their round: one board for receivers with onShares, the addressed shares for the others', async () => {
    const hub = new MemoryHub({ lockstep: true });
    const transports = [0, 1, 2].map((agent) => hub.transport(agent));
    const boards: { step: number; senders: number[] }[] = [];
    const boardInbox = batchInbox();
    boardInbox.onShares = (step, board) => boards.push({ step, senders: [...board.keys()].filter((j) => board[j] !== undefined) });
    const plain = batchInbox();
    const inboxes = [batchInbox(), boardInbox, plain];
    // 1 reads 0 and 2; 2 reads 0 only.
    hub.subscribeShares(1, [0, 2]);
    hub.subscribeShares(2, [0]);
    await Promise.all(transports.map((transport, agent) => transport.start(inboxes[agent])));
    const share = (agent: number) => ({ agent, step: 7, share: Float32Array.from([agent]) });
    transports[0].publishShare(share(0));
    transports[0].publishAction(action(0, 8));
    transports[2].publishShare(share(2), [1]); // a recipients hint: for 1 only
    transports[2].publishAction(action(2, 8));
    transports[1].publishShare(share(1)); // nobody reads 1's shares
    expect(boards).toEqual([]);
    expect(plain.shares).toEqual([]); // held with the round
    transports[1].publishAction(action(1, 8));
    expect(boards).toEqual([{ step: 7, senders: [0, 1, 2] }]);
    expect(plain.shares.map((m) => m.agent)).toEqual([0]);
    // Counted as one-by-one delivery would: 1 got 0's and 2's shares, 2 got 0's.
    expect(transports.map((transport) => transport.stats.messagesIn)).toEqual([2, 4, 3]);
  });

  it('releases held shares one by one when a share of another step arrives', async () => {
    const hub = new MemoryHub({ lockstep: true });
    const transports = [0, 1].map((agent) => hub.transport(agent));
    const inboxes = [batchInbox(), batchInbox()];
    hub.subscribeShares(1, [0]);
    await Promise.all(transports.map((transport, agent) => transport.start(inboxes[agent])));
    const first = { agent: 0, step: 0, share: Float32Array.from([1]) };
    transports[0].publishShare(first);
    expect(inboxes[1].shares).toEqual([]);
    transports[0].publishShare({ agent: 0, step: 1, share: Float32Array.from([2]) });
    expect(inboxes[1].shares).toEqual([first]);
  });
});
