/**
 * The in-memory transport of the simulator (`netac sim`: N agents in one process) and of unit
 * tests. Never a stand-in for the network in network tests.
 *
 * Delivery is synchronous and lossless: publishAction calls onAction of every other started
 * agent before it returns; publishShare calls onShare of the started agents subscribed to the
 * sender's shares (`hub.subscribeShares`). Like gossipsub without emitSelf, a sender does not
 * receive its own messages. The message object itself is passed through: no encoding, no copy,
 * no allocation per message (see ShareMessage for how long a share buffer stays valid). A
 * publishShare with a recipients hint reaches only those of its subscribers.
 *
 * Handlers run inside publish: a handler that publishes re-enters the hub (nested delivery).
 *
 * Lockstep mode (`new MemoryHub({ lockstep: true })`, what `netac sim` uses): a driver that has
 * every agent publish round r before any agent completes it lets the hub hold round r's actions
 * until every started agent has published its own, then hand each receiver all of them in one
 * onActions call: N calls per round instead of N² onAction calls, the simulator's largest
 * overhead at N = 20. What arrives is the same; only when changes. Held actions are delivered one
 * by one as soon as anything else happens first (an action of another round, a repeat, a start
 * or stop), and to receivers without onActions.
 */
import { ACTION_MESSAGE_BYTES, HEADER_BYTES } from './codec.js';
import type { ActionMessage, ShareMessage, Transport, TransportHandlers, TransportStats } from './transport.js';

export interface MemoryHubOptions {
  /** Hold each round's actions until every started agent has published, then batch (default false). */
  readonly lockstep?: boolean;
}

/** A round's actions held back in lockstep mode. */
class HeldActions {
  round = -1;
  /** Held messages in arrival order, with their senders. */
  readonly messages: ActionMessage[] = [];
  readonly from: MemoryTransport[] = [];
  senders = new Uint8Array(0);
  actions = new Int32Array(0);
  stateHashes = new Uint32Array(0);

  /** Makes room for agent ids below `size`. */
  fit(size: number): void {
    if (size <= this.senders.length) return;
    const capacity = Math.max(size, 2 * this.senders.length);
    const senders = new Uint8Array(capacity);
    senders.set(this.senders);
    const actions = new Int32Array(capacity);
    actions.set(this.actions);
    const stateHashes = new Uint32Array(capacity);
    stateHashes.set(this.stateHashes);
    this.senders = senders;
    this.actions = actions;
    this.stateHashes = stateHashes;
  }

  clear(): void {
    for (const message of this.messages) this.senders[message.agent] = 0;
    this.messages.length = 0;
    this.from.length = 0;
    this.round = -1;
  }
}

/** One per simulated run: the agents' shared "network". */
export class MemoryHub {
  readonly lockstep: boolean;
  private held = new HeldActions();
  /** The other buffer: a handler that publishes during a batch delivery fills this one. */
  private spare = new HeldActions();
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
    const held = this.held;
    if (held.messages.length > 0 && (held.round !== message.step || (message.agent < held.senders.length && held.senders[message.agent] === 1))) {
      this.releaseHeld(); // not the lockstep pattern: fall back to one by one, in order
    }
    held.fit(message.agent + 1);
    held.round = message.step;
    held.messages.push(message);
    held.from.push(from);
    held.senders[message.agent] = 1;
    held.actions[message.agent] = message.action;
    held.stateHashes[message.agent] = message.stateHash;
    if (held.messages.length === this.actionReceivers.length) this.deliverHeld();
  }

  private deliverOne(from: MemoryTransport, message: ActionMessage): void {
    const receivers = this.actionReceivers;
    for (let index = 0; index < receivers.length; index++) {
      const receiver = receivers[index];
      if (receiver !== from) receiver.receiveAction(message);
    }
  }

  /** Every started agent published this round: one onActions call per receiver. */
  private deliverHeld(): void {
    const held = this.held;
    this.held = this.spare;
    this.spare = held;
    const receivers = this.actionReceivers;
    for (let index = 0; index < receivers.length; index++) {
      // Every receiver is a sender here (one message per started agent, all distinct).
      receivers[index].receiveActions(held);
    }
    held.clear();
  }

  /** Delivers held actions one by one (what the hub would have done without lockstep). */
  private releaseHeld(): void {
    const held = this.held;
    if (held.messages.length === 0) return;
    const messages = held.messages.slice();
    const from = held.from.slice();
    held.clear();
    for (let k = 0; k < messages.length; k++) this.deliverOne(from[k], messages[k]);
  }

  /** @internal */
  deliverShare(message: ShareMessage, recipients: readonly number[] | undefined): void {
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
  readonly stats: TransportStats = { messagesIn: 0, messagesOut: 0, rejected: 0, bytesOut: 0 };
  /** @internal */
  started = false;
  private handlers: TransportHandlers | undefined;

  constructor(
    private readonly hub: MemoryHub,
    readonly agent: number,
  ) {
    hub.register(this);
  }

  async start(handlers: TransportHandlers): Promise<void> {
    this.handlers = handlers;
    this.started = true;
    this.hub.rebuild();
  }

  publishAction(message: ActionMessage): void {
    this.stats.messagesOut++;
    this.stats.bytesOut += ACTION_MESSAGE_BYTES;
    this.hub.deliverAction(this, message);
  }

  publishShare(message: ShareMessage, recipients?: readonly number[]): void {
    this.stats.messagesOut++;
    this.stats.bytesOut += HEADER_BYTES + 4 * message.share.length;
    this.hub.deliverShare(message, recipients);
  }

  /** @internal */
  receiveAction(message: ActionMessage): void {
    if (!this.started) return; // stopped by a handler during this delivery
    this.stats.messagesIn++;
    this.handlers!.onAction(message);
  }

  /** @internal Held actions of one round that include this agent's own. */
  receiveActions(held: HeldActions): void {
    if (!this.started) return;
    const handlers = this.handlers!;
    const others = held.messages.length - 1;
    this.stats.messagesIn += others;
    if (handlers.onActions) {
      handlers.onActions(held.round, held.senders, held.actions, held.stateHashes);
      return;
    }
    for (const message of held.messages) if (message.agent !== this.agent) handlers.onAction(message);
  }

  /** @internal */
  receiveShare(message: ShareMessage): void {
    if (!this.started) return;
    this.stats.messagesIn++;
    this.handlers!.onShare(message);
  }

  async stop(): Promise<void> {
    this.started = false;
    this.handlers = undefined;
    this.hub.rebuild();
  }
}
