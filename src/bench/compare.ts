/**
 * benchstat-style comparison of two results files: per cell, median and 95% CI of both,
 * the change of the median, and a Mann-Whitney U p-value; a geomean over cells; memory
 * counters compared exactly (they are deterministic, so any difference is real).
 */
import { UsageError } from '../errors.js';
import { geomean, mannWhitneyU, median, medianCI, type Interval } from './stats.js';
import type { BenchResults, CellResult } from './types.js';
import { checkCompareOptions } from '../api-schema.js';
import { validateResults } from './schema.js';

export interface CompareOptions {
  /** Significance level for the U test. */
  alpha: number;
  /** A slowdown larger than this (fraction, 0.05 = 5%) and significant is a regression. */
  threshold: number;
}

export interface CompareRow {
  id: string;
  base: { median: number; ci: Interval; n: number };
  next: { median: number; ci: Interval; n: number };
  /** (new - base) / base of the medians. */
  delta: number;
  p: number;
  significant: boolean;
  regression: boolean;
}

export interface CounterDiff {
  id: string;
  counter: string;
  base: number;
  next: number;
}

export interface Comparison {
  rows: CompareRow[];
  /** Why an input holds only part of its matrix ("interrupted", "shard 1/4"), per side. */
  partial: { base?: string; next?: string };
  /** Geometric mean of new/base median ratios over the compared cells. */
  geomeanRatio: number;
  counterDiffs: CounterDiff[];
  onlyInBase: string[];
  onlyInNew: string[];
  regressions: CompareRow[];
  /** Cost models of the two files' simulated times, when they differ (their simulatedMs then differ too). */
  costModels?: { base: string; next: string };
}

/** Deterministic memory and work counters worth comparing exactly. */
function exactFigures(c: CellResult): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of ['vmPteFinalKb', 'vmPtePeakKb', 'pgtableFinalKb', 'pgtablePeakKb', 'rcuPendingPeakKb'] as const)
    out[`memory.${k}`] = c.memory[k];
  for (const [k, v] of Object.entries(c.counters)) out[k] = v;
  return out;
}

/**
 * Options that change what a cell measures: files that differ in one are incomparable. The time
 * budget, iteration counts, shard and profile directories only change how many samples there are.
 */
const MEASURED_OPTIONS = ['suites', 'strategies', 'seed', 'scale', 'heapBytes', 'churn', 'timelinePoints', 'wasm'] as const;

/** The first option (or cell run option) on which the two files disagree, described. */
export function incomparability(base: BenchResults, next: BenchResults): string | undefined {
  const show = (v: unknown) =>
    v === undefined ? '(absent)' : typeof v === 'number' && v > 0 && v < 1 && Number.isInteger(1 / v) ? `1/${1 / v}` : JSON.stringify(v);
  for (const k of MEASURED_OPTIONS) {
    const a = base.context.options[k];
    const b = next.context.options[k];
    if (JSON.stringify(a) !== JSON.stringify(b)) return `option ${k} differs (${show(a)} vs ${show(b)})`;
  }
  const nextById = new Map(next.cells.map((c) => [c.id, c]));
  for (const b of base.cells) {
    const n = nextById.get(b.id);
    if (!n) continue;
    /* eslint-disable @typescript-eslint/no-unnecessary-condition -- runOptions is not a required cell field in the results schema: a validated file may lack it */
    for (const k of new Set([...Object.keys(b.runOptions ?? {}), ...Object.keys(n.runOptions ?? {})])) {
      const x = b.runOptions?.[k];
      const y = n.runOptions?.[k];
      /* eslint-enable @typescript-eslint/no-unnecessary-condition */
      if (JSON.stringify(x) !== JSON.stringify(y)) return `cell ${b.id}: run option ${k} differs (${show(x)} vs ${show(y)})`;
    }
    if (b.ops !== n.ops) return `cell ${b.id}: the workload has ${b.ops} ops in base and ${n.ops} in new`;
  }
  return undefined;
}

const costOf = (r: BenchResults) => r.context.options.costModel ?? 'built-in default';

export function compareResults(base: BenchResults, next: BenchResults, o: CompareOptions): Comparison {
  validateResults(base, 'compareResults: base');
  validateResults(next, 'compareResults: new');
  checkCompareOptions(o);
  const differs = incomparability(base, next);
  if (differs) {
    throw new UsageError(
      `compare: the files measure different things: ${differs}; run both with the same options (only the build and the time budget may differ)`,
    );
  }
  const nextById = new Map(next.cells.map((c) => [c.id, c]));
  const baseIds = new Set(base.cells.map((c) => c.id));
  const rows: CompareRow[] = [];
  const counterDiffs: CounterDiff[] = [];
  for (const b of base.cells) {
    const n = nextById.get(b.id);
    if (!n) continue;
    const bm = median(b.samples);
    const nm = median(n.samples);
    const { p } = mannWhitneyU(b.samples, n.samples);
    const delta = (nm - bm) / bm;
    const significant = p < o.alpha;
    rows.push({
      id: b.id,
      base: { median: bm, ci: medianCI(b.samples), n: b.samples.length },
      next: { median: nm, ci: medianCI(n.samples), n: n.samples.length },
      delta,
      p,
      significant,
      regression: significant && delta > o.threshold,
    });
    const bf = exactFigures(b);
    const nf = exactFigures(n);
    for (const k of new Set([...Object.keys(bf), ...Object.keys(nf)])) {
      if (bf[k] !== nf[k]) counterDiffs.push({ id: b.id, counter: k, base: bf[k] ?? NaN, next: nf[k] ?? NaN });
    }
  }
  if (rows.length === 0) {
    throw new UsageError(
      'compare: the two files have no cell in common (cells match by suite/workload/variant/strategy); run the same suites and strategies on both sides',
    );
  }
  return {
    rows,
    partial: {
      ...(base.partial ? { base: base.partialReason ?? 'partial' } : {}),
      ...(next.partial ? { next: next.partialReason ?? 'partial' } : {}),
    },
    geomeanRatio: geomean(rows.map((r) => r.next.median / r.base.median)),
    counterDiffs,
    onlyInBase: base.cells.filter((c) => !nextById.has(c.id)).map((c) => c.id),
    onlyInNew: next.cells.filter((c) => !baseIds.has(c.id)).map((c) => c.id),
    regressions: rows.filter((r) => r.regression),
    ...(costOf(base) !== costOf(next) ? { costModels: { base: costOf(base), next: costOf(next) } } : {}),
  };
}

/** "5%", "0.05" -> 0.05. */
export function parsePercent(spec: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(spec);
  if (!m) throw new UsageError(`${what} must be a percentage such as 5% or a fraction such as 0.05, not "${spec}"`);
  return m[2] ? Number(m[1]) / 100 : Number(m[1]);
}
