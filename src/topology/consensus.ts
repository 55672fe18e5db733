/**
 * Consensus weights c_t(i,j) (shared/ALGORITHMS.md, "Consensus weights") and the consensus step
 * itself (Algorithm 1 step 9, Algorithm 2 step 9): x^i_{t+1} = Σ_j c_t(i,j) x̃^j_t.
 *
 * Every rule yields rows that are non-negative, sum to 1, are zero off the edges of G_t and have a
 * positive diagonal. Rows are computed once per (graph object, rule, agent) and cached with the
 * graph, so the hot loop (every agent, every iteration) costs a map look-up and an array index, and
 * a time-varying topology's old graphs and their rows are collected together.
 *
 * Rows are shared between callers and are immutable by contract (readonly types). They are not
 * Object.freeze'd: with frozen weight arrays mixShares measured several times slower in V8, and it
 * reads the weights once per coordinate.
 */
import { StaticGraph } from './graphs.js';
import type { ConsensusRow, Graph } from './types.js';

/**
 * A consensus rule as a topology file names it:
 * - 'metropolis' (default): c(i,j) = 1/(1 + max(d_i, d_j)), c(i,i) = 1 − Σ_j c(i,j). Symmetric,
 *   hence doubly stochastic on an undirected graph: consensus preserves the average.
 * - 'equal-neighbour': c(i,j) = c(i,i) = 1/(d_i + 1). Row-stochastic only (the average drifts
 *   towards high-degree agents' values unless all degrees are equal).
 * - 'laplacian' (max-degree, C = I − αL): c(i,j) = α, c(i,i) = 1 − α d_i, with α = 1/(1 + d_max)
 *   over the whole graph, or a given α (every diagonal must stay positive: α d_max < 1).
 * - { kind: 'matrix', matrix }: an explicit row-stochastic N×N matrix; the neighbours of row i are
 *   the j ≠ i with c(i,j) > 0, and each of them must be a neighbour of i in the graph.
 */
export type ConsensusRule =
  | 'metropolis'
  | 'equal-neighbour'
  | 'laplacian'
  | { readonly kind: 'laplacian'; readonly alpha: number }
  | { readonly kind: 'matrix'; readonly matrix: readonly (readonly number[])[] }
  /**
   * Robust consensus (beyond the paper): coordinate-wise trimmed mean relative to the own value
   * (W-MSR). Per coordinate, up to `trim` neighbour values above the agent's own and up to `trim`
   * below are dropped (the most extreme ones), and the rest are averaged with the own value,
   * equally weighted. It tolerates up to `trim` neighbours sending arbitrary (hostile) values
   * when every agent has at least 2·trim + 1 neighbours.
   */
  | { readonly kind: 'trimmed-mean'; readonly trim: number };

export const DEFAULT_CONSENSUS_RULE: ConsensusRule = 'metropolis';

/** Tolerance on an explicit matrix's row sums (ALGORITHMS.md: rows sum to 1). */
export const ROW_SUM_TOLERANCE = 1e-9;

type Matrix = readonly (readonly number[])[];
/** Per-graph cache key: the rule name, the α of an explicit Laplacian, or the matrix object. */
type RuleKey = string | number | Matrix;
type RowTable = Map<RuleKey, (ConsensusRow | undefined)[]>;

/**
 * Row tables of graphs that are not StaticGraphs. A StaticGraph carries its table in a field
 * instead: a WeakMap entry per graph made V8's garbage collector (ephemeron tables) the main cost
 * of a random topology redrawn every step.
 */
const foreignGraphRows = new WeakMap<Graph, RowTable>();

function rowTable(graph: Graph): RowTable {
  if (graph instanceof StaticGraph) {
    let table = graph.consensusRowCache as RowTable | undefined;
    if (table === undefined) {
      table = new Map();
      graph.consensusRowCache = table;
    }
    return table;
  }
  let table = foreignGraphRows.get(graph);
  if (table === undefined) {
    table = new Map();
    foreignGraphRows.set(graph, table);
  }
  return table;
}

