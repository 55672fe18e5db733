/**
 * The paper's random networked MDP at full scale (shared/ALGORITHMS.md, "The paper's synthetic
 * experiment"): N = 20 agents, |S| = 20 states, 2 actions each (2^20 joint actions), transition
 * rows P(·|s,a) ∝ U(0,1) + 1e-5, mean rewards R^i(s,a) ~ U[0,4] observed with U[−0.5,0.5]
 * noise, critic features φ(s,a) ∈ R^10, state features ψ(s) ∈ R^10 and actor features
 * φ^i(s,b) ∈ R^5 with entries U[0,1]. Every size is an option.
 *
 * Nothing is stored. The tables have 20 · 2^20 rows, so every entry is a pure function of
 * (table seed, state, joint action, entry, purpose) computed by counter-based hashing (MurmurHash3
 * rounds, ../core/hash.ts) whenever it is asked for: the same seed gives the same numbers in every
 * process, which is what lets each agent keep its own replica (DESIGN.md, "Lockstep over gossip").
 *
 * Joint actions. With many agents a joint index Σ_i a^i Π_{j<i} n_j exceeds 2^53 and stops being
 * exact, so entries are keyed instead by a 64-bit digest of the joint action held as two int32
 * lanes, lane_k = Σ_i hashKeys(laneSeed_k, i, a^i) mod 2^32. The sum is additive: replacing one
 * agent's action changes each lane by one precomputed term (`swapAgentAction`), which is what the
 * advantage of Algorithm 1 step 6 (agent i's action replaced by each alternative b) needs.
 * Entry hash of purpose p and entry k:
 *   base = mix(mix(mix(tableSeed, lo), hi), s);  h = fmix(mix(mix(base, p), k) ^ 20);  u = h / 2^32.
 * The index-based FiniteMdp methods decode the index (agent 0 least significant) into a joint
 * array and take the same path, so both agree by construction.
 *
 * Randomness of the dynamics is counter-based too: the next state drawn at time t uses
 * uniformAt(sampleSeed, STEP, t) against the cumulative row, and agent i's reward noise at time t
 * uses uniformAt(sampleSeed, NOISE, t, i). A replica's whole state is therefore (s_t, t) — plus
 * the digest of the last step so that reward() still works after a restore.
 *
 * Speed. The simulator runs 20 replicas of the same environment in one process and every agent
 * asks for φ(s_t, a_t), φ(s_{t+1}, a_{t+1}) and the same transition row. Replicas built by one
 * factory (`networkedMdpFactory`) share a small direct-mapped cache of (state, digest) → transition
 * weights and → critic features. It caches a pure function, so results do not depend on whether
 * an entry was a hit.
 */
import { finalizeHash, hashKeys, mixKey } from '../core/hash.js';
import { StreamName, streamSeed } from '../core/rng.js';
import { assertIndexable, decodeJointIndex, jointActionCountOf } from './joint.js';
import type { EnvironmentSnapshot, FiniteMdp, JointAction } from './types.js';

export interface NetworkedMdpOptions {
  /** Seed of the MDP instance: its transition, reward and feature tables. */
  readonly seed: number;
  /** Seed of the trajectory randomness (next-state draws, reward noise). Default: `seed`. */
  readonly sampleSeed?: number;
  /** N (default 20). */
  readonly agents?: number;
  /** |S| (default 20). */
  readonly states?: number;
  /** |A^i|: one number for every agent or one per agent (default 2). */
  readonly actions?: number | readonly number[];
  /** dim φ(s,a) (default 10). */
  readonly criticFeatureSize?: number;
  /** dim ψ(s) (default 10). */
  readonly stateFeatureSize?: number;
  /** dim φ^i(s,b) (default 5). */
  readonly actorFeatureSize?: number;
  /** R^i(s,a) ~ U[0, rewardMax] (default 4). */
  readonly rewardMax?: number;
  /** Observed reward = R^i(s,a) + U[−rewardNoise, +rewardNoise] (default 0.5). */
  readonly rewardNoise?: number;
  /** P(s'|s,a) = (u_{s'} + transitionFloor) / Σ (default 1e-5). */
  readonly transitionFloor?: number;
  /** s_0. Default: drawn from the table seed. */
  readonly initialState?: number;
  /** Slots of the (state, joint) cache, a power of two; 0 disables it (default 256). */
  readonly cacheSlots?: number;
}

