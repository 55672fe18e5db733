/**
 * Fault injection for tests and experiments, as a wrapper around any transport:
 *  - drop each outgoing critic share with probability p. The decision is a counter-based hash of
 *    (seed, agent, step), so a dropped share stays dropped through every re-publish: lost for good;
 *  - partition: messages between the given agents and the others are dropped from `fromMs` to
 *    `toMs` after the transport started (checked on the receiving side, so it works over gossip
 *    too). Time, not steps: agents cut off from an action cannot advance, so a partition keyed by
 *    step would never heal. After it heals, re-publishing delivers what was cut;
 *  - delay: each incoming message is held for a uniform random time (asynchronous transports only).
 * Off unless configured; whoever turns it on logs it loudly.
 */
import { uniformAt } from '../core/hash.js';
import { streamSeed } from '../core/rng.js';
import type { ActionMessage, ShareMessage, Transport, TransportHandlers, TransportStats } from './transport.js';

export interface FaultPlan {
  /** Probability that an outgoing share is dropped (0..1). */
  readonly dropShares?: number;
  /** Uniform delay of every incoming message, in ms (libp2p only: the simulator is synchronous). */
  readonly delayMs?: { readonly min: number; readonly max: number };
  /** Agents cut off from the rest from `fromMs` to `toMs` after start (libp2p only). */
  readonly partition?: { readonly agents: readonly number[]; readonly fromMs: number; readonly toMs: number };
}

/** A one-line description for the loud log line. */
export function describeFaults(plan: FaultPlan): string {
  const parts: string[] = [];
  if (plan.dropShares) parts.push(`dropping ${(plan.dropShares * 100).toFixed(1)}% of critic shares`);
  if (plan.delayMs) parts.push(`delaying messages ${plan.delayMs.min}–${plan.delayMs.max} ms`);
  if (plan.partition) {
    const { agents, fromMs, toMs } = plan.partition;
    parts.push(`partitioning agents ${agents.join(', ')} from the rest from ${fromMs} ms to ${toMs} ms after start`);
  }
  return parts.join('; ');
}

export function hasFaults(plan: FaultPlan | undefined): boolean {
  return plan !== undefined && Boolean(plan.dropShares || plan.delayMs || plan.partition);
}

export class FaultInjectingTransport implements Transport {
  readonly agent: number;
  private readonly dropSeed: number;
  private readonly delaySeed: number;
  private readonly partitioned: Set<number>;
  private delayCounter = 0;
  private startedAt = 0;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(
    private readonly inner: Transport,
    private readonly plan: FaultPlan,
    runSeed: number,
  ) {
    this.agent = inner.agent;
    this.dropSeed = streamSeed(runSeed, `faults/drop`);
    this.delaySeed = streamSeed(runSeed, `faults/delay/${inner.agent}`);
    this.partitioned = new Set(plan.partition?.agents ?? []);
  }

  get stats(): TransportStats {
    return this.inner.stats;
  }

  /** The inner transport's: its own actions come back through the wrapper like the others'. */
  get echoesOwnActions(): boolean {
    return this.inner.echoesOwnActions === true;
  }

  /** True when the share of `agent` for `step` is dropped (the same answer in every process). */
  shareDropped(agent: number, step: number): boolean {
    const p = this.plan.dropShares ?? 0;
    return p > 0 && uniformAt(this.dropSeed, agent, step) < p;
  }

  private cut(from: number): boolean {
    const partition = this.plan.partition;
    if (!partition) return false;
    const elapsed = Date.now() - this.startedAt;
    if (elapsed < partition.fromMs || elapsed >= partition.toMs) return false;
    return this.partitioned.has(from) !== this.partitioned.has(this.agent);
  }

  start(handlers: TransportHandlers): Promise<void> {
    this.startedAt = Date.now();
    const delay = this.plan.delayMs;
    const later = (deliver: () => void) => {
      if (!delay) return deliver();
      const wait = delay.min + (delay.max - delay.min) * uniformAt(this.delaySeed, this.delayCounter++);
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        deliver();
      }, wait);
      this.timers.add(timer);
    };
    const wrapped: TransportHandlers = {
      onAction: (message) => {
        if (!this.cut(message.agent)) later(() => handlers.onAction(message));
      },
      onShare: (message) => {
        if (!this.cut(message.agent)) later(() => handlers.onShare(message));
      },
    };
    // Whole rounds (a lockstep in-memory hub) pass straight through when nothing here acts on
    // receipt: drops happen when publishing.
    if (!delay && !this.plan.partition) {
      if (handlers.onActions) wrapped.onActions = handlers.onActions.bind(handlers);
      if (handlers.onShares) wrapped.onShares = handlers.onShares.bind(handlers);
    }
    return this.inner.start(wrapped);
  }

  publishAction(message: ActionMessage): void {
    this.inner.publishAction(message);
  }

  publishShare(message: ShareMessage, recipients?: readonly number[]): void {
    if (this.shareDropped(message.agent, message.step)) return;
    this.inner.publishShare(message, recipients);
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await this.inner.stop();
  }
}
