/**
 * Figures the HTML report computes from a results file, pure and deterministic (seeded
 * bootstrap): per-table cost of each reclaim path with confidence intervals, the slow
 * path's premium over the fast one, simulated kernel time under a chosen cost model, and
 * grouping of cells into charts of comparable scale.
 */
import type { CellResult, PathsComparison } from '../bench/types.js';
import type { CostModel } from '../mm/cost.js';
import type { StatName } from '../core/types.js';
import { COUNTERS } from '../generated/counters.js';
import { mannWhitneyU, median, medianCI, type Interval } from '../bench/stats.js';
import { Rng } from '../workloads/rng.js';

/** Percentile bootstrap 95% interval of stat(resampled a, resampled b); seeded. */
export function bootstrapCI(
  a: readonly number[],
  b: readonly number[],
  stat: (a: number[], b: number[]) => number,
  reps = 1000,
  seed = 1,
): [number, number] {
  const rng = new Rng(seed);
  const draw = (xs: readonly number[]) => Array.from({ length: xs.length }, () => xs[rng.int(xs.length)]!);
  const out: number[] = [];
  for (let i = 0; i < reps; i++) out.push(stat(draw(a), draw(b)));
  out.sort((x, y) => x - y);
  const q = (p: number) => out[Math.min(out.length - 1, Math.max(0, Math.round(p * (out.length - 1))))]!;
  return [q(0.025), q(0.975)];
}

/** Where each counter sits among a cell's flattened counters (its `run --json` path), from the counter table. */
const COUNTER_OF = new Map<StatName, string>(COUNTERS.flatMap((c) => (c.json === null ? [] : [[c.name, c.json] as const])));

/**
 * Simulated kernel time of a cell's run, ms: as recorded, or recomputed from its counters
 * with another cost model (exact for designs whose work does not depend on the clock; the
 * async scanner's passes do, so for it this is an estimate).
 */
export function simulatedMs(c: CellResult, model?: CostModel): number | undefined {
  if (!model) return c.counters['simulatedMs'];
  const k = c.counters;
  const syscalls = (k['opCounts.mmap'] ?? 0) + (k['opCounts.munmap'] ?? 0) + (k['opCounts.madvise'] ?? 0);
  let ns = syscalls * model.syscallNs;
  for (const [stat, weight] of Object.entries(model.perEvent) as [StatName, number | undefined][]) {
    if (!weight) continue;
    const key = COUNTER_OF.get(stat);
    const v = key === undefined ? undefined : k[key];
    if (v === undefined) return undefined;
    ns += v * weight;
  }
  return ns / 1e6;
}

export interface PathCost {
  strategy: string;
  variant: string;
  cellId: string;
  tables: number;
  /** Wall ns per reclaimed table: each sample (whole run) / tables. */
  perTableNs: number[];
  median: number;
  ci: Interval;
  simulatedNsPerTable?: number;
  entriesPerTable: number;
  locksPerTable: number;
}

export interface PathPremium {
  strategy: string;
  variant: string;
  /** median(variant) - median(fast), ns per table, with a bootstrap 95% CI. */
  premiumNs: number;
  premiumCI: [number, number];
  ratio: number;
  ratioCI: [number, number];
  p: number;
  simulatedPremiumNs?: number;
}

/** Per-table cost of every paths cell that reclaimed tables, and each path's premium over fast. */
export function pathCosts(
  cells: readonly CellResult[],
  model?: CostModel,
): { costs: PathCost[]; premiums: PathPremium[]; noTables: string[] } {
  const costs: PathCost[] = [];
  const noTables: string[] = [];
  for (const c of cells) {
    if (c.suite !== 'paths') continue;
    const k = c.counters;
    const tables = (k['reclaim.fast'] ?? 0) + (k['reclaim.slow'] ?? 0);
    if (tables === 0) {
      noTables.push(c.strategy);
      continue;
    }
    const perTableNs = c.samples.map((ms) => (ms * 1e6) / tables);
    const sim = simulatedMs(c, model);
    costs.push({
      strategy: c.strategy,
      variant: c.variant,
      cellId: c.id,
      tables,
      perTableNs,
      median: median(perTableNs),
      ci: medianCI(perTableNs),
      ...(sim !== undefined ? { simulatedNsPerTable: (sim * 1e6) / tables } : {}),
      entriesPerTable: ((k['entries.readZap'] ?? 0) + (k['entries.readScan'] ?? 0)) / tables,
      locksPerTable: ((k['locks.ptl'] ?? 0) + (k['locks.pmd'] ?? 0)) / tables,
    });
  }
  const premiums: PathPremium[] = [];
  for (const c of costs) {
    const fast = costs.find((f) => f.strategy === c.strategy && f.variant === 'fast');
    if (!fast || c === fast) continue;
    const mw = mannWhitneyU(fast.perTableNs, c.perTableNs);
    premiums.push({
      strategy: c.strategy,
      variant: c.variant,
      premiumNs: c.median - fast.median,
      premiumCI: bootstrapCI(fast.perTableNs, c.perTableNs, (a, b) => median(b) - median(a)),
      ratio: c.median / fast.median,
      ratioCI: bootstrapCI(fast.perTableNs, c.perTableNs, (a, b) => median(b) / median(a)),
      p: mw.p,
      ...(c.simulatedNsPerTable !== undefined && fast.simulatedNsPerTable !== undefined
        ? { simulatedPremiumNs: c.simulatedNsPerTable - fast.simulatedNsPerTable }
        : {}),
    });
  }
  return { costs, premiums, noTables: [...new Set(noTables)] };
}

