/**
 * Statistics against known values: Mann-Whitney U (SciPy 1.17 `mannwhitneyu`, two-sided),
 * order-statistic confidence intervals of the median (binomial coverage worked by hand),
 * quantiles (NumPy's default linear interpolation).
 */
import { describe, it, expect } from 'vitest';
import {
  mannWhitneyU,
  medianCI,
  quantileSorted,
  median,
  geomean,
  summarize,
  binomialHalfCdf,
  normalSf,
  bootstrapMedians,
} from '../src/bench/stats.js';

describe('Mann-Whitney U', () => {
  it('exact distribution, no ties (SciPy method="exact")', () => {
    expect(mannWhitneyU([1, 2, 3], [4, 5, 6])).toMatchObject({ u: 0, method: 'exact' });
    expect(mannWhitneyU([1, 2, 3], [4, 5, 6]).p).toBeCloseTo(0.1, 12);
    expect(mannWhitneyU([1.1, 2.2, 3.3, 4.4, 5.5], [6, 7, 8, 9, 10, 11]).p).toBeCloseTo(0.004329004329004329, 12);
    const r = mannWhitneyU([19, 22, 16, 29, 24], [20, 11, 17, 12]);
    expect(r.u).toBe(17);
    expect(r.p).toBeCloseTo(0.1111111111111111, 12);
  });

  it('normal approximation with ties and continuity correction (SciPy method="asymptotic")', () => {
    const r = mannWhitneyU([1, 2, 2, 3, 3, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [3, 4, 5, 5, 6, 7, 8, 8, 9, 12, 13, 14, 15, 16, 17, 18]);
    expect(r).toMatchObject({ u: 59, method: 'normal' });
    expect(r.p).toBeCloseTo(0.01651732426751122, 5);
  });

  it('normal approximation for samples larger than 50', () => {
    const x = Array.from({ length: 60 }, (_, i) => i);
    const y = Array.from({ length: 55 }, (_, i) => i + 7.5);
    const r = mannWhitneyU(x, y);
    expect(r).toMatchObject({ u: 1378, method: 'normal' });
    expect(r.p).toBeCloseTo(0.12848379227750423, 5);
  });

  it('is symmetric in its samples and 1 for identical ones', () => {
    const a = [3, 1, 4, 1, 5, 9, 2, 6];
    const b = [2, 7, 1, 8, 2, 8, 1, 8];
    expect(mannWhitneyU(a, b).p).toBeCloseTo(mannWhitneyU(b, a).p, 12);
    expect(mannWhitneyU([5, 5, 5], [5, 5, 5]).p).toBe(1);
  });
});

describe('median confidence interval (order statistics)', () => {
  const xs = [10, 1, 9, 2, 8, 3, 7, 4, 6, 5]; // 1..10 shuffled

  it('n = 10: [x(2), x(9)], coverage 1 - 2 * 11/1024', () => {
    expect(medianCI(xs)).toEqual({ lo: 2, hi: 9, confidence: 1 - (2 * 11) / 1024 });
  });

  it('n = 6 reaches 95% only with the extremes; n = 5 cannot (coverage says so)', () => {
    expect(medianCI([6, 5, 4, 3, 2, 1])).toEqual({ lo: 1, hi: 6, confidence: 1 - 2 / 64 });
    expect(medianCI([5, 4, 3, 2, 1])).toEqual({ lo: 1, hi: 5, confidence: 1 - 2 / 32 });
  });

  /** P(Bin(n, 1/2) <= k) for k = 0..kMax, exactly with BigInt coefficients: the reference for large n. */
  const exactCdfs = (n: number, kMax: number): number[] => {
    const out: number[] = [];
    const shift = BigInt(Math.max(0, n - 60)); // keep 60 significant bits of sum / 2^n
    let c = 1n;
    let sum = 0n;
    for (let i = 0; i <= kMax; i++) {
      if (i > 0) c = (c * BigInt(n - i + 1)) / BigInt(i);
      sum += c;
      out.push(Number(sum >> shift) / 2 ** (n - Number(shift)));
    }
    return out;
  };
  const exactCdf = (n: number, k: number) => exactCdfs(n, k)[k]!;

  it.each([49, 100, 1001, 4000])('n = %i: the rank and coverage of the exact binomial computation', (n) => {
    const xs = Array.from({ length: n }, (_, i) => (i * 7919) % n); // 0..n-1, permuted
    const ci = medianCI(xs);
    // Largest rank k with coverage 1 - 2 P(X <= k - 1) >= 0.95, by exact arithmetic.
    const cdf = exactCdfs(n, Math.floor((n + 1) / 2));
    let k = Math.floor((n + 1) / 2);
    while (k >= 1 && 1 - 2 * cdf[k - 1]! < 0.95) k--;
    expect(ci.lo).toBe(k - 1);
    expect(ci.hi).toBe(n - k);
    expect(ci.confidence).toBeCloseTo(1 - 2 * cdf[k - 1]!, 12);
    expect(binomialHalfCdf(n, k - 1)).toBeCloseTo(cdf[k - 1]!, 12);
  });

  it('binomial tail and normal tail', () => {
    expect(binomialHalfCdf(10, 2)).toBe(56 / 1024);
    expect(binomialHalfCdf(60, 30)).toBeCloseTo(exactCdf(60, 30), 14);
    expect(binomialHalfCdf(10, 2)).toBeCloseTo(56 / 1024, 14);
    expect(normalSf(1.959963985)).toBeCloseTo(0.025, 6);
    expect(normalSf(0)).toBeCloseTo(0.5, 6);
  });
});

describe('descriptive statistics', () => {
  it('quantiles interpolate like NumPy (type 7)', () => {
    const s = [1, 2, 3, 4];
    expect(quantileSorted(s, 0.5)).toBe(2.5);
    expect(quantileSorted(s, 0.99)).toBeCloseTo(3.97, 12);
    expect(median([3, 1, 2])).toBe(2);
  });

  it('summary: mean, median, p99, min, max, rme (Student t, df = n-1)', () => {
    const s = summarize([2, 4, 4, 4, 5, 5, 7, 9]);
    expect(s).toMatchObject({ mean: 5, median: 4.5, min: 2, max: 9, samples: 8 });
    // sd = sqrt(32/7); t(0.975, 7) = 2.365
    expect(s.rme).toBeCloseTo((100 * 2.365 * Math.sqrt(32 / 7)) / Math.sqrt(8) / 5, 10);
  });

  it('geomean', () => {
    expect(geomean([2, 8])).toBeCloseTo(4, 12);
    expect(geomean([1, -1])).toBeNaN();
  });
});

describe('bootstrapMedians', () => {
  it('brackets the difference and ratio of medians, is deterministic, and gives the Mann-Whitney p', () => {
    const x = [10, 11, 9, 10, 12, 8, 10, 11, 9];
    const y = x.map((v) => v * 2);
    const a = bootstrapMedians(x, y);
    expect(a.diff).toBe(10);
    expect(a.ratio).toBe(2);
    expect(a.diffCi.lo).toBeLessThanOrEqual(10);
    expect(a.diffCi.hi).toBeGreaterThanOrEqual(10);
    expect(a.diffCi.hi - a.diffCi.lo).toBeGreaterThan(0); // the resamples vary
    expect(a.ratioCi.lo).toBeLessThanOrEqual(2);
    expect(a.ratioCi.hi).toBeGreaterThanOrEqual(2);
    expect(a.p).toBe(mannWhitneyU(x, y).p);
    expect(bootstrapMedians(x, y)).toEqual(a);
    // Identical sets: the difference's interval holds 0.
    const same = bootstrapMedians(x, x);
    expect(same.diffCi.lo).toBeLessThanOrEqual(0);
    expect(same.diffCi.hi).toBeGreaterThanOrEqual(0);
  });
  it('says nothing for an empty set', () => {
    expect(bootstrapMedians([], [1]).diff).toBeNaN();
  });
});
