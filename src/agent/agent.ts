/**
 * The Agent of shared/DESIGN.md: one learner, one environment replica, one transport, and the
 * topology, driving the lockstep loop of one network round per iteration. The same Agent runs in
 * every mode; only the driver differs:
 *  - the simulator (src/run/sim.ts) calls beginRound()/completeRound() of N agents in turn over
 *    the synchronous in-memory transport;
 *  - a peer process awaits each round over libp2p with run() (re-publishing until it completes).
 *
 * Rounds. With L = learner.actionLead (Alg. 1: 2, Alg. 2: 1), round r carries this agent's action
 * a^i_r and, for r ≥ L, its critic share of iteration t = r − L:
 *   beginRound(r):    [r ≥ L] iteration t = r − L, local steps → share;  a^i_r ~ π^i(·|s_r);  publish
 *   completeRound(r): [r ≥ L] step 9, consensus with the neighbours' shares of iteration t;
 *                     joint a_r assembled; replica steps to s_{r+1} and yields r^i_{r+1}
 * Alg. 1 iteration t needs (s_t, a_t, r_{t+1}, s_{t+1}, a_{t+1}); at round r = t + 2 all are known,
 * and the action drawn, a_{t+2} ~ π(·|s_{t+2}; θ_{t+1}), follows the actor step as DESIGN.md says.
 * Alg. 2 iteration t needs (s_t, a_t, r_{t+1}, s_{t+1}); its action a_{t+1} ~ π(·|s_{t+1}; θ_{t+1})
 * is step 10. Rounds 0..L−1 are start-up rounds carrying actions only.
 */
import type { Environment } from '../env/types.js';
import type { Learner, Transition } from '../learn/learner.js';
import { consensusRow, withMissingShares, type ConsensusRule } from '../topology/consensus.js';
import type { ConsensusRow, Graph, Topology } from '../topology/types.js';
import type { ActionMessage, ShareMessage, Transport, TransportHandlers } from '../net/transport.js';
import type { LearningRecord, RuntimeRecord } from './metrics.js';
import type { EnvironmentSnapshot } from '../env/types.js';
import type { LearnerState } from '../learn/learner.js';
import type { SyncResponse } from '../net/sync.js';

/** Whose reward the learner is fed. */
export type RewardMode =
  /** The networked algorithms and independent learners: agent i's private r^i. */
  | 'private'
  /** The centralized baseline: the team average (1/N) Σ_j r^j, as a central critic would see. */
  | 'team-average';

export interface MetricsSink {
  learning(record: LearningRecord): void;
  runtime(record: RuntimeRecord): void;
}

export interface AgentOptions {
  readonly agent: number;
  readonly env: Environment;
  readonly learner: Learner;
  readonly topology: Topology;
  readonly consensusRule: ConsensusRule;
  readonly rewardMode: RewardMode;
  /** Iterations to run (T): iterations 0..T−1. */
  readonly steps: number;
  readonly metricsEvery: number;
  readonly sink?: MetricsSink;
  /** Milliseconds clock for runtime stats (injected: the agent layer's only clock). */
  readonly now?: () => number;
  /**
   * A hostile agent's share transform (robustness experiments): applied to the share it sends,
   * never to its own learner. The result must stay finite, or validators reject it.
   */
  readonly tamperShare?: (share: Float32Array) => void;
  /** Rounds of joint actions kept to serve a restarted peer's catch-up (default 5000; 0 keeps none). */
  readonly jointHistoryRounds?: number;
}

/** Everything a checkpoint keeps: restore(snapshot()) continues identically. Taken between rounds. */
export interface AgentSnapshot {
  readonly agent: number;
  readonly round: number;
  readonly learner: LearnerState;
  readonly env: EnvironmentSnapshot;
  /** History ring (HISTORY slots by time index): states, joint actions, fed and private rewards. */
  readonly states: readonly unknown[];
  readonly joints: readonly (readonly number[])[];
  readonly rewards: readonly number[];
  readonly privateRewards: readonly number[];
  /** Metrics window. */
  readonly window: { readonly rewardSum: number; readonly tdSum: number; readonly iterations: number; readonly consensusDistance: number; readonly lateShares: number };
  /** The last round's messages, re-published after a restart for peers that missed them. */
  readonly lastActions: readonly (ActionMessage | null)[];
  readonly lastShares: readonly ({ readonly step: number; readonly share: readonly number[] } | null)[];
  /** Joint actions of recent rounds, [firstRound, round). */
  readonly jointHistory: { readonly firstRound: number; readonly joints: readonly (readonly number[])[] };
}

/** States are numbers or Float32Arrays: keep the type through JSON. */
function encodeState(state: unknown): unknown {
  return state instanceof Float32Array ? { f32: Array.from(state) } : state;
}

function decodeState(value: unknown): unknown {
  if (value !== null && typeof value === 'object' && Array.isArray((value as { f32?: unknown }).f32)) {
    return Float32Array.from((value as { f32: number[] }).f32);
  }
  return value;
}

/** Thrown when replicas disagree on the environment state: the run cannot continue. */
export class DesyncError extends Error {
  constructor(
    readonly step: number,
    readonly agents: readonly number[],
  ) {
    super(`desync at step ${step}: environment state hash of agent(s) ${agents.join(', ')} differs from this replica's`);
    this.name = 'DesyncError';
  }
}

/** Stamp of an inbox entry that belongs to no round. */
const NEVER = -2;