/** Hash purposes: one per kind of table entry or random draw. Part of the format: never renumber. */
const Purpose = {
  transition: 1,
  reward: 2,
  critic: 3,
  state: 4,
  actor: 5,
  laneLo: 6,
  laneHi: 7,
  initial: 8,
  step: 9,
  noise: 10,
  stateHash: 11,
} as const;

const TWO_POW_32 = 4294967296;
/** Precompute actor features when the table has at most this many floats (4 MiB). */
const ACTOR_TABLE_LIMIT = 1 << 20;
/** The MurmurHash3 length word of a 5-key (20-byte) message. */
const KEY_BYTES = 20;

interface ResolvedOptions {
  readonly seed: number;
  readonly sampleSeed: number;
  readonly agents: number;
  readonly states: number;
  readonly actions: readonly number[];
  readonly criticFeatureSize: number;
  readonly stateFeatureSize: number;
  readonly actorFeatureSize: number;
  readonly rewardMax: number;
  readonly rewardNoise: number;
  readonly transitionFloor: number;
  readonly initialState: number | null;
}

function resolveOptions(options: NetworkedMdpOptions): ResolvedOptions {
  const where = 'networked MDP options';
  const positiveInt = (value: unknown, name: string, fallback: number): number => {
    const v = value === undefined ? fallback : value;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
      throw new Error(`${where}: ${name}: expected a positive integer, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const nonNegative = (value: unknown, name: string, fallback: number): number => {
    const v = value === undefined ? fallback : value;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new Error(`${where}: ${name}: expected a finite number >= 0, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const seedOf = (value: unknown, name: string): number => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
      throw new Error(`${where}: ${name}: expected a safe integer, got ${JSON.stringify(value)}`);
    }
    return value;
  };
  const seed = seedOf(options.seed, 'seed');
  const sampleSeed = options.sampleSeed === undefined ? seed : seedOf(options.sampleSeed, 'sampleSeed');
  const agents = positiveInt(options.agents, 'agents', 20);
  const states = positiveInt(options.states, 'states', 20);
  let actions: number[];
  if (Array.isArray(options.actions)) {
    if (options.actions.length !== agents) {
      throw new Error(`${where}: actions: has ${options.actions.length} entries, expected ${agents} (one per agent)`);
    }
    actions = options.actions.map((n, i) => positiveInt(n, `actions[${i}]`, 2));
  } else {
    const n = positiveInt(options.actions, 'actions', 2);
    actions = new Array<number>(agents).fill(n);
  }
  const initialState = options.initialState === undefined ? null : options.initialState;
  if (initialState !== null && (!Number.isInteger(initialState) || initialState < 0 || initialState >= states)) {
    throw new Error(`${where}: initialState: expected an integer in [0, ${states}), got ${JSON.stringify(initialState)}`);
  }
  const transitionFloor = nonNegative(options.transitionFloor, 'transitionFloor', 1e-5);
  if (transitionFloor === 0) {
    // A zero floor would allow a row with no mass at all (every hash 0); keep it strictly positive.
    throw new Error(`${where}: transitionFloor: expected a number > 0, got 0`);
  }
  return {
    seed,
    sampleSeed,
    agents,
    states,
    actions,
    criticFeatureSize: positiveInt(options.criticFeatureSize, 'criticFeatureSize', 10),
    stateFeatureSize: positiveInt(options.stateFeatureSize, 'stateFeatureSize', 10),
    actorFeatureSize: positiveInt(options.actorFeatureSize, 'actorFeatureSize', 5),
    rewardMax: nonNegative(options.rewardMax, 'rewardMax', 4),
    rewardNoise: nonNegative(options.rewardNoise, 'rewardNoise', 0.5),
    transitionFloor,
    initialState,
  };
}

