/**
 * Cooperative navigation (the paper's second experiment; shared/ALGORITHMS.md, last section):
 * N agents and N landmarks in the continuous world box [−1, 1]². Every agent observes the global
 * state; agent i is rewarded for being close to its own landmark i and penalised for bumping into
 * other agents, with a private positive scale c_i, so the agents' rewards differ:
 *
 *   r^i_{t+1} = −c_i · ( ‖p_i − l_i‖ + collisionPenalty · #{ j ≠ i : ‖p_i − p_j‖ < 2·agentRadius } )
 *
 * measured on the positions after the move of step t (before any episode reset, below).
 * c_i ∈ [0.5, 1.5) is drawn from the instance seed, or given as `rewardScales`.
 *
 * Actions (5 per agent): 0 stay, 1 up (+y), 2 down (−y), 3 left (−x), 4 right (+x). Dynamics per
 * agent, per coordinate, with the unit direction dir of the action:
 *   v ← damping·v + acceleration·dir·dt;   p ← p + v·dt   (v the new, stored velocity)
 * then p is clamped to [−1, 1] and, if it was clamped, that velocity component is set to 0.
 * Agents do not push each other: a collision only costs reward.
 *
 * Episodes. The world restarts every `episodeLength` steps from a random layout (agents and
 * landmarks uniform in the box, velocities 0). Coordinate k of entity e (agents 0..N−1, then
 * landmarks N..2N−1) in episode m is −1 + 2u with u = hash(layoutSeed, m, e, k), a counter-based
 * draw of (sampleSeed, episode, entity, coordinate): layouts depend on the trajectory seed, the
 * reward scales on the instance seed. The task stays a continuing, average-reward one: the step
 * that ends episode m (time t → t+1 with (t+1) mod L = 0) lands on the start state of episode m+1,
 * its reward is still that of the move, and time keeps counting. Hence episode = ⌊t / L⌋.
 *
 * State S: a Float32Array of 6N + 1 values, a fresh array per step (never mutate one):
 *   [4i, 4i+4)       p_x, p_y, v_x, v_y of agent i
 *   [4N+2i, 4N+2i+2) l_x, l_y of landmark i
 *   [6N]             the episode phase (t mod L) / L ∈ [0, 1), which makes the state Markov
 * The float32 values are the state: dynamics read them, compute in float64 and round back, and
 * −0 is stored as +0 (so a JSON round trip keeps the bits and the hash).
 *
 * Features (v̂ = velocity / vMax with vMax = acceleration·dt / (1 − damping), the terminal speed;
 * o_i = l_i − p_i the offset of agent i to its landmark, d_i = ‖o_i‖, û_i = o_i / d_i or 0):
 *   ψ(s), size 10N + 2:  [4i..]   p_x, p_y, v̂_x, v̂_y of agent i       (4N)
 *                        [4N+2i]  l_x, l_y                               (2N)
 *                        [6N+2i]  o_x, o_y                               (2N)
 *                        [8N+i]   d_i                                    (N)
 *                        [9N+i]   û_i · v̂_i  (closing speed)            (N)
 *                        [10N]    phase,  [10N+1] 1 (bias)
 *   φ(s, a), size 18N + 2:  ψ(s), then
 *                        [10N+2+5i+b]  one-hot of a^i                    (5N)
 *                        [15N+2+i]     û_i · dir(a^i)  (moving towards)  (N)
 *                        [16N+2+i]     d_i after the move (the reward's distance term)   (N)
 *                        [17N+2+i]     collisions of agent i after the move             (N)
 *     Motion is independent per agent, so the last two are exact functions of (s, a): a linear
 *     R̄(s, a; λ) can represent every r^i and their average, and the û·dir products let a linear
 *     Q say "moving towards your landmark is good" for each agent separately.
 *   φ^i(s, b), size 6:   [0] û_i · dir(b)        towards the landmark
 *                        [1] o_i · dir(b)        the same, growing with the distance
 *                        [2] v̂_i · dir(b)        keep moving / brake
 *                        [3] [b = stay]
 *                        [4] [b = stay] · d_i    (stay when close: negative weight)
 *                        [5] away_i · dir(b)     away_i = Σ_{j≠i} w_ij (p_i − p_j)/‖p_i − p_j‖,
 *                                                w_ij = max(0, 1 − ‖p_i − p_j‖ / (4·agentRadius))
 *     (features that do not depend on b would cancel in a softmax, so every entry involves b).
 *
 * Defaults (3 agents, episodeLength 50, damping 0.5, acceleration 2, dt 0.1, agentRadius 0.05,
 * collisionPenalty 1): vMax = 2·0.1/0.5 = 0.4, i.e. 0.04 per step, so an agent crosses the mean
 * agent-to-landmark distance of a random layout (≈ 1.04) in about 26 steps — half an episode.
 * That leaves a clear gap between a policy that heads for its landmark and one that wanders, while
 * one step's move (acceleration·dt² = 0.02) is still fine enough to settle near the landmark.
 * With acceleration 1 the agents reach their landmarks only at the end of an episode, and the
 * reward signal of one action is half as large. Collisions (distance < 0.1) cost as much as one
 * unit of distance per other agent.
 *
 * Determinism: only +, −, ·, / and Math.sqrt (all correctly rounded) in a fixed order, plus
 * counter-based hashing: replicas with the same options and joint actions agree bit for bit.
 */
