/**
 * The in-memory transport of the simulator (`netac sim`: N agents in one process) and of unit
 * tests. Never a stand-in for the network in network tests.
 *
 * Delivery is synchronous and lossless: publishAction calls onAction of every other started
 * agent before it returns; publishShare calls onShare of the started agents subscribed to the
 * sender's shares (`hub.subscribeShares`). Like gossipsub without emitSelf, a sender does not
 * receive its own messages (in lockstep mode it does get its own actions back: see below). The
 * message object itself is passed through: no encoding, no copy, no allocation per message (see
 * ShareMessage for how long a share buffer stays valid). A publishShare with a recipients hint
 * reaches only those of its subscribers.
 *
 * Handlers run inside publish: a handler that publishes re-enters the hub (nested delivery).
 *
 * Lockstep mode (`new MemoryHub({ lockstep: true })`, what `netac sim` uses). The driver has
 * every started agent publish round r (its share, then its action) before any agent completes
 * it. The hub holds the round back until every started agent's action is in, then hands each
 * receiver the whole round at once: the shares as one board (onShares) and the actions as arrays
 * (onActions), which the receivers share and may keep. The sender's own action is part of the
 * round it gets (`echoesOwnActions`, also when held actions go out one by one), so an agent need
 * not record its own: one write less per agent and round. That is N calls per round instead of the
 * N² onAction and N·degree onShare calls that made up most of the simulator's overhead. What
 * arrives is the same; only when and how changes. Held messages go out one by one instead as
 * soon as the pattern breaks (a message of another round, a repeat, a start or stop), and to
 * receivers without onActions/onShares.
 */
import { ACTION_MESSAGE_BYTES, HEADER_BYTES } from './codec.js';
import type { ActionMessage, ShareMessage, Transport, TransportHandlers, TransportStats } from './transport.js';

export interface MemoryHubOptions {
  /** Hold each round until every started agent has published, then deliver it whole (default false). */
  readonly lockstep?: boolean;
}

/**
 * One round held back in lockstep mode. The hub keeps a ring of HELD_ROUNDS = 4, so the arrays of
 * round r are written again only for round r + 4, and receivers may keep them until they have
 * completed round r + 2 (TransportHandlers.onActions): nobody publishes round r + 4 before every
 * agent has completed round r + 2, because completing round r + 3 takes everyone's action of
 * r + 3, which each agent publishes only after completing r + 2.
 */
class HeldRound {
  /** Step of the held actions and of the held shares (−1: none held). */
  actionStep = -1;
  shareStep = -1;
  /** Held messages in arrival order: the first actionCount / shareCount entries (kept, not
   *  truncated, between rounds: truncating an array frees its storage, and it regrows). */
  readonly actionMessages: ActionMessage[] = [];
  readonly actionFrom: MemoryTransport[] = [];
  actionCount = 0;
  readonly shareMessages: ShareMessage[] = [];
  readonly shareRecipients: (readonly number[] | undefined)[] = [];
  shareCount = 0;
  senders = new Uint8Array(0);
  actions = new Int32Array(0);
  stateHashes = new Uint32Array(0);
  /** Held shares by sender. */
  shares: (ShareMessage | undefined)[] = [];
  /** Per receiver id: how many held shares are addressed to it (its messagesIn). */
  shareCounts = new Int32Array(0);

  get empty(): boolean {
    return this.actionCount === 0 && this.shareCount === 0;
  }

  /** Makes room for agent ids below `size` (exactly: with ids 0..N−1, `actions` is then exactly a joint action). */
  fit(size: number): void {
    if (size <= this.senders.length) return;
    // One block for the per-agent arrays: contiguous memory, not four small allocations apart.
    const memory = new ArrayBuffer(13 * size);
    const actions = new Int32Array(memory, 0, size);
    const stateHashes = new Uint32Array(memory, 4 * size, size);
    const shareCounts = new Int32Array(memory, 8 * size, size);
    const senders = new Uint8Array(memory, 12 * size, size);
    actions.set(this.actions);
    stateHashes.set(this.stateHashes);
    shareCounts.set(this.shareCounts);
    senders.set(this.senders);
    this.actions = actions;
    this.stateHashes = stateHashes;
    this.shareCounts = shareCounts;
    this.senders = senders;
    while (this.shares.length < size) this.shares.push(undefined);
  }

  /** Empties the slot for reuse (only once its receivers are done with it). */
  clear(): void {
    this.senders.fill(0);
    this.shares.fill(undefined);
    this.shareCounts.fill(0);
    this.actionCount = 0;
    this.shareCount = 0;
    this.actionStep = -1;
    this.shareStep = -1;
  }
}

const HELD_ROUNDS = 4;