/**
 * A direct-mapped cache of (state, joint digest) → transition weights and → critic features,
 * shared by replicas of one MDP instance (see networkedMdpFactory). Bound to the first instance
 * that uses it; an instance of a different MDP refuses it.
 */
function sameActions(a: Int32Array, b: JointAction): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}

export class NetworkedMdpCache {
  readonly slots: number;
  private readonly shift: number;
  /** Fingerprint of the MDP instance the cache holds entries of; null until first bound. */
  private fingerprint: string | null = null;
  /** Per slot: state (−1 = empty), lo, hi. */
  transitionKeys = new Int32Array(0);
  transitionWeights = new Float64Array(0);
  transitionTotals = new Float64Array(0);
  criticKeys = new Int32Array(0);
  criticData = new Float32Array(0);
  /** φ^i(s, b) for every (s, i, b), when small enough to precompute; else null (hash on demand). */
  actorTable: Float32Array | null = null;
  /** The instance's joint-digest lane terms (see laneTablesOf); null until the first replica. */
  laneTables: LaneTables | null = null;
  /**
   * The last transition any replica took: (t, s_t, a_t) → (s_{t+1}, digest). Replicas of one run
   * step through the same (t, s, a) one after another, so all but the first reuse it after
   * comparing the joint action (cheaper than hashing it).
   */
  lastStepTime = -1;
  lastStepState = -1;
  lastStepJoint = new Int32Array(0);
  lastStepNext = -1;
  lastStepLo = 0;
  lastStepHi = 0;
  /** The last state hash any replica computed: (t, s) → stateHash. */
  hashTime = -1;
  hashState = -1;
  hashValue = 0;

  constructor(slots = 256) {
    if (!Number.isInteger(slots) || slots < 0 || (slots & (slots - 1)) !== 0 || slots > 1 << 20) {
      throw new Error(`networked MDP cache: slots must be 0 or a power of two up to 2^20, got ${slots}`);
    }
    this.slots = slots;
    this.shift = slots <= 1 ? 32 : 32 - Math.log2(slots);
  }

  /**
   * Binds the cache to an MDP instance; throws if it already holds another instance's entries.
   * True when this call bound it (the caller then fills the precomputed tables).
   */
  bind(fingerprint: string, states: number, criticFeatureSize: number): boolean {
    if (this.fingerprint === fingerprint) return false;
    if (this.fingerprint !== null) {
      throw new Error('networked MDP cache: shared between different MDP instances (seed or sizes differ)');
    }
    this.fingerprint = fingerprint;
    const slots = Math.max(this.slots, 1);
    this.transitionKeys = new Int32Array(3 * slots).fill(-1);
    this.transitionWeights = new Float64Array(slots * states);
    this.transitionTotals = new Float64Array(slots);
    this.criticKeys = new Int32Array(3 * slots).fill(-1);
    this.criticData = new Float32Array(slots * criticFeatureSize);
    return true;
  }

  /** Slot of (state, lo, hi); always 0 for a disabled (0-slot) cache, which then never hits. */
  slotOf(state: number, lo: number, hi: number): number {
    if (this.shift === 32) return 0;
    return Math.imul(lo ^ Math.imul(hi, 0x9e3779b1) ^ Math.imul(state + 1, 0x85ebca6b), 0x2c1b3c6d) >>> this.shift;
  }
}

/** Per-(agent, action) terms of the joint-action digest, and each agent's offset into them. */
interface LaneTables {
  /** offsets[i] = Σ_{j<i} |A^j|; offsets[N] = Σ_j |A^j|. */
  readonly offsets: Int32Array;
  /** lo[offsets[i] + b] = hashKeys(laneSeedLo, i, b), and hi likewise. */
  readonly lo: Int32Array;
  readonly hi: Int32Array;
}

