import { describe, expect, it } from 'vitest';
import {
  consensusMatrix,
  consensusRow,
  consensusRows,
  mixShares,
  parseConsensusRule,
  validateMatrix,
  withMissingShares,
  type ConsensusRule,
} from '../../src/topology/consensus.js';
import {
  completeGraph,
  emptyGraph,
  explicitGraph,
  gridGraph,
  isConnected,
  lineGraph,
  randomGraph,
  ringGraph,
  starGraph,
} from '../../src/topology/graphs.js';
import { RandomTopology } from '../../src/topology/topology.js';
import type { ConsensusRow, Graph } from '../../src/topology/types.js';

const N = 20;

/** Graphs the row properties are checked on, including random ones (connected or not). */
function sampleGraphs(): [string, Graph][] {
  const graphs: [string, Graph][] = [
    ['ring', ringGraph(N)],
    ['line', lineGraph(N)],
    ['star', starGraph(N)],
    ['grid 4×5', gridGraph(N)],
    ['complete', completeGraph(N)],
    ['empty', emptyGraph(N)],
    ['irregular', explicitGraph(6, [[0, 1], [0, 2], [0, 3], [3, 4], [4, 5], [1, 2]])],
  ];
  for (let epoch = 0; epoch < 5; epoch++) {
    graphs.push([`random 4/N epoch ${epoch}`, randomGraph({ agentCount: N, ratio: 4 / N, graphSeed: 11, epoch })]);
    graphs.push([`random connected epoch ${epoch}`, randomGraph({ agentCount: N, ratio: 4 / N, connected: true, graphSeed: 12, epoch })]);
  }
  return graphs;
}

function rowSum(row: ConsensusRow): number {
  return row.weights.reduce((sum, weight) => sum + weight, row.selfWeight);
}

/** Row invariants from ALGORITHMS.md: non-negative, on the edges only, positive diagonal, sums to 1. */
function rowProblems(graph: Graph, row: ConsensusRow, agent: number): string[] {
  const problems: string[] = [];
  if (row.agent !== agent) problems.push(`row.agent ${row.agent} ≠ ${agent}`);
  if (!(row.selfWeight > 0)) problems.push(`c(${agent},${agent}) = ${row.selfWeight} not positive`);
  if (Math.abs(rowSum(row) - 1) > 1e-12) problems.push(`row ${agent} sums to ${rowSum(row)}`);
  if (row.weights.length !== row.neighbours.length) problems.push(`row ${agent}: weights and neighbours differ in length`);
  row.neighbours.forEach((neighbour, index) => {
    if (!(row.weights[index] > 0)) problems.push(`c(${agent},${neighbour}) = ${row.weights[index]} not positive`);
    if (!graph.hasEdge(agent, neighbour)) problems.push(`c(${agent},${neighbour}) on a non-edge`);
    if (index > 0 && !(neighbour > row.neighbours[index - 1])) problems.push(`row ${agent} neighbours not ascending`);
  });
  return problems;
}

/** One synchronous consensus round over all agents (what the agents do together at step 9). */
function consensusRound(graph: Graph, rule: ConsensusRule, values: Float32Array[]): Float32Array[] {
  return values.map((own, agent) => {
    const row = consensusRow(graph, agent, rule);
    const out = new Float32Array(own.length);
    mixShares(row, own, row.neighbours.map((neighbour) => values[neighbour]), out);
    return out;
  });
}

/** Deterministic starting vectors: agent i holds a 3-vector spread over roughly [−5, 5]. */
function startingValues(agentCount: number): Float32Array[] {
  return Array.from({ length: agentCount }, (_, agent) =>
    Float32Array.from([Math.sin(agent * 1.7) * 5, ((agent * 7) % 11) - 5, agent === 0 ? 4 : -0.25]),
  );
}

