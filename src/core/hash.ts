/**
 * Counter-based hashing to uniform numbers: the same keys give the same number in every process,
 * with no state. Environments generated on demand (the paper-scale MDP has 20·2^20 table rows)
 * and time-varying graphs (G_t as a pure function of (seed, t)) draw from it.
 *
 * The mixing is MurmurHash3's (x86, 32-bit): one `mixKey` round per 32-bit key, then the
 * avalanche finaliser. All arithmetic is int32 through Math.imul, so results are exact and
 * identical on every platform.
 */

/** One MurmurHash3 body round: fold the 32-bit key `key` into the running hash `hash`. */
export function mixKey(hash: number, key: number): number {
  let k = Math.imul(key, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  let h = hash ^ k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** MurmurHash3's finaliser: full avalanche of a 32-bit hash; returns an unsigned 32-bit integer. */
export function finalizeHash(hash: number): number {
  let h = hash;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Unsigned 32-bit hash of a seed and up to four integer keys. */
export function hashKeys(seed: number, k0: number, k1 = 0, k2 = 0, k3 = 0): number {
  let h = mixKey(seed | 0, k0);
  h = mixKey(h, k1);
  h = mixKey(h, k2);
  h = mixKey(h, k3);
  return finalizeHash(h ^ 16);
}

const TWO_POW_32 = 4294967296;

/** A uniform number in [0, 1) from an unsigned 32-bit hash. */
export function hashToUnit(hash: number): number {
  return hash / TWO_POW_32;
}

/** A uniform number in [0, 1) determined by a seed and up to four integer keys. */
export function uniformAt(seed: number, k0: number, k1 = 0, k2 = 0, k3 = 0): number {
  return hashKeys(seed, k0, k1, k2, k3) / TWO_POW_32;
}

/** Unsigned 32-bit hash of a string (UTF-16 code units), for deriving named seeds. */
export function hashString(text: string, seed = 0): number {
  let h = seed | 0;
  for (let index = 0; index < text.length; index++) h = mixKey(h, text.charCodeAt(index));
  return finalizeHash(h ^ text.length);
}