function laneTablesOf(tableSeed: number, actions: readonly number[]): LaneTables {
  const agents = actions.length;
  const offsets = new Int32Array(agents + 1);
  for (let i = 0; i < agents; i++) offsets[i + 1] = offsets[i] + actions[i];
  const lo = new Int32Array(offsets[agents]);
  const hi = new Int32Array(offsets[agents]);
  const laneSeedLo = hashKeys(tableSeed, Purpose.laneLo) | 0;
  const laneSeedHi = hashKeys(tableSeed, Purpose.laneHi) | 0;
  for (let i = 0; i < agents; i++) {
    for (let b = 0; b < actions[i]; b++) {
      lo[offsets[i] + b] = hashKeys(laneSeedLo, i, b) | 0;
      hi[offsets[i] + b] = hashKeys(laneSeedHi, i, b) | 0;
    }
  }
  return { offsets, lo, hi };
}

/**
 * A factory of replicas of one MDP instance that share a cache: what the simulator, which keeps
 * one replica per agent in one process, should use.
 */
export function networkedMdpFactory(options: NetworkedMdpOptions): () => NetworkedMdp {
  const cache = new NetworkedMdpCache(options.cacheSlots ?? 256);
  return () => new NetworkedMdp(options, cache);
}

export class NetworkedMdp implements FiniteMdp {
  readonly kind = 'networked-mdp';
  readonly agentCount: number;
  readonly actionCounts: readonly number[];
  readonly stateCount: number;
  /** Π_i |A^i|; exact up to 2^53. Index-based methods need it to be at most 2^31. */
  readonly jointActionCount: number;
  readonly criticFeatureSize: number;
  readonly stateFeatureSize: number;
  readonly actorFeatureSize: number;
  readonly rewardMax: number;
  readonly rewardNoise: number;
  readonly transitionFloor: number;
  readonly initialState: number;
  /** Identifies the MDP instance (seeds and sizes): checked on restore and by the cache. */
  readonly fingerprint: string;

  private readonly tableSeed: number;
  private readonly sampleSeed: number;
  private readonly hashSeed: number;
  /** Lane terms: laneLoTerms[actionOffset[i] + b] = hashKeys(laneSeedLo, i, b). */
  private readonly laneLoTerms: Int32Array;
  private readonly laneHiTerms: Int32Array;
  private readonly actionOffset: Int32Array;
  private readonly cache: NetworkedMdpCache;

  private state = 0;
  private currentTime = 0;
  private hasLast = false;
  private lastState = 0;
  private lastLo = 0;
  private lastHi = 0;
  private lastTime = 0;
  /** Output lanes of digest() (no allocation on the hot path). */
  private digestLo = 0;
  private digestHi = 0;
  private readonly decoded: Int32Array;

