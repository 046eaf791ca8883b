/**
 * `import strace` speed on a seeded allocator-like log (bench/strace-log.ts): parse + import
 * time for a log of N calls, median of a few runs. Target (issue 14): 200k calls under 5 s.
 *
 *   node dist/bench/strace-import.js [--calls N] [--seed S] [--runs R] [--json FILE]
 *   (default JSON: bench/results/strace-import.json)
 */
import { performance } from 'node:perf_hooks';
import { importStrace } from '../src/import/strace.js';
import { formatTrace } from '../src/trace/parse.js';
import { benchArgs, writeResults } from './common.js';
import { generateStraceLog } from './strace-log.js';

const { calls, seed, runs, json: out } = benchArgs({ calls: 200_000, seed: 1, runs: 3 }, { json: 'bench/results/strace-import.json' });

const log = generateStraceLog(calls, seed);
const times: number[] = [];
/** CPU time of this process too: on a shared host wall time includes waiting for a core. */
const cpu: number[] = [];
let ops = 0;
let liveRanges = 0;
for (let r = 0; r < runs; r++) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const res = importStrace(log, { file: 'generated.strace' });
  formatTrace(res.ops, res.header.join('\n'));
  times.push(performance.now() - t0);
  const c = process.cpuUsage(c0);
  cpu.push((c.user + c.system) / 1000);
  ops = res.ops.length;
  liveRanges = res.counts['mmap imported'] ?? 0;
}
times.sort((a, b) => a - b);
cpu.sort((a, b) => a - b);
const result = {
  schemaVersion: 1,
  date: new Date().toISOString(),
  node: process.version,
  calls,
  seed,
  runs,
  logBytes: Buffer.byteLength(log),
  logLines: log.split('\n').length - 1,
  ops,
  mmapsImported: liveRanges,
  medianMs: times[Math.floor(times.length / 2)]!,
  minMs: times[0]!,
  maxMs: times[times.length - 1]!,
  medianCpuMs: cpu[Math.floor(cpu.length / 2)]!,
  targetMs: 5000,
};
console.log(JSON.stringify(result));
writeResults(out, result);
