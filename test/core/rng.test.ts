import { describe, expect, it } from 'vitest';
import { RandomStream, StreamName, streamSeed, type SavedStream } from '../../src/core/rng.js';

function uint32s(stream: RandomStream, count: number): number[] {
  return Array.from({ length: count }, () => stream.nextUint32());
}

describe('RandomStream identity', () => {
  it('gives the same sequence for the same run seed and name', () => {
    expect(uint32s(RandomStream.create(7, 'environment'), 1000)).toEqual(uint32s(RandomStream.create(7, 'environment'), 1000));
    const a = RandomStream.create(7, StreamName.actions(3));
    const b = RandomStream.create(7, 'actions/3');
    expect(Array.from({ length: 100 }, () => a.nextFloat())).toEqual(Array.from({ length: 100 }, () => b.nextFloat()));
  });

  it('gives different sequences for different names or seeds', () => {
    const reference = uint32s(RandomStream.create(7, 'environment'), 50);
    expect(uint32s(RandomStream.create(7, 'graph'), 50)).not.toEqual(reference);
    expect(uint32s(RandomStream.create(8, 'environment'), 50)).not.toEqual(reference);
    expect(uint32s(RandomStream.create(7, StreamName.actions(0)), 50)).not.toEqual(uint32s(RandomStream.create(7, StreamName.actions(1)), 50));
    // Seeds beyond 32 bits are not truncated.
    expect(uint32s(RandomStream.create(7 + 2 ** 32, 'environment'), 50)).not.toEqual(reference);
  });

  it('derives distinct stream seeds per name and run seed', () => {
    const names = ['environment', 'graph', ...Array.from({ length: 20 }, (_, i) => StreamName.actions(i)), ...Array.from({ length: 20 }, (_, i) => StreamName.init(i))];
    const seeds = new Set(names.map((name) => streamSeed(1, name)));
    expect(seeds.size).toBe(names.length);
    expect(streamSeed(1, 'graph')).toBe(streamSeed(1, 'graph'));
    expect(streamSeed(1, 'graph')).not.toBe(streamSeed(2, 'graph'));
  });

  it('starts well mixed: nearby seeds do not give nearby first outputs', () => {
    const firsts = Array.from({ length: 64 }, (_, seed) => RandomStream.create(seed, 'environment').nextFloat());
    expect(new Set(firsts).size).toBe(64);
    const mean = firsts.reduce((sum, value) => sum + value, 0) / firsts.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.2);
  });
});

describe('RandomStream save and restore', () => {
  it('continues identically after save() mid-stream and restore()', () => {
    const stream = RandomStream.create(99, 'init/4');
    for (let i = 0; i < 137; i++) stream.nextFloat();
    const saved = stream.save();
    // A checkpoint goes through JSON: the saved state must survive it.
    const restored = RandomStream.restore(JSON.parse(JSON.stringify(saved)) as SavedStream);
    expect(restored.name).toBe('init/4');
    const continuation = [stream.nextFloat(), stream.nextUint32(), stream.nextInt(10), stream.nextCategorical([0.3, 0.7])];
    const restoredContinuation = [restored.nextFloat(), restored.nextUint32(), restored.nextInt(10), restored.nextCategorical([0.3, 0.7])];
    expect(restoredContinuation).toEqual(continuation);
    expect(uint32s(restored, 500)).toEqual(uint32s(stream, 500));
  });

  it('does not let save() disturb the stream', () => {
    const a = RandomStream.create(3, 'environment');
    const b = RandomStream.create(3, 'environment');
    a.save();
    a.save();
    expect(uint32s(a, 20)).toEqual(uint32s(b, 20));
  });

  it('rejects a malformed saved state', () => {
    expect(() => RandomStream.restore({ name: 'x', algorithm: 'xoroshiro128plus', state: [1, 2, 3] })).toThrow(/4 integers/);
    expect(() => RandomStream.restore({ name: 'x', algorithm: 'xoroshiro128plus', state: [1, 2, 3, 0.5] })).toThrow(/x/);
    expect(() => RandomStream.restore({ name: 'x', algorithm: 'mt19937' as 'xoroshiro128plus', state: [1, 2, 3, 4] })).toThrow();
  });
});

describe('RandomStream distributions', () => {
  const draws = 100_000;

  it('nextFloat lies in [0, 1) with mean ≈ 1/2 and variance ≈ 1/12', () => {
    const stream = RandomStream.create(11, 'environment');
    let sum = 0;
    let sumSquares = 0;
    let smallest = Infinity;
    let largest = -Infinity;
    for (let i = 0; i < draws; i++) {
      const value = stream.nextFloat();
      sum += value;
      sumSquares += value * value;
      smallest = Math.min(smallest, value);
      largest = Math.max(largest, value);
    }
    const mean = sum / draws;
    expect(smallest).toBeGreaterThanOrEqual(0);
    expect(largest).toBeLessThan(1);
    expect(Math.abs(mean - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / draws));
    expect(Math.abs(sumSquares / draws - mean * mean - 1 / 12)).toBeLessThan(0.002);
  });

  it('nextInt covers [0, n) uniformly', () => {
    const stream = RandomStream.create(12, 'environment');
    const n = 7;
    const counts = new Array<number>(n).fill(0);
    let outOfRange = 0;
    for (let i = 0; i < draws; i++) {
      const value = stream.nextInt(n);
      if (Number.isInteger(value) && value >= 0 && value < n) counts[value]++;
      else outOfRange++;
    }
    expect(outOfRange).toBe(0);
    const expected = draws / n;
    const sd = Math.sqrt(draws * (1 / n) * (1 - 1 / n));
    for (const count of counts) expect(Math.abs(count - expected)).toBeLessThan(5 * sd);
  });

  it('nextCategorical frequencies match the probabilities within 5σ', () => {
    const stream = RandomStream.create(13, StreamName.actions(0));
    const probabilities = [0.1, 0.2, 0.3, 0.4];
    const counts = new Array<number>(probabilities.length).fill(0);
    for (let i = 0; i < draws; i++) counts[stream.nextCategorical(probabilities)]++;
    probabilities.forEach((p, index) => {
      const sd = Math.sqrt(draws * p * (1 - p));
      expect(Math.abs(counts[index] - draws * p)).toBeLessThan(5 * sd);
    });
  });

  it('nextCategorical never picks a zero-probability category and accepts typed arrays', () => {
    const stream = RandomStream.create(14, StreamName.actions(1));
    const probabilities = new Float64Array([0.5, 0, 0.5]);
    const counts = [0, 0, 0];
    for (let i = 0; i < 10_000; i++) counts[stream.nextCategorical(probabilities)]++;
    expect(counts[1]).toBe(0);
    expect(counts[0]).toBeGreaterThan(4500);
    expect(counts[2]).toBeGreaterThan(4500);
    expect(stream.nextCategorical([1])).toBe(0);
  });

  it('nextUint32 spreads over all 32 bits', () => {
    const stream = RandomStream.create(15, 'graph');
    const ones = new Array<number>(32).fill(0);
    const n = 20_000;
    let outOfRange = 0;
    for (let i = 0; i < n; i++) {
      const value = stream.nextUint32();
      if (!(value >= 0 && value < 2 ** 32 && Number.isInteger(value))) outOfRange++;
      for (let bit = 0; bit < 32; bit++) ones[bit] += (value >>> bit) & 1;
    }
    expect(outOfRange).toBe(0);
    const sd = Math.sqrt(n / 4);
    for (const count of ones) expect(Math.abs(count - n / 2)).toBeLessThan(5 * sd);
  });
});