  constructor(options: NetworkedMdpOptions, cache?: NetworkedMdpCache) {
    const o = resolveOptions(options);
    this.agentCount = o.agents;
    this.actionCounts = Object.freeze([...o.actions]);
    this.stateCount = o.states;
    this.jointActionCount = jointActionCountOf(o.actions);
    this.criticFeatureSize = o.criticFeatureSize;
    this.stateFeatureSize = o.stateFeatureSize;
    this.actorFeatureSize = o.actorFeatureSize;
    this.rewardMax = o.rewardMax;
    this.rewardNoise = o.rewardNoise;
    this.transitionFloor = o.transitionFloor;
    this.tableSeed = streamSeed(o.seed, 'env/networked-mdp/tables') | 0;
    this.sampleSeed = streamSeed(o.sampleSeed, StreamName.environment) | 0;
    this.hashSeed = hashKeys(this.tableSeed, this.sampleSeed, Purpose.stateHash) | 0;
    this.fingerprint = JSON.stringify(o);
    this.initialState =
      o.initialState ?? Math.floor((hashKeys(this.tableSeed, Purpose.initial) / TWO_POW_32) * o.states);

    this.decoded = new Int32Array(o.agents);
    this.cache = cache ?? new NetworkedMdpCache(options.cacheSlots ?? 256);
    const firstReplica = this.cache.bind(this.fingerprint, this.stateCount, this.criticFeatureSize);
    // Replicas of one instance share their read-only tables: 20 replicas reading one copy keep it
    // in the CPU's cache, where 20 copies would not stay.
    const lanes = (this.cache.laneTables ??= laneTablesOf(this.tableSeed, o.actions));
    this.actionOffset = lanes.offsets;
    this.laneLoTerms = lanes.lo;
    this.laneHiTerms = lanes.hi;
    const offsets = lanes.offsets;
    if (firstReplica) {
      // Actor features depend on (s, i, b) only: S·Σ_i|A^i|·dim entries, small at paper scale
      // (20·40·5 = 4000), so a precomputed table of the same pure function saves rehashing.
      const rows = this.stateCount * offsets[o.agents];
      if (rows * this.actorFeatureSize <= ACTOR_TABLE_LIMIT) {
        const table = new Float32Array(rows * this.actorFeatureSize);
        for (let s = 0; s < this.stateCount; s++) {
          for (let i = 0; i < o.agents; i++) {
            for (let b = 0; b < o.actions[i]; b++) {
              this.computeActorFeatures(s, i, b, table, (s * offsets[o.agents] + offsets[i] + b) * this.actorFeatureSize);
            }
          }
        }
        this.cache.actorTable = table;
      }
    }
    this.reset();
  }

  get time(): number {
    return this.currentTime;
  }

  reset(): void {
    this.state = this.initialState;
    this.currentTime = 0;
    this.hasLast = false;
  }

  observe(): number {
    return this.state;
  }

  step(joint: JointAction): void {
    const cache = this.cache;
    const time = this.currentTime;
    if (cache.lastStepTime === time && cache.lastStepState === this.state && sameActions(cache.lastStepJoint, joint)) {
      // Another replica just took this very transition: the pure function's result is known.
      this.lastState = this.state;
      this.lastLo = cache.lastStepLo;
      this.lastHi = cache.lastStepHi;
      this.lastTime = time;
      this.hasLast = true;
      this.state = cache.lastStepNext;
      this.currentTime = time + 1;
      return;
    }
    this.stepUncached(joint);
    if (cache.lastStepJoint.length !== joint.length) cache.lastStepJoint = new Int32Array(joint.length);
    cache.lastStepJoint.set(joint);
    cache.lastStepTime = time;
    cache.lastStepState = this.lastState;
    cache.lastStepNext = this.state;
    cache.lastStepLo = this.lastLo;
    cache.lastStepHi = this.lastHi;
  }

  private stepUncached(joint: JointAction): void {
    this.digest(joint);
    const lo = this.digestLo;
    const hi = this.digestHi;
    const s = this.state;
    const slot = this.transitionSlot(s, lo, hi);
    const t = this.currentTime;
    // Counter-based draw: u depends on t only, so the replica's state is (s_t, t).
    const u = hashKeys(this.sampleSeed, Purpose.step, t | 0, Math.floor(t / TWO_POW_32)) / TWO_POW_32;
    const weights = this.cache.transitionWeights;
    const base = slot * this.stateCount;
    const target = u * this.cache.transitionTotals[slot];
    const last = this.stateCount - 1;
    let next = last;
    let cumulative = 0;
    for (let k = 0; k < last; k++) {
      cumulative += weights[base + k];
      if (target < cumulative) {
        next = k;
        break;
      }
    }
    this.lastState = s;
    this.lastLo = lo;
    this.lastHi = hi;
    this.lastTime = t;
    this.hasLast = true;
    this.state = next;
    this.currentTime = t + 1;
  }

