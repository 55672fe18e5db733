import { describe, expect, it } from 'vitest';
import {
  completeGraph,
  connectedComponents,
  emptyGraph,
  explicitGraph,
  gridGraph,
  isConnected,
  lineGraph,
  MAX_RANDOM_GRAPH_AGENTS,
  pairCount,
  randomEdgeCount,
  randomGraph,
  RandomGraphSampler,
  ringGraph,
  squarestGridShape,
  starGraph,
  StaticGraph,
} from '../../src/topology/graphs.js';
import type { Graph } from '../../src/topology/types.js';

function degrees(graph: Graph): number[] {
  return Array.from({ length: graph.agentCount }, (_, agent) => graph.degree(agent));
}

/**
 * Structural invariants every Graph must satisfy; collected into one list (one expect per graph)
 * because some tests check thousands of graphs.
 */
function wellFormedProblems(graph: Graph): string[] {
  const problems: string[] = [];
  let endpointCount = 0;
  for (let agent = 0; agent < graph.agentCount; agent++) {
    const neighbours = graph.neighbours(agent);
    if (graph.degree(agent) !== neighbours.length) problems.push(`degree(${agent}) ≠ neighbour count`);
    endpointCount += neighbours.length;
    for (let index = 0; index < neighbours.length; index++) {
      const neighbour = neighbours[index];
      if (neighbour === agent) problems.push(`self loop at ${agent}`);
      if (!(Number.isInteger(neighbour) && neighbour >= 0 && neighbour < graph.agentCount)) problems.push(`bad id ${neighbour}`);
      if (index > 0 && !(neighbour > neighbours[index - 1])) problems.push(`row ${agent} not strictly ascending`);
      if (!graph.neighbours(neighbour).includes(agent)) problems.push(`${agent}→${neighbour} not mirrored`);
      if (!graph.hasEdge(agent, neighbour) || !graph.hasEdge(neighbour, agent)) problems.push(`hasEdge(${agent}, ${neighbour}) false`);
    }
    if (graph.hasEdge(agent, agent)) problems.push(`hasEdge(${agent}, ${agent}) true`);
  }
  if (endpointCount !== 2 * graph.edgeCount) problems.push(`edgeCount ${graph.edgeCount} but ${endpointCount} endpoints`);
  return problems;
}

function expectWellFormed(graph: Graph): void {
  expect(wellFormedProblems(graph)).toEqual([]);
}

describe('StaticGraph', () => {
  it('builds from an edge list: sorted neighbours, duplicates merged in either orientation', () => {
    const graph = StaticGraph.fromEdges(5, [
      [3, 1],
      [1, 0],
      [0, 1],
      [1, 3],
      [4, 1],
      [2, 4],
    ]);
    expectWellFormed(graph);
    expect(graph.edgeCount).toBe(4);
    expect(graph.neighbours(1)).toEqual([0, 3, 4]);
    expect(graph.edges()).toEqual([
      [0, 1],
      [1, 3],
      [1, 4],
      [2, 4],
    ]);
    expect(graph.hasEdge(0, 2)).toBe(false);
    expect(graph.maxDegree).toBe(3);
  });

  it('rejects self loops and ids out of range, naming the edge', () => {
    expect(() => StaticGraph.fromEdges(3, [[1, 1]])).toThrow(/edge 0 \[1, 1\]: self loop/);
    expect(() => StaticGraph.fromEdges(3, [[0, 1], [0, 3]])).toThrow(/edge 1 \[0, 3\].*0\.\.2/);
    expect(() => StaticGraph.fromEdges(3, [[-1, 0]])).toThrow(/agent id -1/);
    expect(() => StaticGraph.fromEdges(3, [[0.5, 1]])).toThrow(/agent id 0.5/);
    expect(() => StaticGraph.fromEdges(-1, [])).toThrow(/agent count/);
  });

  it('rejects queries about agents that do not exist', () => {
    const graph = ringGraph(4);
    expect(() => graph.neighbours(4)).toThrow(RangeError);
    expect(() => graph.degree(-1)).toThrow(RangeError);
    expect(() => graph.hasEdge(0, 9)).toThrow(RangeError);
  });

  it('handles a complete graph with rows longer than the insertion-sort cutoff', () => {
    const graph = completeGraph(50);
    expectWellFormed(graph);
    expect(graph.neighbours(0)).toEqual(Array.from({ length: 49 }, (_, i) => i + 1));
  });
});

