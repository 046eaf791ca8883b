/**
 * Parse time of the trace reader alone (readTraceBatches over a file, no model): the seeded
 * fault-granular trace (bench/gen-fault-trace.ts, 1,000,000 ops ~ 27 MB), as written (`version
 * 1`) and with its header turned into `version 2` (the v2 op table, same operations). With
 * --baseline, another build's reader (e.g. main's dist/src/trace/reader.js) is timed in the same
 * process, runs alternating, so that a change to the reader can be checked for a slowdown.
 *
 *   node dist/bench/trace-parse.js [--ops N] [--runs N] [--baseline PATH/reader.js] [--json FILE]
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

import { median } from '../src/bench/stats.js';
import { readTraceBatches } from '../src/trace/reader.js';
import { writeResults } from './common.js';
import { writeFaultTrace } from './gen-fault-trace.js';

type Reader = (path: string) => Iterable<{ count: number }>;

const { values } = parseArgs({
  options: {
    ops: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '11' },
    baseline: { type: 'string' },
    json: { type: 'string' },
  },
});
const ops = Number(values.ops);
const runs = Number(values.runs);
if (!Number.isSafeInteger(ops) || ops < 1 || !Number.isSafeInteger(runs) || runs < 1) {
  throw new Error('--ops and --runs must be positive integers');
}

/** ms to read every batch of the file; checks the op count so a broken reader cannot look fast. */
function timeOnce(read: Reader, path: string, expectedOps: number): number {
  const t0 = performance.now();
  let n = 0;
  for (const b of read(path)) n += b.count;
  const ms = performance.now() - t0;
  if (n !== expectedOps) throw new Error(`${path}: read ${n} ops, expected ${expectedOps}`);
  return ms;
}

const v1 = join(tmpdir(), `ptreclaim-trace-parse-${process.pid}.trace`);
const v2 = join(tmpdir(), `ptreclaim-trace-parse-${process.pid}-v2.trace`);
try {
  writeFaultTrace(v1, ops);
  writeFileSync(v2, readFileSync(v1, 'utf8').replace('\nversion 1\n', '\nversion 2\n'));
  const traceOps = ops + 1; // the mmap before the random operations
  const readers: [string, Reader][] = [['this build', readTraceBatches]];
  if (values.baseline !== undefined) {
    const mod = (await import(pathToFileURL(resolve(values.baseline)).href)) as { readTraceBatches: Reader };
    readers.push(['baseline', mod.readTraceBatches]);
  }
  const cases: [string, Reader, string][] = [
    ...readers.map(([name, read]): [string, Reader, string] => [`${name}, version 1`, read, v1]),
    ['this build, version 2', readTraceBatches, v2],
  ];
  const samples = cases.map(() => [] as number[]);
  for (const [, read, path] of cases) timeOnce(read, path, traceOps); // warm-up
  for (let r = 0; r < runs; r++) cases.forEach(([, read, path], i) => samples[i]!.push(timeOnce(read, path, traceOps)));
  const result = {
    bench: 'trace-parse',
    ops: traceOps,
    bytes: readFileSync(v1).length,
    runs,
    baseline: values.baseline ?? null,
    cases: cases.map(([name], i) => ({
      name,
      medianMs: +median(samples[i]!).toFixed(1),
      minMs: +Math.min(...samples[i]!).toFixed(1),
    })),
  };
  console.log(JSON.stringify(result, null, 2));
  if (values.json !== undefined) writeResults(values.json, result);
} finally {
  rmSync(v1, { force: true });
  rmSync(v2, { force: true });
}