  /** r^i_{t+1} = R^i(s_t, a_t) + U[−noise, noise], computed for this agent only (lazily). */
  reward(agent: number): number {
    if (!this.hasLast) throw new Error('networked MDP: reward() before the first step');
    this.checkAgent(agent);
    const t = this.lastTime;
    const noise = hashKeys(this.sampleSeed, Purpose.noise, t | 0, Math.floor(t / TWO_POW_32), agent) / TWO_POW_32;
    return this.meanRewardAt(this.lastState, this.lastLo, this.lastHi, agent) + this.rewardNoise * (2 * noise - 1);
  }

  criticFeatures(state: number, joint: JointAction, out: Float32Array): void {
    this.digest(joint);
    this.criticFeaturesAt(state, this.digestLo, this.digestHi, out);
  }

  /** φ(s, a) of the joint action whose digest lanes are (lo, hi) (see jointDigest). */
  criticFeaturesAt(state: number, lo: number, hi: number, out: Float32Array): void {
    this.checkState(state);
    const size = this.criticFeatureSize;
    const cache = this.cache;
    const keys = cache.criticKeys;
    const slot = cache.slotOf(state, lo, hi);
    const k3 = 3 * slot;
    const data = cache.criticData;
    const offset = slot * size;
    if (keys[k3] !== state || keys[k3 + 1] !== lo || keys[k3 + 2] !== hi) {
      const base = mixKey(mixKey(mixKey(this.tableSeed, lo), hi), state);
      const keyed = mixKey(base, Purpose.critic);
      for (let k = 0; k < size; k++) data[offset + k] = finalizeHash(mixKey(keyed, k) ^ KEY_BYTES) / TWO_POW_32;
      if (cache.slots > 0) {
        keys[k3] = state;
        keys[k3 + 1] = lo;
        keys[k3 + 2] = hi;
      }
    }
    for (let k = 0; k < size; k++) out[k] = data[offset + k];
  }

  /** ψ(s), entries U[0,1]. */
  stateFeatures(state: number, out: Float32Array): void {
    this.checkState(state);
    const keyed = mixKey(mixKey(mixKey(this.tableSeed, Purpose.state), state), 0);
    for (let k = 0; k < this.stateFeatureSize; k++) out[k] = finalizeHash(mixKey(keyed, k) ^ KEY_BYTES) / TWO_POW_32;
  }

  /** φ^i(s, b), entries U[0,1]. */
  actorFeatures(state: number, agent: number, action: number, out: Float32Array): void {
    this.checkState(state);
    this.checkAgent(agent);
    if ((action >>> 0) !== action || action >= this.actionCounts[agent]) {
      throw new Error(`networked MDP: agent ${agent} has no action ${action} (it has ${this.actionCounts[agent]})`);
    }
    const size = this.actorFeatureSize;
    const table = this.cache.actorTable;
    if (table !== null) {
      const offset = (state * this.actionOffset[this.agentCount] + this.actionOffset[agent] + action) * size;
      for (let k = 0; k < size; k++) out[k] = table[offset + k];
      return;
    }
    this.computeActorFeatures(state, agent, action, out, 0);
  }

  /** The hash definition of φ^i(s, b) into out[offset..]. */
  private computeActorFeatures(state: number, agent: number, action: number, out: Float32Array, offset: number): void {
    const keyed = mixKey(mixKey(mixKey(mixKey(this.tableSeed, Purpose.actor), state), agent), action);
    for (let k = 0; k < this.actorFeatureSize; k++) {
      out[offset + k] = finalizeHash(mixKey(keyed, k) ^ KEY_BYTES) / TWO_POW_32;
    }
  }

  transitionRow(state: number, jointIndex: number, out: Float64Array): void {
    this.transitionRowOf(state, this.decode(jointIndex), out);
  }

  meanReward(state: number, jointIndex: number, agent: number): number {
    return this.meanRewardOf(state, this.decode(jointIndex), agent);
  }

