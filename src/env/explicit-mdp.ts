/**
 * A finite networked MDP written out in full in a JSON file: small problems whose optimum J* and
 * every policy's J(θ) can be computed exactly (./exact.ts), so learning curves can be judged
 * against the truth rather than against each other.
 *
 * File format (`kind: "explicit-mdp"`), joint index a = Σ_i a^i · Π_{j<i} n_j (agent 0 least
 * significant):
 *   agents N, states S, actions [n_1..n_N],
 *   transitions[s][a][s'] = P(s'|s,a), rewards[s][a][i] = R^i(s,a),
 *   rewardNoise u (observed reward = R^i(s,a) + U[−u, u]), initialState s_0,
 *   optional criticFeatures[s][a][k] = φ(s,a), stateFeatures[s][k] = ψ(s),
 *   actorFeatures[s][i][b][k] = φ^i(s,b) — one-hot (tabular) when missing —
 *   and an optional free-text "description".
 * The parser is pure: the caller reads the file and passes the parsed JSON. Every error is one
 * line naming the source and the JSON path of the bad entry.
 *
 * Dynamics are counter-based like the procedural MDP's (./networked-mdp.ts): the next state at
 * time t is drawn with uniformAt(seed, STEP, t) and agent i's reward noise with
 * uniformAt(seed, NOISE, t, i), so a replica's state is just (s_t, t).
 */
import { finalizeHash, hashKeys, mixKey } from '../core/hash.js';
import { StreamName, streamSeed } from '../core/rng.js';
import { assertIndexable, decodeJointIndex, encodeJointAction, jointActionCountOf } from './joint.js';
import type { EnvironmentSnapshot, FiniteMdp, JointAction } from './types.js';

/** Tolerance on Σ_s' P(s'|s,a) = 1. */
export const ROW_SUM_TOLERANCE = 1e-9;

const FIELDS = [
  'kind',
  'description',
  'agents',
  'states',
  'actions',
  'transitions',
  'rewards',
  'rewardNoise',
  'initialState',
  'criticFeatures',
  'stateFeatures',
  'actorFeatures',
] as const;

/** Hash purposes of the dynamics draws. Part of the format: never renumber. */
const Purpose = { step: 1, noise: 2, stateHash: 3 } as const;
const TWO_POW_32 = 4294967296;

/** A validated explicit MDP: immutable tables that any number of replicas can share. */
export interface ExplicitMdpTables {
  readonly description: string | null;
  readonly agents: number;
  readonly states: number;
  readonly actions: readonly number[];
  readonly jointActions: number;
  /** P(s'|s,a) at ((s · A) + a) · S + s'. */
  readonly transitions: Float64Array;
  /** R^i(s,a) at ((s · A) + a) · N + i. */
  readonly rewards: Float64Array;
  readonly rewardNoise: number;
  readonly initialState: number;
  /** φ(s,a) at ((s · A) + a) · K + k, or null for one-hot of size S·A. */
  readonly criticFeatures: Float32Array | null;
  readonly criticFeatureSize: number;
  /** ψ(s) at s · K + k, or null for one-hot of size S. */
  readonly stateFeatures: Float32Array | null;
  readonly stateFeatureSize: number;
  /** φ^i(s,b) at ((s · N + i) · maxA + b) · K + k, or null for one-hot of size S·maxA. */
  readonly actorFeatures: Float32Array | null;
  readonly actorFeatureSize: number;
  /** Hash of the tables: tells snapshots of different MDPs apart. */
  readonly fingerprint: number;
}

class ParseError extends Error {}

/** Validates parsed JSON into shared tables. Throws a one-line error naming source and path. */
export function readExplicitMdp(json: unknown, source = 'explicit MDP'): ExplicitMdpTables {
  try {
    return readTables(json);
  } catch (error) {
    if (error instanceof ParseError) throw new Error(`${source}: ${error.message}`);
    throw error;
  }
}

/** Validates parsed JSON and builds a replica whose dynamics are seeded by `seed` (the run seed). */
export function parseExplicitMdp(json: unknown, seed: number, source = 'explicit MDP'): ExplicitMdp {
  return new ExplicitMdp(readExplicitMdp(json, source), seed);
}

