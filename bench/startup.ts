/**
 * Start-up and short runs as whole processes (issue 14's targets), against the live kernel's
 * replay of the seed trace:
 *
 * - `ptreclaim --version` against `node -e 0`: target within 30 ms (medians);
 * - `ptreclaim run seed --json` (Node start-up, module loading, WASM compile, the run, output,
 *   exit) against the live kernel's replay of the same 51,201 operations: target >= 100x;
 * - the run itself (`wallMs` of its JSON) against the same replay: target >= 300x.
 *
 * The live figure is the replay's own time (`wallMs` of `ptreclaim oracle --trace seed.trace
 * --json`, which needs root and a Linux x86-64 kernel): measured here with `--oracle 1`, or read
 * from a file such an oracle run wrote (`--live-json FILE`), or given in ms (`--live-ms MS`).
 * The three commands run in turn, A B C A B C ..., each under /usr/bin/time (wall, CPU = user +
 * system, peak RSS); the first round is a warm-up (page cache). On a shared host wall time
 * includes waiting for a CPU, so CPU times are recorded beside it, and the load average.
 *
 *   node dist/bench/startup.js [--runs N] [--oracle 0|1] [--live-json FILE] [--live-ms MS] [--json FILE]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { median } from '../src/bench/stats.js';
import { packageRoot } from '../src/paths.js';
import { describeErrno } from '../src/errors.js';
import { fail, type ProcessRun, runProcess, writeResults } from './common.js';

// Every flag is checked before the first run (minutes with --runs 11): a bad one is one line, exit 2.
let values: { runs: string; oracle: string; 'live-json'?: string; 'live-ms'?: string; json: string };
try {
  values = parseArgs({
    options: {
      runs: { type: 'string', default: '11' },
      oracle: { type: 'string', default: '0' },
      'live-json': { type: 'string' },
      'live-ms': { type: 'string' },
      json: { type: 'string', default: 'bench/results/startup.json' },
    },
  }).values;
} catch (e) {
  fail((e as Error).message);
}
const runs = Number(values.runs);
if (!/^[0-9]+$/.test(values.runs) || !Number.isSafeInteger(runs) || runs < 1)
  fail(`--runs: expected a positive integer, not ${values.runs}`);
if (values.oracle !== '0' && values.oracle !== '1') fail(`--oracle: expected 0 or 1, not ${values.oracle}`);
const givenLive = givenLiveReplay();
const node = process.execPath;
const bin = join(packageRoot(), 'bin', 'ptreclaim.js');

interface Summary {
  command: string;
  wallMs: { median: number; min: number; max: number };
  cpuMs: { median: number; min: number; max: number };
  peakRssKb: number;
  runsWallMs: number[];
  runsCpuMs: number[];
}

function summary(command: string, rs: ProcessRun[]): Summary {
  const wall = rs.map((r) => r.ms);
  const cpu = rs.map((r) => r.cpuS * 1000);
  const range = (xs: number[]) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });
  return {
    command,
    wallMs: range(wall),
    cpuMs: range(cpu),
    peakRssKb: Math.max(...rs.map((r) => r.peakRssKb)),
    runsWallMs: wall,
    runsCpuMs: cpu,
  };
}

interface LiveReplay {
  ms: number;
  processMs?: number;
  cpuMs?: number;
  source: string;
  vmPteKb?: number;
}

/** The live figure given on the command line (`--live-ms`, `--live-json`), read before any run. */
function givenLiveReplay(): LiveReplay | undefined {
  if (values['live-ms'] !== undefined) {
    const ms = Number(values['live-ms']);
    if (!(ms > 0) || !Number.isFinite(ms)) fail(`--live-ms: expected a positive number of ms, not ${values['live-ms']}`);
    return { ms, source: `--live-ms ${values['live-ms']}` };
  }
  const file = values['live-json'];
  if (file === undefined) return undefined;
  const expected = `expected the JSON of \`ptreclaim oracle --trace SEED --json\` (wallMs, ops 51201)`;
  let o: { wallMs?: unknown; ops?: unknown; vmPteKb?: number } | null; // `null` is JSON too
  try {
    o = JSON.parse(readFileSync(file, 'utf8')) as typeof o;
  } catch (e) {
    const why = e instanceof SyntaxError ? 'not JSON' : (describeErrno(e) ?? (e as Error).message);
    fail(`--live-json ${file}: ${why}; ${expected}`, 1);
  }
  if (typeof o?.wallMs !== 'number' || o.ops !== 51_201) fail(`--live-json ${file}: ${expected}`, 1);
  return { ms: o.wallMs, source: `${file} (ptreclaim oracle --json)`, vmPteKb: o.vmPteKb };
}