/**
 * What arrived for one round. The INBOX_SLOTS inboxes are a ring reused round after round; each
 * entry is stamped with the round it belongs to instead of being cleared, so moving a slot to a
 * new round costs nothing per agent (the simulator does it N times per round). A lockstep
 * transport's whole-round arrays are adopted by reference instead of copied entry by entry.
 */
class RoundInbox {
  /** The round this slot holds (−1: none). */
  round = -1;
  actionCount = 0;
  private readonly agentCount: number;
  private readonly ownActions: Int32Array;
  private readonly ownHashes: Uint32Array;
  /** actionRound[j] === round: agent j's action of this round is in. */
  private readonly actionRound: Int32Array;
  /** Every agent's action and state hash, adopted whole (shared with other receivers: read only). */
  private adoptedActions: Int32Array | null = null;
  private adoptedHashes: Uint32Array | null = null;
  /** Shares of iteration round − L, by sender (references valid until the sender's round after next). */
  private readonly shares: (Float32Array | undefined)[];
  private readonly shareRound: Int32Array;
  /** A lockstep transport's board of this iteration's shares, by sender (read only). */
  private shareBoard: readonly (ShareMessage | undefined)[] | null = null;

  /** `memory`: INBOX_WORDS_PER_AGENT × agentCount 32-bit words from byte `offset` on. */
  constructor(agentCount: number, memory: ArrayBuffer, offset: number) {
    this.agentCount = agentCount;
    // Four views on one block: contiguous memory, not four small allocations apart.
    this.ownActions = new Int32Array(memory, offset, agentCount);
    this.ownHashes = new Uint32Array(memory, offset + 4 * agentCount, agentCount);
    this.actionRound = new Int32Array(memory, offset + 8 * agentCount, agentCount).fill(NEVER);
    this.shareRound = new Int32Array(memory, offset + 12 * agentCount, agentCount).fill(NEVER);
    this.shares = new Array<Float32Array | undefined>(agentCount).fill(undefined);
  }

  /** Moves the slot to `round`: what it held for an older round no longer counts. */
  open(round: number): void {
    this.round = round;
    this.actionCount = 0;
    this.adoptedActions = null;
    this.adoptedHashes = null;
    this.shareBoard = null;
  }

  /** Forgets every stamp too: for when rounds may come again (restore, rejoin). */
  reset(): void {
    this.open(-1);
    this.actionRound.fill(NEVER);
    this.shareRound.fill(NEVER);
    this.shares.fill(undefined);
  }

  /** The adopted actions array where it is exactly a joint action (N entries); else null. */
  get adoptedJoint(): Int32Array | null {
    const adopted = this.adoptedActions;
    return adopted !== null && adopted.length === this.agentCount ? adopted : null;
  }

  /** a^j of this round, by agent (complete once actionCount reaches N; may be longer than N). */
  get actions(): Int32Array {
    return this.adoptedActions ?? this.ownActions;
  }

  /** Each agent's state hash when it drew its action. */
  get hashes(): Uint32Array {
    return this.adoptedHashes ?? this.ownHashes;
  }

  hasAction(agent: number): boolean {
    return this.adoptedActions !== null || this.actionRound[agent] === this.round;
  }

  /** Records agent's action; false if it was already in (a duplicate keeps the first). */
  addAction(agent: number, action: number, stateHash: number): boolean {
    if (this.hasAction(agent)) return false;
    this.actionRound[agent] = this.round;
    this.ownActions[agent] = action;
    this.ownHashes[agent] = stateHash;
    this.actionCount++;
    return true;
  }

  /**
   * Takes a whole round's actions by reference when that is the same as adding them one by one:
   * every agent sent, and what is already in (at most `self`'s own) agrees. False otherwise.
   */
  adoptActions(self: number, senders: Uint8Array, actions: Int32Array, stateHashes: Uint32Array, senderCount: number): boolean {
    if (this.adoptedActions !== null || actions.length < this.agentCount || stateHashes.length < this.agentCount) return false;
    // Every agent sent. With exactly N entries the count tells; else look at each.
    if (senders.length < this.agentCount) return false;
    if (senders.length === this.agentCount) {
      if (senderCount !== this.agentCount) return false;
    } else {
      for (let j = 0; j < this.agentCount; j++) if (senders[j] !== 1) return false;
    }
    if (this.actionCount > 1) return false;
    if (this.actionCount === 1 && !(this.actionRound[self] === this.round && this.ownActions[self] === actions[self] && this.ownHashes[self] === stateHashes[self])) {
      return false;
    }
    this.adoptedActions = actions;
    this.adoptedHashes = stateHashes;
    this.actionCount = this.agentCount;
    return true;
  }

  share(agent: number): Float32Array | undefined {
    if (this.shareRound[agent] === this.round) return this.shares[agent];
    return this.shareBoard === null ? undefined : this.shareBoard[agent]?.share;
  }

  /** Records agent's share; false if one was already in. */
  addShare(agent: number, share: Float32Array): boolean {
    if (this.share(agent) !== undefined) return false;
    this.shareRound[agent] = this.round;
    this.shares[agent] = share;
    return true;
  }

  /** Takes a board of shares by reference (shares already in stay first). False if one was there. */
  adoptShares(board: readonly (ShareMessage | undefined)[]): boolean {
    if (this.shareBoard !== null) return false;
    this.shareBoard = board;
    return true;
  }
}

const INBOX_SLOTS = 4;
/** 32-bit words per agent in a RoundInbox: action, state hash, and the action and share stamps. */
const INBOX_WORDS_PER_AGENT = 4;
const HISTORY = 4;
/** Outgoing share buffers: a receiver may still read our round-r share while we are at round r+1. */
const OUTGOING_SLOTS = 3;