describe('graph families', () => {
  it('ring: N edges, every degree 2; N = 2 is one edge, N = 1 none', () => {
    for (const n of [3, 4, 20]) {
      const ring = ringGraph(n);
      expectWellFormed(ring);
      expect(ring.edgeCount).toBe(n);
      expect(degrees(ring)).toEqual(new Array(n).fill(2));
      expect(ring.hasEdge(0, n - 1)).toBe(true);
    }
    expect(ringGraph(2).edges()).toEqual([[0, 1]]);
    expect(ringGraph(1).edgeCount).toBe(0);
    expect(ringGraph(0).agentCount).toBe(0);
  });

  it('line: N − 1 edges, end degrees 1', () => {
    const line = lineGraph(6);
    expectWellFormed(line);
    expect(line.edgeCount).toBe(5);
    expect(degrees(line)).toEqual([1, 2, 2, 2, 2, 1]);
    expect(line.hasEdge(0, 5)).toBe(false);
  });

  it('star: centre 0 has degree N − 1, every other agent degree 1', () => {
    const star = starGraph(10);
    expectWellFormed(star);
    expect(star.edgeCount).toBe(9);
    expect(star.degree(0)).toBe(9);
    for (let agent = 1; agent < 10; agent++) expect(star.neighbours(agent)).toEqual([0]);
  });

  it('complete: N(N − 1)/2 edges', () => {
    for (const n of [1, 2, 5, 20]) {
      const complete = completeGraph(n);
      expectWellFormed(complete);
      expect(complete.edgeCount).toBe((n * (n - 1)) / 2);
      expect(complete.connectivityRatio).toBe(n < 2 ? 0 : 1);
    }
  });

  it('grid 3×4: 17 edges, corner degree 2, border 3, interior 4', () => {
    const grid = gridGraph(12, { rows: 3, columns: 4 });
    expectWellFormed(grid);
    expect(grid.edgeCount).toBe(3 * 3 + 2 * 4);
    expect(degrees(grid)).toEqual([2, 3, 3, 2, 3, 4, 4, 3, 2, 3, 3, 2]);
    expect(grid.neighbours(5)).toEqual([1, 4, 6, 9]);
    // rows alone, columns alone and neither give the same 3×4 lattice for N = 12.
    expect(gridGraph(12, { rows: 3 }).edges()).toEqual(grid.edges());
    expect(gridGraph(12, { columns: 4 }).edges()).toEqual(grid.edges());
    expect(gridGraph(12).edges()).toEqual(grid.edges());
  });

  it('grid picks the most square factorisation when rows are not given', () => {
    expect(squarestGridShape(12)).toEqual({ rows: 3, columns: 4 });
    expect(squarestGridShape(16)).toEqual({ rows: 4, columns: 4 });
    expect(squarestGridShape(20)).toEqual({ rows: 4, columns: 5 });
    expect(squarestGridShape(7)).toEqual({ rows: 1, columns: 7 });
    expect(gridGraph(7).edges()).toEqual(lineGraph(7).edges());
  });

  it('grid rejects shapes that do not multiply to N', () => {
    expect(() => gridGraph(12, { rows: 5 })).toThrow(/rows × columns must equal the agent count 12/);
    expect(() => gridGraph(12, { rows: 3, columns: 3 })).toThrow(/12/);
    expect(() => gridGraph(12, { rows: 0 })).toThrow(/rows must be a positive integer/);
  });

  it('empty: no edges; explicit: the given edges', () => {
    const empty = emptyGraph(5);
    expectWellFormed(empty);
    expect(empty.edgeCount).toBe(0);
    expect(degrees(empty)).toEqual([0, 0, 0, 0, 0]);
    const explicit = explicitGraph(4, [
      [0, 2],
      [2, 3],
    ]);
    expect(explicit.edges()).toEqual([
      [0, 2],
      [2, 3],
    ]);
    expect(explicit.degree(1)).toBe(0);
  });

  it('connectivity helpers label components', () => {
    expect(isConnected(ringGraph(5))).toBe(true);
    expect(isConnected(emptyGraph(1))).toBe(true);
    expect(isConnected(emptyGraph(2))).toBe(false);
    const twoPieces = explicitGraph(5, [
      [0, 1],
      [3, 4],
      [2, 4],
    ]);
    expect(Array.from(connectedComponents(twoPieces))).toEqual([0, 0, 1, 1, 1]);
    expect(isConnected(twoPieces)).toBe(false);
  });
});