/** One per simulated run: the agents' shared "network". */
export class MemoryHub {
  readonly lockstep: boolean;
  private readonly heldRounds = Array.from({ length: HELD_ROUNDS }, () => new HeldRound());
  /** The slot being filled. */
  private held: HeldRound = this.heldRounds[0];
  private heldIndex = 0;
  private readonly transports = new Map<number, MemoryTransport>();
  /** Senders each receiver reads shares from, as declared (before or after start). */
  private readonly shareSubscriptions = new Map<number, readonly number[]>();
  /** Started transports: the action topic's subscribers. Rebuilt (copy on write) on change. */
  private actionReceivers: MemoryTransport[] = [];
  /** Per sender, the started transports subscribed to its shares. Rebuilt on change. */
  private shareReceivers: MemoryTransport[][] = [];
  /** Per sender, started subscribers indexed by agent id (for delivery to a recipients hint). */
  private shareReceiverById: (MemoryTransport | undefined)[][] = [];

  constructor(options: MemoryHubOptions = {}) {
    this.lockstep = options.lockstep ?? false;
  }

  /** Creates the transport of `agent` on this hub. */
  transport(agent: number): MemoryTransport {
    return new MemoryTransport(this, agent);
  }

  /** Declares that `receiver` reads the shares of `senders` (replaces its previous list). */
  subscribeShares(receiver: number, senders: readonly number[]): void {
    this.shareSubscriptions.set(receiver, [...senders]);
    this.rebuild();
  }

  /** Agents currently started on this hub. */
  get startedAgents(): number[] {
    return this.actionReceivers.map((transport) => transport.agent);
  }

  /** @internal */
  register(transport: MemoryTransport): void {
    if (this.transports.has(transport.agent)) throw new Error(`MemoryHub: agent ${transport.agent} already has a transport`);
    this.transports.set(transport.agent, transport);
    // The held rounds hold one entry per agent id: sized here, never in the delivery path.
    for (const held of this.heldRounds) held.fit(transport.agent + 1);
  }

  /** @internal */
  rebuild(): void {
    this.releaseHeld(); // membership changes: what was held goes out under the old one
    const started = [...this.transports.values()].filter((transport) => transport.started).sort((a, b) => a.agent - b.agent);
    const byId = new Map(started.map((transport) => [transport.agent, transport]));
    const shareReceivers: MemoryTransport[][] = [];
    const shareReceiverById: (MemoryTransport | undefined)[][] = [];
    for (const [receiver, senders] of this.shareSubscriptions) {
      const target = byId.get(receiver);
      if (target === undefined) continue;
      for (const sender of senders) {
        if (sender === receiver) continue;
        (shareReceivers[sender] ??= []).push(target);
        (shareReceiverById[sender] ??= [])[receiver] = target;
      }
    }
    this.actionReceivers = started;
    this.shareReceivers = shareReceivers;
    this.shareReceiverById = shareReceiverById;
  }

  /** @internal */
  deliverAction(from: MemoryTransport, message: ActionMessage): void {
    if (!this.lockstep || !from.started || message.agent !== from.agent) {
      this.deliverOne(from, message);
      return;
    }
    let held = this.held;
    if (held.actionCount > 0 && (held.actionStep !== message.step || (message.agent < held.senders.length && held.senders[message.agent] === 1))) {
      this.releaseHeld(); // not the lockstep pattern: fall back to one by one
      held = this.held;
    }
    held.actionStep = message.step;
    held.actionMessages[held.actionCount] = message;
    held.actionFrom[held.actionCount] = from;
    held.actionCount++;
    held.senders[message.agent] = 1;
    held.actions[message.agent] = message.action;
    held.stateHashes[message.agent] = message.stateHash;
    if (held.actionCount === this.actionReceivers.length) this.deliverHeld();
  }

  private deliverOne(from: MemoryTransport, message: ActionMessage): void {
    const receivers = this.actionReceivers;
    for (let index = 0; index < receivers.length; index++) {
      const receiver = receivers[index];
      if (receiver !== from) receiver.receiveAction(message);
      // In lockstep mode senders get their own action back (echoesOwnActions), in order.
      else if (this.lockstep && message.agent === from.agent) receiver.echoAction(message);
    }
  }

  /** @internal */
  deliverShare(from: MemoryTransport, message: ShareMessage, recipients: readonly number[] | undefined): void {
    if (!this.lockstep || !from.started || message.agent !== from.agent) {
      this.deliverShareNow(message, recipients);
      return;
    }
    let held = this.held;
    if (held.shareCount > 0 && (held.shareStep !== message.step || held.shares[message.agent] !== undefined)) {
      this.releaseHeld();
      held = this.held;
    }
    held.shareStep = message.step;
    held.shareMessages[held.shareCount] = message;
    held.shareRecipients[held.shareCount] = recipients;
    held.shareCount++;
    held.shares[message.agent] = message;
    // Count it for those it will reach, as deliverShareNow would.
    if (recipients !== undefined) {
      const byId = this.shareReceiverById[message.agent];
      if (byId !== undefined) {
        for (let index = 0; index < recipients.length; index++) if (byId[recipients[index]] !== undefined) held.shareCounts[recipients[index]]++;
      }
    } else {
      const receivers = this.shareReceivers[message.agent];
      if (receivers !== undefined) for (let index = 0; index < receivers.length; index++) held.shareCounts[receivers[index].agent]++;
    }
  }

