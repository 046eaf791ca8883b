/**
 * The seed workload end to end (50 GiB: 25,600 x touch 2 MiB + MADV_DONTNEED), per strategy,
 * measured with tinybench. Prints a summary and writes JSON (default bench/results/seed.json).
 *
 *   npm run bench -- [--time MS] [--json FILE]
 */
import { Bench } from 'tinybench';
import { runOps, type RunResult } from '../src/run.js';
import { getWorkload } from '../src/workloads/index.js';
import { benchArgs, writeResults } from './common.js';
import { wasmBuildHash } from '../src/core/wasm.js';

const { time: timeMs, json: out } = benchArgs({ time: 3000 }, { json: 'bench/results/seed.json' });
const ops = [...getWorkload('seed').ops()];

const bench = new Bench({ time: timeMs, warmupTime: 500, retainSamples: true });
const last: Record<string, RunResult> = {};
for (const strategy of ['none', 'pt-reclaim'] as const) {
  for (const path of strategy === 'pt-reclaim' ? (['auto', 'slow'] as const) : (['auto'] as const)) {
    const name = `${strategy}${path === 'auto' ? '' : ` --path ${path}`}`;
    bench.add(name, () => {
      last[name] = runOps(ops, { strategy, path, source: 'seed' });
    });
  }
}
await bench.run();

const rows = bench.tasks.map((t) => {
  const r = t.result as {
    latency: { mean: number; p50: number; p99: number; min: number; max: number; rme: number; samplesCount: number; samples?: number[] };
  };
  const run = last[t.name]!;
  return {
    name: t.name,
    latencyMs: {
      mean: r.latency.mean,
      median: r.latency.p50,
      p99: r.latency.p99,
      min: r.latency.min,
      max: r.latency.max,
      rme: r.latency.rme,
      samples: r.latency.samplesCount,
    },
    opsPerSec: run.ops / (r.latency.p50 / 1000),
    vmPteKb: run.vmPteKb,
    peakVmPteKb: run.peakVmPteKb,
    reclaim: run.reclaim,
    entriesReadScan: run.entries.readScan,
    samplesMs: r.latency.samples,
  };
});
for (const r of rows) {
  console.log(
    `${r.name.padEnd(24)} median ${r.latencyMs.median.toFixed(1)} ms  (min ${r.latencyMs.min.toFixed(1)}, p99 ${r.latencyMs.p99.toFixed(1)}, ±${r.latencyMs.rme.toFixed(1)}%, n=${r.latencyMs.samples})  ${Math.round(r.opsPerSec).toLocaleString('en-US')} ops/s  VmPTE ${r.vmPteKb} kB`,
  );
}
writeResults(out, {
  schemaVersion: 1,
  benchmark: 'seed',
  date: new Date().toISOString(),
  node: process.version,
  wasmSha256: wasmBuildHash(),
  timeMs,
  results: rows,
});
console.log(`wrote ${out}`);
