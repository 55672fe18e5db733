import { describe, expect, it } from 'vitest';
import { finalizeHash, hashKeys, hashString, hashToUnit, mixKey, uniformAt } from '../../src/core/hash.js';

/**
 * An independent, byte-oriented MurmurHash3 x86_32 (the reference algorithm, written from its
 * specification rather than from hash.ts): hashKeys must equal it on the 16 little-endian bytes of
 * its four keys. That ties every process's counter-based draws to a published function, not just
 * to whatever hash.ts happens to compute today.
 */
function murmur3Reference(bytes: Uint8Array, seed: number): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed >>> 0;
  const blocks = Math.floor(bytes.length / 4);
  for (let block = 0; block < blocks; block++) {
    const offset = block * 4;
    let k = bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) | (bytes[offset + 3] << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = blocks * 4;
  const remainder = bytes.length & 3;
  if (remainder > 0) {
    let k1 = 0;
    if (remainder === 3) k1 ^= bytes[tail + 2] << 16;
    if (remainder >= 2) k1 ^= bytes[tail + 1] << 8;
    k1 ^= bytes[tail];
    k1 = Math.imul(k1, c1);
    k1 = (k1 << 15) | (k1 >>> 17);
    k1 = Math.imul(k1, c2);
    h ^= k1;
  }
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function littleEndianWords(...words: number[]): Uint8Array {
  const bytes = new Uint8Array(4 * words.length);
  const view = new DataView(bytes.buffer);
  words.forEach((word, index) => view.setUint32(4 * index, word >>> 0, true));
  return bytes;
}

/** Chi-square statistic of `values` in [0, 1) over `bins` equal bins. */
function chiSquare(values: ArrayLike<number>, bins: number): number {
  const counts = new Array<number>(bins).fill(0);
  for (let index = 0; index < values.length; index++) counts[Math.floor(values[index] * bins)]++;
  const expected = values.length / bins;
  return counts.reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0);
}

describe('murmur3 reference implementation (sanity of the test oracle)', () => {
  const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);
  it.each([
    ['', 0, 0],
    ['', 1, 0x514e28b7],
    ['', 0xffffffff, 0x81f16f39],
    ['\0\0\0\0', 0, 0x2362f9de],
    ['aaaa', 0x9747b28c, 0x5a97808a],
    ['abc', 0, 0xb3dd93fa],
    ['Hello, world!', 0x9747b28c, 0x24884cba],
    ['The quick brown fox jumps over the lazy dog', 0x9747b28c, 0x2fa826cd],
  ])('murmur3(%j, seed %d) matches the published test vector', (text, seed, expected) => {
    expect(murmur3Reference(ascii(text), seed)).toBe(expected);
  });
});

