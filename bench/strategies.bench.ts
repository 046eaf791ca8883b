/**
 * Cost per reclaimed table of each strategy and path, and the checker's overhead.
 * Workload: seed-5g (2,560 x touch 2 MiB + MADV_DONTNEED), plus partial-dontneed for the
 * designs that free tables emptied piecemeal. Timing runs have the checker off; the
 * `--check` rows measure what it adds. Writes JSON (default bench/results/strategies.json).
 *
 *   node dist/bench/strategies.bench.js [--time MS] [--json FILE]
 */
import { Bench } from 'tinybench';
import { runOps, type RunOptions, type RunResult } from '../src/run.js';
import { getWorkload } from '../src/workloads/index.js';
import { benchArgs, writeResults } from './common.js';
import { wasmBuildHash } from '../src/core/wasm.js';

const { time: timeMs, json: out } = benchArgs({ time: 2000 }, { json: 'bench/results/strategies.json' });

const CASES: { name: string; workload: string; opts: RunOptions }[] = [
  { name: 'none', workload: 'seed-5g', opts: { strategy: 'none' } },
  { name: 'pt-reclaim --path fast', workload: 'seed-5g', opts: { strategy: 'pt-reclaim', path: 'fast' } },
  { name: 'pt-reclaim --path slow', workload: 'seed-5g', opts: { strategy: 'pt-reclaim', path: 'slow' } },
  { name: 'pt-reclaim-v1', workload: 'seed-5g', opts: { strategy: 'pt-reclaim-v1' } },
  { name: 'async-scan', workload: 'seed-5g', opts: { strategy: 'async-scan' } },
  { name: 'refcount', workload: 'seed-5g', opts: { strategy: 'refcount' } },
  { name: 'pt-reclaim --check', workload: 'seed-5g', opts: { strategy: 'pt-reclaim', check: true } },
  { name: 'async-scan (partial-dontneed)', workload: 'partial-dontneed', opts: { strategy: 'async-scan' } },
  { name: 'refcount (partial-dontneed)', workload: 'partial-dontneed', opts: { strategy: 'refcount' } },
];

const bench = new Bench({ time: timeMs, warmupTime: 300 });
const last: Record<string, RunResult> = {};
const opsOf = new Map<string, ReturnType<typeof getWorkload> extends { ops(): infer I } ? I : never>();
for (const c of CASES) {
  if (!opsOf.has(c.workload)) opsOf.set(c.workload, [...getWorkload(c.workload).ops()]);
  const ops = opsOf.get(c.workload)!;
  bench.add(c.name, () => {
    last[c.name] = runOps(ops, { ...c.opts, source: c.workload });
  });
}
await bench.run();

const rows = bench.tasks.map((t) => {
  const lat = (t.result as { latency: { mean: number; p50: number; rme: number; samplesCount: number } }).latency;
  const r = last[t.name]!;
  const c = CASES.find((x) => x.name === t.name)!;
  const reclaimed = r.reclaim.fast + r.reclaim.slow + r.reclaim.scan + r.reclaim.refcount;
  return {
    name: t.name,
    workload: c.workload,
    meanMs: lat.mean,
    p50Ms: lat.p50,
    rmePct: lat.rme,
    samples: lat.samplesCount,
    reclaimed,
    entriesRead: r.entriesReadTotal,
    entriesReadPerTable: reclaimed ? r.entriesReadTotal / reclaimed : null,
    tlbFlushes: r.tlb.ranged + r.tlb.full,
    ipis: r.tlb.ipis,
    refcountAtomics: r.refcountAtomics,
    vmPteKb: r.vmPteKb,
    peakRealPgtablesKb: r.peakRealPgtablesKb,
  };
});
// Whole-run wall time divided by tables reclaimed: an upper bound per table (faults, the
// driver and the zap are included); entries read per table is the exact, host-free figure.
const withCost = rows.map((row) => ({ ...row, wallNsPerReclaimedTable: row.reclaimed ? (row.meanMs * 1e6) / row.reclaimed : null }));
const check = withCost.find((r) => r.name === 'pt-reclaim --check')!;
const plain = withCost.find((r) => r.name === 'pt-reclaim --path fast')!;
const result = {
  context: { node: process.version, wasmSha256: wasmBuildHash(), timeMs, date: new Date().toISOString() },
  rows: withCost,
  checkerOverhead: { plainMs: plain.meanMs, checkedMs: check.meanMs, factor: check.meanMs / plain.meanMs },
};
writeResults(out, result);
for (const r of withCost) {
  console.log(
    `${r.name.padEnd(32)} ${r.meanMs.toFixed(1).padStart(8)} ms  reclaimed ${String(r.reclaimed).padStart(5)}  ` +
      `entries read/table ${r.entriesReadPerTable?.toFixed(0) ?? '-'}  wall ns/table ${r.wallNsPerReclaimedTable?.toFixed(0) ?? '-'}`,
  );
}
console.log(`checker overhead: x${result.checkerOverhead.factor.toFixed(2)}; wrote ${out}`);
