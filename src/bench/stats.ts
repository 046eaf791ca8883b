/**
 * Statistics over benchmark samples: pure functions, no I/O, no clocks.
 *
 * Preconditions are stated per function; every function copies before sorting, so callers'
 * arrays are never reordered. Costs: O(n log n) for anything that sorts (the median's
 * confidence interval included: its binomial sums take one O(n) pass); the exact
 * Mann-Whitney distribution is O(n1 * n2 * min(n1, n2)) and used only for small samples.
 */

/** Sorted copy, ascending. */
export function sorted(xs: readonly number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/**
 * Quantile q in [0, 1] of ascending samples, interpolating linearly between order statistics
 * (Hyndman-Fan type 7, the default of R, NumPy and tinybench). NaN for no samples.
 */
export function quantileSorted(asc: readonly number[], q: number): number {
  const n = asc.length;
  if (n === 0) return NaN;
  const h = (n - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return asc[lo]! + (h - lo) * (asc[hi]! - asc[lo]!);
}

export function median(xs: readonly number[]): number {
  return quantileSorted(sorted(xs), 0.5);
}

/** Geometric mean of positive ratios (NaN if any is not positive). */
export function geomean(xs: readonly number[]): number {
  if (xs.length === 0 || xs.some((x) => !(x > 0))) return NaN;
  let s = 0;
  for (const x of xs) s += Math.log(x);
  return Math.exp(s / xs.length);
}

/** Largest n for which every C(n, i) * i is an integer a double holds exactly (below 2^53). */
const EXACT_BINOMIAL_N = 48;

/**
 * P(X <= k) for X ~ Binomial(n, 1/2), for every k in [0, kMax] (kMax < n), in O(kMax): each
 * coefficient comes from the previous one. Exact for n <= 48 (integer coefficients scaled by
 * a power of two); in log space beyond (relative error about 1e-13 at n = 1e6).
 */
function binomialHalfCdfs(n: number, kMax: number): Float64Array {
  const out = new Float64Array(kMax + 1);
  let s = 0;
  if (n <= EXACT_BINOMIAL_N) {
    const scale = 2 ** -n;
    let c = 1;
    for (let i = 0; i <= kMax; i++) {
      if (i > 0) c = (c * (n - i + 1)) / i;
      s += c;
      out[i] = Math.min(1, s * scale);
    }
    return out;
  }
  const logHalfN = n * Math.LN2;
  let logC = 0;
  for (let i = 0; i <= kMax; i++) {
    if (i > 0) logC += Math.log(n - i + 1) - Math.log(i);
    s += Math.exp(logC - logHalfN);
    out[i] = Math.min(1, s);
  }
  return out;
}

/** P(X <= k) for X ~ Binomial(n, 1/2). O(k). */
export function binomialHalfCdf(n: number, k: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  return binomialHalfCdfs(n, k)[k]!;
}

export interface Interval {
  lo: number;
  hi: number;
  /** Coverage actually achieved (order statistics give discrete levels). */
  confidence: number;
}

/**
 * Distribution-free confidence interval for the median from order statistics (as benchstat
 * reports it): [x(k), x(n+1-k)] with the largest k such that coverage
 * 1 - 2 P(Bin(n, 1/2) <= k-1) is at least `level`. With too few samples for that level
 * (n < 6 at 95%) the interval is the whole sample range and `confidence` says how much it
 * covers; callers show it as unbounded.
 */
export function medianCI(xs: readonly number[], level = 0.95): Interval {
  const asc = sorted(xs);
  const n = asc.length;
  if (n === 0) return { lo: NaN, hi: NaN, confidence: 0 };
  // One pass computes the binomial CDF at every rank the search may ask for.
  const jMax = Math.floor((n + 1) / 2);
  const cdf = binomialHalfCdfs(n, jMax - 1);
  let k = 0; // 1-based rank of the lower bound; 0 = none found
  for (let j = jMax; j >= 1; j--) {
    if (1 - 2 * cdf[j - 1]! >= level) {
      k = j;
      break;
    }
  }
  if (k === 0) return { lo: asc[0]!, hi: asc[n - 1]!, confidence: 1 - 2 * cdf[0]! };
  return { lo: asc[k - 1]!, hi: asc[n - k]!, confidence: 1 - 2 * cdf[k - 1]! };
}

/** Standard normal upper tail, P(Z > z), via erfc (W. J. Cody's rational approximation, |err| < 1.2e-7). */
export function normalSf(z: number): number {
  const t = 1 / (1 + (0.5 * Math.abs(z)) / Math.SQRT2);
  const x = Math.abs(z) / Math.SQRT2;
  const erfc =
    t *
    Math.exp(
      -x * x -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return z >= 0 ? erfc / 2 : 1 - erfc / 2;
}

export interface MannWhitney {
  /** U of the first sample: pairs (x, y) with x > y, ties counting 1/2. */
  u: number;
  /** Two-sided p-value. */
  p: number;
  method: 'exact' | 'normal';
}

/** Ranks 1..n with ties given their average rank; also the tie correction sum of (t^3 - t). */
function midranks(values: readonly number[]): { ranks: number[]; tieSum: number } {
  const idx = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(values.length);
  let tieSum = 0;
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && idx[j + 1]![0] === idx[i]![0]) j++;
    const r = (i + j + 2) / 2;
    for (let k = i; k <= j; k++) ranks[idx[k]![1]] = r;
    const t = j - i + 1;
    tieSum += t * t * t - t;
    i = j + 1;
  }
  return { ranks, tieSum };
}

/** Count of rank arrangements with each U, for samples of n1 and n2 without ties (Mann & Whitney 1947 recurrence). */
function exactUDistribution(n1: number, n2: number): number[] {
  // f[m][u] for growing sample sizes: f(n1, n2, u) = f(n1-1, n2, u-n2) + f(n1, n2-1, u).
  let prev: number[][] = []; // prev[j] = counts for (i-1, j)
  for (let i = 0; i <= n1; i++) {
    const cur: number[][] = [];
    for (let j = 0; j <= n2; j++) {
      if (i === 0 || j === 0) {
        cur.push([1]);
        continue;
      }
      const a = prev[j]!; // (i-1, j): shifted by j
      const b = cur[j - 1]!; // (i, j-1)
      const out = new Array<number>(i * j + 1).fill(0);
      a.forEach((c, u) => (out[u + j]! += c));
      b.forEach((c, u) => (out[u]! += c));
      cur.push(out);
    }
    prev = cur;
  }
  return prev[n2]!;
}

/**
 * Two-sided Mann-Whitney U test. Exact distribution when both samples are at most 50 and
 * there are no ties; otherwise the normal approximation with tie correction and continuity
 * correction (as SciPy's `mannwhitneyu(method="asymptotic")`). Needs both samples non-empty.
 */
export function mannWhitneyU(x: readonly number[], y: readonly number[]): MannWhitney {
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0) return { u: NaN, p: NaN, method: 'normal' };
  const { ranks, tieSum } = midranks([...x, ...y]);
  let r1 = 0;
  for (let i = 0; i < n1; i++) r1 += ranks[i]!;
  const u = r1 - (n1 * (n1 + 1)) / 2;
  const uMin = Math.min(u, n1 * n2 - u);
  if (tieSum === 0 && n1 <= 50 && n2 <= 50) {
    const dist = exactUDistribution(n1, n2);
    let total = 0;
    let tail = 0;
    dist.forEach((c, k) => {
      total += c;
      if (k <= uMin) tail += c;
    });
    return { u, p: Math.min(1, (2 * tail) / total), method: 'exact' };
  }
  const n = n1 + n2;
  const mu = (n1 * n2) / 2;
  const sigma = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieSum / (n * (n - 1))));
  if (sigma === 0) return { u, p: 1, method: 'normal' };
  const z = (Math.abs(u - mu) - 0.5) / sigma;
  return { u, p: Math.min(1, 2 * normalSf(Math.max(0, z))), method: 'normal' };
}