  /** R^i(s, a) for every agent i into out (length N): one decode for all agents. */
  meanRewards(state: number, jointIndex: number, out: Float64Array): void {
    this.digest(this.decode(jointIndex));
    this.checkState(state);
    for (let i = 0; i < this.agentCount; i++) out[i] = this.meanRewardAt(state, this.digestLo, this.digestHi, i);
  }

  /** P(· | s, a) of a joint-action array (works for any number of joint actions). */
  transitionRowOf(state: number, joint: JointAction, out: Float64Array): void {
    this.digest(joint);
    const slot = this.transitionSlot(state, this.digestLo, this.digestHi);
    const weights = this.cache.transitionWeights;
    const base = slot * this.stateCount;
    const total = this.cache.transitionTotals[slot];
    for (let k = 0; k < this.stateCount; k++) out[k] = weights[base + k] / total;
  }

  /** R^i(s, a) of a joint-action array. */
  meanRewardOf(state: number, joint: JointAction, agent: number): number {
    this.digest(joint);
    this.checkState(state);
    this.checkAgent(agent);
    return this.meanRewardAt(state, this.digestLo, this.digestHi, agent);
  }

  /** The digest lanes (lo, hi) of a joint action into out[0], out[1] (int32). */
  jointDigest(joint: JointAction, out: Int32Array): void {
    this.digest(joint);
    out[0] = this.digestLo;
    out[1] = this.digestHi;
  }

  /** Updates digest lanes in place for agent `agent` switching from action `from` to `to`: O(1). */
  swapAgentAction(digest: Int32Array, agent: number, from: number, to: number): void {
    this.checkAgent(agent);
    const n = this.actionCounts[agent];
    if ((from >>> 0) !== from || from >= n || (to >>> 0) !== to || to >= n) {
      throw new Error(`networked MDP: agent ${agent} has ${n} actions, cannot swap ${from} for ${to}`);
    }
    const o = this.actionOffset[agent];
    digest[0] = (digest[0] - this.laneLoTerms[o + from] + this.laneLoTerms[o + to]) | 0;
    digest[1] = (digest[1] - this.laneHiTerms[o + from] + this.laneHiTerms[o + to]) | 0;
  }

  stateHash(): number {
    const t = this.currentTime;
    const cache = this.cache;
    // Replicas in step ask for the same (t, s_t) one after another: the last answer is shared.
    if (cache.hashTime === t && cache.hashState === this.state) return cache.hashValue;
    const hash = hashKeys(this.hashSeed, t | 0, Math.floor(t / TWO_POW_32), this.state);
    cache.hashTime = t;
    cache.hashState = this.state;
    cache.hashValue = hash;
    return hash;
  }

  save(): EnvironmentSnapshot {
    return {
      kind: this.kind,
      fingerprint: this.fingerprint,
      state: this.state,
      time: this.currentTime,
      last: this.hasLast ? { state: this.lastState, lo: this.lastLo, hi: this.lastHi } : null,
    };
  }

  restore(snapshot: EnvironmentSnapshot): void {
    const what = 'networked MDP restore';
    if (snapshot.kind !== this.kind) throw new Error(`${what}: snapshot is of kind '${snapshot.kind}', expected '${this.kind}'`);
    if (snapshot.fingerprint !== this.fingerprint) {
      throw new Error(`${what}: snapshot is of a different MDP instance (seed or sizes differ)`);
    }
    const { state, time, last } = snapshot;
    if (typeof state !== 'number' || !Number.isInteger(state) || state < 0 || state >= this.stateCount) {
      throw new Error(`${what}: state ${JSON.stringify(state)} is not in [0, ${this.stateCount})`);
    }
    if (typeof time !== 'number' || !Number.isSafeInteger(time) || time < 0) {
      throw new Error(`${what}: time ${JSON.stringify(time)} is not a non-negative integer`);
    }
    let hasLast = false;
    let lastState = 0;
    let lo = 0;
    let hi = 0;
    if (last !== null) {
      const l = last as { state?: unknown; lo?: unknown; hi?: unknown } | undefined;
      const int32 = (v: unknown): v is number => typeof v === 'number' && (v | 0) === v;
      if (
        typeof l !== 'object' ||
        !int32(l.state) ||
        l.state < 0 ||
        l.state >= this.stateCount ||
        !int32(l.lo) ||
        !int32(l.hi) ||
        time < 1
      ) {
        throw new Error(`${what}: 'last' must be null or {state, lo, hi} (int32) with time >= 1`);
      }
      hasLast = true;
      lastState = l.state;
      lo = l.lo;
      hi = l.hi;
    }
    this.state = state;
    this.currentTime = time;
    this.hasLast = hasLast;
    this.lastState = lastState;
    this.lastLo = lo;
    this.lastHi = hi;
    this.lastTime = time - 1;
  }