describe('hashKeys', () => {
  it('equals MurmurHash3 x86_32 of the four keys as 16 little-endian bytes', () => {
    let state = 12345;
    const next = (): number => (state = hashKeys(state, 99)); // any deterministic input source
    for (let trial = 0; trial < 2000; trial++) {
      const seed = next();
      const keys = [next(), next(), next(), next()];
      expect(hashKeys(seed, keys[0], keys[1], keys[2], keys[3])).toBe(murmur3Reference(littleEndianWords(...keys), seed));
    }
    // Omitted keys default to 0.
    expect(hashKeys(7, 3)).toBe(murmur3Reference(littleEndianWords(3, 0, 0, 0), 7));
    // Negative (int32) and unsigned spellings of the same 32 bits hash alike.
    expect(hashKeys(-1, -2)).toBe(hashKeys(0xffffffff, 0xfffffffe));
  });

  it('is deterministic, unsigned 32-bit, and sensitive to the seed and to every key position', () => {
    const base = hashKeys(42, 1, 2, 3, 4);
    expect(hashKeys(42, 1, 2, 3, 4)).toBe(base);
    expect(Number.isInteger(base) && base >= 0 && base < 2 ** 32).toBe(true);
    const variants = [hashKeys(43, 1, 2, 3, 4), hashKeys(42, 0, 2, 3, 4), hashKeys(42, 1, 0, 3, 4), hashKeys(42, 1, 2, 0, 4), hashKeys(42, 1, 2, 3, 0), hashKeys(42, 2, 1, 3, 4)];
    for (const variant of variants) expect(variant).not.toBe(base);
  });

  it('avalanches: flipping one input bit flips about half of the 32 output bits', () => {
    let flippedBits = 0;
    let trials = 0;
    for (let counter = 0; counter < 2000; counter++) {
      const original = hashKeys(5, counter, 77);
      for (let bit = 0; bit < 32; bit += 7) {
        let difference = (original ^ hashKeys(5, counter ^ (1 << bit), 77)) >>> 0;
        while (difference !== 0) {
          flippedBits += difference & 1;
          difference >>>= 1;
        }
        trials++;
      }
    }
    const mean = flippedBits / trials;
    // Binomial(32, 1/2) has sd 2.83 per trial; over 10,000 trials the mean's sd is 0.028.
    expect(mean).toBeGreaterThan(15.8);
    expect(mean).toBeLessThan(16.2);
  });

  it('finalizeHash and mixKey compose to hashKeys', () => {
    let h = mixKey(9, 1);
    h = mixKey(h, 2);
    h = mixKey(h, 0);
    h = mixKey(h, 0);
    expect(finalizeHash(h ^ 16)).toBe(hashKeys(9, 1, 2));
  });
});

describe('uniformAt', () => {
  const count = 100_000;
  const draws = new Float64Array(count);
  for (let counter = 0; counter < count; counter++) draws[counter] = uniformAt(2024, 3, counter);

  it('lies in [0, 1) and equals hashToUnit(hashKeys(...))', () => {
    let smallest = Infinity;
    let largest = -Infinity;
    for (const value of draws) {
      smallest = Math.min(smallest, value);
      largest = Math.max(largest, value);
    }
    expect(smallest).toBeGreaterThanOrEqual(0);
    expect(largest).toBeLessThan(1);
    expect(uniformAt(1, 2, 3, 4, 5)).toBe(hashToUnit(hashKeys(1, 2, 3, 4, 5)));
    expect(hashToUnit(0xffffffff)).toBeLessThan(1);
  });

  it('has mean ≈ 1/2 and variance ≈ 1/12 over 1e5 consecutive counters', () => {
    const mean = draws.reduce((sum, value) => sum + value, 0) / count;
    const variance = draws.reduce((sum, value) => sum + (value - mean) ** 2, 0) / count;
    const meanSd = Math.sqrt(1 / 12 / count); // ≈ 0.0009
    expect(Math.abs(mean - 0.5)).toBeLessThan(5 * meanSd);
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(0.002);
  });

  it('fills 16 bins evenly: chi-square with 15 degrees of freedom in a sane range', () => {
    const statistic = chiSquare(draws, 16);
    // χ²(15): mean 15, sd 5.5; below 2 would mean suspiciously regular (a low-discrepancy
    // counter pattern), above 50 is p < 1e-5.
    expect(statistic).toBeGreaterThan(2);
    expect(statistic).toBeLessThan(50);
  });

  it('shows no lag-1 correlation between consecutive counters', () => {
    let sum = 0;
    for (let index = 1; index < count; index++) sum += (draws[index] - 0.5) * (draws[index - 1] - 0.5);
    const correlation = sum / (count - 1) / (1 / 12);
    expect(Math.abs(correlation)).toBeLessThan(5 / Math.sqrt(count));
  });
});

describe('hashString', () => {
  it('is deterministic and separates names, seeds and lengths', () => {
    expect(hashString('graph')).toBe(hashString('graph'));
    expect(hashString('graph')).not.toBe(hashString('environment'));
    expect(hashString('actions/1')).not.toBe(hashString('actions/2'));
    expect(hashString('graph', 1)).not.toBe(hashString('graph', 2));
    expect(hashString('')).not.toBe(hashString('\0'));
    const value = hashString('init/19');
    expect(Number.isInteger(value) && value >= 0 && value < 2 ** 32).toBe(true);
  });
});