export class Agent implements TransportHandlers {
  readonly id: number;
  readonly lastRound: number;
  readonly actionLead: number;
  private readonly options: AgentOptions;
  private readonly env: Environment;
  private readonly learner: Learner;
  private readonly agentCount: number;
  private readonly now: () => number;

  private currentRound = 0;
  private roundBegun = false;
  /** Between learnLocally() and drawAndPublish(). */
  private roundLearned = false;
  /** Between mixRound() and advanceRound(). */
  private roundMixed = false;
  private readonly inboxes: RoundInbox[];
  // History by time index mod HISTORY: states s_k, joint actions a_k, the rewards r_k the learner
  // is fed (team average for the centralized baseline) and agent i's private r^i_k (for metrics).
  private readonly states: unknown[] = new Array(HISTORY);
  /** joints[k]: a_k for the time indices k in the ring: ownJoints[k % HISTORY], or a lockstep
   *  transport's array of that round (shared with other agents: read only). */
  private readonly joints: Int32Array[];
  private readonly ownJoints: Int32Array[];
  private readonly rewards = new Float64Array(HISTORY);
  private readonly privateRewards = new Float64Array(HISTORY);
  private readonly outgoingShares: Float32Array[];
  private readonly pendingActions: (ActionMessage | undefined)[] = new Array(2);
  private readonly pendingShares: (ShareMessage | undefined)[] = new Array(2);
  private readonly pendingRecipients: (readonly number[] | undefined)[] = new Array(2);
  /** G_t of the iteration this round mixes, and this agent's consensus row in it (built on first use). */
  private roundGraph: Graph | undefined;
  private roundRow: ConsensusRow | undefined;
  /** The replica's state hash during the current round (set by drawAndPublish). */
  private roundStateHash = 0;
  private transport: Transport | undefined;
  /** False when the transport hands our own action back (echoesOwnActions): then it is recorded on arrival. */
  private recordOwnAction = true;

  // Metrics window.
  private windowRewardSum = 0;
  private windowTdSum = 0;
  private windowIterations = 0;
  private windowStartedAt = 0;
  private lastConsensusDistance = 0;
  private lateShares = 0;
  // Joint actions of completed rounds [jointHistoryStart, currentRound), for restarted peers.
  private jointHistory: Int32Array[] = [];
  private jointHistoryStart = 0;
  // Messages this agent must publish instead of fresh ones (after a rejoin: what its previous
  // incarnation already sent, as the peers hold it).
  private readonly forcedActions = new Map<number, ActionMessage>();
  private readonly forcedShares = new Map<number, Float32Array>();
  private readonly neighbourScratch: Float32Array[][] = [];
  // Options read every round, as fields.
  private readonly tamperShare: ((share: Float32Array) => void) | undefined;
  private readonly jointHistoryRounds: number;
  private readonly metricsEvery: number;
  private readonly teamReward: boolean;

  constructor(options: AgentOptions) {
    this.options = options;
    this.id = options.agent;
    this.env = options.env;
    this.learner = options.learner;
    this.agentCount = options.env.agentCount;
    this.actionLead = options.learner.actionLead;
    this.lastRound = options.steps - 1 + this.actionLead;
    this.now = options.now ?? (() => 0);
    this.tamperShare = options.tamperShare;
    this.jointHistoryRounds = options.jointHistoryRounds ?? 5000;
    this.metricsEvery = options.metricsEvery;
    this.teamReward = options.rewardMode === 'team-average';
    if (options.topology.agentCount !== this.agentCount) {
      throw new Error(`topology has ${options.topology.agentCount} agents but the environment has ${this.agentCount}`);
    }
    const inboxMemory = new ArrayBuffer(INBOX_SLOTS * INBOX_WORDS_PER_AGENT * 4 * this.agentCount);
    this.inboxes = Array.from(
      { length: INBOX_SLOTS },
      (_, slot) => new RoundInbox(this.agentCount, inboxMemory, slot * INBOX_WORDS_PER_AGENT * 4 * this.agentCount),
    );
    this.ownJoints = Array.from({ length: HISTORY }, () => new Int32Array(this.agentCount));
    this.joints = [...this.ownJoints];
    this.outgoingShares = Array.from({ length: OUTGOING_SLOTS }, () => new Float32Array(this.learner.shareSize));
    this.env.reset();
    this.states[0] = this.env.observe();
    this.windowStartedAt = this.now();
  }

  /** The round this agent is in (or will begin next). */
  get round(): number {
    return this.currentRound;
  }

  /** Neighbour shares that missed the deadline so far. */
  get lateShareCount(): number {
    return this.lateShares;
  }

  /** True between beginRound() and completeRound(): no snapshot can be taken then. */
  get midRound(): boolean {
    return this.roundBegun;
  }

  /** True once the last round has completed. */
  get finished(): boolean {
    return this.currentRound > this.lastRound;
  }

  /** Agents whose share topics this agent must hear: every agent it may ever mix with. */
  shareSources(): number[] {
    const topology = this.options.topology;
    // A time-varying graph may connect anyone; a static one has one neighbourhood.
    if (topology.timeVarying) return Array.from({ length: this.agentCount - 1 }, (_, k) => (k < this.id ? k : k + 1));
    return [...consensusRow(topology.graphAt(0), this.id, this.options.consensusRule).neighbours].sort((a, b) => a - b);
  }

  attach(transport: Transport): void {
    this.transport = transport;
    this.recordOwnAction = transport.echoesOwnActions !== true;
  }

