/**
 * The exporter interface and the helpers exporters share. One file per format; the table
 * from flag to exporter is in exporters.ts. Each exporter reads the same BenchResults
 * record and returns the file's text; the caller writes it atomically.
 */
import type { BenchResults, CellResult } from '../bench/types.js';

export interface Exporter {
  readonly format: 'json' | 'csv' | 'md' | 'html';
  render(results: BenchResults): string;
}

/** Cells grouped by what ran (suite, workload, variant), strategies in their order. */
export function groupByWorkload(cells: readonly CellResult[]): { key: string; cells: CellResult[] }[] {
  const groups = new Map<string, CellResult[]>();
  for (const c of cells) {
    const key = [c.suite, c.workload, ...(c.variant ? [c.variant] : [])].join('/');
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(c);
  }
  return [...groups].map(([key, cells]) => ({ key, cells }));
}

/** Counters shown in tables when present (the strategies add some as they grow). */
export const COUNTER_ROWS: { label: string; match: (k: string) => boolean }[] = [
  { label: 'tables freed, fast path', match: (k) => k === 'reclaim.fast' },
  { label: 'tables freed, slow path', match: (k) => k === 'reclaim.slow' },
  { label: 'slow-path scans that kept the table', match: (k) => k === 'reclaim.slowFailed' },
  { label: 'tables freed by the async scan', match: (k) => k === 'reclaim.scan' },
  { label: 'tables freed by refcount', match: (k) => k === 'reclaim.refcount' },
  { label: 'TLB flushes, ranged', match: (k) => k === 'tlb.ranged' },
  { label: 'TLB flushes, full', match: (k) => k === 'tlb.full' },
  { label: 'IPIs', match: (k) => /(^|\.)ipis?$/i.test(k) },
  { label: 'zap loops broken by need_resched', match: (k) => k === 'reschedBreaks' },
  { label: 'entries read, zap', match: (k) => k === 'entries.readZap' },
  { label: 'entries read, slow scan', match: (k) => k === 'entries.readScan' },
];

/** The counter keys matching a row, in the cells given (first match per row). */
export function counterKey(cells: readonly CellResult[], match: (k: string) => boolean): string | undefined {
  for (const c of cells) for (const k of Object.keys(c.counters)) if (match(k)) return k;
  return undefined;
}