import { finalizeHash, hashKeys, mixKey } from '../core/hash.js';
import { StreamName, streamSeed } from '../core/rng.js';
import type { Environment, EnvironmentSnapshot, JointAction } from './types.js';

export interface CoopNavigationOptions {
  /** Seed of the instance: the reward scales c_i (when not given). */
  readonly seed: number;
  /** Seed of the trajectory randomness: the episode layouts. Default: `seed`. */
  readonly sampleSeed?: number;
  /** N, agents and landmarks (default 3). */
  readonly agents?: number;
  /** Steps per episode L (default 50). */
  readonly episodeLength?: number;
  /** Velocity kept per step, in [0, 1) (default 0.5). */
  readonly damping?: number;
  /** Acceleration of a move action, > 0 (default 2). */
  readonly acceleration?: number;
  /** Time step, > 0 (default 0.1). */
  readonly dt?: number;
  /** Agents collide when closer than 2·agentRadius (default 0.05). */
  readonly agentRadius?: number;
  /** Reward cost of a collision, per other agent, in units of distance (default 1). */
  readonly collisionPenalty?: number;
  /** c_i > 0 for each agent. Default: drawn uniform in [0.5, 1.5) from `seed`. */
  readonly rewardScales?: readonly number[];
}

/** The resolved options (every default filled in). */
export interface CoopNavigationParameters {
  readonly seed: number;
  readonly sampleSeed: number;
  readonly agents: number;
  readonly episodeLength: number;
  readonly damping: number;
  readonly acceleration: number;
  readonly dt: number;
  readonly agentRadius: number;
  readonly collisionPenalty: number;
  readonly rewardScales: readonly number[];
}

/** The actions of every agent. */
export const CoopAction = { stay: 0, up: 1, down: 2, left: 3, right: 4 } as const;
export const COOP_ACTION_COUNT = 5;
/** Unit direction (x, y) of each action. */
const DIR_X = [0, 0, 0, -1, 1] as const;
const DIR_Y = [0, 1, -1, 0, 0] as const;

/** Hash purposes. Part of the format: never renumber. */
const Purpose = { scale: 1, layout: 2, stateHash: 3 } as const;
const TWO_POW_32 = 4294967296;

/** Size of the state S for N agents: 4N + 2N + 1. */
export function coopStateSize(agents: number): number {
  return 6 * agents + 1;
}