  private inboxFor(round: number): RoundInbox | undefined {
    // Fast path: the current round's inbox, already open (the common case in lockstep).
    const current = this.inboxes[this.currentRound % INBOX_SLOTS];
    if (round === this.currentRound && current.round === round) return current;
    // Keep rounds [current, current + INBOX_SLOTS − 1]; older ones are past, newer too far ahead.
    if (round < this.currentRound || round >= this.currentRound + INBOX_SLOTS) return undefined;
    const inbox = this.inboxes[round % INBOX_SLOTS];
    if (inbox.round !== round) inbox.open(round);
    return inbox;
  }

  onAction(message: ActionMessage): void {
    const inbox = this.inboxFor(message.step);
    // Past, too far ahead, or a duplicate: ignored.
    if (inbox?.addAction(message.agent, message.action, message.stateHash) && this.wake !== undefined) this.notify();
  }

  /** A round's actions at once (the in-memory hub in lockstep mode): onAction for each sender. */
  onActions(step: number, senders: Uint8Array, actions: Int32Array, stateHashes: Uint32Array, senderCount: number): void {
    const inbox = this.inboxFor(step);
    if (!inbox) return;
    let added = inbox.adoptActions(this.id, senders, actions, stateHashes, senderCount);
    if (!added) {
      const count = Math.min(this.agentCount, senders.length);
      for (let j = 0; j < count; j++) {
        // A duplicate (our own action, for one) keeps the first.
        if (senders[j] === 1 && inbox.addAction(j, actions[j], stateHashes[j])) added = true;
      }
    }
    if (added && this.wake !== undefined) this.notify();
  }

  /** The shares of iteration `step` at once (the in-memory hub in lockstep mode). */
  onShares(step: number, shares: readonly (ShareMessage | undefined)[]): void {
    const round = step + this.actionLead;
    const inbox = this.inboxFor(round);
    if (!inbox) return;
    if (!inbox.adoptShares(shares)) {
      // A second board for the same iteration: take its shares one by one.
      for (const message of shares) if (message !== undefined && message.step === step) this.onShare(message);
      return;
    }
    if (this.wake !== undefined) this.notify();
  }

  onShare(message: ShareMessage): void {
    const inbox = this.inboxFor(message.step + this.actionLead);
    if (inbox?.addShare(message.agent, message.share) && this.wake !== undefined) this.notify();
  }

  /** Builds the transition of iteration t from the history. */
  private transitionOf(t: number): Transition {
    // A fresh object each time (reusing one measured no faster).
    return {
      state: this.states[t % HISTORY],
      joint: this.joints[t % HISTORY],
      reward: this.rewards[(t + 1) % HISTORY],
      nextState: this.states[(t + 1) % HISTORY],
      nextJoint: this.actionLead === 2 ? this.joints[(t + 1) % HISTORY] : undefined,
    };
  }

  /** First half of round r: the local learning steps of iteration r − L, the next action, publish. */
  beginRound(): void {
    this.learnLocally();
    this.drawAndPublish();
  }

  /**
   * The first part of beginRound: [r ≥ L] iteration r − L's local steps, the share to send and
   * G_t. A driver of many agents (the simulator) may run it for every agent before any draws: the
   * same work, in an order that keeps one kind of work hot in the CPU's caches.
   */
  learnLocally(): void {
    if (this.roundBegun || this.roundLearned || this.finished) throw this.outOfOrder('beginRound out of order');
    this.roundLearned = true;
    const round = this.currentRound;
    const iteration = round - this.actionLead;
    this.pendingShares[round % 2] = undefined;
    if (iteration < 0) return; // a start-up round: actions only
    const share = this.learner.localStep(iteration, this.transitionOf(iteration));
    const outgoing = this.outgoingShares[iteration % OUTGOING_SLOTS];
    for (let k = 0; k < outgoing.length; k++) outgoing[k] = share[k]; // a loop beats set() at this size
    this.tamperShare?.(outgoing);
    this.windowTdSum += Math.abs(this.learner.lastTdError);
    this.windowRewardSum += this.privateRewards[(iteration + 1) % HISTORY];
    this.windowIterations++;
    const graph = this.options.topology.graphAt(iteration);
    // The row is built when first needed (at mixing, in the simulator), not here: kept apart, the
    // local steps of all agents and then the consensus steps each run hot in the CPU's caches.
    this.roundGraph = graph;
    this.roundRow = undefined;
    if (this.forcedShares.size > 0) this.applyForcedShare(iteration, outgoing);
    this.pendingShares[round % 2] = { agent: this.id, step: iteration, share: outgoing };
    // Who mixes our share: with the graph-based rules, exactly our neighbours in G_t (the rules
    // are symmetric in support); an explicit matrix may not be, so no hint there.
    this.pendingRecipients[round % 2] = typeof this.options.consensusRule === 'string' ? graph.neighbours(this.id) : undefined;
  }

  /** After a rejoin: the share our previous incarnation sent for `iteration`, instead of a fresh one. */
  private applyForcedShare(iteration: number, outgoing: Float32Array): void {
    const forcedShare = this.forcedShares.get(iteration);
    if (forcedShare) {
      outgoing.set(forcedShare);
      this.forcedShares.delete(iteration);
    }
  }

  /**
   * The error of a round part called out of order. Cold paths such as this one live in functions
   * of their own: the bytecode of the hot round parts stays small, which leaves V8's inlining
   * budget to their hot callees.
   */
  private outOfOrder(what: string): Error {
    return new Error(`agent ${this.id}: ${what} at round ${this.currentRound}`);
  }