  /** True when `receiver` gets `message` (published with `recipients`) in one-by-one delivery. */
  reaches(receiver: MemoryTransport, message: ShareMessage, recipients: readonly number[] | undefined): boolean {
    if (this.shareReceiverById[message.agent]?.[receiver.agent] !== receiver) return false;
    return recipients === undefined || recipients.includes(receiver.agent);
  }

  /** Every started agent published this round: each receiver gets it whole. */
  private deliverHeld(): void {
    const held = this.held;
    // Move on first: a handler that publishes fills the next slot, not this one.
    this.heldIndex = (this.heldIndex + 1) % HELD_ROUNDS;
    this.held = this.heldRounds[this.heldIndex];
    this.held.clear();
    const receivers = this.actionReceivers;
    for (let index = 0; index < receivers.length; index++) receivers[index].receiveRound(held);
  }

  /** Delivers what is held one by one (what the hub would have done without lockstep). */
  private releaseHeld(): void {
    const held = this.held;
    if (held.empty) return;
    const shares = held.shareMessages.slice(0, held.shareCount);
    const recipients = held.shareRecipients.slice(0, held.shareCount);
    const actions = held.actionMessages.slice(0, held.actionCount);
    const from = held.actionFrom.slice(0, held.actionCount);
    held.clear();
    for (let k = 0; k < shares.length; k++) this.deliverShareNow(shares[k], recipients[k]);
    for (let k = 0; k < actions.length; k++) this.deliverOne(from[k], actions[k]);
  }

  private deliverShareNow(message: ShareMessage, recipients: readonly number[] | undefined): void {
    if (recipients !== undefined) {
      // Only the subscribers that will mix this share; the others would ignore it anyway.
      const byId = this.shareReceiverById[message.agent];
      if (byId === undefined) return;
      for (let index = 0; index < recipients.length; index++) byId[recipients[index]]?.receiveShare(message);
      return;
    }
    const receivers = this.shareReceivers[message.agent];
    if (receivers === undefined) return;
    for (let index = 0; index < receivers.length; index++) receivers[index].receiveShare(message);
  }
}

export class MemoryTransport implements Transport {
  /** A lockstep hub delivers whole rounds, the sender's own action included. */
  readonly echoesOwnActions: boolean;
  /** @internal */
  started = false;
  private handlers: TransportHandlers | undefined;
  // Counters as fields of the transport itself, not of a stats object: one object less to touch
  // per message in the simulator's hot path.
  private messagesIn = 0;
  private messagesOut = 0;
  private bytesOut = 0;

  constructor(
    private readonly hub: MemoryHub,
    readonly agent: number,
  ) {
    this.echoesOwnActions = hub.lockstep;
    hub.register(this);
  }

  /** A snapshot of the counters (nothing is rejected: messages are never encoded). */
  get stats(): TransportStats {
    return { messagesIn: this.messagesIn, messagesOut: this.messagesOut, rejected: 0, bytesOut: this.bytesOut };
  }

  async start(handlers: TransportHandlers): Promise<void> {
    this.handlers = handlers;
    this.started = true;
    this.hub.rebuild();
  }

  publishAction(message: ActionMessage): void {
    this.messagesOut++;
    this.bytesOut += ACTION_MESSAGE_BYTES;
    this.hub.deliverAction(this, message);
  }

  publishShare(message: ShareMessage, recipients?: readonly number[]): void {
    this.messagesOut++;
    this.bytesOut += HEADER_BYTES + 4 * message.share.length;
    this.hub.deliverShare(this, message, recipients);
  }

  /** @internal */
  receiveAction(message: ActionMessage): void {
    if (!this.started) return; // stopped by a handler during this delivery
    this.messagesIn++;
    this.handlers!.onAction(message);
  }

  /** @internal The sender's own action, back (lockstep: echoesOwnActions); not counted. */
  echoAction(message: ActionMessage): void {
    if (!this.started) return;
    this.handlers!.onAction(message);
  }

  /** @internal A whole held round (lockstep), this agent's own messages included. */
  receiveRound(held: HeldRound): void {
    if (!this.started) return;
    const handlers = this.handlers!;
    // The agent's own action is in the round but is not a message in.
    this.messagesIn += held.actionCount - 1 + held.shareCounts[this.agent];
    if (held.shareCount > 0) {
      if (handlers.onShares) {
        handlers.onShares(held.shareStep, held.shares);
      } else {
        for (let k = 0; k < held.shareCount; k++) {
          if (this.hub.reaches(this, held.shareMessages[k], held.shareRecipients[k])) handlers.onShare(held.shareMessages[k]);
        }
      }
    }
    if (!this.started) return;
    if (handlers.onActions) {
      handlers.onActions(held.actionStep, held.senders, held.actions, held.stateHashes, held.actionCount);
      return;
    }
    // Every action, this agent's own too (echoesOwnActions).
    for (let k = 0; k < held.actionCount; k++) handlers.onAction(held.actionMessages[k]);
  }

  /** @internal */
  receiveShare(message: ShareMessage): void {
    if (!this.started) return;
    this.messagesIn++;
    this.handlers!.onShare(message);
  }

  async stop(): Promise<void> {
    this.started = false;
    this.handlers = undefined;
    this.hub.rebuild();
  }
}