/** Matrices already validated on their own (shape, signs, row sums, diagonal). */
const validatedMatrices = new WeakSet<Matrix>();

function ruleKey(rule: ConsensusRule): RuleKey {
  if (typeof rule === 'string') return rule;
  // Keyed by value (α) or by the matrix object, never by the rule object: a caller that builds a
  // fresh rule literal per call must not grow the cache without bound.
  if (rule.kind === 'trimmed-mean') return `trimmed-mean/${rule.trim}`;
  return rule.kind === 'laplacian' ? rule.alpha : rule.matrix;
}

/** Row `agent` of the consensus matrix C_t for `graph` (= G_t) under `rule` (default Metropolis). */
export function consensusRow(graph: Graph, agent: number, rule: ConsensusRule = DEFAULT_CONSENSUS_RULE): ConsensusRow {
  const perRule = rowTable(graph);
  const key = ruleKey(rule);
  let rows = perRule.get(key);
  if (rows === undefined) {
    // Whole-graph checks (α against d_max, matrix against the edges) run once per graph and rule.
    checkRuleOnGraph(graph, rule);
    rows = new Array<ConsensusRow | undefined>(graph.agentCount);
    perRule.set(key, rows);
  }
  const cached = rows[agent];
  if (cached !== undefined) return cached;
  if (!(Number.isInteger(agent) && agent >= 0 && agent < graph.agentCount)) {
    throw new RangeError(`consensus row: agent ${agent} is not in 0..${graph.agentCount - 1}`);
  }
  const row = buildRow(graph, agent, rule);
  rows[agent] = row;
  return row;
}

/** All N rows for `graph` under `rule`; also a way to validate a rule against a graph up front. */
export function consensusRows(graph: Graph, rule: ConsensusRule = DEFAULT_CONSENSUS_RULE): readonly ConsensusRow[] {
  const rows: ConsensusRow[] = [];
  for (let agent = 0; agent < graph.agentCount; agent++) rows.push(consensusRow(graph, agent, rule));
  return rows;
}

/** The dense N×N matrix C (for tests, reports and spectral checks; not for the hot loop). */
export function consensusMatrix(graph: Graph, rule: ConsensusRule = DEFAULT_CONSENSUS_RULE): Float64Array[] {
  return consensusRows(graph, rule).map((row) => {
    const dense = new Float64Array(graph.agentCount);
    dense[row.agent] = row.selfWeight;
    row.neighbours.forEach((neighbour, index) => (dense[neighbour] = row.weights[index]));
    return dense;
  });
}

function maxDegree(graph: Graph): number {
  const known = (graph as { maxDegree?: unknown }).maxDegree;
  if (typeof known === 'number') return known;
  let result = 0;
  for (let agent = 0; agent < graph.agentCount; agent++) result = Math.max(result, graph.degree(agent));
  return result;
}

function checkRuleOnGraph(graph: Graph, rule: ConsensusRule): void {
  if (typeof rule === 'string') {
    if (rule !== 'metropolis' && rule !== 'equal-neighbour' && rule !== 'laplacian') {
      throw new Error(`consensus rule: unknown rule '${rule as string}' (expected metropolis, equal-neighbour, laplacian or a matrix)`);
    }
    return;
  }
  if (rule.kind === 'trimmed-mean') {
    if (!(Number.isInteger(rule.trim) && rule.trim >= 1)) throw new Error(`consensus trimmed-mean trim: must be a whole number >= 1, got ${rule.trim}`);
    return;
  }
  if (rule.kind === 'laplacian') {
    const { alpha } = rule;
    if (!(Number.isFinite(alpha) && alpha > 0)) throw new Error(`consensus laplacian alpha: must be a positive number, got ${alpha}`);
    for (let agent = 0; agent < graph.agentCount; agent++) {
      const degree = graph.degree(agent);
      const diagonal = 1 - alpha * degree;
      if (!(diagonal > 0)) {
        throw new Error(
          `consensus laplacian alpha: ${alpha} gives c(${agent},${agent}) = ${diagonal} ≤ 0 for agent ${agent} of degree ${degree}; need alpha < 1/${maxDegree(graph)}`,
        );
      }
    }
    return;
  }
  if (rule.kind === 'matrix') {
    validateMatrix(rule.matrix, graph.agentCount);
    const matrix = rule.matrix;
    for (let i = 0; i < matrix.length; i++) {
      for (let j = 0; j < matrix.length; j++) {
        if (j !== i && matrix[i][j] > 0 && !graph.hasEdge(i, j)) {
          throw new Error(
            `consensus matrix row ${i} column ${j}: weight ${matrix[i][j]} but agents ${i} and ${j} are not neighbours in the graph`,
          );
        }
      }
    }
    return;
  }
  throw new Error(`consensus rule: unknown rule ${JSON.stringify(rule)}`);
}

