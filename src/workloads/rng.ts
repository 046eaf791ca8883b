/** A small seeded PRNG (mulberry32) so generated workloads are identical for a given seed. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
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