/**
 * The same figures from the paths suite's own measurement (results.paths, src/bench/paths.ts):
 * each sample is the wall time of one table's reclaim with the fixed cost of a call subtracted,
 * so it is preferred over whole-run samples when present. Its ratio and difference intervals
 * are used as they were computed.
 */
export function pathCostsFromComparison(paths: readonly PathsComparison[]): {
  costs: PathCost[];
  premiums: PathPremium[];
  noTables: string[];
} {
  const costs: PathCost[] = [];
  const premiums: PathPremium[] = [];
  for (const c of paths) {
    const fast = c.variants.find((v) => v.variant === 'fast');
    for (const v of c.variants) {
      costs.push({
        strategy: c.strategy,
        variant: v.variant,
        cellId: `${c.strategy}/${v.variant}`,
        tables: c.reclaimsPerSample,
        perTableNs: v.samplesNs,
        median: v.wallNs,
        ci: medianCI(v.samplesNs),
        simulatedNsPerTable: v.perTable.simulatedNs,
        entriesPerTable: v.perTable.entriesRead,
        locksPerTable: v.perTable.locks,
      });
    }
    for (const r of c.ratios) {
      const v = c.variants.find((x) => x.variant === r.of);
      premiums.push({
        strategy: c.strategy,
        variant: r.of,
        premiumNs: r.diffNs,
        premiumCI: [r.diffCi.lo, r.diffCi.hi],
        ratio: r.ratio,
        ratioCI: [r.ci.lo, r.ci.hi],
        p: r.p,
        ...(v && fast ? { simulatedPremiumNs: v.perTable.simulatedNs - fast.perTable.simulatedNs } : {}),
      });
    }
  }
  return { costs, premiums, noTables: [] };
}

/**
 * Items split into groups whose values differ by at most `factor` (sorted by value, a new
 * group when an item exceeds factor x the group's smallest); items keep their order inside a
 * group. Zero and missing values form their own group, listed first.
 */
export function groupByScale<T>(items: readonly T[], value: (t: T) => number | undefined, factor = 30): T[][] {
  const zero = items.filter((t) => !((value(t) ?? 0) > 0));
  const pos = items.filter((t) => (value(t) ?? 0) > 0).sort((a, b) => value(a)! - value(b)!);
  const groups: T[][] = [];
  let cur: T[] = [];
  let lo = 0;
  for (const t of pos) {
    const v = value(t)!;
    if (cur.length && v > factor * lo) {
      groups.push(cur);
      cur = [];
    }
    if (!cur.length) lo = v;
    cur.push(t);
  }
  if (cur.length) groups.push(cur);
  const order = new Map(items.map((t, i) => [t, i]));
  const sorted = groups.map((g) => g.sort((a, b) => order.get(a)! - order.get(b)!));
  return zero.length ? [zero, ...sorted] : sorted;
}

/** [min, q1, median, q3, max] of samples (Tukey-free: the whiskers are the extremes). */
export function fiveNumber(xs: readonly number[]): [number, number, number, number, number] {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => {
    const h = (s.length - 1) * p;
    const lo = Math.floor(h);
    const hi = Math.min(s.length - 1, lo + 1);
    return s[lo]! + (h - lo) * (s[hi]! - s[lo]!);
  };
  return [s[0]!, q(0.25), q(0.5), q(0.75), s[s.length - 1]!];
}
