/**
 * The regression behind `ptreclaim calibrate`, pure and deterministic: time per operation
 * on the per-operation counter deltas, by non-negative least squares (ml-fcnnls: a weight
 * below zero has no meaning), with bootstrap uncertainty (resampling operations, seeded).
 *
 * Preconditions: rows all have `terms.length` features; a term whose column is zero in
 * every row cannot be estimated and is reported unmeasured (its weight comes from the
 * caller's default). Cost: one NNLS of rows x measured terms per bootstrap replicate.
 */
import { fcnnlsVector } from 'ml-fcnnls';
import { Rng } from '../workloads/rng.js';
import { PtreclaimError } from '../errors.js';

export interface FitRow {
  /** Counter deltas of one operation, in term order (syscall indicator included). */
  x: number[];
  /** Measured ns. */
  y: number;
  /** Row weight (1/variance up to a constant); 1 when omitted. */
  w?: number;
  /** Operation kind, for residual summaries. */
  kind: string;
}

export interface TermFit {
  ns: number;
  sd: number;
  ci95: [number, number];
  measured: boolean;
}

export interface FitResult {
  terms: TermFit[];
  /** Rows left out as interference (see FitOptions.trim). */
  trimmed: number;
  residuals: {
    rmsNs: number;
    medianAbsNs: number;
    r2: number;
    byKind: Record<string, { ops: number; medianNs: number; meanResidualNs: number }>;
  };
  rows: number;
}

export interface FitOptions {
  bootstrap?: number;
  seed?: number;
  /**
   * Leave out rows measured far above the first fit's prediction (more than 3x it plus
   * 20 us): on a shared host an operation preempted by other work gains a time slice, far
   * more than any counter explains. Interference only ever adds time, so only high rows go.
   */
  trim?: boolean;
}

const interfered = (y: number, predicted: number) => y > 3 * predicted + 20_000;

/** NNLS of y on the given columns of X with row weights; returns one coefficient per column index. */
export function nnls(rows: readonly FitRow[], cols: readonly number[]): number[] {
  if (cols.length === 0) return [];
  // Columns scaled to unit RMS: NNLS is invariant to positive scaling, the solver's tolerance is not.
  const scale = cols.map((c) => {
    let s = 0;
    for (const r of rows) s += r.x[c]! * r.x[c]! * (r.w ?? 1);
    return Math.sqrt(s / Math.max(1, rows.length)) || 1;
  });
  const X: number[][] = [];
  const y: number[] = [];
  for (const r of rows) {
    const sw = Math.sqrt(r.w ?? 1);
    X.push(cols.map((c, j) => (r.x[c]! / scale[j]!) * sw));
    y.push(r.y * sw);
  }
  // A tighter tolerance first; near-collinear columns (noisy host data) may need a looser one.
  let K: ReturnType<typeof fcnnlsVector>['K'] | undefined;
  for (const gradientTolerance of [1e-9, 1e-6, 1e-4, 1e-2]) {
    try {
      const k = fcnnlsVector(X, y, { maxIterations: 50 * cols.length + 50, gradientTolerance }).K;
      if (cols.every((_, j) => Number.isFinite(k.get(j, 0)))) {
        K = k;
        break;
      }
    } catch (e) {
      if (!(e as Error).message.includes('Maximum number of iterations')) throw e;
    }
  }
  if (!K) throw new PtreclaimError(`the NNLS fit did not converge on ${rows.length} operations x ${cols.length} terms`);
  return cols.map((_, j) => Math.max(0, K.get(j, 0)) / scale[j]!);
}

const quantile = (asc: readonly number[], q: number) => {
  if (asc.length === 0) return NaN;
  const pos = (asc.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return asc[lo]! + (asc[hi]! - asc[lo]!) * (pos - lo);
};

/** Fit every term that the rows move; bootstrap replicates give sd and a 95% interval. */
export function fitWeights(all: readonly FitRow[], nTerms: number, opts: FitOptions = {}): FitResult {
  let rows = all;
  if (opts.trim) {
    const first = fitWeights(all, nTerms, { bootstrap: 0 });
    const coef = first.terms.map((t) => t.ns);
    rows = all.filter(
      (r) =>
        !interfered(
          r.y,
          r.x.reduce((a, v, i) => a + v * coef[i]!, 0),
        ),
    );
  }
  const measured = Array.from({ length: nTerms }, (_, c) => rows.some((r) => r.x[c] !== 0));
  const cols = measured.flatMap((m, c) => (m ? [c] : []));
  const coef = nnls(rows, cols);
  const full = new Array<number>(nTerms).fill(0);
  cols.forEach((c, j) => (full[c] = coef[j]!));

  const B = opts.bootstrap ?? 200;
  const rng = new Rng(opts.seed ?? 1);
  const reps: number[][] = cols.map(() => []);
  for (let b = 0; b < B; b++) {
    const sample = new Array<FitRow>(rows.length);
    for (let i = 0; i < rows.length; i++) sample[i] = rows[rng.int(rows.length)]!;
    const k = nnls(sample, cols);
    k.forEach((v, j) => reps[j]!.push(v));
  }
  const terms: TermFit[] = full.map((ns, c) => {
    const j = cols.indexOf(c);
    if (j < 0) return { ns: 0, sd: 0, ci95: [0, 0], measured: false };
    const r = [...reps[j]!].sort((a, b) => a - b);
    const m = r.reduce((a, v) => a + v, 0) / Math.max(1, r.length);
    const sd = r.length > 1 ? Math.sqrt(r.reduce((a, v) => a + (v - m) ** 2, 0) / (r.length - 1)) : 0;
    return { ns, sd, ci95: B > 0 ? [quantile(r, 0.025), quantile(r, 0.975)] : [ns, ns], measured: true };
  });
  return { terms, trimmed: all.length - rows.length, residuals: residualSummary(rows, full), rows: rows.length };
}

/** Residuals (measured - predicted) of the fitted weights, overall and per operation kind. */
export function residualSummary(rows: readonly FitRow[], coef: readonly number[]): FitResult['residuals'] {
  const res = rows.map((r) => r.y - r.x.reduce((a, v, i) => a + v * coef[i]!, 0));
  const meanY = rows.reduce((a, r) => a + r.y, 0) / Math.max(1, rows.length);
  const ssRes = res.reduce((a, e) => a + e * e, 0);
  const ssTot = rows.reduce((a, r) => a + (r.y - meanY) ** 2, 0);
  const byKind: FitResult['residuals']['byKind'] = {};
  const kinds = [...new Set(rows.map((r) => r.kind))];
  for (const k of kinds) {
    const e = res.filter((_, i) => rows[i]!.kind === k);
    const abs = e.map(Math.abs).sort((a, b) => a - b);
    byKind[k] = { ops: e.length, medianNs: quantile(abs, 0.5), meanResidualNs: e.reduce((a, v) => a + v, 0) / e.length };
  }
  return {
    rmsNs: Math.sqrt(ssRes / Math.max(1, rows.length)),
    medianAbsNs: quantile(
      res.map(Math.abs).sort((a, b) => a - b),
      0.5,
    ),
    r2: ssTot > 0 ? 1 - ssRes / ssTot : 1,
    byKind,
  };
}