function average(values: Float32Array[]): number[] {
  const result = new Array<number>(values[0].length).fill(0);
  for (const vector of values) vector.forEach((value, k) => (result[k] += value / values.length));
  return result;
}

function maxDistanceTo(values: Float32Array[], target: number[]): number {
  let distance = 0;
  for (const vector of values) vector.forEach((value, k) => (distance = Math.max(distance, Math.abs(value - target[k]))));
  return distance;
}

describe('consensus rows', () => {
  it('Metropolis rows are valid and the matrix is symmetric, c(i,j) = c(j,i), on undirected graphs', () => {
    for (const [name, graph] of sampleGraphs()) {
      const problems: string[] = [];
      const matrix = consensusMatrix(graph, 'metropolis');
      for (let i = 0; i < graph.agentCount; i++) {
        problems.push(...rowProblems(graph, consensusRow(graph, i), i));
        for (let j = 0; j < graph.agentCount; j++) if (matrix[i][j] !== matrix[j][i]) problems.push(`c(${i},${j}) ≠ c(${j},${i})`);
      }
      // Symmetric and row-stochastic ⇒ column-stochastic (doubly stochastic).
      for (let j = 0; j < graph.agentCount; j++) {
        const columnSum = matrix.reduce((sum, row) => sum + row[j], 0);
        if (Math.abs(columnSum - 1) > 1e-12) problems.push(`column ${j} sums to ${columnSum}`);
      }
      expect(problems, name).toEqual([]);
    }
  });

  it('Metropolis weights are 1/(1 + max(d_i, d_j))', () => {
    const star = starGraph(5);
    const centre = consensusRow(star, 0);
    expect(centre.neighbours).toEqual([1, 2, 3, 4]);
    expect(centre.weights).toEqual([0.2, 0.2, 0.2, 0.2]);
    expect(centre.selfWeight).toBeCloseTo(0.2, 15);
    const leaf = consensusRow(star, 3, 'metropolis');
    expect(leaf.weights).toEqual([0.2]);
    expect(leaf.selfWeight).toBeCloseTo(0.8, 15);
    expect(consensusRow(emptyGraph(3), 1)).toMatchObject({ selfWeight: 1, neighbours: [], weights: [] });
  });

  it('equal-neighbour rows are valid with every weight 1/(d_i + 1)', () => {
    for (const [name, graph] of sampleGraphs()) {
      const problems: string[] = [];
      for (let i = 0; i < graph.agentCount; i++) {
        const row = consensusRow(graph, i, 'equal-neighbour');
        problems.push(...rowProblems(graph, row, i));
        const expected = 1 / (graph.degree(i) + 1);
        if (row.weights.some((weight) => weight !== expected) || Math.abs(row.selfWeight - expected) > 1e-15) problems.push(`row ${i} not equal`);
      }
      expect(problems, name).toEqual([]);
    }
  });

  it('max-degree Laplacian rows are valid with α = 1/(1 + d_max) by default', () => {
    for (const [name, graph] of sampleGraphs()) {
      const problems: string[] = [];
      let maxDegree = 0;
      for (let i = 0; i < graph.agentCount; i++) maxDegree = Math.max(maxDegree, graph.degree(i));
      for (let i = 0; i < graph.agentCount; i++) {
        const row = consensusRow(graph, i, 'laplacian');
        problems.push(...rowProblems(graph, row, i));
        if (row.weights.some((weight) => weight !== 1 / (1 + maxDegree))) problems.push(`row ${i}: α ≠ 1/(1 + d_max)`);
      }
      expect(problems, name).toEqual([]);
    }
  });

  it('Laplacian with a given α uses it and rejects an α that makes a diagonal non-positive', () => {
    const ring = ringGraph(6);
    const row = consensusRow(ring, 2, { kind: 'laplacian', alpha: 0.3 });
    expect(row.weights).toEqual([0.3, 0.3]);
    expect(row.selfWeight).toBeCloseTo(0.4, 15);
    expect(() => consensusRow(ring, 0, { kind: 'laplacian', alpha: 0.5 })).toThrow(/alpha: 0.5 gives c\(0,0\) = 0 ≤ 0 .*degree 2; need alpha < 1\/2/);
    expect(() => consensusRow(starGraph(5), 1, { kind: 'laplacian', alpha: 0.3 })).toThrow(/c\(0,0\)/); // the centre fails, whoever asks
    expect(() => consensusRow(ring, 0, { kind: 'laplacian', alpha: -1 })).toThrow(/positive/);
  });

  it('an explicit matrix gives rows whose neighbours are the positive off-diagonal entries', () => {
    const graph = lineGraph(3);
    const matrix = [
      [0.5, 0.5, 0],
      [0.25, 0.5, 0.25],
      [0, 0.1, 0.9],
    ];
    const rule: ConsensusRule = { kind: 'matrix', matrix };
    expect(consensusRow(graph, 1, rule)).toMatchObject({ agent: 1, selfWeight: 0.5, neighbours: [0, 2], weights: [0.25, 0.25] });
    expect(consensusRow(graph, 2, rule)).toMatchObject({ selfWeight: 0.9, neighbours: [1], weights: [0.1] });
    // A zero entry on an edge just means "do not listen": here agent 0 ignores its neighbour 1.
    const sparse = { kind: 'matrix' as const, matrix: [[1, 0, 0], [0.5, 0.5, 0], [0, 0.1, 0.9]] };
    expect(consensusRow(graph, 0, sparse).neighbours).toEqual([]);
  });

  it('validates an explicit matrix with errors naming the row and column', () => {
    const cases: [number[][], RegExp][] = [
      [[[1, 0], [0, 1], [0, 1]], /expected 2 rows/],
      [[[1, 0], [0, 1, 0]], /row 1: expected 2 numbers/],
      [[[1.1, -0.1], [0, 1]], /row 0 column 1: weight -0.1 is negative/],
      [[[0.5, 0.4], [0, 1]], /row 0: weights sum to 0.9/],
      [[[0, 1], [0.5, 0.5]], /row 0 column 0: the diagonal weight must be positive/],
      [[[1, 0], [Number.NaN, 1]], /row 1 column 0: expected a finite number/],
    ];
    for (const [matrix, message] of cases) expect(() => validateMatrix(matrix, 2), JSON.stringify(matrix)).toThrow(message);
    expect(() => validateMatrix([[1 - 1e-12, 1e-12 / 2], [0, 1]], 2)).not.toThrow(); // within 1e-9
    // Weight on a pair that is not an edge of the graph.
    expect(() => consensusRow(emptyGraph(2), 0, { kind: 'matrix', matrix: [[0.5, 0.5], [0.5, 0.5]] })).toThrow(
      /row 0 column 1: weight 0.5 but agents 0 and 1 are not neighbours/,
    );
  });

  it('caches rows per graph and rule', () => {
    const graph = ringGraph(5);
    expect(consensusRow(graph, 1)).toBe(consensusRow(graph, 1, 'metropolis'));
    expect(consensusRow(graph, 1, 'equal-neighbour')).not.toBe(consensusRow(graph, 1));
    expect(consensusRow(graph, 1, { kind: 'laplacian', alpha: 0.2 })).toBe(consensusRow(graph, 1, { kind: 'laplacian', alpha: 0.2 }));
    expect(consensusRows(graph)).toHaveLength(5);
    expect(() => consensusRow(graph, 5)).toThrow(RangeError);
    expect(() => consensusRow(graph, 0, 'average' as ConsensusRule)).toThrow(/unknown rule 'average'/);
  });
});

