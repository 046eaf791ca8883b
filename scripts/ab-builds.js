#!/usr/bin/env node
// Two builds of ptreclaim in one process: the same built-in workload run through each
// build's runOps, alternating which goes first, and the medians of the run's own wallMs
// (the model's loops, batch path included; no start-up, no schema check). One process and
// interleaved runs cancel most of the drift that makes two separate `bench seed` runs on a
// shared VM differ by more than the change being measured.
// Usage: npm run build && node scripts/ab-builds.js BASE_DIR [WORKLOAD] [STRATEGY] [RUNS]
//   BASE_DIR: a built checkout of the base revision (e.g. a `git worktree` after `npm run build`)
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [baseDir, name = 'seed-5g', strategy = 'pt-reclaim', runsArg = '40'] = process.argv.slice(2);
const die = (message) => {
  console.error(`ab-builds: ${message}`);
  process.exit(2);
};
if (!baseDir) die('usage: node scripts/ab-builds.js BASE_DIR [WORKLOAD] [STRATEGY] [RUNS]');
const runs = Number(runsArg);
if (!Number.isInteger(runs) || runs < 6) die(`RUNS must be a whole number >= 6, not ${JSON.stringify(runsArg)}`);
const entry = (dir) => {
  const p = join(resolve(dir), 'dist/src/index.js');
  if (!existsSync(p)) die(`${p} does not exist: build that checkout first (npm run build)`);
  return import(pathToFileURL(p).href);
};
const base = await entry(baseDir);
const head = await entry(join(import.meta.dirname, '..'));
const builds = [
  ['base', base, [...base.getWorkload(name).ops()]],
  ['head', head, [...head.getWorkload(name).ops()]],
];
const times = { base: [], head: [] };
for (let i = 0; i < runs; i++) {
  for (const [key, lib, ops] of i % 2 ? builds : [...builds].reverse()) {
    const r = lib.runOps(ops, { strategy });
    if (i >= 5) times[key].push((Array.isArray(r) ? r[0] : r).wallMs); // the first five warm up
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const b = median(times.base);
const h = median(times.head);
console.log(
  `${name} ${strategy}: base ${b.toFixed(3)} ms, head ${h.toFixed(3)} ms (medians of ${times.base.length}), head/base ${(h / b).toFixed(3)}`,
);
