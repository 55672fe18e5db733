import { describe, expect, it } from 'vitest';
import { streamSeed, StreamName } from '../../src/core/rng.js';
import { isConnected, randomGraph, ringGraph, type StaticGraph } from '../../src/topology/graphs.js';
import { createTopology, parseRatio, RandomTopology, StaticTopology, type TopologySpec } from '../../src/topology/topology.js';
import type { Graph } from '../../src/topology/types.js';

const edgesOf = (graph: Graph): readonly (readonly [number, number])[] => (graph as StaticGraph).edges();

describe('StaticTopology', () => {
  it('returns its one graph at every step and is not time-varying', () => {
    const graph = ringGraph(6);
    const topology = new StaticTopology(graph);
    expect(topology.timeVarying).toBe(false);
    expect(topology.agentCount).toBe(6);
    expect(topology.graphAt(0)).toBe(graph);
    expect(topology.graphAt(123_456)).toBe(graph);
    expect(() => topology.graphAt(-1)).toThrow(/step t/);
  });
});

describe('RandomTopology', () => {
  const paper = { agentCount: 20, ratio: 4 / 20, seed: 2018 };

  it('has exactly the asked number of edges at every step (4/N, N = 20 → 38)', () => {
    const topology = new RandomTopology(paper);
    expect(topology.timeVarying).toBe(true);
    expect(topology.edgeCount).toBe(38);
    for (let t = 0; t < 100; t++) expect(topology.graphAt(t).edgeCount).toBe(38);
  });

  it('is identical for the same seed and step, whatever the call order, and different for another seed', () => {
    const a = new RandomTopology(paper);
    const b = new RandomTopology(paper);
    const forward = Array.from({ length: 20 }, (_, t) => edgesOf(a.graphAt(t)));
    for (let t = 19; t >= 0; t -= 3) expect(edgesOf(b.graphAt(t))).toEqual(forward[t]);
    expect(edgesOf(b.graphAt(7))).toEqual(forward[7]);
    const otherSeed = new RandomTopology({ ...paper, seed: 2019 });
    expect(edgesOf(otherSeed.graphAt(5))).not.toEqual(forward[5]);
  });

  it("draws from the run's 'graph' stream: G_t = randomGraph(streamSeed(seed, 'graph'), epoch)", () => {
    const topology = new RandomTopology({ ...paper, redrawEvery: 3 });
    const direct = randomGraph({ agentCount: 20, ratio: 0.2, graphSeed: streamSeed(2018, StreamName.graph), epoch: 4 });
    expect(edgesOf(topology.graphAt(13))).toEqual(direct.edges());
  });

  it('redraws every step when redrawEvery = 1', () => {
    const topology = new RandomTopology(paper);
    for (let t = 1; t < 30; t++) expect(edgesOf(topology.graphAt(t))).not.toEqual(edgesOf(topology.graphAt(t - 1)));
  });

  it('keeps the graph within an epoch when redrawEvery = 5 and redraws at epoch boundaries', () => {
    const topology = new RandomTopology({ ...paper, redrawEvery: 5 });
    expect(topology.epochOf(9)).toBe(1);
    for (let epoch = 0; epoch < 6; epoch++) {
      const first = topology.graphAt(5 * epoch);
      for (let t = 5 * epoch + 1; t < 5 * epoch + 5; t++) expect(topology.graphAt(t)).toBe(first); // memoised: the same object
      expect(edgesOf(topology.graphAt(5 * epoch + 5))).not.toEqual(edgesOf(first));
    }
  });

  it('memoises: many agents asking for the same step get one graph object, also when alternating two steps', () => {
    const topology = new RandomTopology(paper);
    const g10 = topology.graphAt(10);
    const g11 = topology.graphAt(11);
    for (let agent = 0; agent < 20; agent++) {
      expect(topology.graphAt(10)).toBe(g10);
      expect(topology.graphAt(11)).toBe(g11);
    }
    // After moving on, an old step is rebuilt with the same content.
    topology.graphAt(12);
    topology.graphAt(13);
    expect(edgesOf(topology.graphAt(10))).toEqual(edgesOf(g10));
  });

  it('connected = true gives connected graphs over 200 epochs', () => {
    const topology = new RandomTopology({ ...paper, connected: true, redrawEvery: 2 });
    for (let t = 0; t < 400; t += 2) {
      const graph = topology.graphAt(t);
      expect(isConnected(graph)).toBe(true);
      expect(graph.edgeCount).toBe(38);
    }
  });

  it('validates its options', () => {
    expect(() => new RandomTopology({ ...paper, redrawEvery: 0 })).toThrow(/redrawEvery/);
    expect(() => new RandomTopology({ ...paper, redrawEvery: 1.5 })).toThrow(/redrawEvery/);
    expect(() => new RandomTopology({ ...paper, ratio: 0 })).toThrow(/ratio/);
    expect(() => new RandomTopology({ ...paper, seed: 0.5 })).toThrow(/seed/);
    expect(() => new RandomTopology(paper).graphAt(2.5)).toThrow(/step t/);
  });
});