/** Summary of one cell's latency samples (milliseconds). */
export interface LatencySummary {
  mean: number;
  median: number;
  p99: number;
  min: number;
  max: number;
  /** Relative margin of error of the mean, percent (95%, Student's t). */
  rme: number;
  samples: number;
}

/** Two-sided 95% Student's t critical values for df = 1..30; beyond that the normal 1.96 is close enough. */
const T95 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086,
  2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

export function summarize(xs: readonly number[]): LatencySummary {
  const asc = sorted(xs);
  const n = asc.length;
  const m = mean(asc);
  let ss = 0;
  for (const x of asc) ss += (x - m) ** 2;
  const sd = n > 1 ? Math.sqrt(ss / (n - 1)) : 0;
  const t = n > 1 ? (T95[n - 2] ?? 1.96) : 0;
  return {
    mean: m,
    median: quantileSorted(asc, 0.5),
    p99: quantileSorted(asc, 0.99),
    min: asc[0] ?? NaN,
    max: asc[n - 1] ?? NaN,
    rme: m > 0 ? (100 * t * sd) / Math.sqrt(n) / m : 0,
    samples: n,
  };
}

/** Bootstrap intervals for how two sample sets' medians differ (see bootstrapMedians). */
export interface MedianContrast {
  /** median(y) - median(x), and its interval. */
  diff: number;
  diffCi: Interval;
  /** median(y) / median(x), and its interval (NaN when median(x) is not positive). */
  ratio: number;
  ratioCi: Interval;
  /** Two-sided Mann-Whitney p-value that x and y come from one distribution. */
  p: number;
}