/** The live kernel's replay of the seed trace: its time in ms, and where the figure came from. */
async function liveReplay(): Promise<LiveReplay | undefined> {
  if (givenLive) return givenLive;
  if (values.oracle !== '1') return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'ptreclaim-startup-'));
  try {
    const trace = join(dir, 'seed.trace');
    await runProcess([node, bin, 'trace', 'seed', '-o', trace]);
    process.stderr.write('live kernel: ptreclaim oracle --trace seed.trace (15 s or more) ...\n');
    const r = await runProcess([node, bin, 'oracle', '--trace', trace, '--json']);
    const o = JSON.parse(r.stdout) as { wallMs: number; vmPteKb: number };
    return {
      ms: o.wallMs,
      processMs: r.ms,
      cpuMs: r.cpuS * 1000,
      source: 'ptreclaim oracle --trace seed.trace --json (this run)',
      vmPteKb: o.vmPteKb,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const loadBefore = readFileSync('/proc/loadavg', 'utf8').trim();
const bare: ProcessRun[] = [];
const version: ProcessRun[] = [];
const seed: ProcessRun[] = [];
const runWallMs: number[] = [];
let vmPteKb: unknown;
for (let i = 0; i <= runs; i++) {
  const b = await runProcess([node, '-e', '0']);
  const v = await runProcess([node, bin, '--version']);
  const s = await runProcess([node, bin, 'run', 'seed', '--json']);
  if (i === 0) continue; // warm-up round
  bare.push(b);
  version.push(v);
  seed.push(s);
  const result = JSON.parse(s.stdout) as { wallMs: number; vmPteKb: number };
  runWallMs.push(result.wallMs);
  vmPteKb = result.vmPteKb;
}
const live = await liveReplay();

const out = {
  schemaVersion: 1,
  date: new Date().toISOString(),
  node: process.version,
  loadavgBefore: loadBefore,
  loadavgAfter: readFileSync('/proc/loadavg', 'utf8').trim(),
  runs,
  bare: summary('node -e 0', bare),
  version: {
    ...summary('ptreclaim --version', version),
    extraWallMs: median(version.map((r) => r.ms)) - median(bare.map((r) => r.ms)),
    extraCpuMs: median(version.map((r) => r.cpuS * 1000)) - median(bare.map((r) => r.cpuS * 1000)),
    targetExtraMs: 30,
  },
  seed: {
    ...summary('ptreclaim run seed --json', seed),
    vmPteKb,
    run: { wallMs: { median: median(runWallMs), min: Math.min(...runWallMs), max: Math.max(...runWallMs) }, runsWallMs: runWallMs },
  },
  live: live ?? null,
  ratios: live
    ? {
        wholeProcess: live.ms / median(seed.map((r) => r.ms)),
        wholeProcessTarget: 100,
        run: live.ms / median(runWallMs),
        runTarget: 300,
        // CPU against CPU, when the oracle ran here: on a loaded host the fairer comparison.
        wholeProcessCpu: live.cpuMs === undefined ? null : live.cpuMs / median(seed.map((r) => r.cpuS * 1000)),
      }
    : null,
};
const f = (x: number) => x.toFixed(1);
console.log(`load average ${out.loadavgBefore} -> ${out.loadavgAfter}; ${runs} runs each, medians (min-max)`);
for (const s of [out.bare, out.version, out.seed])
  console.log(
    `${s.command.padEnd(26)} wall ${f(s.wallMs.median)} ms (${f(s.wallMs.min)}-${f(s.wallMs.max)}), CPU ${f(s.cpuMs.median)} ms (${f(s.cpuMs.min)}-${f(s.cpuMs.max)}), peak RSS ${(s.peakRssKb / 1024).toFixed(0)} MiB`,
  );
console.log(
  `--version: +${f(out.version.extraWallMs)} ms wall, +${f(out.version.extraCpuMs)} ms CPU over node -e 0 (target <= 30 ms); run seed itself (wallMs) ${f(out.seed.run.wallMs.median)} ms (${f(out.seed.run.wallMs.min)}-${f(out.seed.run.wallMs.max)})`,
);
if (live && out.ratios) {
  console.log(`live replay ${f(live.ms)} ms (${live.source}); VmPTE model ${String(vmPteKb)} kB, kernel ${String(live.vmPteKb ?? '?')} kB`);
  console.log(
    `run seed whole process: ${out.ratios.wholeProcess.toFixed(0)}x faster (target >= 100x); the run itself: ${out.ratios.run.toFixed(0)}x (target >= 300x)`,
  );
  if (out.ratios.wholeProcessCpu !== null && live.cpuMs !== undefined)
    console.log(
      `CPU: oracle process ${f(live.cpuMs)} ms (wall ${f(live.processMs ?? NaN)} ms) vs run seed ${f(out.seed.cpuMs.median)} ms: ${out.ratios.wholeProcessCpu.toFixed(0)}x`,
    );
} else console.log('no live figure (give --oracle 1 as root, --live-json FILE or --live-ms MS): no ratios');
writeResults(values.json, out);
console.log(`wrote ${values.json}`);