  /** The second part of beginRound: a^i_r ~ π^i(·|s_r), then publish the round's messages. */
  drawAndPublish(): void {
    if (!this.roundLearned) throw this.outOfOrder('drawAndPublish before learnLocally');
    const round = this.currentRound;
    const drawn = this.learner.act(this.states[round % HISTORY]);
    const forced = this.forcedActions.size > 0 ? this.takeForcedAction(round) : undefined;
    // The replica does not move until completeRound: hash s_r once for the message and the check.
    this.roundStateHash = this.env.stateHash();
    const actionMessage: ActionMessage = forced ?? { agent: this.id, step: round, action: drawn, stateHash: this.roundStateHash };
    this.roundLearned = false;
    this.roundBegun = true;
    this.pendingActions[round % 2] = actionMessage;
    // Our own action counts as received: recorded here, or when the transport hands it back.
    if (this.recordOwnAction) this.onAction(actionMessage);
    this.publish(round);
  }

  /** After a rejoin: the action our previous incarnation sent for `round`, if any (used once). */
  private takeForcedAction(round: number): ActionMessage | undefined {
    const forced = this.forcedActions.get(round);
    if (forced) this.forcedActions.delete(round);
    return forced;
  }

  /** Re-publish the current and the previous round's messages (gossipsub does not retransmit,
   *  and a neighbour may still be one round behind, waiting for our previous message). */
  republish(): void {
    if (this.currentRound > 0) this.publish(this.currentRound - 1);
    if (this.roundBegun) this.publish(this.currentRound);
  }

  private publish(round: number): void {
    const transport = this.transport;
    if (!transport) return;
    // The share first: a lockstep transport delivers a round once every action is in.
    const share = this.pendingShares[round % 2];
    if (share && share.step === round - this.actionLead) transport.publishShare(share, this.pendingRecipients[round % 2]);
    const action = this.pendingActions[round % 2];
    if (action && action.step === round) transport.publishAction(action);
  }

  /** Agents whose action this round still lacks. */
  awaitedActions(): number[] {
    const inbox = this.inboxFor(this.currentRound);
    const missing: number[] = [];
    for (let j = 0; j < this.agentCount; j++) if (!inbox?.hasAction(j)) missing.push(j);
    return missing;
  }

  /** Neighbours whose share this round still lacks. */
  awaitedShares(): number[] {
    if (this.roundGraph === undefined || this.currentRound < this.actionLead) return [];
    const row = this.consensusRowOfRound();
    const inbox = this.inboxFor(this.currentRound);
    return row.neighbours.filter((j) => !inbox?.share(j));
  }

  /** This agent's row of C_t for the iteration the current round mixes. */
  private consensusRowOfRound(): ConsensusRow {
    return (this.roundRow ??= consensusRow(this.roundGraph!, this.id, this.options.consensusRule));
  }

  /** True when every action of this round and every neighbour share it needs has arrived. */
  roundReady(): boolean {
    if (!this.roundBegun) return false;
    const inbox = this.inboxes[this.currentRound % INBOX_SLOTS];
    if (inbox.round !== this.currentRound || inbox.actionCount < this.agentCount) return false;
    if (this.currentRound < this.actionLead) return true;
    const row = this.consensusRowOfRound();
    for (const j of row.neighbours) if (!inbox.share(j)) return false;
    return true;
  }

  /**
   * Second half of round r: consensus (step 9), then the joint action and the replica's step.
   * `allowMissingShares`: with a share deadline, a missing neighbour's weight moves to c(i,i).
   */
  completeRound(allowMissingShares = false): void {
    this.mixRound(allowMissingShares);
    this.advanceRound();
  }

  /**
   * The first part of completeRound: check every action is in and every replica agrees, then
   * [r ≥ L] step 9, consensus. A driver of many agents may run it for every agent first.
   */
  mixRound(allowMissingShares = false): void {
    const round = this.currentRound;
    if (!this.roundBegun || this.roundMixed) throw this.outOfOrder('completeRound before beginRound');
    const inbox = this.inboxes[round % INBOX_SLOTS];
    if (inbox.round !== round || inbox.actionCount < this.agentCount) throw this.incompleteRound();
    const ownHash = this.roundStateHash;
    const hashes = inbox.hashes;
    let agreed = true;
    for (let j = 0; j < this.agentCount; j++) if (hashes[j] !== ownHash) agreed = false;
    if (!agreed) throw this.desync(hashes);

    const iteration = round - this.actionLead;
    if (iteration >= 0) this.mixWithNeighbours(iteration, inbox, allowMissingShares);
    this.roundMixed = true;
  }

  private incompleteRound(): Error {
    return new Error(`agent ${this.id}: round ${this.currentRound} completed without every action (awaiting ${this.awaitedActions().join(', ')})`);
  }

  /** The DesyncError naming every agent whose state hash differs from ours this round. */
  private desync(hashes: Uint32Array): DesyncError {
    const desynced: number[] = [];
    for (let j = 0; j < this.agentCount; j++) if (hashes[j] !== this.roundStateHash) desynced.push(j);
    return new DesyncError(this.currentRound, desynced);
  }

