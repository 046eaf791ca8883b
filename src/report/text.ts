/**
 * Human-readable output of runs: one table, strategies side by side.
 */
import { stripVTControlCharacters } from 'node:util';
import pc from 'picocolors';
import type { RunResult } from '../run.js';
import { highlightBest } from './table.js';
import { fitGrid, wrapWords, type Layout } from './layout.js';
import { groupDigits } from './format.js';

const int = groupDigits;
const kb = (n: number) => `${int(n)} kB`;

interface Row {
  label: string;
  value: (r: RunResult) => string;
  /** Numeric value for highlighting the best column (lower is better). */
  score?: (r: RunResult) => number;
}

const ROWS: Row[] = [
  { label: 'VmPTE final', value: (r) => kb(r.vmPteKb), score: (r) => r.vmPteKb },
  { label: 'VmPTE peak', value: (r) => kb(r.peakVmPteKb), score: (r) => r.peakVmPteKb },
  { label: 'tables live (PTE/PMD/PUD)', value: (r) => `${int(r.tables.pte)} / ${int(r.tables.pmd)} / ${int(r.tables.pud)}` },
  {
    label: 'tables allocated (PTE/PMD/PUD)',
    value: (r) => `${int(r.tablesAllocated.pte)} / ${int(r.tablesAllocated.pmd)} / ${int(r.tablesAllocated.pud)}`,
  },
  {
    label: 'tables freed (PTE/PMD/PUD)',
    value: (r) => `${int(r.tablesFreed.pte)} / ${int(r.tablesFreed.pmd)} / ${int(r.tablesFreed.pud)}`,
  },
  {
    label: 'real PT memory incl. pending RCU (final / peak)',
    value: (r) => `${kb(r.realPgtablesKb)} / ${kb(r.peakRealPgtablesKb)}`,
    score: (r) => r.peakRealPgtablesKb,
  },
  {
    label: 'tables freed (fast/slow/scan/refcount)',
    value: (r) => `${int(r.reclaim.fast)} / ${int(r.reclaim.slow)} / ${int(r.reclaim.scan)} / ${int(r.reclaim.refcount)}`,
  },
  { label: 'slow-path scans that kept the table', value: (r) => int(r.reclaim.slowFailed) },
  {
    label: 'entries read (zap / slow scan / async scan)',
    value: (r) => `${int(r.entries.readZap)} / ${int(r.entries.readScan)} / ${int(r.asyncScan.entriesRead)}`,
    score: (r) => r.entriesReadTotal,
  },
  {
    label: 'TLB flushes ranged / full (forced)',
    value: (r) => `${int(r.tlb.ranged)} / ${int(r.tlb.full)} (${int(r.tlb.forceFlush)})`,
    score: (r) => r.tlb.ranged + r.tlb.full,
  },
  { label: 'IPIs', value: (r) => int(r.tlb.ipis), score: (r) => r.tlb.ipis },
  { label: 'zap retries', value: (r) => int(r.tlb.zapRetries) },
  { label: 'RCU callbacks / grace periods', value: (r) => `${int(r.rcu.callbacks)} / ${int(r.rcu.gracePeriods)}` },
  { label: 'locks PTL / PMD (trylock failed)', value: (r) => `${int(r.locks.ptl)} / ${int(r.locks.pmd)} (${int(r.locks.pmdTrylockFail)})` },
  { label: 'refcount atomics', value: (r) => int(r.refcountAtomics) },
  { label: 'simulated time', value: (r) => `${(r.simulatedMs / 1000).toFixed(2)} s` },
  {
    label: 'RSS (anon / file / shmem pages)',
    value: (r) => `${kb(r.rss.rssKb)} (${int(r.rss.anonPages)} / ${int(r.rss.filePages)} / ${int(r.rss.shmemPages)})`,
  },
  { label: 'swap entries', value: (r) => int(r.rss.swapEnts) },
  { label: 'operations (failed)', value: (r) => `${int(r.ops)} (${int(r.errorCount)})` },
  { label: 'exit teardown', value: (r) => (r.exit.clean ? 'clean' : pc.red(`${r.exit.problems.length} problem(s)`)) },
  {
    label: 'checker',
    value: (r) => (!r.check.enabled ? 'off' : r.check.violationCount === 0 ? 'clean' : pc.red(`${r.check.violationCount} violation(s)`)),
  },
  { label: 'wall time', value: (r) => `${r.wallMs.toFixed(1)} ms`, score: (r) => r.wallMs },
  { label: 'simulated ops/s', value: (r) => int(r.opsPerSec) },
];

/** The knobs every column shares, echoed under the table. */
function knobs(r: RunResult | undefined): string {
  if (!r) return '';
  const c = r.config;
  return pc.dim(
    `path ${r.path}, trylock-fail ${c.trylockFail}, resched ${c.resched}, nowait-fail ${c.nowaitFail}, seed ${c.seed}, ` +
      `cpus ${c.cpus}, table-free ${c.tableFree}, tick ${c.tickMs} ms, grace period ${c.gracePeriodMs} ms, ` +
      `scan every ${c.scanPeriodMs} ms x ${c.scanBytes / 2 ** 20} MiB`,
  );
}

/**
 * Render runs of the same source as one table, best value per scored row in green; split by
 * strategy when the table does not fit the layout's width (src/report/layout.ts).
 */
export function formatRunTable(results: readonly RunResult[], layout: Layout = { format: 'wide', width: Infinity }): string {
  const head = results.map((r) => pc.bold(r.strategy + (r.path !== 'auto' ? ` (${r.path})` : '')));
  const rows = ROWS.map((row) => {
    const cells = results.map((r) => row.value(r));
    return { label: row.label, cells: row.score ? highlightBest(cells, results.map(row.score)) : cells };
  });
  const tables = fitGrid({ corner: '', head, rows }, layout);
  const k = results[0] ? pc.dim(wrapWords(stripVTControlCharacters(knobs(results[0])), layout.width)) : '';
  const lines = [pc.bold(`ptreclaim run: ${results[0]?.source ?? ''}`), ...tables, k];
  if (results[0]) lines.push(pc.dim(`simulated time: cost model: ${results[0].costModel}`));
  for (const r of results) {
    for (const v of r.check.violations.slice(0, 5)) {
      const where = v.file ? `${v.file}:${String(v.line)}` : v.op === 'exit' ? 'exit' : `op ${v.index + 1}`;
      lines.push(pc.red(`[${r.strategy}] ${where} ${v.op}: ${v.check} at 0x${v.addr.toString(16)}: ${v.message}`));
    }
    if (r.check.violationCount > 5) lines.push(pc.red(`[${r.strategy}] ... ${r.check.violationCount - 5} more violation(s)`));
    for (const p of r.exit.problems) lines.push(pc.red(`[${r.strategy}] ${p}`));
    if (r.errorCount) {
      const first = r.errors[0]!;
      const where = first.file ? `${first.file}:${String(first.line)}` : `op ${first.index + 1}`;
      lines.push(
        pc.yellow(`[${r.strategy}] ${r.errorCount} operation(s) failed; first: ${where} ${first.op}: ${first.errno} (${first.detail})`),
      );
    }
  }
  return lines.join('\n');
}
