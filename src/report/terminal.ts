/**
 * Terminal output of `bench` and `compare`: one table per workload, strategies side by side,
 * the best value of each scored row in green (picocolors honours NO_COLOR).
 */
import pc from 'picocolors';
import type { BenchResults, CellResult } from '../bench/types.js';
import type { Comparison } from '../bench/compare.js';
import { groupByWorkload, COUNTER_ROWS, counterKey } from './exporter.js';
import { fmtInt, fmtKb, fmtMs, fmtRate } from './format.js';
import { terminalTable, highlightBest } from './table.js';
import { fitGrid, type Layout } from './layout.js';
import { formatPathsComparison } from './paths.js';
import { formatScale } from '../workloads/sparse.js';

interface Row {
  label: string;
  value: (c: CellResult) => string;
  /** Higher is better when 'max'; lower when 'min'. */
  best?: 'min' | 'max';
  score?: (c: CellResult) => number;
}

function rowsFor(cells: readonly CellResult[]): Row[] {
  const rows: Row[] = [
    {
      label: 'run time median (±rme)',
      value: (c) => `${fmtMs(c.latency.median)} (±${c.latency.rme.toFixed(1)}%)`,
      best: 'min',
      score: (c) => c.latency.median,
    },
    { label: 'mean / p99', value: (c) => `${fmtMs(c.latency.mean)} / ${fmtMs(c.latency.p99)}` },
    { label: 'min / max (samples)', value: (c) => `${fmtMs(c.latency.min)} / ${fmtMs(c.latency.max)} (${c.latency.samples})` },
    { label: 'simulated ops/s', value: (c) => fmtRate(c.throughput.opsPerSec), best: 'max', score: (c) => c.throughput.opsPerSec },
    {
      label: 'VA zapped / s',
      value: (c) => `${c.throughput.zapGiBPerSec.toFixed(1)} GiB`,
      best: 'max',
      score: (c) => c.throughput.zapGiBPerSec,
    },
    { label: 'entries read / s', value: (c) => fmtRate(c.throughput.entriesPerSec) },
    { label: 'simulated kernel time', value: (c) => (c.counters.simulatedMs === undefined ? '-' : fmtMs(c.counters.simulatedMs)) },
    { label: 'VmPTE final', value: (c) => fmtKb(c.memory.vmPteFinalKb), best: 'min', score: (c) => c.memory.vmPteFinalKb },
    { label: 'VmPTE peak', value: (c) => fmtKb(c.memory.vmPtePeakKb), best: 'min', score: (c) => c.memory.vmPtePeakKb },
    {
      label: 'page tables incl. RCU-pending, peak',
      value: (c) => fmtKb(c.memory.pgtablePeakKb),
      best: 'min',
      score: (c) => c.memory.pgtablePeakKb,
    },
    { label: 'RCU-pending peak', value: (c) => fmtKb(c.memory.rcuPendingPeakKb) },
    {
      label: 'WASM memory / JS heap',
      value: (c) => `${fmtKb(c.memory.wasmMemoryBytes / 1024)} / ${fmtKb(c.memory.jsHeapUsedBytes / 1024)}`,
    },
  ];
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- checkpoints is not a required cell field in the results schema
  if (cells.some((c) => c.checkpoints?.before)) {
    rows.push({ label: 'VmPTE before purge', value: (c) => fmtKb(c.checkpoints.before?.vmPteKb ?? NaN) });
  }
  if (cells.some((c) => c.scale)) {
    const s = cells.find((c) => c.scale)!.scale!;
    rows.push(
      { label: `VmPTE before, full scale (÷ ${formatScale(s)})`, value: (c) => fmtKb((c.checkpoints.before?.vmPteKb ?? NaN) / s) },
      {
        label: `VmPTE after, full scale (÷ ${formatScale(s)})`,
        value: (c) => fmtKb(c.memory.vmPteFinalKb / s),
        best: 'min',
        score: (c) => c.memory.vmPteFinalKb,
      },
    );
  }
  for (const r of COUNTER_ROWS) {
    const k = counterKey(cells, r.match);
    if (k) rows.push({ label: r.label, value: (c) => fmtInt(c.counters[k] ?? NaN) });
  }
  rows.push({ label: 'exit teardown', value: (c) => (c.exitClean ? 'clean' : pc.red('NOT clean')) });
  return rows;
}