describe('repeated consensus (500 synchronous rounds)', () => {
  const connectedGraphs: [string, Graph][] = [
    ['ring', ringGraph(N)],
    ['grid', gridGraph(N)],
    ['star', starGraph(N)],
    ['connected random 4/N', randomGraph({ agentCount: N, ratio: 4 / N, connected: true, graphSeed: 77, epoch: 0 })],
  ];

  for (const [name, graph] of connectedGraphs) {
    it(`Metropolis on ${name}: every vector reaches the average, which is preserved`, () => {
      expect(isConnected(graph)).toBe(true);
      let values = startingValues(N);
      const initialAverage = average(values);
      expect(maxDistanceTo(values, initialAverage)).toBeGreaterThan(1); // something to do
      for (let round = 0; round < 500; round++) values = consensusRound(graph, 'metropolis', values);
      expect(maxDistanceTo([Float32Array.from(average(values))], initialAverage)).toBeLessThan(1e-5);
      expect(maxDistanceTo(values, initialAverage)).toBeLessThan(1e-5);
    });
  }

  it('Metropolis on a graph redrawn every step (connected, 4/N) also reaches the preserved average', () => {
    const topology = new RandomTopology({ agentCount: N, ratio: 4 / N, connected: true, seed: 5 });
    let values = startingValues(N);
    const initialAverage = average(values);
    for (let t = 0; t < 500; t++) values = consensusRound(topology.graphAt(t), 'metropolis', values);
    expect(maxDistanceTo(values, initialAverage)).toBeLessThan(1e-5);
  });

  it('on a disconnected graph each component agrees internally but not on the global average', () => {
    const edges: [number, number][] = [];
    for (let i = 0; i < 10; i++) edges.push([i, (i + 1) % 10], [10 + i, 10 + ((i + 1) % 10)]);
    const twoRings = explicitGraph(N, edges);
    expect(isConnected(twoRings)).toBe(false);
    let values = startingValues(N);
    const globalAverage = average(values);
    for (let round = 0; round < 500; round++) values = consensusRound(twoRings, 'metropolis', values);
    expect(maxDistanceTo(values, globalAverage)).toBeGreaterThan(0.1);
    expect(maxDistanceTo(values.slice(0, 10), average(startingValues(N).slice(0, 10)))).toBeLessThan(1e-5);
    expect(maxDistanceTo(values.slice(10), average(startingValues(N).slice(10)))).toBeLessThan(1e-5);
  });

  it('equal-neighbour weights on an irregular graph agree but drift from the plain average (why Metropolis is the default)', () => {
    const graph = starGraph(N);
    let values = startingValues(N);
    const initialAverage = average(values);
    for (let round = 0; round < 500; round++) values = consensusRound(graph, 'equal-neighbour', values);
    const agreed = average(values);
    expect(maxDistanceTo(values, agreed)).toBeLessThan(1e-5);
    expect(maxDistanceTo([Float32Array.from(agreed)], initialAverage)).toBeGreaterThan(0.01);
  });
});