/** Validates once; every call of the result is a fresh replica sharing the tables. */
export function explicitMdpFactory(json: unknown, seed: number, source = 'explicit MDP'): () => ExplicitMdp {
  const tables = readExplicitMdp(json, source);
  return () => new ExplicitMdp(tables, seed);
}

// ---- validation ----

function describe(value: unknown): string {
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return String(value);
}

function fail(path: string, message: string): never {
  throw new ParseError(`${path}: ${message}`);
}

function integerIn(value: unknown, path: string, min: number, maxExclusive: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value >= maxExclusive) {
    const range = maxExclusive === Infinity ? `>= ${min}` : `in [${min}, ${maxExclusive})`;
    fail(path, `expected an integer ${range}, got ${describe(value)}`);
  }
  return value;
}

function arrayOf(value: unknown, path: string, length: number, what: string): unknown[] {
  if (!Array.isArray(value)) fail(path, `expected an array of ${length} ${what}, got ${describe(value)}`);
  if (value.length !== length) fail(path, `expected ${length} ${what}, got ${value.length}`);
  return value;
}

function finite(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(path, `expected a finite number, got ${describe(value)}`);
  return value;
}

function rounded(x: number): number {
  return Number(x.toPrecision(12));
}

/**
 * A feature table nested `levels` deep (the last level holding the K numbers), K taken from the
 * first vector; `lengths(path depth, indices)` gives the expected length of each outer level.
 */
function readFeatures(
  value: unknown,
  name: string,
  outerLengths: readonly ((indices: readonly number[]) => number)[],
  outerWhat: readonly string[],
): { data: number[]; size: number; leaves: number } {
  const data: number[] = [];
  let size = -1;
  let leaves = 0;
  const walk = (node: unknown, path: string, depth: number, indices: number[]): void => {
    if (depth === outerLengths.length) {
      if (!Array.isArray(node) || node.length === 0) {
        fail(path, `expected a non-empty array of feature values, got ${describe(node)}`);
      }
      if (size === -1) size = node.length;
      else if (node.length !== size) fail(path, `expected ${size} feature values (as in the first vector), got ${node.length}`);
      for (let k = 0; k < node.length; k++) data.push(finite(node[k], `${path}[${k}]`));
      leaves++;
      return;
    }
    const items = arrayOf(node, path, outerLengths[depth](indices), outerWhat[depth]);
    for (let index = 0; index < items.length; index++) {
      indices.push(index);
      walk(items[index], `${path}[${index}]`, depth + 1, indices);
      indices.pop();
    }
  };
  walk(value, name, 0, []);
  return { data, size, leaves };
}