/**
 * Checks an explicit consensus matrix on its own: N×N, finite, non-negative, positive diagonal,
 * rows summing to 1 within ROW_SUM_TOLERANCE. Errors name the row and column.
 */
export function validateMatrix(matrix: Matrix, agentCount: number): void {
  if (validatedMatrices.has(matrix) && matrix.length === agentCount) return;
  if (!Array.isArray(matrix)) throw new Error(`consensus matrix: expected an array of rows`);
  if (matrix.length !== agentCount) {
    throw new Error(`consensus matrix: expected ${agentCount} rows (one per agent), got ${matrix.length}`);
  }
  for (let i = 0; i < agentCount; i++) {
    const row = matrix[i];
    if (!Array.isArray(row) || row.length !== agentCount) {
      throw new Error(`consensus matrix row ${i}: expected ${agentCount} numbers, got ${Array.isArray(row) ? row.length : JSON.stringify(row)}`);
    }
    let sum = 0;
    for (let j = 0; j < agentCount; j++) {
      const weight: unknown = row[j];
      if (typeof weight !== 'number' || !Number.isFinite(weight)) {
        throw new Error(`consensus matrix row ${i} column ${j}: expected a finite number, got ${JSON.stringify(weight)}`);
      }
      if (weight < 0) throw new Error(`consensus matrix row ${i} column ${j}: weight ${weight} is negative`);
      sum += weight;
    }
    if (!(row[i] > 0)) throw new Error(`consensus matrix row ${i} column ${i}: the diagonal weight must be positive, got ${row[i]}`);
    if (Math.abs(sum - 1) > ROW_SUM_TOLERANCE) {
      throw new Error(`consensus matrix row ${i}: weights sum to ${sum}, not 1 (tolerance ${ROW_SUM_TOLERANCE})`);
    }
  }
  validatedMatrices.add(matrix);
}

/** Every row is created here, so all rows share one object shape (monomorphic reads in mixShares). */
function makeRow(agent: number, selfWeight: number, neighbours: readonly number[], weights: readonly number[], trim = 0): ConsensusRow {
  return { agent, selfWeight, neighbours, weights, trim };
}

/** Σ of `weights` in index order (= ascending neighbour id): a fixed order keeps rows bit-identical. */
function sumInOrder(weights: readonly number[]): number {
  let sum = 0;
  for (let index = 0; index < weights.length; index++) sum += weights[index];
  return sum;
}