describe('withMissingShares (ALGORITHMS.md: a late share moves its weight onto c(i,i))', () => {
  it('keeps every row summing to 1 and moves exactly the missing weights', () => {
    for (const [name, graph] of sampleGraphs()) {
      const problems: string[] = [];
      for (let i = 0; i < graph.agentCount; i++) {
        const row = consensusRow(graph, i);
        const missing = (agent: number): boolean => (agent * 7 + i) % 3 === 0;
        const reduced = withMissingShares(row, missing);
        if (Math.abs(rowSum(reduced) - 1) > 1e-12) problems.push(`row ${i} sums to ${rowSum(reduced)}`);
        const expectedNeighbours = row.neighbours.filter((agent) => !missing(agent));
        if (JSON.stringify(reduced.neighbours) !== JSON.stringify(expectedNeighbours)) problems.push(`row ${i} neighbours`);
        const moved = row.neighbours.reduce((sum, agent, index) => sum + (missing(agent) ? row.weights[index] : 0), 0);
        if (Math.abs(reduced.selfWeight - (row.selfWeight + moved)) > 1e-15) problems.push(`row ${i} self weight`);
        reduced.neighbours.forEach((agent, index) => {
          if (reduced.weights[index] !== row.weights[row.neighbours.indexOf(agent)]) problems.push(`row ${i} weight of ${agent} changed`);
        });
      }
      expect(problems, name).toEqual([]);
    }
  });

  it('returns the same row when nothing is missing, and a self-only row when everything is', () => {
    const row = consensusRow(ringGraph(5), 0);
    expect(withMissingShares(row, () => false)).toBe(row);
    const alone = withMissingShares(row, () => true);
    expect(alone.neighbours).toEqual([]);
    expect(alone.selfWeight).toBeCloseTo(1, 15);
    expect(row.neighbours).toEqual([1, 4]); // the cached row is untouched
  });
});

