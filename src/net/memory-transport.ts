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
 */
import { ACTION_MESSAGE_BYTES, HEADER_BYTES } from './codec.js';
import type { ActionMessage, ShareMessage, Transport, TransportHandlers, TransportStats } from './transport.js';

/** One per simulated run: the agents' shared "network". */
export class MemoryHub {
  private readonly transports = new Map<number, MemoryTransport>();
  /** Senders each receiver reads shares from, as declared (before or after start). */
  private readonly shareSubscriptions = new Map<number, readonly number[]>();
  /** Started transports: the action topic's subscribers. Rebuilt (copy on write) on change. */
  private actionReceivers: MemoryTransport[] = [];
  /** Per sender, the started transports subscribed to its shares. Rebuilt on change. */
  private shareReceivers: MemoryTransport[][] = [];
  /** Per sender, started subscribers indexed by agent id (for delivery to a recipients hint). */
  private shareReceiverById: (MemoryTransport | undefined)[][] = [];

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
    const receivers = this.actionReceivers;
    for (let index = 0; index < receivers.length; index++) {
      const receiver = receivers[index];
      if (receiver !== from) receiver.receiveAction(message);
    }
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