  // ---- internals ----

  /** Sets digestLo/digestHi from a joint action; validates it (N compares: cheap). */
  private digest(joint: JointAction): void {
    const n = this.agentCount;
    if (joint.length !== n) throw new Error(`networked MDP: joint action has ${joint.length} entries, expected ${n}`);
    const offsets = this.actionOffset;
    const loTerms = this.laneLoTerms;
    const hiTerms = this.laneHiTerms;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < n; i++) {
      const a = joint[i];
      const index = offsets[i] + a;
      if (a < 0 || index >= offsets[i + 1]) {
        throw new Error(`networked MDP: agent ${i} has action ${a}, expected an integer in [0, ${this.actionCounts[i]})`);
      }
      lo = (lo + loTerms[index]) | 0;
      hi = (hi + hiTerms[index]) | 0;
    }
    this.digestLo = lo;
    this.digestHi = hi;
  }

  private decode(jointIndex: number): Int32Array {
    assertIndexable(this.jointActionCount, 'networked MDP');
    return decodeJointIndex(jointIndex, this.actionCounts, this.decoded);
  }

  /** Cache slot holding the unnormalised weights u_{s'} + floor of (s, lo, hi), filled on a miss. */
  private transitionSlot(state: number, lo: number, hi: number): number {
    this.checkState(state);
    const cache = this.cache;
    const slot = cache.slotOf(state, lo, hi);
    const keys = cache.transitionKeys;
    const k3 = 3 * slot;
    if (keys[k3] !== state || keys[k3 + 1] !== lo || keys[k3 + 2] !== hi) {
      const weights = cache.transitionWeights;
      const size = this.stateCount;
      const base = slot * size;
      const keyed = mixKey(mixKey(mixKey(mixKey(this.tableSeed, lo), hi), state), Purpose.transition);
      const floor = this.transitionFloor;
      let total = 0;
      for (let k = 0; k < size; k++) {
        const w = finalizeHash(mixKey(keyed, k) ^ KEY_BYTES) / TWO_POW_32 + floor;
        weights[base + k] = w;
        total += w;
      }
      cache.transitionTotals[slot] = total;
      if (cache.slots > 0) {
        keys[k3] = state;
        keys[k3 + 1] = lo;
        keys[k3 + 2] = hi;
      }
    }
    return slot;
  }

  private meanRewardAt(state: number, lo: number, hi: number, agent: number): number {
    const keyed = mixKey(mixKey(mixKey(mixKey(this.tableSeed, lo), hi), state), Purpose.reward);
    return (this.rewardMax * finalizeHash(mixKey(keyed, agent) ^ KEY_BYTES)) / TWO_POW_32;
  }

  private checkState(state: number): void {
    if ((state >>> 0) !== state || state >= this.stateCount) {
      throw new Error(`networked MDP: state ${state} is not an integer in [0, ${this.stateCount})`);
    }
  }

  private checkAgent(agent: number): void {
    if ((agent >>> 0) !== agent || agent >= this.agentCount) {
      throw new Error(`networked MDP: agent ${agent} is not an integer in [0, ${this.agentCount})`);
    }
  }
}
