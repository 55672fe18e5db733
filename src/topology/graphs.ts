/**
 * Undirected communication graphs on agents 0..N-1 and the graph families netac offers
 * (ring, line, star, complete, grid, empty, explicit edge list, random with a connectivity
 * ratio). Pure: no I/O, no clocks; random graphs draw only from the counter-based hash in
 * core/hash.ts, so the graph of an epoch is a pure function of (graph seed, epoch) and every
 * agent computes the same G_t without talking (shared/DESIGN.md, "Time-varying graphs are
 * computed, not negotiated").
 */
import { uniformAt } from '../core/hash.js';
import type { Graph } from './types.js';

/** An undirected edge as a pair of agent ids. */
export type Edge = readonly [number, number];

const TWO_POW_32 = 4294967296;

function checkAgentCount(agentCount: number, context: string): void {
  if (!Number.isInteger(agentCount) || agentCount < 0) {
    throw new Error(`${context}: agent count must be a non-negative integer, got ${agentCount}`);
  }
}

/**
 * An immutable undirected graph: per agent, a sorted array of its neighbours (no duplicates, no
 * self loops).
 *
 * Representation choices are driven by the simulator's hot loop, where a random topology builds a
 * graph every step: rows are plain packed number[] (Graph.neighbours hands them out as they are,
 * and a small typed array costs ~0.4 µs to allocate in V8, more than building the whole row), the
 * edge list is assembled in reused scratch buffers, and immutability is by contract (readonly
 * types) rather than Object.freeze, which would slow every later read.
 */
export class StaticGraph implements Graph {
  readonly agentCount: number;
  readonly edgeCount: number;
  /** Largest degree over all agents (0 for an empty graph). */
  readonly maxDegree: number;
  private readonly rows: readonly (readonly number[])[];
  /**
   * Slot owned by consensus.ts: the consensus rows computed for this graph. Kept on the graph
   * rather than in a WeakMap because random topologies make a graph per step and WeakMap entries
   * are expensive for the garbage collector. Not part of the Graph contract.
   */
  consensusRowCache: unknown = undefined;

  private constructor(agentCount: number, rows: readonly (readonly number[])[]) {
    this.agentCount = agentCount;
    this.rows = rows;
    let endpointCount = 0;
    let maxDegree = 0;
    for (let agent = 0; agent < agentCount; agent++) {
      const degree = rows[agent].length;
      endpointCount += degree;
      if (degree > maxDegree) maxDegree = degree;
    }
    this.edgeCount = endpointCount / 2;
    this.maxDegree = maxDegree;
  }

  /**
   * The graph on `agentCount` agents with the given undirected edges. Duplicate edges (in either
   * orientation) are merged; self loops and ids outside 0..N-1 are errors.
   */
  static fromEdges(agentCount: number, edges: Iterable<Edge>): StaticGraph {
    checkAgentCount(agentCount, 'graph');
    const endpoints: number[] = [];
    let index = 0;
    for (const edge of edges) {
      const [a, b] = edge;
      for (const end of [a, b]) {
        if (!Number.isInteger(end) || end < 0 || end >= agentCount) {
          throw new Error(`graph edge ${index} [${a}, ${b}]: agent id ${end} is not an integer in 0..${agentCount - 1}`);
        }
      }
      if (a === b) throw new Error(`graph edge ${index} [${a}, ${b}]: self loops are not allowed`);
      endpoints.push(a, b);
      index++;
    }
    return StaticGraph.fromEndpoints(agentCount, endpoints, index);
  }