function readTables(json: unknown): ExplicitMdpTables {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ParseError(`expected a JSON object, got ${describe(json)}`);
  }
  const record = json as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!(FIELDS as readonly string[]).includes(key)) fail(key, `unknown field (allowed: ${FIELDS.join(', ')})`);
  }
  for (const key of ['kind', 'agents', 'states', 'actions', 'transitions', 'rewards', 'rewardNoise', 'initialState']) {
    if (!(key in record)) fail(key, 'missing field');
  }
  if (record.kind !== 'explicit-mdp') fail('kind', `expected "explicit-mdp", got ${describe(record.kind)}`);
  let description: string | null = null;
  if (record.description !== undefined) {
    if (typeof record.description !== 'string') fail('description', `expected a string, got ${describe(record.description)}`);
    description = record.description;
  }
  const N = integerIn(record.agents, 'agents', 1, Infinity);
  const S = integerIn(record.states, 'states', 1, Infinity);
  const actionItems = arrayOf(record.actions, 'actions', N, 'action counts (one per agent)');
  const actions = actionItems.map((n, i) => integerIn(n, `actions[${i}]`, 1, Infinity));
  const A = jointActionCountOf(actions);
  if (A > 2 ** 31) fail('actions', `${A} joint actions: too many to write out (at most 2^31)`);
  const maxActions = Math.max(...actions);

  const transitions = new Float64Array(S * A * S);
  const rows = arrayOf(record.transitions, 'transitions', S, 'states');
  for (let s = 0; s < S; s++) {
    const perAction = arrayOf(rows[s], `transitions[${s}]`, A, 'joint actions');
    for (let a = 0; a < A; a++) {
      const path = `transitions[${s}][${a}]`;
      const row = arrayOf(perAction[a], path, S, 'next-state probabilities');
      let sum = 0;
      for (let next = 0; next < S; next++) {
        const p = finite(row[next], `${path}[${next}]`);
        if (p < 0) fail(`${path}[${next}]`, `negative probability ${p}`);
        transitions[(s * A + a) * S + next] = p;
        sum += p;
      }
      if (Math.abs(sum - 1) > ROW_SUM_TOLERANCE) {
        fail(path, `row sums to ${rounded(sum)}, expected 1 (±${ROW_SUM_TOLERANCE})`);
      }
    }
  }

  const rewards = new Float64Array(S * A * N);
  const rewardRows = arrayOf(record.rewards, 'rewards', S, 'states');
  for (let s = 0; s < S; s++) {
    const perAction = arrayOf(rewardRows[s], `rewards[${s}]`, A, 'joint actions');
    for (let a = 0; a < A; a++) {
      const perAgent = arrayOf(perAction[a], `rewards[${s}][${a}]`, N, 'rewards (one per agent)');
      for (let i = 0; i < N; i++) rewards[(s * A + a) * N + i] = finite(perAgent[i], `rewards[${s}][${a}][${i}]`);
    }
  }

  const rewardNoise = finite(record.rewardNoise, 'rewardNoise');
  if (rewardNoise < 0) fail('rewardNoise', `expected a number >= 0, got ${rewardNoise}`);
  const initialState = integerIn(record.initialState, 'initialState', 0, S);

  let criticFeatures: Float32Array | null = null;
  let criticFeatureSize = S * A;
  if (record.criticFeatures !== undefined) {
    const f = readFeatures(record.criticFeatures, 'criticFeatures', [() => S, () => A], ['states', 'joint actions']);
    criticFeatures = Float32Array.from(f.data);
    criticFeatureSize = f.size;
  }
  let stateFeatures: Float32Array | null = null;
  let stateFeatureSize = S;
  if (record.stateFeatures !== undefined) {
    const f = readFeatures(record.stateFeatures, 'stateFeatures', [() => S], ['states']);
    stateFeatures = Float32Array.from(f.data);
    stateFeatureSize = f.size;
  }
  let actorFeatures: Float32Array | null = null;
  let actorFeatureSize = S * maxActions;
  if (record.actorFeatures !== undefined) {
    const f = readFeatures(
      record.actorFeatures,
      'actorFeatures',
      [() => S, () => N, (indices) => actions[indices[1]]],
      ['states', 'agents', 'actions of this agent'],
    );
    // Re-pack to a fixed stride of maxActions per (s, i) so lookups are O(1).
    const K = f.size;
    actorFeatures = new Float32Array(S * N * maxActions * K);
    let cursor = 0;
    for (let s = 0; s < S; s++) {
      for (let i = 0; i < N; i++) {
        for (let b = 0; b < actions[i]; b++) {
          const offset = ((s * N + i) * maxActions + b) * K;
          for (let k = 0; k < K; k++) actorFeatures[offset + k] = f.data[cursor++];
        }
      }
    }
    actorFeatureSize = K;
  }

  let h = mixKey(mixKey(mixKey(0x45584d44, N), S), initialState);
  for (const n of actions) h = mixKey(h, n);
  for (const table of [transitions, rewards, new Float64Array([rewardNoise])]) {
    const words = new Int32Array(table.buffer, table.byteOffset, table.length * 2);
    for (let k = 0; k < words.length; k++) h = mixKey(h, words[k]);
  }
  for (const table of [criticFeatures, stateFeatures, actorFeatures]) {
    if (table === null) {
      h = mixKey(h, -1);
      continue;
    }
    const words = new Int32Array(table.buffer, table.byteOffset, table.length);
    for (let k = 0; k < words.length; k++) h = mixKey(h, words[k]);
  }

  return {
    description,
    agents: N,
    states: S,
    actions: Object.freeze(actions),
    jointActions: A,
    transitions,
    rewards,
    rewardNoise,
    initialState,
    criticFeatures,
    criticFeatureSize,
    stateFeatures,
    stateFeatureSize,
    actorFeatures,
    actorFeatureSize,
    fingerprint: finalizeHash(h),
  };
}

// ---- the environment ----

export class ExplicitMdp implements FiniteMdp {
  readonly kind = 'explicit-mdp';
  readonly agentCount: number;
  readonly actionCounts: readonly number[];
  readonly stateCount: number;
  readonly jointActionCount: number;
  readonly criticFeatureSize: number;
  readonly stateFeatureSize: number;
  readonly actorFeatureSize: number;
  readonly description: string | null;
  readonly tables: ExplicitMdpTables;