/**
 * Percentile bootstrap of median(y) - median(x) and median(y) / median(x): each of
 * `resamples` rounds draws x and y again with replacement (independently: the two sets need
 * not pair up) and takes both statistics; the interval holds the middle `level` of them.
 * Deterministic: the draws come from a fixed-seed xorshift32, so the same samples give the
 * same interval. Needs both sets non-empty; O(resamples x (n log n)).
 */
export function bootstrapMedians(
  x: readonly number[],
  y: readonly number[],
  level = 0.95,
  resamples = 2000,
  seed = 0x9e3779b9,
): MedianContrast {
  const mx = median(x);
  const my = median(y);
  const nan: Interval = { lo: NaN, hi: NaN, confidence: 0 };
  if (x.length === 0 || y.length === 0) return { diff: NaN, diffCi: nan, ratio: NaN, ratioCi: nan, p: NaN };
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 32;
  };
  // Typed buffers: their sort is numeric and native, no comparator calls (this loop is the
  // cost of the whole function).
  const draw = (xs: readonly number[], buf: Float64Array) => {
    for (let i = 0; i < xs.length; i++) buf[i] = xs[Math.floor(next() * xs.length)]!;
    buf.sort();
    const h = (buf.length - 1) / 2;
    return (buf[Math.floor(h)]! + buf[Math.ceil(h)]!) / 2;
  };
  const bx = new Float64Array(x.length);
  const by = new Float64Array(y.length);
  const diffs: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < resamples; r++) {
    const sx = draw(x, bx);
    const sy = draw(y, by);
    diffs.push(sy - sx);
    if (sx > 0) ratios.push(sy / sx);
  }
  const tail = (1 - level) / 2;
  const interval = (xs: number[]): Interval => {
    if (!xs.length) return nan;
    const asc = sorted(xs);
    return { lo: quantileSorted(asc, tail), hi: quantileSorted(asc, 1 - tail), confidence: level };
  };
  return {
    diff: my - mx,
    diffCi: interval(diffs),
    ratio: mx > 0 ? my / mx : NaN,
    ratioCi: mx > 0 ? interval(ratios) : nan,
    p: mannWhitneyU(x, y).p,
  };
}