function buildRow(graph: Graph, agent: number, rule: ConsensusRule): ConsensusRow {
  if (typeof rule === 'object' && rule.kind === 'matrix') {
    const entries = rule.matrix[agent];
    const neighbours: number[] = [];
    const weights: number[] = [];
    for (let j = 0; j < entries.length; j++) {
      if (j !== agent && entries[j] > 0) {
        neighbours.push(j);
        weights.push(entries[j]);
      }
    }
    return makeRow(agent, entries[agent], neighbours, weights);
  }
  const neighbours = graph.neighbours(agent);
  const degree = neighbours.length;
  if (typeof rule === 'object' && rule.kind === 'trimmed-mean') {
    // Weights describe the untrimmed row (equal weights); mixShares applies the trimming.
    const weight = 1 / (degree + 1);
    return makeRow(agent, weight, neighbours, neighbours.map(() => weight), rule.trim);
  }
  // Filled with push so the array is packed (holey arrays read slower in mixShares).
  const weights: number[] = [];
  if (rule === 'metropolis') {
    for (let index = 0; index < degree; index++) weights.push(1 / (1 + Math.max(degree, graph.degree(neighbours[index]))));
  } else {
    const weight = rule === 'equal-neighbour' ? 1 / (degree + 1) : rule === 'laplacian' ? 1 / (1 + maxDegree(graph)) : rule.alpha;
    for (let index = 0; index < degree; index++) weights.push(weight);
  }
  // c(i,i) = 1 − Σ_{j≠i} c(i,j) (ALGORITHMS.md), so the row sums to 1 up to one rounding.
  return makeRow(agent, 1 - sumInOrder(weights), neighbours, weights);
}

/**
 * The row after applying ALGORITHMS.md's missing-share rule: every neighbour j for which
 * `missing(j)` is true (its share for this step did not arrive by the deadline) is dropped and its
 * weight moves onto the self entry, c(i,i) += c(i,j), so the row still sums to 1. Returns `row`
 * itself when nothing is missing (the common case allocates nothing).
 */
export function withMissingShares(row: ConsensusRow, missing: (agent: number) => boolean): ConsensusRow {
  const count = row.neighbours.length;
  let firstMissing = -1;
  for (let index = 0; index < count; index++) {
    if (missing(row.neighbours[index])) {
      firstMissing = index;
      break;
    }
  }
  if (firstMissing === -1) return row;
  let selfWeight = row.selfWeight;
  const neighbours: number[] = [];
  const weights: number[] = [];
  for (let index = 0; index < count; index++) {
    const neighbour = row.neighbours[index];
    // Already known missing at firstMissing: do not call the predicate twice for it.
    if (index === firstMissing || (index > firstMissing && missing(neighbour))) {
      selfWeight += row.weights[index];
    } else {
      neighbours.push(neighbour);
      weights.push(row.weights[index]);
    }
  }
  return makeRow(row.agent, selfWeight, neighbours, weights, row.trim);
}

/**
 * The consensus step for one agent (Algorithm 1 step 9 / Algorithm 2 step 9):
 * out[k] = c(i,i)·own[k] + Σ_j c(i,j)·share_j[k].
 *
 * `neighbourShares[n]` is the share of agent row.neighbours[n]. Each coordinate is accumulated in
 * double precision in a fixed order — self first, then neighbours in ascending id order — and
 * rounded to float32 once when stored. The fixed order is what makes the result bit-identical in
 * every process (floating-point addition is not associative), so do not reorder the loop.
 *
 * `out` may alias `ownShare` (or any neighbour share): coordinate k is read fully before it is
 * written, and no other coordinate is read after it.
 */
export function mixShares(
  row: ConsensusRow,
  ownShare: Float32Array,
  neighbourShares: readonly Float32Array[],
  out: Float32Array,
): void {
  const dimension = out.length;
  const count = row.neighbours.length;
  if (ownShare.length !== dimension) {
    throw new Error(`consensus mix (agent ${row.agent}): own share has ${ownShare.length} values, output ${dimension}`);
  }
  if (neighbourShares.length !== count) {
    throw new Error(`consensus mix (agent ${row.agent}): ${neighbourShares.length} neighbour shares for ${count} neighbours`);
  }
  for (let index = 0; index < count; index++) {
    if (neighbourShares[index].length !== dimension) {
      throw new Error(
        `consensus mix (agent ${row.agent}): share of neighbour ${row.neighbours[index]} has ${neighbourShares[index].length} values, expected ${dimension}`,
      );
    }
  }
  if (row.trim > 0) {
    trimmedMean(row.trim, ownShare, neighbourShares, out);
    return;
  }
  const selfWeight = row.selfWeight;
  const weights = row.weights;
  for (let k = 0; k < dimension; k++) {
    let accumulator = selfWeight * ownShare[k];
    for (let index = 0; index < count; index++) accumulator += weights[index] * neighbourShares[index][k];
    out[k] = accumulator;
  }
}