  private readonly sampleSeed: number;
  private readonly hashSeed: number;
  private readonly maxActions: number;
  private state: number;
  private currentTime = 0;
  private hasLast = false;
  private lastState = 0;
  private lastJoint = 0;
  private lastTime = 0;

  constructor(tables: ExplicitMdpTables, seed: number) {
    if (!Number.isSafeInteger(seed)) throw new Error(`explicit MDP: seed must be a safe integer, got ${seed}`);
    this.tables = tables;
    this.agentCount = tables.agents;
    this.actionCounts = tables.actions;
    this.stateCount = tables.states;
    this.jointActionCount = tables.jointActions;
    this.criticFeatureSize = tables.criticFeatureSize;
    this.stateFeatureSize = tables.stateFeatureSize;
    this.actorFeatureSize = tables.actorFeatureSize;
    this.description = tables.description;
    this.maxActions = Math.max(...tables.actions);
    this.sampleSeed = streamSeed(seed, StreamName.environment) | 0;
    this.hashSeed = hashKeys(this.sampleSeed, tables.fingerprint, Purpose.stateHash) | 0;
    this.state = tables.initialState;
  }

  get time(): number {
    return this.currentTime;
  }

  reset(): void {
    this.state = this.tables.initialState;
    this.currentTime = 0;
    this.hasLast = false;
  }

  observe(): number {
    return this.state;
  }

  step(joint: JointAction): void {
    const a = encodeJointAction(joint, this.actionCounts);
    const S = this.stateCount;
    const t = this.currentTime;
    const u = hashKeys(this.sampleSeed, Purpose.step, t | 0, Math.floor(t / TWO_POW_32)) / TWO_POW_32;
    const P = this.tables.transitions;
    const base = (this.state * this.jointActionCount + a) * S;
    // Inverse CDF; rounding can leave u above the last cumulative sum, so fall back to the last
    // next state with positive probability.
    let next = -1;
    let cumulative = 0;
    for (let k = 0; k < S; k++) {
      const p = P[base + k];
      if (p <= 0) continue;
      next = k;
      cumulative += p;
      if (u < cumulative) break;
    }
    this.lastState = this.state;
    this.lastJoint = a;
    this.lastTime = t;
    this.hasLast = true;
    this.state = next;
    this.currentTime = t + 1;
  }

  reward(agent: number): number {
    if (!this.hasLast) throw new Error('explicit MDP: reward() before the first step');
    this.checkAgent(agent);
    const t = this.lastTime;
    const u = hashKeys(this.sampleSeed, Purpose.noise, t | 0, Math.floor(t / TWO_POW_32), agent) / TWO_POW_32;
    const mean = this.tables.rewards[(this.lastState * this.jointActionCount + this.lastJoint) * this.agentCount + agent];
    return mean + this.tables.rewardNoise * (2 * u - 1);
  }

  criticFeatures(state: number, joint: JointAction, out: Float32Array): void {
    this.checkState(state);
    const a = encodeJointAction(joint, this.actionCounts);
    const table = this.tables.criticFeatures;
    const size = this.criticFeatureSize;
    if (table === null) {
      out.fill(0, 0, size);
      out[state * this.jointActionCount + a] = 1;
      return;
    }
    const offset = (state * this.jointActionCount + a) * size;
    for (let k = 0; k < size; k++) out[k] = table[offset + k];
  }

  stateFeatures(state: number, out: Float32Array): void {
    this.checkState(state);
    const table = this.tables.stateFeatures;
    const size = this.stateFeatureSize;
    if (table === null) {
      out.fill(0, 0, size);
      out[state] = 1;
      return;
    }
    for (let k = 0; k < size; k++) out[k] = table[state * size + k];
  }

  actorFeatures(state: number, agent: number, action: number, out: Float32Array): void {
    this.checkState(state);
    this.checkAgent(agent);
    if ((action >>> 0) !== action || action >= this.actionCounts[agent]) {
      throw new Error(`explicit MDP: agent ${agent} has no action ${action} (it has ${this.actionCounts[agent]})`);
    }
    const table = this.tables.actorFeatures;
    const size = this.actorFeatureSize;
    if (table === null) {
      out.fill(0, 0, size);
      out[state * this.maxActions + action] = 1;
      return;
    }
    const offset = ((state * this.agentCount + agent) * this.maxActions + action) * size;
    for (let k = 0; k < size; k++) out[k] = table[offset + k];
  }