  /** The second part of completeRound: the joint action a_r, metrics, the replica's step to s_{r+1}. */
  advanceRound(): void {
    const round = this.currentRound;
    if (!this.roundMixed) throw this.outOfOrder('advanceRound before mixRound');
    // a_r: the round's adopted array itself where it is exactly a joint action (it stays as it is
    // for two more rounds, as long as iteration r needs it); else a copy.
    const inbox = this.inboxes[round % INBOX_SLOTS];
    let joint = inbox.adoptedJoint;
    if (joint === null) {
      joint = this.ownJoints[round % HISTORY];
      const actions = inbox.actions;
      for (let j = 0; j < this.agentCount; j++) joint[j] = actions[j];
    }
    this.joints[round % HISTORY] = joint;
    this.rememberJoint(round, joint);
    this.roundMixed = false;
    this.roundBegun = false;
    this.currentRound = round + 1;
    const iteration = round - this.actionLead;
    if (iteration >= 0 && (iteration + 1) % this.metricsEvery === 0) this.record(iteration + 1);
    if (this.finished) return;
    this.stepReplica(round, joint);
  }

  /** The replica's step from s_round to s_{round+1} under `joint`, and the rewards r_{round+1}. */
  private stepReplica(round: number, joint: Int32Array): void {
    this.env.step(joint);
    this.states[(round + 1) % HISTORY] = this.env.observe();
    const privateReward = this.env.reward(this.id);
    this.privateRewards[(round + 1) % HISTORY] = privateReward;
    this.rewards[(round + 1) % HISTORY] = this.teamReward ? this.teamAverageReward() : privateReward;
  }

  private mixWithNeighbours(iteration: number, inbox: RoundInbox, allowMissingShares: boolean): void {
    let row = this.consensusRowOfRound();
    let neighbourShares = this.neighbourShares(row, inbox);
    if (neighbourShares === undefined) {
      row = this.rowWithoutMissingShares(iteration, row, inbox, allowMissingShares);
      neighbourShares = this.neighbourShares(row, inbox)!;
    }
    if ((iteration + 1) % this.metricsEvery === 0) {
      this.lastConsensusDistance = distanceToMean(this.outgoingShares[iteration % OUTGOING_SLOTS], neighbourShares);
    }
    this.learner.consensus(row, neighbourShares);
  }

  /** A share is missing: with a deadline, ALGORITHMS.md moves its weight onto our own entry; else an error. */
  private rowWithoutMissingShares(iteration: number, row: ConsensusRow, inbox: RoundInbox, allowMissingShares: boolean): ConsensusRow {
    if (!allowMissingShares) throw new Error(`agent ${this.id}: iteration ${iteration} lacks shares of ${this.awaitedShares().join(', ')}`);
    this.lateShares += row.neighbours.filter((j) => !inbox.share(j)).length;
    return withMissingShares(row, (j) => !inbox.share(j));
  }

  /** The shares of `row`'s neighbours, in row order (a scratch array), or undefined if one is missing. */
  private neighbourShares(row: ConsensusRow, inbox: RoundInbox): Float32Array[] | undefined {
    const neighbours = row.neighbours;
    // One scratch array per degree: setting an array's length is a slow runtime call.
    const shares = (this.neighbourScratch[neighbours.length] ??= new Array<Float32Array>(neighbours.length));
    for (let k = 0; k < neighbours.length; k++) {
      const share = inbox.share(neighbours[k]);
      if (share === undefined) return undefined;
      shares[k] = share;
    }
    return shares;
  }

  /** (1/N) Σ_j r^j of the last transition: what a central critic with all rewards would see. */
  private teamAverageReward(): number {
    let total = 0;
    for (let j = 0; j < this.agentCount; j++) total += this.env.reward(j);
    return total / this.agentCount;
  }

  private rememberJoint(round: number, joint: Int32Array): void {
    const keep = this.jointHistoryRounds;
    if (keep === 0) return;
    if (this.jointHistoryStart + this.jointHistory.length !== round) {
      this.jointHistory = [];
      this.jointHistoryStart = round;
    }
    this.jointHistory.push(Int32Array.from(joint));
    if (this.jointHistory.length > keep + 256) {
      // Drop the oldest in blocks, not one by one: shift() per round would copy the array each time.
      const drop = this.jointHistory.length - keep;
      this.jointHistory = this.jointHistory.slice(drop);
      this.jointHistoryStart += drop;
    }
  }

  /** The agent's state between rounds, for a checkpoint. */
  snapshot(): AgentSnapshot {
    if (this.roundBegun) throw new Error(`agent ${this.id}: snapshot in the middle of round ${this.currentRound}`);
    const previous = this.currentRound - 1;
    const lastAction = previous >= 0 ? this.pendingActions[previous % 2] : undefined;
    const lastShare = previous >= 0 ? this.pendingShares[previous % 2] : undefined;
    return {
      agent: this.id,
      round: this.currentRound,
      learner: this.learner.save(),
      env: this.env.save(),
      states: Array.from({ length: HISTORY }, (_, k) => encodeState(this.states[k])),
      joints: this.joints.map((joint) => Array.from(joint)),
      rewards: Array.from(this.rewards),
      privateRewards: Array.from(this.privateRewards),
      window: {
        rewardSum: this.windowRewardSum,
        tdSum: this.windowTdSum,
        iterations: this.windowIterations,
        consensusDistance: this.lastConsensusDistance,
        lateShares: this.lateShares,
      },
      lastActions: [lastAction && lastAction.step === previous ? lastAction : null],
      lastShares: [lastShare && lastShare.step === previous - this.actionLead ? { step: lastShare.step, share: Array.from(lastShare.share) } : null],
      jointHistory: {
        firstRound: this.jointHistoryStart,
        joints: this.jointHistory.slice(-Math.min(this.jointHistory.length, this.jointHistoryRounds)).map((joint) => Array.from(joint)),
      },
    };
  }

