/**
 * Named, seeded random streams. Every random choice in netac comes from one of these (or from
 * the counter-based hash in ./hash.ts), so the same run seed gives the same run everywhere.
 *
 * A stream is xoroshiro128+ (from pure-rand) whose 128-bit starting state is derived by hashing
 * (run seed, stream name). Its state is four int32 words that can be saved and restored
 * exactly, which is what checkpoints and resume rely on.
 */
import { xoroshiro128plus, xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import { hashKeys, hashString } from './hash.js';

/** The purposes that draw random numbers; one stream per purpose (and per agent where it says). */
export const StreamName = {
  /** The environment replica's own draws (identical in every replica). */
  environment: 'environment',
  /** Time-varying graph sampling (identical in every agent). */
  graph: 'graph',
  /** Agent i's action sampling. */
  actions: (agent: number): string => `actions/${agent}`,
  /** Agent i's parameter initialisation. */
  init: (agent: number): string => `init/${agent}`,
} as const;

/** Saved state of a stream: restoring it gives the identical continuation. */
export interface SavedStream {
  readonly name: string;
  readonly algorithm: 'xoroshiro128plus';
  readonly state: readonly number[];
}

/** The 32-bit seed of a named purpose within a run, e.g. for counter-based hashing. */
export function streamSeed(runSeed: number, name: string): number {
  return hashString(name, hashKeys(0x6e657461, runSeed | 0, Math.floor(runSeed / 4294967296)));
}

export class RandomStream {
  private constructor(
    readonly name: string,
    private readonly generator: RandomGenerator,
  ) {}

  /** The stream `name` of the run seeded with `runSeed`. */
  static create(runSeed: number, name: string): RandomStream {
    const seed = streamSeed(runSeed, name);
    // Fill all 128 bits of state from the hash: xoroshiro128plus(seed) alone starts from a
    // mostly-constant state whose first outputs are poorly mixed.
    const state = [hashKeys(seed, 1) | 0, hashKeys(seed, 2) | 0, hashKeys(seed, 3) | 0, hashKeys(seed, 4) | 0];
    if (state.every((word) => word === 0)) return new RandomStream(name, xoroshiro128plus(seed));
    return new RandomStream(name, xoroshiro128plusFromState(state));
  }

  static restore(saved: SavedStream): RandomStream {
    if (saved.algorithm !== 'xoroshiro128plus' || saved.state.length !== 4 || !saved.state.every(Number.isInteger)) {
      throw new Error(`random stream '${saved.name}': saved state is not a xoroshiro128plus state of 4 integers`);
    }
    return new RandomStream(saved.name, xoroshiro128plusFromState(saved.state));
  }

  /** A uniform number in [0, 1) with 53 random bits. */
  nextFloat(): number {
    return uniformFloat64(this.generator);
  }

  /** An unsigned 32-bit integer. */
  nextUint32(): number {
    return this.generator.next() >>> 0;
  }

  /** A uniform integer in [0, n). */
  nextInt(n: number): number {
    return Math.floor(this.nextFloat() * n);
  }

  /** Index drawn from the categorical distribution `probabilities` (which sums to 1). */
  nextCategorical(probabilities: ArrayLike<number>): number {
    const u = this.nextFloat();
    let cumulative = 0;
    const last = probabilities.length - 1;
    for (let index = 0; index < last; index++) {
      cumulative += probabilities[index];
      if (u < cumulative) return index;
    }
    return last;
  }

  save(): SavedStream {
    return { name: this.name, algorithm: 'xoroshiro128plus', state: [...this.generator.getState()] };
  }
}