  transitionRow(state: number, jointIndex: number, out: Float64Array): void {
    this.checkState(state);
    this.checkJointIndex(jointIndex);
    const S = this.stateCount;
    const base = (state * this.jointActionCount + jointIndex) * S;
    for (let k = 0; k < S; k++) out[k] = this.tables.transitions[base + k];
  }

  meanReward(state: number, jointIndex: number, agent: number): number {
    this.checkState(state);
    this.checkJointIndex(jointIndex);
    this.checkAgent(agent);
    return this.tables.rewards[(state * this.jointActionCount + jointIndex) * this.agentCount + agent];
  }

  /** R^i(s, a) for every agent i into out (length N). */
  meanRewards(state: number, jointIndex: number, out: Float64Array): void {
    this.checkState(state);
    this.checkJointIndex(jointIndex);
    const N = this.agentCount;
    const base = (state * this.jointActionCount + jointIndex) * N;
    for (let i = 0; i < N; i++) out[i] = this.tables.rewards[base + i];
  }

  /** The joint action of an index (agent 0 least significant). */
  decodeJoint(jointIndex: number, out: JointAction = new Int32Array(this.agentCount)): JointAction {
    assertIndexable(this.jointActionCount, 'explicit MDP');
    return decodeJointIndex(jointIndex, this.actionCounts, out);
  }

  stateHash(): number {
    const t = this.currentTime;
    return hashKeys(this.hashSeed, t | 0, Math.floor(t / TWO_POW_32), this.state);
  }

  save(): EnvironmentSnapshot {
    return {
      kind: this.kind,
      fingerprint: this.tables.fingerprint,
      state: this.state,
      time: this.currentTime,
      last: this.hasLast ? { state: this.lastState, joint: this.lastJoint } : null,
    };
  }

  restore(snapshot: EnvironmentSnapshot): void {
    const what = 'explicit MDP restore';
    if (snapshot.kind !== this.kind) throw new Error(`${what}: snapshot is of kind '${snapshot.kind}', expected '${this.kind}'`);
    if (snapshot.fingerprint !== this.tables.fingerprint) {
      throw new Error(`${what}: snapshot is of a different MDP (its tables differ from this one's)`);
    }
    const { state, time, last } = snapshot;
    const inRange = (v: unknown, n: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < n;
    if (!inRange(state, this.stateCount)) throw new Error(`${what}: state ${JSON.stringify(state)} is not in [0, ${this.stateCount})`);
    if (typeof time !== 'number' || !Number.isSafeInteger(time) || time < 0) {
      throw new Error(`${what}: time ${JSON.stringify(time)} is not a non-negative integer`);
    }
    let hasLast = false;
    let lastState = 0;
    let lastJoint = 0;
    if (last !== null) {
      const l = last as { state?: unknown; joint?: unknown } | undefined;
      if (typeof l !== 'object' || !inRange(l.state, this.stateCount) || !inRange(l.joint, this.jointActionCount) || time < 1) {
        throw new Error(`${what}: 'last' must be null or {state, joint} in range, with time >= 1`);
      }
      hasLast = true;
      lastState = l.state;
      lastJoint = l.joint;
    }
    this.state = state;
    this.currentTime = time;
    this.hasLast = hasLast;
    this.lastState = lastState;
    this.lastJoint = lastJoint;
    this.lastTime = time - 1;
  }

  private checkState(state: number): void {
    if ((state >>> 0) !== state || state >= this.stateCount) {
      throw new Error(`explicit MDP: state ${state} is not an integer in [0, ${this.stateCount})`);
    }
  }

  private checkAgent(agent: number): void {
    if ((agent >>> 0) !== agent || agent >= this.agentCount) {
      throw new Error(`explicit MDP: agent ${agent} is not an integer in [0, ${this.agentCount})`);
    }
  }

  private checkJointIndex(index: number): void {
    if ((index >>> 0) !== index || index >= this.jointActionCount) {
      throw new Error(`explicit MDP: joint index ${index} is not an integer in [0, ${this.jointActionCount})`);
    }
  }
}
