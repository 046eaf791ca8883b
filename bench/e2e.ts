/**
 * End to end: `ptreclaim run seed` (a whole process: Node start-up, WASM load, the run,
 * exit) against the live kernel replaying the same trace (`ptreclaim oracle --trace FILE`,
 * also a whole process), in one run on the same machine; prints the ratio. The live replay
 * takes minutes here (page faults cost ~10 us on this VM). Also the run itself (its wallMs)
 * against the same live replay.
 *
 *   node dist/bench/e2e.js [--runs N] [--json FILE]    (default JSON: bench/results/e2e.json)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { median } from '../src/bench/stats.js';
import { packageRoot } from '../src/paths.js';
import { benchArgs, writeResults } from './common.js';

const { runs, json: out } = benchArgs({ runs: 5 }, { json: 'bench/results/e2e.json' });
const bin = join(packageRoot(), 'bin', 'ptreclaim.js');

/** Wall time of one whole `node bin/ptreclaim.js ...` process; its JSON output. */
function timeProcess(argv: string[]): { ms: number; json: Record<string, unknown> } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [bin, ...argv], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`ptreclaim ${argv.join(' ')} failed (exit ${String(r.status)}): ${r.stderr.trim()}`);
  return { ms, json: JSON.parse(r.stdout) as Record<string, unknown> };
}

const dir = mkdtempSync(join(tmpdir(), 'ptreclaim-e2e-'));
try {
  const trace = join(dir, 'seed.trace');
  const t = spawnSync(process.execPath, [bin, 'trace', 'seed', '-o', trace], { encoding: 'utf8' });
  if (t.status !== 0) throw new Error(`ptreclaim trace seed failed: ${t.stderr}`);

  const simMs: number[] = [];
  const runWallMs: number[] = []; // the run itself, as the result's wallMs reports it
  let sim: Record<string, unknown> = {};
  for (let i = 0; i < runs; i++) {
    const r = timeProcess(['run', 'seed', '--json']);
    simMs.push(r.ms);
    runWallMs.push(r.json.wallMs as number);
    sim = r.json;
    console.log(`ptreclaim run seed: ${r.ms.toFixed(0)} ms (whole process)`);
  }
  console.log('live kernel: ptreclaim oracle --trace (this takes minutes)...');
  const live = timeProcess(['oracle', '--trace', trace, '--json']);
  console.log(`ptreclaim oracle --trace seed.trace: ${(live.ms / 1000).toFixed(1)} s (whole process)`);
  const simMedian = median(simMs);
  const ratio = live.ms / simMedian;
  const runRatio = live.ms / median(runWallMs);
  console.log(
    `ratio live / simulated: ${ratio.toFixed(0)}x (target >= 100x); the run itself (wallMs ${median(runWallMs).toFixed(1)} ms): ${runRatio.toFixed(0)}x (target >= 300x)`,
  );
  console.log(`VmPTE simulated ${String(sim.vmPteKb)} kB, live ${typeof live.json.vmPteKb === 'number' ? live.json.vmPteKb : '?'} kB`);
  writeResults(out, {
    schemaVersion: 1,
    date: new Date().toISOString(),
    node: process.version,
    trace: 'seed',
    simulated: { command: 'ptreclaim run seed --json', runsMs: simMs, medianMs: simMedian, vmPteKb: sim.vmPteKb },
    live: { command: 'ptreclaim oracle --trace seed.trace --json', ms: live.ms, vmPteKb: live.json.vmPteKb },
    ratio,
    target: 100,
    met: ratio >= 100,
    run: { runWallMs, medianMs: median(runWallMs), ratio: runRatio, target: 300, met: runRatio >= 300 },
    loadavg: readFileSync('/proc/loadavg', 'utf8').trim(),
  });
  console.log(`wrote ${out}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