describe('parseRatio', () => {
  it('accepts numbers, numeric strings and "c/N"', () => {
    expect(parseRatio(0.2, 20)).toBe(0.2);
    expect(parseRatio('0.2', 20)).toBe(0.2);
    expect(parseRatio('4/N', 20)).toBe(0.2);
    expect(parseRatio(' 4 / N ', 20)).toBe(0.2);
    expect(parseRatio('2.5/n', 10)).toBe(0.25);
    expect(parseRatio(1, 5)).toBe(1);
  });

  it('rejects other forms and ratios outside (0, 1], naming the field', () => {
    expect(() => parseRatio('4/M', 20)).toThrow(/^topology\.ratio: expected a number or "c\/N"/);
    expect(() => parseRatio('N/4', 20)).toThrow(/topology\.ratio/);
    expect(() => parseRatio(true, 20)).toThrow(/topology\.ratio/);
    expect(() => parseRatio('4/N', 3)).toThrow(/^topology\.ratio: "4\/N" gives 1\.333.* for 3 agents, outside \(0, 1\]$/);
    expect(() => parseRatio(0, 20)).toThrow(/outside \(0, 1\]/);
    expect(() => parseRatio(-0.1, 20)).toThrow(/outside/);
    expect(() => parseRatio(Number.NaN, 20)).toThrow(/outside/);
  });
});

describe('createTopology', () => {
  it('builds every family', () => {
    const cases: [TopologySpec, number, number][] = [
      [{ family: 'ring' }, 8, 8],
      [{ family: 'line' }, 8, 7],
      [{ family: 'star' }, 8, 7],
      [{ family: 'complete' }, 8, 28],
      [{ family: 'grid', rows: 2 }, 8, 10],
      [{ family: 'grid' }, 12, 17],
      [{ family: 'empty' }, 8, 0],
      [{ family: 'explicit', edges: [[0, 1], [1, 2], [2, 1]] }, 8, 2],
      [{ family: 'random', ratio: '4/N' }, 20, 38],
      [{ family: 'random', ratio: 0.5, connected: true, redrawEvery: 10 }, 6, 8],
    ];
    for (const [spec, agents, edges] of cases) {
      const topology = createTopology(spec, agents, 1);
      expect(topology.agentCount).toBe(agents);
      expect(topology.timeVarying).toBe(spec.family === 'random');
      expect(topology.graphAt(0).edgeCount).toBe(edges);
    }
    const random = createTopology({ family: 'random', ratio: '4/N', redrawEvery: 5, connected: true }, 20, 9) as RandomTopology;
    expect(random.redrawEvery).toBe(5);
    expect(random.connected).toBe(true);
    expect(edgesOf(random.graphAt(3))).toEqual(edgesOf(new RandomTopology({ agentCount: 20, ratio: 0.2, redrawEvery: 5, connected: true, seed: 9 }).graphAt(0)));
  });

  it('reports bad specs in one line naming the field', () => {
    const bad: [unknown, number, RegExp][] = [
      [{ family: 'torus' }, 8, /^topology\.family: expected one of ring, line, star, complete, grid, empty, random, explicit, got "torus"$/],
      [{}, 8, /^topology\.family:/],
      [{ family: 'ring', ratio: 0.2 }, 8, /^topology\.ratio: not a parameter of family 'ring'$/],
      [{ family: 'random', edges: [] , ratio: 0.5}, 8, /^topology\.edges: not a parameter of family 'random'$/],
      [{ family: 'random' }, 8, /^topology\.ratio: required/],
      [{ family: 'random', ratio: '4/N' }, 3, /^topology\.ratio:/],
      [{ family: 'random', ratio: 0.5, redrawEvery: 0 }, 8, /^topology\.redrawEvery: expected a positive integer, got 0$/],
      [{ family: 'random', ratio: 0.5, connected: 'yes' }, 8, /^topology\.connected: expected true or false/],
      [{ family: 'grid', rows: 3 }, 8, /^topology\.rows: 3 does not divide the agent count 8$/],
      [{ family: 'grid', columns: 3 }, 8, /^topology\.columns: 3 does not divide/],
      [{ family: 'grid', rows: 2, columns: 2 }, 8, /^topology\.rows: rows × columns = 2 × 2 ≠ agent count 8$/],
      [{ family: 'grid', rows: -2 }, 8, /^topology\.rows: expected a positive integer/],
      [{ family: 'explicit' }, 8, /^topology\.edges: required/],
      [{ family: 'explicit', edges: [[0, 8]] }, 8, /^topology\.edges\[0\]: agent id 8 is not an integer in 0\.\.7$/],
      [{ family: 'explicit', edges: [[0, 1], [2, 2]] }, 8, /^topology\.edges\[1\]: self loop/],
      [{ family: 'explicit', edges: [[0, 1, 2]] }, 8, /^topology\.edges\[0\]: expected a pair/],
      [{ family: 'explicit', edges: 'x' }, 8, /^topology\.edges: expected an array/],
      [{ family: 'ring' }, 0, /^topology: agent count must be a positive integer/],
      [null, 8, /^topology: expected an object/],
    ];
    for (const [spec, agents, message] of bad) {
      expect(() => createTopology(spec as TopologySpec, agents, 1), JSON.stringify(spec)).toThrow(message);
    }
  });

  it('ignores keys that are not topology parameters (a consensus rule or a name in the same file)', () => {
    const spec = { family: 'ring', consensus: 'metropolis', name: 'ring-8' } as unknown as TopologySpec;
    expect(createTopology(spec, 8, 1).graphAt(0).edgeCount).toBe(8);
  });
});