  /** Back to a snapshot's state (of this agent, this run's config). */
  restore(snapshot: AgentSnapshot): void {
    if (snapshot.agent !== this.id) throw new Error(`checkpoint is agent ${snapshot.agent}'s, not agent ${this.id}'s`);
    if (!(Number.isInteger(snapshot.round) && snapshot.round >= 0 && snapshot.round <= this.lastRound + 1)) {
      throw new Error(`checkpoint round ${snapshot.round} is outside this run's rounds 0..${this.lastRound + 1}`);
    }
    this.learner.restore(snapshot.learner);
    this.env.restore(snapshot.env);
    for (let k = 0; k < HISTORY; k++) {
      this.states[k] = decodeState(snapshot.states[k]);
      this.ownJoints[k].set(snapshot.joints[k]);
      this.joints[k] = this.ownJoints[k];
      this.rewards[k] = snapshot.rewards[k];
      this.privateRewards[k] = snapshot.privateRewards[k];
    }
    this.windowRewardSum = snapshot.window.rewardSum;
    this.windowTdSum = snapshot.window.tdSum;
    this.windowIterations = snapshot.window.iterations;
    this.lastConsensusDistance = snapshot.window.consensusDistance;
    this.lateShares = snapshot.window.lateShares;
    this.currentRound = snapshot.round;
    this.roundBegun = false;
    for (const inbox of this.inboxes) inbox.reset();
    const previous = snapshot.round - 1;
    const lastAction = snapshot.lastActions[0];
    if (lastAction) this.pendingActions[previous % 2] = lastAction;
    const lastShare = snapshot.lastShares[0];
    if (lastShare) {
      const buffer = this.outgoingShares[lastShare.step % OUTGOING_SLOTS];
      buffer.set(lastShare.share);
      this.pendingShares[previous % 2] = { agent: this.id, step: lastShare.step, share: buffer };
    }
    this.jointHistory = snapshot.jointHistory.joints.map((joint) => Int32Array.from(joint));
    this.jointHistoryStart = snapshot.round - this.jointHistory.length;
    this.windowStartedAt = this.now();
  }

  /** What a restarted `agent` missed since `fromRound`, from this agent's view (undefined: cannot serve). */
  syncAnswer(agent: number, fromRound: number): SyncResponse | undefined {
    if (!(agent >= 0 && agent < this.agentCount) || agent === this.id) return undefined;
    const round = this.currentRound;
    if (fromRound > round) return { agent: this.id, round, joints: [], actions: [], shares: [] };
    if (fromRound < this.jointHistoryStart) return undefined; // older than what this agent keeps
    const joints = this.jointHistory.slice(fromRound - this.jointHistoryStart, round - this.jointHistoryStart).map((joint) => Array.from(joint));
    const actions: ActionMessage[] = [];
    const shares: { step: number; share: number[] }[] = [];
    for (const r of [round - 1, round]) {
      const inbox = this.inboxes[((r % INBOX_SLOTS) + INBOX_SLOTS) % INBOX_SLOTS];
      if (r < 0 || inbox.round !== r) continue;
      if (inbox.hasAction(agent)) actions.push({ agent, step: r, action: inbox.actions[agent], stateHash: inbox.hashes[agent] });
      const share = inbox.share(agent);
      if (share) shares.push({ step: r - this.actionLead, share: Array.from(share) });
    }
    return { agent: this.id, round, joints, actions, shares };
  }

  /**
   * Catch up after a restart: replay the environment through the joint actions the peers report
   * (no learning: what this agent learned since its checkpoint is lost), and take over the round
   * messages the peers hold from this agent's previous incarnation. Returns the rounds replayed.
   */
  rejoin(responses: readonly SyncResponse[]): number {
    if (this.roundBegun) throw new Error(`agent ${this.id}: rejoin in the middle of round ${this.currentRound}`);
    const from = this.currentRound;
    const best = responses.reduce<SyncResponse | undefined>((a, b) => (a === undefined || b.round > a.round ? b : a), undefined);
    if (!best || best.round <= from) return 0;
    const target = Math.min(best.round, this.lastRound + 1);
    for (let round = from; round < target; round++) {
      const joint = this.ownJoints[round % HISTORY];
      joint.set(best.joints[round - from]);
      this.joints[round % HISTORY] = joint;
      this.rememberJoint(round, joint);
      if (round === this.lastRound) break;
      this.stepReplica(round, joint);
    }
    this.currentRound = target;
    for (const inbox of this.inboxes) inbox.reset();
    for (const response of responses) {
      for (const action of response.actions) if (action.agent === this.id && action.step >= target - 1) this.forcedActions.set(action.step, action);
      for (const share of response.shares) if (share.step + this.actionLead >= target - 1) this.forcedShares.set(share.step, Float32Array.from(share.share));
    }
    // The previous round's messages, if peers hold them, are re-published for laggards.
    const previousAction = this.forcedActions.get(target - 1);
    if (previousAction) this.pendingActions[(target - 1) % 2] = previousAction;
    const previousShare = this.forcedShares.get(target - 1 - this.actionLead);
    if (previousShare) {
      const buffer = this.outgoingShares[(target - 1 - this.actionLead) % OUTGOING_SLOTS];
      buffer.set(previousShare);
      this.pendingShares[(target - 1) % 2] = { agent: this.id, step: target - 1 - this.actionLead, share: buffer };
    }
    this.windowStartedAt = this.now();
    return target - from;
  }

