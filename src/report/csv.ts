/**
 * `--csv FILE`: one row per cell, every figure and counter a column (RFC 4180 quoting).
 * Columns `partial` and `partial_reason` repeat the record's partial marker on every row, so
 * a CSV of a stopped run says so to any CSV reader.
 */
import type { Exporter } from './exporter.js';
import type { CellResult } from '../bench/types.js';
import { COUNTER_KEYS } from '../generated/counters.js';

/** A CSV field: a string, number or boolean; undefined is an empty field. */
type Field = string | number | boolean | undefined;

const quote = (v: Field) => {
  const s = v === undefined ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

const FIXED: [string, (c: CellResult) => Field][] = [
  ['id', (c) => c.id],
  ['suite', (c) => c.suite],
  ['workload', (c) => c.workload],
  ['variant', (c) => c.variant],
  ['strategy', (c) => c.strategy],
  ['ops', (c) => c.ops],
  ['latency_mean_ms', (c) => c.latency.mean],
  ['latency_median_ms', (c) => c.latency.median],
  ['latency_p99_ms', (c) => c.latency.p99],
  ['latency_min_ms', (c) => c.latency.min],
  ['latency_max_ms', (c) => c.latency.max],
  ['latency_rme_pct', (c) => c.latency.rme],
  ['samples', (c) => c.latency.samples],
  ['ops_per_sec', (c) => c.throughput.opsPerSec],
  ['zap_gib_per_sec', (c) => c.throughput.zapGiBPerSec],
  ['entries_per_sec', (c) => c.throughput.entriesPerSec],
  ['vmpte_final_kb', (c) => c.memory.vmPteFinalKb],
  ['vmpte_peak_kb', (c) => c.memory.vmPtePeakKb],
  ['pgtable_final_kb', (c) => c.memory.pgtableFinalKb],
  ['pgtable_peak_kb', (c) => c.memory.pgtablePeakKb],
  ['rcu_pending_peak_kb', (c) => c.memory.rcuPendingPeakKb],
  ['wasm_memory_bytes', (c) => c.memory.wasmMemoryBytes],
  ['js_heap_used_bytes', (c) => c.memory.jsHeapUsedBytes],
  ['scale', (c) => c.scale],
];

export const csvExporter: Exporter = {
  format: 'csv',
  render(results) {
    // The counter table's order (schema/counters.js), then any key an older file has that it lacks.
    const present = new Set(results.cells.flatMap((c) => Object.keys(c.counters)));
    const known = COUNTER_KEYS.filter((k) => present.has(k));
    const counterKeys = [...known, ...[...present].filter((k) => !(COUNTER_KEYS as readonly string[]).includes(k)).sort()];
    const header = [...FIXED.map(([h]) => h), 'partial', 'partial_reason', ...counterKeys.map((k) => `counter.${k}`)];
    const marker = [results.partial, results.partialReason ?? ''];
    const lines = [header.map(quote).join(',')];
    for (const c of results.cells)
      lines.push([...FIXED.map(([, f]) => f(c)), ...marker, ...counterKeys.map((k) => c.counters[k])].map(quote).join(','));
    return lines.join('\n') + '\n';
  },
};
