/**
 * The Agent's transport interface: how round messages leave and arrive. The transport decides
 * nothing about the math: it moves actions and critic shares, and the Agent decides what to do
 * with them. Implementations: the in-memory transport (the simulator: N agents in one process)
 * and the libp2p gossipsub transport (one agent per process).
 *
 * Rounds (shared/DESIGN.md "Lockstep over gossip"): each round an agent publishes
 *  - an ActionMessage on the all-agents topic: its action a^i_step and its environment state hash;
 *  - a ShareMessage on its own share topic, read by its neighbours: its critic share of iteration step.
 * Delivery may repeat (re-publish) and arrive out of order; the Agent deduplicates by (agent, step).
 */

export interface ActionMessage {
  readonly agent: number;
  /** Time index of the action: this message carries a^agent_step. */
  readonly step: number;
  readonly action: number;
  /** Sender's environment state hash when it drew the action (desync detection). */
  readonly stateHash: number;
}

export interface ShareMessage {
  readonly agent: number;
  /** Iteration t whose critic share this is (Alg. 1: ω̃_t; Alg. 2: (μ̃, ṽ, λ̃)_t). */
  readonly step: number;
  /** Float32 parameters. The sender leaves the buffer unchanged for two more rounds (the Agent
   *  keeps a ring of three), so a receiver may hold a reference until it completes the round. */
  readonly share: Float32Array;
}

export interface TransportHandlers {
  onAction(message: ActionMessage): void;
  onShare(message: ShareMessage): void;
  /**
   * Optional: every agent's action of round `step` at once, the same as one onAction per agent j
   * with senders[j] = 1 ({ agent: j, step, action: actions[j], stateHash: stateHashes[j] });
   * `senderCount` is how many senders[j] are 1. The
   * arrays are shared by all receivers: read them, never write them. `actions` and `stateHashes`
   * stay unchanged until the receiver has completed round `step + 2` (so a receiver may keep
   * `actions` as its joint action a_step for as long as its learner needs it); `senders` only
   * during the call.
   * A transport that gathers rounds (the in-memory hub in lockstep mode) uses it where present.
   */
  onActions?(step: number, senders: Uint8Array, actions: Int32Array, stateHashes: Uint32Array, senderCount: number): void;
  /**
   * Optional: the shares of iteration `step` at once, indexed by sender: the same as onShare for
   * each, except that the board may also hold shares this receiver does not need (it reads its
   * neighbours' only). Shared by all receivers: never write it; it stays unchanged until the
   * receiver has completed the round that mixes these shares.
   */
  onShares?(step: number, shares: readonly (ShareMessage | undefined)[]): void;
}

/** Counters every transport keeps (runtime stats: they vary run to run). */
export interface TransportStats {
  messagesIn: number;
  messagesOut: number;
  /** Messages refused by validation (bad size, version, sender, step, dimension, non-finite...). */
  rejected: number;
  bytesOut: number;
}

export interface Transport {
  readonly agent: number;
  /** Subscribe, connect, and resolve once the peers this agent needs are reachable. */
  start(handlers: TransportHandlers): Promise<void>;
  publishAction(message: ActionMessage): void;
  /**
   * `recipients`, when given, are the agents that will mix this share (the sender's consensus
   * neighbours at that step): a hint an in-process transport may use to skip the others. Network
   * transports publish on the share topic regardless; receivers ignore shares they do not need.
   */
  publishShare(message: ShareMessage, recipients?: readonly number[]): void;
  /**
   * True when the transport hands the agent its own action messages back, like gossipsub's
   * `emitSelf` (the in-memory hub in lockstep mode: each round arrives whole, the sender's own
   * entry included), uncounted in `stats`. The Agent then does not record its own action when it
   * publishes. Absent or false: the Agent records it itself (gossipsub without emitSelf).
   */
  readonly echoesOwnActions?: boolean;
  readonly stats: TransportStats;
  stop(): Promise<void>;
}