/**
 * One table per workload, strategies side by side; split by strategy when that does not fit
 * the layout's width (src/report/layout.ts). When the paths comparison ran, the paths
 * suite's cells are summarised inside it instead of three tables of their own.
 */
export function formatBenchTables(results: BenchResults, layout: Layout = { format: 'wide', width: Infinity }): string {
  const out: string[] = [];
  const pathsCells = results.paths?.length ? results.cells.filter((c) => c.suite === 'paths') : [];
  for (const g of groupByWorkload(results.cells.filter((c) => !pathsCells.includes(c)))) {
    const rows = rowsFor(g.cells).map((row) => {
      const cells = g.cells.map(row.value);
      return { label: row.label, cells: row.score ? highlightBest(cells, g.cells.map(row.score), row.best) : cells };
    });
    const tables = fitGrid({ corner: '', head: g.cells.map((c) => pc.bold(c.strategy)), rows }, layout);
    out.push(pc.bold(g.key) + pc.dim(`  ${g.cells[0]!.description}`), ...tables);
  }
  if (results.paths?.length) out.push(formatPathsComparison(results.paths, pathsCells, layout));
  out.push(pc.dim(`simulated kernel time: cost model: ${results.context.options.costModel ?? 'built-in default'}`));
  if (results.partial) out.push(pc.yellow(`partial results: ${results.partialReason ?? ''}`));
  return out.join('\n');
}

const ci = (x: { median: number; ci: { lo: number; hi: number; confidence: number } }) =>
  x.ci.confidence < 0.95
    ? `${fmtMs(x.median)} ±∞`
    : `${fmtMs(x.median)} ±${((100 * Math.max(x.median - x.ci.lo, x.ci.hi - x.median)) / x.median).toFixed(0)}%`;

/** benchstat's layout: base, new, delta with p-value (`~` when not significant). */
export function formatComparison(cmp: Comparison, alpha: number): string {
  const table = terminalTable(['cell', 'base (median ±95% CI)', 'new', 'delta', '']);
  for (const r of cmp.rows) {
    const delta = r.significant ? `${r.delta >= 0 ? '+' : ''}${(100 * r.delta).toFixed(2)}%` : '~';
    const colour = !r.significant ? pc.dim : r.regression ? pc.red : r.delta < 0 ? pc.green : (s: string) => s;
    table.push([r.id, ci(r.base), ci(r.next), colour(delta), pc.dim(`(p=${r.p.toFixed(3)} n=${r.base.n}+${r.next.n})`)]);
  }
  const g = cmp.geomeanRatio;
  table.push([pc.bold('geomean'), '', '', `${g >= 1 ? '+' : ''}${(100 * (g - 1)).toFixed(2)}%`, '']);
  const out = [table.toString()];
  out.push(pc.dim(`~: no significant difference (Mann-Whitney U, p >= ${alpha})`));
  if (cmp.counterDiffs.length) {
    out.push(pc.yellow(`${cmp.counterDiffs.length} deterministic counter(s) differ:`));
    for (const d of cmp.counterDiffs.slice(0, 30)) out.push(`  ${d.id} ${d.counter}: ${fmtInt(d.base)} -> ${fmtInt(d.next)}`);
    if (cmp.counterDiffs.length > 30) out.push(`  ... and ${cmp.counterDiffs.length - 30} more`);
  } else {
    out.push('memory and work counters: identical');
  }
  if (cmp.partial.base) out.push(pc.yellow(`base is partial (${cmp.partial.base}): only its finished cells are compared`));
  if (cmp.partial.next) out.push(pc.yellow(`new is partial (${cmp.partial.next}): only its finished cells are compared`));
  if (cmp.costModels) out.push(pc.yellow(`simulated kernel time: cost model: base ${cmp.costModels.base}; new ${cmp.costModels.next}`));
  if (cmp.onlyInBase.length) out.push(pc.dim(`only in base: ${cmp.onlyInBase.join(', ')}`));
  if (cmp.onlyInNew.length) out.push(pc.dim(`only in new: ${cmp.onlyInNew.join(', ')}`));
  return out.join('\n');
}