  /**
   * Fast path for the generators in this module, which produce valid edges: `endpoints` holds
   * [a0, b0, a1, b1, ...] for `edgeCount` edges with ids in range and no self loops (not
   * checked). Duplicate edges are still merged.
   */
  static fromEndpoints(agentCount: number, endpoints: ArrayLike<number>, edgeCount: number): StaticGraph {
    // Counting sort of the 2|E| directed endpoints into rows, in scratch buffers.
    if (scratchRowStart.length < agentCount + 1) scratchRowStart = new Int32Array(2 * (agentCount + 1));
    if (scratchAdjacency.length < 2 * edgeCount) scratchAdjacency = new Int32Array(4 * edgeCount);
    const rowStart = scratchRowStart;
    const adjacency = scratchAdjacency;
    rowStart.fill(0, 0, agentCount + 1);
    for (let e = 0; e < 2 * edgeCount; e++) rowStart[endpoints[e] + 1]++;
    for (let agent = 0; agent < agentCount; agent++) rowStart[agent + 1] += rowStart[agent];
    // rowStart[a] is used as agent a's write cursor, ending at the start of row a + 1.
    for (let e = 0; e < edgeCount; e++) {
      const a = endpoints[2 * e];
      const b = endpoints[2 * e + 1];
      adjacency[rowStart[a]++] = b;
      adjacency[rowStart[b]++] = a;
    }
    const rows: number[][] = [];
    let rowBegin = 0;
    for (let agent = 0; agent < agentCount; agent++) {
      const rowEnd = rowStart[agent];
      sortRange(adjacency, rowBegin, rowEnd);
      const row: number[] = [];
      let previous = -1;
      for (let read = rowBegin; read < rowEnd; read++) {
        const neighbour = adjacency[read];
        if (neighbour !== previous) row.push(neighbour);
        previous = neighbour;
      }
      rows.push(row);
      rowBegin = rowEnd;
    }
    return new StaticGraph(agentCount, rows);
  }

  private checkAgent(agent: number): void {
    if (!(agent >= 0 && agent < this.agentCount && Number.isInteger(agent))) {
      throw new RangeError(`agent ${agent} is not in 0..${this.agentCount - 1}`);
    }
  }

  neighbours(agent: number): readonly number[] {
    const row = this.rows[agent];
    if (row === undefined) this.checkAgent(agent);
    return row;
  }

  degree(agent: number): number {
    return this.neighbours(agent).length;
  }

  hasEdge(a: number, b: number): boolean {
    let row = this.neighbours(a);
    let target = b;
    const other = this.neighbours(b);
    // Binary search in the shorter sorted row.
    if (other.length < row.length) {
      row = other;
      target = a;
    }
    let low = 0;
    let high = row.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const value = row[middle];
      if (value === target) return true;
      if (value < target) low = middle + 1;
      else high = middle - 1;
    }
    return false;
  }

  /** All edges as [a, b] with a < b, in lexicographic order. */
  edges(): Edge[] {
    const result: Edge[] = [];
    for (let a = 0; a < this.agentCount; a++) {
      for (const b of this.rows[a]) if (b > a) result.push([a, b]);
    }
    return result;
  }

  /** The connectivity ratio 2|E| / (N(N−1)) (0 when N < 2). */
  get connectivityRatio(): number {
    const n = this.agentCount;
    return n < 2 ? 0 : (2 * this.edgeCount) / (n * (n - 1));
  }
}

/**
 * Scratch buffers for fromEndpoints, reused across calls: allocating small typed arrays costs
 * more than building a graph. Safe because graph construction is synchronous and not re-entrant.
 */
let scratchRowStart = new Int32Array(64);
let scratchAdjacency = new Int32Array(256);

/** Ascending sort of values[begin, end): insertion sort for short rows, the engine's otherwise. */
function sortRange(values: Int32Array, begin: number, end: number): void {
  if (end - begin > 32) {
    values.subarray(begin, end).sort();
    return;
  }
  for (let i = begin + 1; i < end; i++) {
    const value = values[i];
    let j = i - 1;
    while (j >= begin && values[j] > value) {
      values[j + 1] = values[j];
      j--;
    }
    values[j + 1] = value;
  }
}

// ---------------------------------------------------------------------------------------------
// Deterministic families

/** No edges: independent learners (ALGORITHMS.md, "Baselines"). */
export function emptyGraph(agentCount: number): StaticGraph {
  checkAgentCount(agentCount, 'empty graph');
  return StaticGraph.fromEndpoints(agentCount, [], 0);
}