export function resolveCoopNavigationOptions(options: CoopNavigationOptions): CoopNavigationParameters {
  const where = 'coop-navigation options';
  const seedOf = (value: unknown, name: string): number => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
      throw new Error(`${where}: ${name}: expected a safe integer, got ${JSON.stringify(value)}`);
    }
    return value;
  };
  const positiveInt = (value: unknown, name: string, fallback: number): number => {
    const v = value === undefined ? fallback : value;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
      throw new Error(`${where}: ${name}: expected a positive integer, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const number = (value: unknown, name: string, fallback: number, ok: (v: number) => boolean, range: string): number => {
    const v = value === undefined ? fallback : value;
    if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) {
      throw new Error(`${where}: ${name}: expected a finite number ${range}, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const seed = seedOf(options.seed, 'seed');
  const sampleSeed = options.sampleSeed === undefined ? seed : seedOf(options.sampleSeed, 'sampleSeed');
  const agents = positiveInt(options.agents, 'agents', 3);
  const episodeLength = positiveInt(options.episodeLength, 'episodeLength', 50);
  const damping = number(options.damping, 'damping', 0.5, (v) => v >= 0 && v < 1, 'in [0, 1)');
  const acceleration = number(options.acceleration, 'acceleration', 2, (v) => v > 0, '> 0');
  const dt = number(options.dt, 'dt', 0.1, (v) => v > 0, '> 0');
  const agentRadius = number(options.agentRadius, 'agentRadius', 0.05, (v) => v >= 0, '>= 0');
  const collisionPenalty = number(options.collisionPenalty, 'collisionPenalty', 1, (v) => v >= 0, '>= 0');
  let rewardScales: number[];
  if (options.rewardScales === undefined) {
    const scaleSeed = streamSeed(seed, 'env/coop-navigation/scales');
    rewardScales = [];
    for (let i = 0; i < agents; i++) rewardScales.push(0.5 + hashKeys(scaleSeed, Purpose.scale, i) / TWO_POW_32);
  } else {
    if (!Array.isArray(options.rewardScales) || options.rewardScales.length !== agents) {
      throw new Error(
        `${where}: rewardScales: expected ${agents} numbers (one per agent), got ${JSON.stringify(options.rewardScales)}`,
      );
    }
    rewardScales = options.rewardScales.map((c, i) => number(c, `rewardScales[${i}]`, 1, (v) => v > 0, '> 0'));
  }
  return { seed, sampleSeed, agents, episodeLength, damping, acceleration, dt, agentRadius, collisionPenalty, rewardScales };
}

/** A factory of replicas: every call gives a fresh replica of the same environment. */
export function coopNavigationFactory(options: CoopNavigationOptions): () => CoopNavigation {
  resolveCoopNavigationOptions(options); // validate once, with a clear error
  return () => new CoopNavigation(options);
}

export class CoopNavigation implements Environment<Float32Array> {
  readonly kind = 'coop-navigation';
  readonly agentCount: number;
  readonly actionCounts: readonly number[];
  readonly stateSize: number;
  readonly stateFeatureSize: number;
  readonly criticFeatureSize: number;
  readonly actorFeatureSize = 6;
  readonly parameters: CoopNavigationParameters;
  /** c_i of each agent. */
  readonly rewardScales: readonly number[];
  /** Terminal speed acceleration·dt / (1 − damping): the velocity scale of the features. */
  readonly maxSpeed: number;
  /** Identifies the instance (all resolved options): checked on restore. */
  readonly fingerprint: string;

  private readonly n: number;
  private readonly episodeLength: number;
  private readonly layoutSeed: number;
  private readonly hashSeed: number;
  private readonly collideSquared: number;
  private readonly nearRange: number;

  private state: Float32Array;
  private currentTime = 0;
  private hasLast = false;
  private readonly lastRewards: Float64Array;
  /** Scratch: positions after a move (x, y per agent), for rewards and critic features. */
  private readonly moved: Float64Array;

  constructor(options: CoopNavigationOptions) {
    const o = resolveCoopNavigationOptions(options);
    this.parameters = Object.freeze({ ...o, rewardScales: Object.freeze([...o.rewardScales]) });
    this.n = o.agents;
    this.agentCount = o.agents;
    this.actionCounts = Object.freeze(new Array<number>(o.agents).fill(COOP_ACTION_COUNT));
    this.stateSize = coopStateSize(o.agents);
    this.stateFeatureSize = 10 * o.agents + 2;
    this.criticFeatureSize = 18 * o.agents + 2;
    this.rewardScales = this.parameters.rewardScales;
    this.episodeLength = o.episodeLength;
    this.maxSpeed = (o.acceleration * o.dt) / (1 - o.damping);
    this.fingerprint = JSON.stringify(o);
    const sampleSeed = streamSeed(o.sampleSeed, StreamName.environment);
    this.layoutSeed = hashKeys(sampleSeed, Purpose.layout) | 0;
    this.hashSeed = hashKeys(streamSeed(o.seed, 'env/coop-navigation/hash'), sampleSeed, Purpose.stateHash) | 0;
    const range = 2 * o.agentRadius;
    this.collideSquared = range * range;
    this.nearRange = 4 * o.agentRadius;
    this.lastRewards = new Float64Array(o.agents);
    this.moved = new Float64Array(2 * o.agents);
    this.state = this.layout(0);
  }

  get time(): number {
    return this.currentTime;
  }

  /** The episode of the current state: ⌊time / episodeLength⌋. */
  get episode(): number {
    return Math.floor(this.currentTime / this.episodeLength);
  }

  reset(): void {
    this.currentTime = 0;
    this.hasLast = false;
    this.state = this.layout(0);
  }

  observe(): Float32Array {
    return this.state;
  }

  step(joint: JointAction): void {
    this.checkJoint(joint);
    const n = this.n;
    const s = this.state;
    const next = new Float32Array(this.stateSize);
    const { damping, acceleration, dt } = this.parameters;
    const moved = this.moved;
    for (let i = 0; i < n; i++) {
      const a = joint[i];
      const k = 4 * i;
      for (let c = 0; c < 2; c++) {
        const dir = c === 0 ? DIR_X[a] : DIR_Y[a];
        let v = store(damping * s[k + 2 + c] + acceleration * dir * dt);
        let p = s[k + c] + v * dt;
        if (p > 1) {
          p = 1;
          v = 0;
        } else if (p < -1) {
          p = -1;
          v = 0;
        }
        p = store(p);
        next[k + c] = p;
        next[k + 2 + c] = v;
        moved[2 * i + c] = p;
      }
    }
    for (let j = 4 * n; j < 6 * n; j++) next[j] = s[j];
    this.rewardsOf(moved, s, this.lastRewards);
    const t = this.currentTime + 1;
    this.hasLast = true;
    this.currentTime = t;
    if (t % this.episodeLength === 0) {
      this.state = this.layout(t / this.episodeLength);
    } else {
      next[6 * n] = store((t % this.episodeLength) / this.episodeLength);
      this.state = next;
    }
  }

  /** r^i_{t+1} of the last step (computed at step time for every agent). */
  reward(agent: number): number {
    if (!this.hasLast) throw new Error('coop-navigation: reward() before the first step');
    this.checkAgent(agent);
    return this.lastRewards[agent];
  }

  stateFeatures(state: Float32Array, out: Float32Array): void {
    this.checkState(state);
    const n = this.n;
    const inv = 1 / this.maxSpeed;
    for (let i = 0; i < n; i++) {
      const k = 4 * i;
      const px = state[k];
      const py = state[k + 1];
      const vx = state[k + 2] * inv;
      const vy = state[k + 3] * inv;
      const ox = state[4 * n + 2 * i] - px;
      const oy = state[4 * n + 2 * i + 1] - py;
      const d = Math.sqrt(ox * ox + oy * oy);
      const ux = d > 0 ? ox / d : 0;
      const uy = d > 0 ? oy / d : 0;
      out[k] = px;
      out[k + 1] = py;
      out[k + 2] = vx;
      out[k + 3] = vy;
      out[4 * n + 2 * i] = state[4 * n + 2 * i];
      out[4 * n + 2 * i + 1] = state[4 * n + 2 * i + 1];
      out[6 * n + 2 * i] = ox;
      out[6 * n + 2 * i + 1] = oy;
      out[8 * n + i] = d;
      out[9 * n + i] = ux * vx + uy * vy;
    }
    out[10 * n] = state[6 * n];
    out[10 * n + 1] = 1;
  }

  criticFeatures(state: Float32Array, joint: JointAction, out: Float32Array): void {
    this.checkJoint(joint);
    this.stateFeatures(state, out);
    const n = this.n;
    const base = 10 * n + 2;
    out.fill(0, base, base + 5 * n);
    const moved = this.moved;
    for (let i = 0; i < n; i++) {
      const a = joint[i];
      out[base + 5 * i + a] = 1;
      const ox = state[4 * n + 2 * i] - state[4 * i];
      const oy = state[4 * n + 2 * i + 1] - state[4 * i + 1];
      const d = Math.sqrt(ox * ox + oy * oy);
      out[15 * n + 2 + i] = d > 0 ? (ox * DIR_X[a] + oy * DIR_Y[a]) / d : 0;
      this.moveOf(state, i, a, moved);
    }
    for (let i = 0; i < n; i++) {
      const dx = moved[2 * i] - state[4 * n + 2 * i];
      const dy = moved[2 * i + 1] - state[4 * n + 2 * i + 1];
      out[16 * n + 2 + i] = Math.sqrt(dx * dx + dy * dy);
      out[17 * n + 2 + i] = this.collisionsOf(moved, i);
    }
  }

  actorFeatures(state: Float32Array, agent: number, action: number, out: Float32Array): void {
    this.checkState(state);
    this.checkAgent(agent);
    if ((action >>> 0) !== action || action >= COOP_ACTION_COUNT) {
      throw new Error(`coop-navigation: agent ${agent} has no action ${action} (it has ${COOP_ACTION_COUNT})`);
    }
    const n = this.n;
    const px = state[4 * agent];
    const py = state[4 * agent + 1];
    const ox = state[4 * n + 2 * agent] - px;
    const oy = state[4 * n + 2 * agent + 1] - py;
    const d = Math.sqrt(ox * ox + oy * oy);
    const dx = DIR_X[action];
    const dy = DIR_Y[action];
    const towards = ox * dx + oy * dy;
    let awayX = 0;
    let awayY = 0;
    for (let j = 0; j < n; j++) {
      if (j === agent) continue;
      const rx = px - state[4 * j];
      const ry = py - state[4 * j + 1];
      const r = Math.sqrt(rx * rx + ry * ry);
      if (r > 0 && r < this.nearRange) {
        const w = 1 - r / this.nearRange;
        awayX += (w * rx) / r;
        awayY += (w * ry) / r;
      }
    }
    const stay = action === CoopAction.stay ? 1 : 0;
    out[0] = d > 0 ? towards / d : 0;
    out[1] = towards;
    out[2] = (state[4 * agent + 2] * dx + state[4 * agent + 3] * dy) / this.maxSpeed;
    out[3] = stay;
    out[4] = stay * d;
    out[5] = awayX * dx + awayY * dy;
  }

  stateHash(): number {
    const t = this.currentTime;
    const bits = new Uint32Array(this.state.buffer, this.state.byteOffset, this.state.length);
    let h = mixKey(mixKey(this.hashSeed, t | 0), Math.floor(t / TWO_POW_32));
    for (let k = 0; k < bits.length; k++) h = mixKey(h, bits[k]);
    return finalizeHash(h ^ (4 * (bits.length + 2)));
  }

  save(): EnvironmentSnapshot {
    return {
      kind: this.kind,
      fingerprint: this.fingerprint,
      time: this.currentTime,
      episode: this.episode,
      state: Array.from(this.state),
      rewards: this.hasLast ? Array.from(this.lastRewards) : null,
    };
  }

  /**
   * Restores a snapshot of save(). A crafted snapshot (e.g. a hand-made layout for a test) is
   * accepted when it has this instance's fingerprint, episode = ⌊time / L⌋, positions in the box
   * and the phase entry equal to float32((time mod L) / L).
   */
  restore(snapshot: EnvironmentSnapshot): void {
    const what = 'coop-navigation restore';
    if (snapshot.kind !== this.kind) throw new Error(`${what}: snapshot is of kind '${snapshot.kind}', expected '${this.kind}'`);
    if (snapshot.fingerprint !== this.fingerprint) {
      throw new Error(`${what}: snapshot is of a different instance (its options or seeds differ from this one's)`);
    }
    const { time, episode, state, rewards } = snapshot;
    if (typeof time !== 'number' || !Number.isSafeInteger(time) || time < 0) {
      throw new Error(`${what}: time ${JSON.stringify(time)} is not a non-negative integer`);
    }
    const L = this.episodeLength;
    if (episode !== Math.floor(time / L)) {
      throw new Error(
        `${what}: episode ${JSON.stringify(episode)} does not match time ${time} ` +
          `(expected ${Math.floor(time / L)} with episodes of ${L} steps)`,
      );
    }
    if (!Array.isArray(state) || state.length !== this.stateSize) {
      const got = Array.isArray(state) ? `${state.length} values` : JSON.stringify(state);
      throw new Error(`${what}: state: expected an array of ${this.stateSize} numbers (6N + 1 for N = ${this.n}), got ${got}`);
    }
    const next = new Float32Array(this.stateSize);
    for (let k = 0; k < state.length; k++) {
      const v: unknown = state[k];
      if (typeof v !== 'number' || !Number.isFinite(v) || Math.fround(v) !== v) {
        throw new Error(`${what}: state[${k}]: expected a finite float32 value, got ${JSON.stringify(v)}`);
      }
      next[k] = v + 0;
    }
    for (let e = 0; e < 2 * this.n; e++) {
      const k = e < this.n ? 4 * e : 4 * this.n + 2 * (e - this.n);
      for (let c = 0; c < 2; c++) {
        if (next[k + c] < -1 || next[k + c] > 1) {
          throw new Error(`${what}: state[${k + c}]: position ${next[k + c]} is outside the world box [-1, 1]`);
        }
      }
    }
    const phase = store((time % L) / L);
    if (next[6 * this.n] !== phase) {
      throw new Error(
        `${what}: state[${6 * this.n}]: episode phase ${next[6 * this.n]} does not match time ${time} (expected ${phase})`,
      );
    }
    let hasLast = false;
    const last = new Float64Array(this.n);
    if (rewards !== null) {
      if (!Array.isArray(rewards) || rewards.length !== this.n || time < 1) {
        throw new Error(`${what}: rewards: expected null or ${this.n} numbers with time >= 1`);
      }
      for (let i = 0; i < this.n; i++) {
        const r: unknown = rewards[i];
        if (typeof r !== 'number' || !Number.isFinite(r)) {
          throw new Error(`${what}: rewards[${i}]: expected a finite number, got ${JSON.stringify(r)}`);
        }
        last[i] = r;
      }
      hasLast = true;
    }
    this.state = next;
    this.currentTime = time;
    this.hasLast = hasLast;
    this.lastRewards.set(last);
  }

  // ---- internals ----

  /** The start state of episode m: agents and landmarks uniform in the box, velocities 0. */
  private layout(episode: number): Float32Array {
    const n = this.n;
    const s = new Float32Array(this.stateSize);
    const lo = episode | 0;
    const hi = Math.floor(episode / TWO_POW_32);
    for (let e = 0; e < 2 * n; e++) {
      const k = e < n ? 4 * e : 4 * n + 2 * (e - n);
      for (let c = 0; c < 2; c++) {
        const u = hashKeys(this.layoutSeed, lo, hi, e, c) / TWO_POW_32;
        s[k + c] = store(-1 + 2 * u);
      }
    }
    return s;
  }

  /** Position (x, y) of agent i after action a from state s into out[2i], out[2i+1] (as step()). */
  private moveOf(s: Float32Array, i: number, a: number, out: Float64Array): void {
    const { damping, acceleration, dt } = this.parameters;
    const k = 4 * i;
    for (let c = 0; c < 2; c++) {
      const dir = c === 0 ? DIR_X[a] : DIR_Y[a];
      const v = store(damping * s[k + 2 + c] + acceleration * dir * dt);
      let p = s[k + c] + v * dt;
      if (p > 1) p = 1;
      else if (p < -1) p = -1;
      out[2 * i + c] = store(p);
    }
  }

  /** Number of other agents within 2·agentRadius of agent i (positions in moved). */
  private collisionsOf(moved: Float64Array, i: number): number {
    let count = 0;
    for (let j = 0; j < this.n; j++) {
      if (j === i) continue;
      const dx = moved[2 * i] - moved[2 * j];
      const dy = moved[2 * i + 1] - moved[2 * j + 1];
      if (dx * dx + dy * dy < this.collideSquared) count++;
    }
    return count;
  }

  /** r^i for every agent from the moved positions and the landmarks of s. */
  private rewardsOf(moved: Float64Array, s: Float32Array, out: Float64Array): void {
    const n = this.n;
    const penalty = this.parameters.collisionPenalty;
    for (let i = 0; i < n; i++) {
      const dx = moved[2 * i] - s[4 * n + 2 * i];
      const dy = moved[2 * i + 1] - s[4 * n + 2 * i + 1];
      const d = Math.sqrt(dx * dx + dy * dy);
      out[i] = -this.rewardScales[i] * (d + penalty * this.collisionsOf(moved, i));
    }
  }

  private checkJoint(joint: JointAction): void {
    if (joint.length !== this.n) throw new Error(`coop-navigation: joint action has ${joint.length} entries, expected ${this.n}`);
    for (let i = 0; i < this.n; i++) {
      const a = joint[i];
      if ((a >>> 0) !== a || a >= COOP_ACTION_COUNT) {
        throw new Error(`coop-navigation: agent ${i} has action ${a}, expected an integer in [0, ${COOP_ACTION_COUNT})`);
      }
    }
  }

  private checkState(state: Float32Array): void {
    if (!(state instanceof Float32Array) || state.length !== this.stateSize) {
      throw new Error(`coop-navigation: a state is a Float32Array of ${this.stateSize} values`);
    }
  }

  private checkAgent(agent: number): void {
    if ((agent >>> 0) !== agent || agent >= this.n) {
      throw new Error(`coop-navigation: agent ${agent} is not an integer in [0, ${this.n})`);
    }
  }
}

/** Rounds to float32 and turns −0 into +0 (JSON would lose the sign and change the hash). */
function store(x: number): number {
  return Math.fround(x) + 0;
}
