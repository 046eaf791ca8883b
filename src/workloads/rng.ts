/**
 * The project's one PRNG (mulberry32): generated workloads and the validation corpus are
 * identical for a given seed.
 */
export class Rng {
  private s: number;
  /**
   * Workloads map seed 0 to a fixed odd constant; the corpus generator keeps 0 as it is
   * (zeroSeed 'keep'), as its committed traces were made that way.
   */
  constructor(seed: number, zeroSeed: 'remap' | 'keep' = 'remap') {
    this.s = zeroSeed === 'keep' ? seed >>> 0 : seed >>> 0 || 0x9e3779b9;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** 2^k for k uniform in [0, maxLog2]: allocation sizes skew small, as real heaps do. */
  pow2(maxLog2: number): number {
    return 2 ** this.int(maxLog2 + 1);
  }
}