let trimScratch = new Float64Array(16);

/**
 * Coordinate-wise trimmed mean relative to the agent's own value (the W-MSR rule of resilient
 * consensus, LeBlanc et al. 2013): per coordinate, of the neighbours' values strictly above the
 * own value the `trim` largest are dropped (all of them if fewer), likewise below; the rest are
 * averaged with the own value, equal weights, summed in sorted order (deterministic). Up to `trim`
 * hostile neighbours can then pull no coordinate outside the range of honest values.
 */
function trimmedMean(trim: number, ownShare: Float32Array, neighbourShares: readonly Float32Array[], out: Float32Array): void {
  const count = neighbourShares.length;
  if (trimScratch.length < count) trimScratch = new Float64Array(count);
  const values = trimScratch.subarray(0, count);
  for (let k = 0; k < out.length; k++) {
    const own = ownShare[k];
    let below = 0;
    let above = 0;
    for (let index = 0; index < count; index++) {
      const value = neighbourShares[index][k];
      values[index] = value;
      if (value < own) below++;
      else if (value > own) above++;
    }
    values.sort();
    const from = Math.min(trim, below);
    const to = count - Math.min(trim, above);
    let accumulator = own;
    for (let index = from; index < to; index++) accumulator += values[index];
    out[k] = accumulator / (to - from + 1);
  }
}

/**
 * Validates a consensus rule as read from a topology file (strings, or objects with a `kind`).
 * The American spelling 'equal-neighbor' is accepted and normalised. Whole-graph checks (α against
 * the degrees, matrix against the edges) happen when rows are first requested for a graph.
 */
export function parseConsensusRule(value: unknown, agentCount: number, field = 'consensus'): ConsensusRule {
  if (value === undefined) return DEFAULT_CONSENSUS_RULE;
  if (typeof value === 'string') {
    if (value === 'metropolis' || value === 'equal-neighbour' || value === 'laplacian') return value;
    if (value === 'equal-neighbor') return 'equal-neighbour';
    throw new Error(`${field}: unknown rule '${value}' (expected metropolis, equal-neighbour, laplacian, {kind: laplacian, alpha} or {kind: matrix, matrix})`);
  }
  if (value !== null && typeof value === 'object') {
    const { kind, alpha, matrix } = value as { kind?: unknown; alpha?: unknown; matrix?: unknown };
    if (kind === 'laplacian') {
      if (alpha === undefined) return 'laplacian';
      if (typeof alpha !== 'number' || !(Number.isFinite(alpha) && alpha > 0)) {
        throw new Error(`${field}.alpha: expected a positive number, got ${JSON.stringify(alpha)}`);
      }
      return { kind: 'laplacian', alpha };
    }
    if (kind === 'trimmed-mean') {
      const { trim } = value as { trim?: unknown };
      if (typeof trim !== 'number' || !Number.isInteger(trim) || trim < 1) {
        throw new Error(`${field}.trim: expected a whole number >= 1, got ${JSON.stringify(trim)}`);
      }
      return { kind: 'trimmed-mean', trim };
    }
    if (kind === 'matrix') {
      if (!Array.isArray(matrix)) throw new Error(`${field}.matrix: expected an array of ${agentCount} rows`);
      try {
        validateMatrix(matrix as Matrix, agentCount);
      } catch (error) {
        throw new Error(`${field}.matrix: ${(error as Error).message.replace(/^consensus matrix:? ?/, '')}`);
      }
      return { kind: 'matrix', matrix: matrix as Matrix };
    }
    throw new Error(`${field}.kind: expected 'laplacian' or 'matrix', got ${JSON.stringify(kind)}`);
  }
  throw new Error(`${field}: expected a rule name or an object with a kind, got ${JSON.stringify(value)}`);
}