describe('mixShares', () => {
  const row: ConsensusRow = { agent: 2, selfWeight: 0.1, neighbours: [0, 5, 7], weights: [0.3, 0.2, 0.4], trim: 0 };
  const own = Float32Array.from([1, -2, 3.5, 1e-3]);
  const shares = [Float32Array.from([0.1, 0.2, 0.3, 0.4]), Float32Array.from([-1, -1, 1, 1]), Float32Array.from([1e6, 1, 1e-6, 7])];

  it('accumulates in double precision, self first then neighbours ascending, and rounds once', () => {
    const out = new Float32Array(4);
    mixShares(row, own, shares, out);
    for (let k = 0; k < 4; k++) {
      let accumulator = 0.1 * own[k];
      accumulator += 0.3 * shares[0][k];
      accumulator += 0.2 * shares[1][k];
      accumulator += 0.4 * shares[2][k];
      expect(out[k]).toBe(Math.fround(accumulator));
    }
  });

  it('uses exactly that order and precision: reordering or float32 accumulation changes the result', () => {
    const orderRow: ConsensusRow = { agent: 0, selfWeight: 0.25, neighbours: [1, 2], weights: [0.5, 0.25], trim: 0 };
    // Coordinate 0: contributions 1, 2^53, −2^53. Self first then ascending: (1 + 2^53) rounds to
    // 2^53, minus 2^53 gives 0; any other order gives 1.
    // Coordinate 1: contributions 1, 2^24, −2^24. In double precision 1; accumulated in float32,
    // 1 + 2^24 rounds to 2^24 and the result would be 0.
    const ownValues = Float32Array.from([4, 4]);
    const neighbourValues = [Float32Array.from([2 ** 54, 2 ** 25]), Float32Array.from([-(2 ** 55), -(2 ** 26)])];
    const out = new Float32Array(2);
    mixShares(orderRow, ownValues, neighbourValues, out);
    expect(Array.from(out)).toEqual([0, 1]);
  });

  it('allows out to alias the own share', () => {
    const expected = new Float32Array(4);
    mixShares(row, own, shares, expected);
    const inPlace = own.slice();
    mixShares(row, inPlace, shares, inPlace);
    expect(Array.from(inPlace)).toEqual(Array.from(expected));
  });

  it('applied with the empty graph leaves a share unchanged (independent learners)', () => {
    const selfOnly = consensusRow(emptyGraph(3), 1);
    const out = new Float32Array(4);
    mixShares(selfOnly, own, [], out);
    expect(Array.from(out)).toEqual(Array.from(own));
  });

  it('rejects mismatched lengths', () => {
    expect(() => mixShares(row, own, shares.slice(0, 2), new Float32Array(4))).toThrow(/2 neighbour shares for 3 neighbours/);
    expect(() => mixShares(row, own, shares, new Float32Array(3))).toThrow(/own share has 4 values, output 3/);
    expect(() => mixShares(row, own, [shares[0], new Float32Array(2), shares[2]], new Float32Array(4))).toThrow(/neighbour 5 has 2 values/);
  });
});