/** Path 0 — 1 — … — N−1. */
export function lineGraph(agentCount: number): StaticGraph {
  checkAgentCount(agentCount, 'line graph');
  const endpoints: number[] = [];
  for (let agent = 0; agent + 1 < agentCount; agent++) endpoints.push(agent, agent + 1);
  return StaticGraph.fromEndpoints(agentCount, endpoints, endpoints.length / 2);
}

/** Cycle 0 — 1 — … — N−1 — 0 for N ≥ 3; for N = 2 the single edge 0 — 1; for N ≤ 1 no edges. */
export function ringGraph(agentCount: number): StaticGraph {
  checkAgentCount(agentCount, 'ring graph');
  if (agentCount < 3) return lineGraph(agentCount);
  const endpoints: number[] = [];
  for (let agent = 0; agent < agentCount; agent++) endpoints.push(agent, (agent + 1) % agentCount);
  return StaticGraph.fromEndpoints(agentCount, endpoints, agentCount);
}

/** Star with centre agent 0 joined to every other agent. */
export function starGraph(agentCount: number): StaticGraph {
  checkAgentCount(agentCount, 'star graph');
  const endpoints: number[] = [];
  for (let agent = 1; agent < agentCount; agent++) endpoints.push(0, agent);
  return StaticGraph.fromEndpoints(agentCount, endpoints, endpoints.length / 2);
}

/** Every pair of agents joined: N(N−1)/2 edges. */
export function completeGraph(agentCount: number): StaticGraph {
  checkAgentCount(agentCount, 'complete graph');
  const endpoints: number[] = [];
  for (let a = 0; a < agentCount; a++) for (let b = a + 1; b < agentCount; b++) endpoints.push(a, b);
  return StaticGraph.fromEndpoints(agentCount, endpoints, endpoints.length / 2);
}

/**
 * The most square factorisation rows × columns = N with rows ≤ columns (rows is the largest
 * divisor of N not above √N). A prime N gives 1 × N, i.e. a line.
 */
export function squarestGridShape(agentCount: number): { rows: number; columns: number } {
  checkAgentCount(agentCount, 'grid graph');
  if (agentCount === 0) return { rows: 0, columns: 0 };
  let rows = Math.floor(Math.sqrt(agentCount));
  while (agentCount % rows !== 0) rows--;
  return { rows, columns: agentCount / rows };
}

/**
 * 4-neighbour lattice (no wrap-around) with rows × columns = N; agent id = row · columns + column.
 * Give rows, columns, both, or neither (then the most square factorisation is used).
 */
export function gridGraph(agentCount: number, shape: { rows?: number; columns?: number } = {}): StaticGraph {
  checkAgentCount(agentCount, 'grid graph');
  let { rows, columns } = shape;
  for (const [field, value] of [
    ['rows', rows],
    ['columns', columns],
  ] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
      throw new Error(`grid graph: ${field} must be a positive integer, got ${value}`);
    }
  }
  if (rows === undefined && columns === undefined) ({ rows, columns } = squarestGridShape(agentCount));
  else if (rows === undefined) rows = agentCount / columns!;
  else if (columns === undefined) columns = agentCount / rows;
  if (!Number.isInteger(rows) || !Number.isInteger(columns) || rows! * columns! !== agentCount) {
    throw new Error(
      `grid graph: rows × columns must equal the agent count ${agentCount} (rows ${shape.rows ?? '?'}, columns ${shape.columns ?? '?'})`,
    );
  }
  const rowCount = rows!;
  const columnCount = columns!;
  const endpoints: number[] = [];
  for (let row = 0; row < rowCount; row++) {
    for (let column = 0; column < columnCount; column++) {
      const id = row * columnCount + column;
      if (column + 1 < columnCount) endpoints.push(id, id + 1);
      if (row + 1 < rowCount) endpoints.push(id, id + columnCount);
    }
  }
  return StaticGraph.fromEndpoints(agentCount, endpoints, endpoints.length / 2);
}