describe('random graphs', () => {
  it('the paper ratio 4/N for N = 20 means exactly 38 edges', () => {
    expect(pairCount(20)).toBe(190);
    expect(randomEdgeCount(20, 4 / 20, false)).toBe(38);
    expect(randomEdgeCount(20, 4 / 20, true)).toBe(38);
    for (let epoch = 0; epoch < 50; epoch++) {
      const graph = randomGraph({ agentCount: 20, ratio: 4 / 20, graphSeed: 17, epoch });
      expectWellFormed(graph);
      expect(graph.edgeCount).toBe(38);
      expect(graph.connectivityRatio).toBeCloseTo(0.2, 12);
    }
  });

  it('rounds m = ρ·N(N−1)/2 and raises it to N − 1 when connected', () => {
    expect(randomEdgeCount(10, 0.1, false)).toBe(5); // 0.1 · 45 = 4.5 → 5
    expect(randomEdgeCount(10, 0.1, true)).toBe(9);
    expect(randomEdgeCount(10, 1, false)).toBe(45);
    expect(() => randomEdgeCount(10, 0, false)).toThrow(/ratio must be in \(0, 1\]/);
    expect(() => randomEdgeCount(10, 1.5, false)).toThrow(/ratio/);
    expect(() => new RandomGraphSampler({ agentCount: MAX_RANDOM_GRAPH_AGENTS + 1, ratio: 0.001, graphSeed: 1 })).toThrow(/at most/);
  });

  it('is a pure function of (graph seed, epoch)', () => {
    const options = { agentCount: 20, ratio: 0.2, graphSeed: 99 };
    const sampler = new RandomGraphSampler(options);
    const inOrder = Array.from({ length: 10 }, (_, epoch) => sampler.sample(epoch).edges());
    // A fresh sampler, epochs visited backwards: same graphs (no state carried between epochs).
    const other = new RandomGraphSampler(options);
    for (let epoch = 9; epoch >= 0; epoch--) expect(other.sample(epoch).edges()).toEqual(inOrder[epoch]);
    expect(randomGraph({ ...options, epoch: 3 }).edges()).toEqual(inOrder[3]);
    // Another seed, another epoch: different graphs.
    expect(randomGraph({ ...options, graphSeed: 100, epoch: 3 }).edges()).not.toEqual(inOrder[3]);
    expect(inOrder[4]).not.toEqual(inOrder[3]);
    // Epochs beyond 2^32 are not aliased onto small ones.
    expect(sampler.sample(3 + 2 ** 32).edges()).not.toEqual(inOrder[3]);
  });

  it('picks every pair with the same probability m / (N(N−1)/2)', () => {
    const n = 12;
    const sampler = new RandomGraphSampler({ agentCount: n, ratio: 0.3, graphSeed: 5 });
    const m = sampler.edgeCount; // round(0.3 · 66) = 20
    const epochs = 4000;
    const counts = new Map<string, number>();
    for (let epoch = 0; epoch < epochs; epoch++) {
      for (const [a, b] of sampler.sample(epoch).edges()) counts.set(`${a}-${b}`, (counts.get(`${a}-${b}`) ?? 0) + 1);
    }
    const p = m / pairCount(n);
    const sd = Math.sqrt(epochs * p * (1 - p));
    expect(counts.size).toBe(pairCount(n));
    for (const count of counts.values()) expect(Math.abs(count - epochs * p)).toBeLessThan(5 * sd);
  });

  it('dense ratios (sampling the complement) still give exactly m uniform edges', () => {
    const n = 10;
    const sampler = new RandomGraphSampler({ agentCount: n, ratio: 0.8, graphSeed: 8 });
    expect(sampler.edgeCount).toBe(36);
    const epochs = 3000;
    const counts = new Array<number>(n * n).fill(0);
    const problems: string[] = [];
    for (let epoch = 0; epoch < epochs; epoch++) {
      const graph = sampler.sample(epoch);
      problems.push(...wellFormedProblems(graph));
      if (graph.edgeCount !== 36) problems.push(`epoch ${epoch}: ${graph.edgeCount} edges`);
      for (const [a, b] of graph.edges()) counts[a * n + b]++;
    }
    expect(problems).toEqual([]);
    const p = 36 / 45;
    const sd = Math.sqrt(epochs * p * (1 - p));
    for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) expect(Math.abs(counts[a * n + b] - epochs * p)).toBeLessThan(5 * sd);
    expect(randomGraph({ agentCount: 8, ratio: 1, graphSeed: 1, epoch: 0 }).edges()).toEqual(completeGraph(8).edges());
  });

  it('connected: true gives connected graphs with exactly m edges over 200 epochs', () => {
    for (const [n, ratio] of [
      [20, 4 / 20],
      [20, 0.05],
      [7, 0.9],
      [2, 1],
    ] as const) {
      const sampler = new RandomGraphSampler({ agentCount: n, ratio, connected: true, graphSeed: 3 });
      expect(sampler.edgeCount).toBe(Math.max(n - 1, Math.round((ratio * n * (n - 1)) / 2)));
      for (let epoch = 0; epoch < 200; epoch++) {
        const graph = sampler.sample(epoch);
        expectWellFormed(graph);
        expect(graph.edgeCount).toBe(sampler.edgeCount);
        expect(isConnected(graph)).toBe(true);
      }
    }
  });

  it('without connected: true the sparse 4/N graph is often disconnected (the option matters)', () => {
    const sampler = new RandomGraphSampler({ agentCount: 20, ratio: 0.2, graphSeed: 3 });
    let disconnected = 0;
    for (let epoch = 0; epoch < 200; epoch++) if (!isConnected(sampler.sample(epoch))) disconnected++;
    expect(disconnected).toBeGreaterThan(20);
  });

  it('connected spanning trees are uniform over all 16 labelled trees on 4 agents (Cayley)', () => {
    const sampler = new RandomGraphSampler({ agentCount: 4, ratio: 0.1, connected: true, graphSeed: 21 });
    expect(sampler.edgeCount).toBe(3);
    const draws = 16_000;
    const counts = new Map<string, number>();
    for (let epoch = 0; epoch < draws; epoch++) {
      const key = JSON.stringify(sampler.sample(epoch).edges());
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(16);
    const sd = Math.sqrt(draws * (1 / 16) * (15 / 16));
    for (const count of counts.values()) expect(Math.abs(count - draws / 16)).toBeLessThan(5 * sd);
  });

  it('rejects a bad epoch', () => {
    const sampler = new RandomGraphSampler({ agentCount: 5, ratio: 0.5, graphSeed: 1 });
    expect(() => sampler.sample(-1)).toThrow(/epoch/);
    expect(() => sampler.sample(1.5)).toThrow(/epoch/);
  });
});