describe('parseConsensusRule', () => {
  it('accepts the documented forms', () => {
    expect(parseConsensusRule(undefined, 3)).toBe('metropolis');
    expect(parseConsensusRule('metropolis', 3)).toBe('metropolis');
    expect(parseConsensusRule('equal-neighbor', 3)).toBe('equal-neighbour');
    expect(parseConsensusRule('laplacian', 3)).toBe('laplacian');
    expect(parseConsensusRule({ kind: 'laplacian' }, 3)).toBe('laplacian');
    expect(parseConsensusRule({ kind: 'laplacian', alpha: 0.1 }, 3)).toEqual({ kind: 'laplacian', alpha: 0.1 });
    const matrix = [[1, 0], [0, 1]];
    expect(parseConsensusRule({ kind: 'matrix', matrix }, 2)).toEqual({ kind: 'matrix', matrix });
  });

  it('rejects others in one line naming the field', () => {
    expect(() => parseConsensusRule('average', 3)).toThrow(/^consensus: unknown rule 'average'/);
    expect(() => parseConsensusRule({ kind: 'laplacian', alpha: 0 }, 3)).toThrow(/^consensus\.alpha: expected a positive number, got 0$/);
    expect(() => parseConsensusRule({ kind: 'matrix', matrix: [[1, 0], [0.5, 0.4]] }, 2)).toThrow(/^consensus\.matrix: row 1: weights sum to 0\.9/);
    expect(() => parseConsensusRule({ kind: 'matrix' }, 2)).toThrow(/^consensus\.matrix: expected an array of 2 rows$/);
    expect(() => parseConsensusRule({ kind: 'gossip' }, 2)).toThrow(/^consensus\.kind:/);
    expect(() => parseConsensusRule(3, 2, 'topology.consensus')).toThrow(/^topology\.consensus:/);
  });
});

describe('trimmed-mean consensus (W-MSR)', () => {
  it('keeps every coordinate inside the range of honest values with one hostile neighbour', async () => {
    const { completeGraph } = await import('../../src/topology/graphs.js');
    const { consensusRow, mixShares } = await import('../../src/topology/consensus.js');
    const graph = completeGraph(5);
    const row = consensusRow(graph, 0, { kind: 'trimmed-mean', trim: 1 });
    expect(row.trim).toBe(1);
    const own = Float32Array.from([1, 2, 3]);
    const honest = [Float32Array.from([1.5, 1, 2.5]), Float32Array.from([0.5, 3, 3.5]), Float32Array.from([1.2, 2.2, 2.8])];
    const hostile = Float32Array.from([1e6, -1e6, 1e6]);
    const out = new Float32Array(3);
    mixShares(row, own, [...honest, hostile], out);
    for (let k = 0; k < 3; k++) {
      const values = [own[k], ...honest.map((share) => share[k])];
      expect(out[k]).toBeGreaterThanOrEqual(Math.min(...values));
      expect(out[k]).toBeLessThanOrEqual(Math.max(...values));
    }
    // Plain Metropolis is dragged far away by the same neighbour.
    const plain = new Float32Array(3);
    mixShares(consensusRow(graph, 0, 'metropolis'), own, [...honest, hostile], plain);
    expect(Math.abs(plain[0])).toBeGreaterThan(1e4);
  });

  it('with all neighbours honest and agreeing with the own value it changes nothing', async () => {
    const { ringGraph } = await import('../../src/topology/graphs.js');
    const { consensusRow, mixShares } = await import('../../src/topology/consensus.js');
    const row = consensusRow(ringGraph(4), 1, { kind: 'trimmed-mean', trim: 1 });
    const value = Float32Array.from([0.25, -4]);
    const out = new Float32Array(2);
    mixShares(row, value, [Float32Array.from(value), Float32Array.from(value)], out);
    expect(Array.from(out)).toEqual(Array.from(value));
  });
});