/** Graph from an explicit edge list (validated; duplicates merged). */
export function explicitGraph(agentCount: number, edges: Iterable<Edge>): StaticGraph {
  return StaticGraph.fromEdges(agentCount, edges);
}

// ---------------------------------------------------------------------------------------------
// Connectivity helpers

/** Component label of every agent (labels 0, 1, … in order of each component's smallest id). */
export function connectedComponents(graph: Graph): Int32Array {
  const n = graph.agentCount;
  const label = new Int32Array(n).fill(-1);
  const stack = new Int32Array(n);
  let next = 0;
  for (let start = 0; start < n; start++) {
    if (label[start] !== -1) continue;
    let top = 0;
    stack[top++] = start;
    label[start] = next;
    while (top > 0) {
      const agent = stack[--top];
      for (const neighbour of graph.neighbours(agent)) {
        if (label[neighbour] === -1) {
          label[neighbour] = next;
          stack[top++] = neighbour;
        }
      }
    }
    next++;
  }
  return label;
}

/** True when every agent can reach every other (a graph with N ≤ 1 is connected). */
export function isConnected(graph: Graph): boolean {
  const labels = connectedComponents(graph);
  for (let agent = 0; agent < labels.length; agent++) if (labels[agent] !== 0) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Random graphs

/** Number of unordered pairs N(N−1)/2. */
export function pairCount(agentCount: number): number {
  return (agentCount * (agentCount - 1)) / 2;
}

/**
 * Number of edges a random graph with connectivity ratio ρ = 2|E|/(N(N−1)) gets:
 * m = round(ρ · N(N−1)/2), raised to N−1 when `connected` (a spanning tree needs N−1 edges).
 * For the paper's ρ = 4/N this is m = 2(N−1), e.g. 38 for N = 20.
 */
export function randomEdgeCount(agentCount: number, ratio: number, connected: boolean): number {
  checkAgentCount(agentCount, 'random graph');
  if (!(ratio > 0 && ratio <= 1)) throw new Error(`random graph: ratio must be in (0, 1], got ${ratio}`);
  const pairs = pairCount(agentCount);
  const requested = Math.min(pairs, Math.round(ratio * pairs));
  return connected && agentCount > 1 ? Math.max(requested, agentCount - 1) : requested;
}

/**
 * Largest agent count a random graph supports: pair keys a·N + b must fit in an int32. (At that
 * size one graph already has ~10^9 candidate pairs; no netac run comes near it.)
 */
export const MAX_RANDOM_GRAPH_AGENTS = 46340;

/**
 * A set of unordered pairs, each stored as the int32 key a·N + b (a < b), with open addressing and
 * linear probing. Reused across epochs so sampling a graph allocates almost nothing.
 */
class PairSet {
  private keys = new Int32Array(64).fill(-1);
  private mask = 63;

  /** Empties the set and makes room for `expected` members at load ≤ 1/2. */
  reset(expected: number): void {
    let capacity = this.keys.length;
    while (capacity < 2 * expected) capacity *= 2;
    if (capacity !== this.keys.length) {
      this.keys = new Int32Array(capacity);
      this.mask = capacity - 1;
    }
    this.keys.fill(-1);
  }

  /** Probe start: multiplicative (Fibonacci) hashing of the key. */
  private slot(key: number): number {
    const h = Math.imul(key, 0x9e3779b1);
    return (h ^ (h >>> 16)) & this.mask;
  }

  has(key: number): boolean {
    for (let s = this.slot(key); ; s = (s + 1) & this.mask) {
      const stored = this.keys[s];
      if (stored === key) return true;
      if (stored === -1) return false;
    }
  }

  /** Adds `key`; false when it was already present. */
  add(key: number): boolean {
    for (let s = this.slot(key); ; s = (s + 1) & this.mask) {
      const stored = this.keys[s];
      if (stored === key) return false;
      if (stored === -1) {
        this.keys[s] = key;
        return true;
      }
    }
  }
}

export interface RandomGraphOptions {
  readonly agentCount: number;
  /** Connectivity ratio ρ = 2|E|/(N(N−1)) in (0, 1]; the paper uses 4/N. */
  readonly ratio: number;
  /** First build a uniformly random spanning tree, then add random edges up to m. */
  readonly connected?: boolean;
  /** 32-bit seed of the graph stream (see topology.ts: streamSeed(runSeed, 'graph')). */
  readonly graphSeed: number;
}

/**
 * Draws random graphs with exactly m = round(ρ · N(N−1)/2) edges (see randomEdgeCount) as a pure
 * function of (graph seed, epoch). Holds scratch buffers so that drawing a new graph every
 * simulator step allocates only the graph itself.
 *
 * - `connected: false`: the m edges are a uniformly random m-subset of all N(N−1)/2 pairs
 *   (the Erdős–Rényi G(N, m) model), so the graph may be disconnected.
 * - `connected: true`: a uniformly random labelled spanning tree (a uniform Prüfer sequence;
 *   Cayley's bijection) plus m − (N−1) extra edges drawn uniformly from the remaining pairs.
 *   m is raised to N−1 if the ratio asks for fewer edges than a tree has. The result is always
 *   connected but is not exactly uniform over connected graphs with m edges: a graph is drawn
 *   with probability proportional to its number of spanning trees. Consensus only needs
 *   connectivity, so this bias is harmless; it is documented so nobody relies on uniformity.
 *
 * Every random number is uniformAt(graphSeed, epoch low word, epoch high word, counter) with a
 * counter that runs over the draws of that epoch: no stream state survives between epochs.
 */
export class RandomGraphSampler {
  readonly agentCount: number;
  readonly ratio: number;
  readonly connected: boolean;
  readonly graphSeed: number;
  /** Edges every sampled graph has. */
  readonly edgeCount: number;
  private readonly chosen = new PairSet();
  private readonly endpoints: Int32Array;
  private readonly prufer: Int32Array;
  private readonly treeDegree: Int32Array;
  // Per-draw state (valid during one sample call).
  private epochLow = 0;
  private epochHigh = 0;
  private counter = 0;
  /** The pair drawn by the last drawPair call (smaller id first). */
  private pairLow = 0;
  private pairHigh = 0;

  constructor(options: RandomGraphOptions) {
    const { agentCount, ratio, connected = false, graphSeed } = options;
    this.agentCount = agentCount;
    this.ratio = ratio;
    this.connected = connected;
    if (!Number.isInteger(graphSeed)) throw new Error(`random graph: graphSeed must be an integer, got ${graphSeed}`);
    this.graphSeed = graphSeed | 0;
    if (agentCount > MAX_RANDOM_GRAPH_AGENTS) {
      throw new Error(`random graph: at most ${MAX_RANDOM_GRAPH_AGENTS} agents are supported, got ${agentCount}`);
    }
    this.edgeCount = randomEdgeCount(agentCount, ratio, connected);
    this.endpoints = new Int32Array(2 * this.edgeCount);
    this.prufer = new Int32Array(Math.max(0, agentCount - 2));
    this.treeDegree = new Int32Array(agentCount);
  }

  /** Uniform integer in [0, n) from the next counter value (bias ≤ n / 2^32, negligible here). */
  private nextInt(n: number): number {
    return Math.floor(uniformAt(this.graphSeed, this.epochLow, this.epochHigh, this.counter++) * n);
  }

  /** The graph of `epoch` (a non-negative integer). */
  sample(epoch: number): StaticGraph {
    if (!Number.isSafeInteger(epoch) || epoch < 0) {
      throw new Error(`random graph: epoch must be a non-negative integer, got ${epoch}`);
    }
    this.epochLow = epoch % TWO_POW_32 | 0;
    this.epochHigh = Math.floor(epoch / TWO_POW_32) | 0;
    this.counter = 0;
    const n = this.agentCount;
    const m = this.edgeCount;
    const pairs = pairCount(n);
    let written = 0;
    const chosen = this.chosen;

    let treeEdges = 0;
    if (this.connected && n > 1) {
      written = this.uniformSpanningTree();
      treeEdges = n - 1;
    }
    const extra = m - treeEdges;
    const free = pairs - treeEdges;
    if (extra <= free / 2) {
      // Rejection-sample `extra` distinct pairs outside the tree: a uniformly random subset.
      // Expected draws ≤ 2·extra because at most half of the free pairs are ever taken.
      chosen.reset(treeEdges + extra);
      for (let e = 0; e < treeEdges; e++) chosen.add(this.endpoints[2 * e] * n + this.endpoints[2 * e + 1]);
      for (let added = 0; added < extra; ) {
        if (chosen.add(this.drawPair(n))) {
          this.endpoints[written++] = this.pairLow;
          this.endpoints[written++] = this.pairHigh;
          added++;
        }
      }
    } else {
      // Dense: rejection-sample the free − extra pairs to leave out (again a uniform subset, and
      // its complement is a uniform `extra`-subset), then take every other free pair.
      const omitted = free - extra;
      chosen.reset(treeEdges + omitted);
      for (let e = 0; e < treeEdges; e++) chosen.add(this.endpoints[2 * e] * n + this.endpoints[2 * e + 1]);
      for (let left = 0; left < omitted; ) if (chosen.add(this.drawPair(n))) left++;
      for (let a = 0; a < n; a++) {
        for (let b = a + 1; b < n; b++) {
          if (!chosen.has(a * n + b)) {
            this.endpoints[written++] = a;
            this.endpoints[written++] = b;
          }
        }
      }
    }
    return StaticGraph.fromEndpoints(n, this.endpoints, m);
  }

  /**
   * Draws a uniformly random unordered pair of distinct agents, stores it in pairLow/pairHigh and
   * returns its key pairLow·N + pairHigh. Two independent uniform ids, redrawn while equal: every
   * unordered pair {a, b} then has probability 2/(N(N−1)).
   */
  private drawPair(n: number): number {
    for (;;) {
      const a = this.nextInt(n);
      const b = this.nextInt(n);
      if (a !== b) {
        this.pairLow = a < b ? a : b;
        this.pairHigh = a < b ? b : a;
        return this.pairLow * n + this.pairHigh;
      }
    }
  }

  /**
   * Writes a uniformly random labelled spanning tree into endpoints[0 .. 2(N−1)) as (a < b)
   * pairs: decode a uniform Prüfer sequence in linear time. Returns the number of values written.
   */
  private uniformSpanningTree(): number {
    const n = this.agentCount;
    const code = this.prufer;
    const degree = this.treeDegree;
    degree.fill(1);
    for (let k = 0; k < n - 2; k++) {
      const value = this.nextInt(n);
      code[k] = value;
      degree[value]++;
    }
    const endpoints = this.endpoints;
    let written = 0;
    // The smallest leaf is always attached next; `pointer` scans upward for leaves and a parent
    // that just became a leaf with a smaller id than the pointer is used immediately.
    let pointer = 0;
    while (degree[pointer] !== 1) pointer++;
    let leaf = pointer;
    for (let k = 0; k < n - 2; k++) {
      const parent = code[k];
      endpoints[written++] = leaf < parent ? leaf : parent;
      endpoints[written++] = leaf < parent ? parent : leaf;
      degree[parent]--;
      if (degree[parent] === 1 && parent < pointer) {
        leaf = parent;
      } else {
        pointer++;
        while (degree[pointer] !== 1) pointer++;
        leaf = pointer;
      }
    }
    endpoints[written++] = leaf; // leaf < N − 1: the last remaining pair is (leaf, N − 1)
    endpoints[written++] = n - 1;
    return written;
  }
}

/** One random graph: the graph of `epoch` for the given options (see RandomGraphSampler). */
export function randomGraph(options: RandomGraphOptions & { readonly epoch: number }): StaticGraph {
  return new RandomGraphSampler(options).sample(options.epoch);
}
