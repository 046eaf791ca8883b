/**
 * Scale benchmark: 900,000 live PTE tables (one page touched per 2 MiB over ~1.7 TiB of VA)
 * through the real mm model; WASM memory, bookkeeping and JS-side memory as tables grow.
 *
 *   node dist/bench/scale.js [--tables N] [--base ADDR] [--json FILE]
 *   (default JSON: bench/results/scale.json)
 */
import { runScale } from '../src/kernels/scale.js';
import { benchArgs, writeResults } from './common.js';

const { tables, base, json: out } = benchArgs({ tables: 900_000, base: 0x100000000000 }, { json: 'bench/results/scale.json' });

const res = runScale({ tables, base, every: Math.max(1, Math.floor(tables / 9)) });
const GiB = 2 ** 30;
console.log(`base 0x${res.base.toString(16)}, target ${tables} PTE tables (${((tables * 2) / 1024 / 1024).toFixed(2)} TiB of VA)`);
console.log('PTE tables   WASM memory  bytes/table  bookkeeping  capacity frames   RSS      JS heap   elapsed');
for (const p of res.points) {
  console.log(
    `${String(p.pteTables).padStart(10)}  ${(p.memoryBytes / GiB).toFixed(3).padStart(8)} GiB  ${p.memoryPerTable.toFixed(0).padStart(11)}  ` +
      `${(p.bookkeepingRatio * 100).toFixed(3).padStart(9)} %  ${String(p.capacityFrames).padStart(15)}  ${(p.rssBytes / GiB).toFixed(2).padStart(5)} GiB  ` +
      `${(p.jsHeapBytes / 2 ** 20).toFixed(0).padStart(5)} MiB  ${(p.elapsedMs / 1000).toFixed(1).padStart(6)} s`,
  );
}
console.log(`memory growth per table (slope, first to last point): ${res.memoryGrowthPerTable.toFixed(0)} bytes`);
if (res.error) console.log(`stopped: ${res.error}`);
writeResults(out, { schemaVersion: 1, date: new Date().toISOString(), node: process.version, ...res });
console.log(`wrote ${out}`);
if (res.error) process.exitCode = 1;