  private record(step: number): void {
    const sink = this.options.sink;
    const iterations = Math.max(1, this.windowIterations);
    if (sink) {
      sink.learning({
        step,
        mu: this.learner.mu,
        meanReward: this.windowRewardSum / iterations,
        tdError: this.windowTdSum / iterations,
        criticNorm: this.learner.criticNorm(),
        consensusDistance: this.lastConsensusDistance,
      });
      const now = this.now();
      const stats = this.transport?.stats;
      sink.runtime({
        step,
        msPerStep: (now - this.windowStartedAt) / iterations,
        messagesIn: stats?.messagesIn ?? 0,
        messagesOut: stats?.messagesOut ?? 0,
        rejected: stats?.rejected ?? 0,
        lateShares: this.lateShares,
      });
      this.windowStartedAt = now;
    }
    this.windowRewardSum = 0;
    this.windowTdSum = 0;
    this.windowIterations = 0;
  }

  // ---- async driver for one agent per process -------------------------------------------------

  private wake: (() => void) | undefined;
  /** What the sleeper waits for (default: the current round being ready). */
  private wakeWhen: (() => boolean) | undefined;

  private notify(): void {
    if (this.wake && (this.wakeWhen ? this.wakeWhen() : this.roundReady())) {
      const wake = this.wake;
      this.wake = undefined;
      wake();
    }
  }

  /**
   * Run every round over `transport` (already started): publish, wait until the round is
   * complete while re-publishing every `republishMs`, complete. `onWait` is told who is awaited
   * when a round takes longer than `reportAfterMs`.
   */
  async run(options: {
    readonly republishMs?: number;
    /** Per-step share deadline: once every action is in, wait at most this long for shares. */
    readonly shareDeadlineMs?: number | null;
    readonly reportAfterMs?: number;
    readonly onWait?: (round: number, actions: number[], shares: number[], waitedMs: number) => void;
    readonly onRound?: (round: number) => void;
    readonly signal?: AbortSignal;
  } = {}): Promise<void> {
    const republishMs = options.republishMs ?? 50;
    const reportAfterMs = options.reportAfterMs ?? 2000;
    const deadline = options.shareDeadlineMs ?? null;
    while (!this.finished) {
      if (options.signal?.aborted) return;
      this.beginRound();
      const started = Date.now();
      let reported = started;
      let late = false;
      while (!this.roundReady()) {
        if (deadline !== null && this.actionsComplete() && Date.now() - started >= deadline) {
          late = true; // ALGORITHMS.md: the missing shares' weights move to c(i,i)
          break;
        }
        const untilDeadline = deadline !== null && this.actionsComplete() ? Math.max(1, started + deadline - Date.now()) : Infinity;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            this.wake = undefined;
            resolve();
          }, Math.min(republishMs, untilDeadline));
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        if (options.signal?.aborted) {
          // Stop between rounds when the round can complete now, so a checkpoint can be taken.
          if (this.roundReady()) {
            this.completeRound();
            options.onRound?.(this.currentRound);
          }
          return;
        }
        if (this.roundReady()) break;
        this.republish();
        const now = Date.now();
        if (now - reported >= reportAfterMs) {
          reported = now;
          options.onWait?.(this.currentRound, this.awaitedActions(), this.awaitedShares(), now - started);
        }
      }
      this.completeRound(late);
      options.onRound?.(this.currentRound);
    }
  }

  /** True when every action of the current round has arrived (shares aside). */
  actionsComplete(): boolean {
    const inbox = this.inboxes[this.currentRound % INBOX_SLOTS];
    return this.roundBegun && inbox.round === this.currentRound && inbox.actionCount >= this.agentCount;
  }

  /**
   * The closing handshake of a peer process. A neighbour one round behind may still need our last
   * messages, and gossipsub does not retransmit: so publish a "done" action for round lastRound+1
   * and keep re-publishing the last round and the done message until every agent's done message
   * has arrived (then nobody needs ours any more) or `timeoutMs` passes. Returns the agents whose
   * done message never came (empty in the normal case).
   */
  async finish(options: { readonly republishMs?: number; readonly timeoutMs?: number; readonly signal?: AbortSignal } = {}): Promise<number[]> {
    if (!this.finished) throw new Error(`agent ${this.id}: finish() before the last round`);
    const republishMs = options.republishMs ?? 50;
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    const doneRound = this.lastRound + 1;
    const done: ActionMessage = { agent: this.id, step: doneRound, action: 0, stateHash: this.env.stateHash() };
    this.pendingActions[doneRound % 2] = done;
    this.pendingShares[doneRound % 2] = undefined;
    this.onAction(done);
    const inbox = () => this.inboxFor(doneRound);
    const everyoneDone = () => (inbox()?.actionCount ?? 0) >= this.agentCount;
    while (!everyoneDone() && Date.now() < deadline && !options.signal?.aborted) {
      this.publish(this.lastRound);
      this.publish(doneRound);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.wake = undefined;
          resolve();
        }, republishMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
        this.wakeWhen = everyoneDone;
      });
      this.wakeWhen = undefined;
    }
    // One last time, for a peer whose previous copies were lost just now.
    this.publish(doneRound);
    const arrived = inbox();
    const missing: number[] = [];
    for (let j = 0; j < this.agentCount; j++) if (!arrived?.hasAction(j)) missing.push(j);
    return missing;
  }
}

/** ||own − mean(neighbours)||_2, accumulated in double precision (0 with no neighbours). */
export function distanceToMean(own: Float32Array, neighbours: readonly Float32Array[]): number {
  if (neighbours.length === 0) return 0;
  let total = 0;
  for (let k = 0; k < own.length; k++) {
    let mean = 0;
    for (const share of neighbours) mean += share[k];
    const difference = own[k] - mean / neighbours.length;
    total += difference * difference;
  }
  return Math.sqrt(total);
}
