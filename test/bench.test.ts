/**
 * The benchmark harness: deterministic counters for a seed (only times vary), results files
 * that validate against the schema, compare's exit codes, shard + merge equal to the whole
 * run, and CPU profiles that name the AssemblyScript functions.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { runBench } from '../src/bench/run.js';
import { planMatrix, selectShard } from '../src/bench/harness.js';
import { mergeResults } from '../src/bench/merge.js';
import { validateResults, readResults } from '../src/bench/schema.js';
import { compareResults } from '../src/bench/compare.js';
import { DEFAULT_SUITE_PARAMS } from '../src/bench/suites.js';
import { EXPORTERS } from '../src/report/exporters.js';
import { UsageError } from '../src/errors.js';
import type { BenchOptions, BenchResults, CellResult } from '../src/bench/types.js';
import { formatComparison } from '../src/report/terminal.js';

const tmp = mkdtempSync(join(tmpdir(), 'ptreclaim-bench-'));
const bin = join(__dirname, '..', 'bin', 'ptreclaim.js');

/** Small, quick options: the paths suite and a sparse shape at a tiny scale. */
function quick(over: Partial<BenchOptions> = {}): BenchOptions {
  return {
    ...DEFAULT_SUITE_PARAMS,
    suites: ['paths', 'sparse'],
    strategies: ['none', 'pt-reclaim'],
    timeMs: 5,
    iterations: 8,
    warmupIterations: 1,
    timelinePoints: 20,
    wasm: 'release',
    scale: 1 / 65536,
    ...over,
  };
}

const deterministic = (r: BenchResults) =>
  r.cells.map((c) => ({
    id: c.id,
    counters: c.counters,
    checkpoints: c.checkpoints,
    timeline: c.timeline,
    // Host figures (JS heap, WASM memory size) depend on the process, not on the seed.
    memory: { ...c.memory, jsHeapUsedBytes: 0, wasmMemoryBytes: 0 },
  }));

let whole: BenchResults;
beforeAll(async () => {
  whole = await runBench(quick());
});

describe('bench harness', () => {
  it("runs every case x strategy and reports the model's figures", () => {
    expect(whole.cells.map((c) => c.id)).toEqual([
      'paths/paths-reclaim/fast/none',
      'paths/paths-reclaim/fast/pt-reclaim',
      'paths/paths-reclaim/slow/none',
      'paths/paths-reclaim/slow/pt-reclaim',
      'paths/paths-reclaim/contended/none',
      'paths/paths-reclaim/contended/pt-reclaim',
      'sparse/sparse/none',
      'sparse/sparse/pt-reclaim',
    ]);
    const fast = whole.cells.find((c) => c.id === 'paths/paths-reclaim/fast/pt-reclaim')!;
    const slow = whole.cells.find((c) => c.id === 'paths/paths-reclaim/slow/pt-reclaim')!;
    expect(fast.counters['reclaim.fast']).toBe(64);
    expect(slow.counters['reclaim.slow']).toBe(64);
    expect(slow.counters['entries.readScan']).toBe(64 * 512);
    expect(fast.latency.samples).toBeGreaterThanOrEqual(8);
    expect(fast.samples).toHaveLength(fast.latency.samples);
    const sparseNone = whole.cells.find((c) => c.id === 'sparse/sparse/none')!;
    const sparseReclaim = whole.cells.find((c) => c.id === 'sparse/sparse/pt-reclaim')!;
    expect(sparseNone.scale).toBe(1 / 65536);
    // Before the purge both strategies hold a table per span; after it only pt-reclaim drops them.
    expect(sparseReclaim.checkpoints.before!.vmPteKb).toBe(sparseNone.checkpoints.before!.vmPteKb);
    expect(sparseNone.memory.vmPteFinalKb).toBe(sparseNone.checkpoints.before!.vmPteKb);
    expect(sparseReclaim.memory.vmPteFinalKb).toBeLessThan(sparseNone.memory.vmPteFinalKb / 10);
    expect(sparseNone.timeline.length).toBeGreaterThan(10);
  });

  it('counters are deterministic for a seed; only the times vary', async () => {
    const again = await runBench(quick());
    expect(deterministic(again)).toEqual(deterministic(whole));
    expect(again.cells.map((c) => c.samples)).not.toEqual(whole.cells.map((c) => c.samples));
  });

  it('a different seed changes the generated workloads', async () => {
    const o = quick({ suites: ['sparse'], seed: 2 });
    const other = await runBench(o);
    const a = whole.cells.find((c) => c.id === 'sparse/sparse/pt-reclaim')!;
    const b = other.cells.find((c) => c.id === 'sparse/sparse/pt-reclaim')!;
    expect(b.timeline).not.toEqual(a.timeline);
  });

  it('shards partition the matrix, and merged shards equal the unsharded run', async () => {
    const matrix = planMatrix(quick());
    const parts = [1, 2, 3].map((k) => selectShard(matrix, { index: k, count: 3 }).map((c) => c.id));
    expect(parts.flat().sort()).toEqual(matrix.map((c) => c.id).sort());
    const shards: { path: string; results: BenchResults }[] = [];
    for (const k of [1, 2, 3]) {
      const r = await runBench(quick({ shard: { index: k, count: 3 } }));
      expect(r.partial).toBe(true);
      shards.push({ path: `shard${k}.json`, results: r });
    }
    const merged = mergeResults(shards);
    expect(merged.partial).toBe(false);
    expect(deterministic(merged)).toEqual(deterministic(whole));
    expect(() => mergeResults([shards[0]!, shards[0]!])).toThrow(UsageError);
    expect(() => mergeResults([shards[0]!, { path: 'x', results: whole }])).toThrow(/different sweep|in both/);
  });
});

describe('results files', () => {
  it('JSON validates against the schema; CSV and Markdown have a row per cell', () => {
    const json = JSON.parse(EXPORTERS.json.render(whole)) as { context: { options: unknown } };
    expect(validateResults(json, 'x.json').schemaVersion).toBe(1);
    expect(json.context).toMatchObject<Record<string, unknown>>({
      node: process.version,
      cores: expect.any(Number),
      wasmSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(json.context.options).toMatchObject({ suites: ['paths', 'sparse'], seed: 1 });
    const csv = EXPORTERS.csv.render(whole).trim().split('\n');
    expect(csv).toHaveLength(whole.cells.length + 1);
    expect(csv[0]).toContain('counter.reclaim.fast');
    expect(EXPORTERS.md.render(whole)).toContain('## paths/paths-reclaim/slow');
  });

  it('malformed and incompatible files get a clear error', () => {
    expect(() => validateResults({ kind: 'ptreclaim-bench', schemaVersion: 99 }, 'old.json')).toThrow(/schemaVersion 99 is not supported/);
    expect(() => validateResults({ hello: 1 }, 'x.json')).toThrow(/x\.json: not a valid ptreclaim results file.*bench --json/);
    const broken = structuredClone(whole) as unknown as { cells: { samples: unknown }[] };
    broken.cells[0]!.samples = 'fast';
    expect(() => validateResults(broken, 'b.json')).toThrow(/b\.json: .*cells\.0\.samples must be array/);
    writeFileSync(join(tmp, 'notjson.json'), '{ nope');
    expect(() => readResults(join(tmp, 'notjson.json'))).toThrow(/not JSON/);
  });
});

describe('compare', () => {
  const slower = (r: BenchResults, factor: number): BenchResults => ({
    ...r,
    cells: r.cells.map((c) => ({ ...c, samples: c.samples.map((s, i) => s * factor + i * 1e-6) })),
  });

  it('flags a significant slowdown beyond the threshold and nothing else', () => {
    const cmp = compareResults(whole, slower(whole, 2), { alpha: 0.05, threshold: 0.05 });
    expect(cmp.rows).toHaveLength(whole.cells.length);
    expect(cmp.regressions.length).toBeGreaterThan(0);
    expect(cmp.geomeanRatio).toBeGreaterThan(1.5);
    expect(cmp.counterDiffs).toEqual([]);
    const same = compareResults(whole, whole, { alpha: 0.05, threshold: 0.05 });
    expect(same.regressions).toEqual([]);
    expect(same.rows.every((r) => !r.significant)).toBe(true);
  });

  it('exit codes: 0 without regression, 1 on --fail-on-regression, 2 on a bad file', () => {
    const base = join(tmp, 'base.json');
    const worse = join(tmp, 'worse.json');
    writeFileSync(base, EXPORTERS.json.render(whole));
    writeFileSync(worse, EXPORTERS.json.render(slower(whole, 2)));
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [bin, 'compare', ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    const ok = run(base, base, '--fail-on-regression');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('geomean');
    const bad = run(base, worse, '--fail-on-regression', '--threshold', '5%');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/significant regression/);
    expect(run(base, worse).status).toBe(0); // reported, not a gate without the flag
    const malformed = run(base, join(tmp, 'notjson.json'));
    expect(malformed.status).toBe(2);
    expect(malformed.stderr).toMatch(/notjson\.json: not JSON/);
  });
});

describe('compare refuses what it cannot compare (issue 11 item 4)', () => {
  const opts = { alpha: 0.05, threshold: 0.05 };
  /** The same file as if run with other suite options (what --scale or --heap change). */
  const withOption = (r: BenchResults, over: Partial<BenchOptions>): BenchResults => ({
    ...r,
    context: { ...r.context, options: { ...r.context.options, ...over } },
  });

  it('files whose options change what a cell measures are incomparable: the message names the field', () => {
    expect(() => compareResults(whole, withOption(whole, { scale: 1 / 2048 }), opts)).toThrow(
      /compare: the files measure different things: option scale differs \(1\/65536 vs 1\/2048\)/,
    );
    expect(() => compareResults(whole, withOption(whole, { heapBytes: 2 ** 30 }), opts)).toThrow(/option heapBytes differs/);
    expect(() => compareResults(whole, withOption(whole, { strategies: ['pt-reclaim'] }), opts)).toThrow(/option strategies differs/);
    expect(() => compareResults(whole, withOption(whole, { seed: 2 }), opts)).toThrow(/option seed differs \(1 vs 2\)/);
    const cellOpts = structuredClone(whole);
    cellOpts.cells[0]!.runOptions = { ...cellOpts.cells[0]!.runOptions, cpus: 64 };
    expect(() => compareResults(whole, cellOpts, opts)).toThrow(new RegExp(`cell ${cellOpts.cells[0]!.id}: run option cpus differs`));
    // The time budget only changes the sample count.
    expect(() => compareResults(whole, withOption(whole, { timeMs: 50, iterations: 3 }), opts)).not.toThrow();
  });

  it('crafted files are rejected naming the file and the cell: zero/negative/NaN samples, duplicate ids, missing fields', () => {
    const bad = (f: (r: BenchResults) => void) => {
      const r = structuredClone(whole);
      f(r);
      return r;
    };
    const id = whole.cells[1]!.id;
    expect(() =>
      compareResults(
        whole,
        bad((r) => {
          r.cells[1]!.samples[0] = 0;
        }),
        opts,
      ),
    ).toThrow(
      new RegExp(
        `compareResults: new: not a valid ptreclaim results file: cells\\.1\\.samples\\.0 must be >= 0.000001, not 0 \\(cell ${id}\\)`,
      ),
    );
    expect(() =>
      validateResults(
        bad((r) => {
          r.cells[1]!.samples[2] = -3;
        }),
        'n.json',
      ),
    ).toThrow(/n\.json: .*cells\.1\.samples\.2 must be >= 0\.000001/);
    expect(() =>
      validateResults(
        bad((r) => {
          r.cells[1]!.samples[2] = NaN;
        }),
        'n.json',
      ),
    ).toThrow(/n\.json: .*cells\.1\.samples\.2 must be .*, not NaN \(cell /);
    expect(() =>
      validateResults(
        bad((r) => {
          r.cells[3]!.id = r.cells[1]!.id;
        }),
        'd.json',
      ),
    ).toThrow(new RegExp(`d\\.json: .*cells\\.1 and cells\\.3 have the same id "${id}"`));
    expect(() =>
      validateResults(
        bad((r) => {
          delete (r.cells[2] as Partial<CellResult>).memory;
        }),
        'm.json',
      ),
    ).toThrow(/m\.json: .*cells\.2 must have required property 'memory' \(cell /);
  });

  it('a partial input is said in the output', () => {
    const partial: BenchResults = { ...whole, partial: true, partialReason: 'interrupted', cells: whole.cells.slice(0, 3) };
    const cmp = compareResults(whole, partial, opts);
    expect(cmp.partial).toEqual({ next: 'interrupted' });
    expect(formatComparison(cmp, 0.05)).toMatch(/new is partial \(interrupted\): only its finished cells are compared/);
  });

  it('CLI: bench sparse at two scales then compare --fail-on-regression exits 2 naming the scale', () => {
    const runBin = (...args: string[]) =>
      spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    const a = join(tmp, 's8192.json');
    const b = join(tmp, 's2048.json');
    for (const [scale, f] of [
      ['1/8192', a],
      ['1/2048', b],
    ] as const) {
      const r = runBin(
        'bench',
        'sparse',
        '--scale',
        scale,
        '--strategy',
        'none',
        '--iterations',
        '2',
        '--warmup',
        '0',
        '--time',
        '1',
        '-q',
        '--json',
        f,
      );
      expect(r.status, r.stderr).toBe(0);
    }
    const r = runBin('compare', a, b, '--fail-on-regression');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/option scale differs \(1\/8192 vs 1\/2048\)/);
  }, 60_000);
});

describe('merge', () => {
  it('shards of different counts: the message says the counts differ (not "given twice")', () => {
    const s13: BenchResults = {
      ...whole,
      partial: true,
      partialReason: 'shard 1/3',
      context: { ...whole.context, options: { ...whole.context.options, shard: { index: 1, count: 3 } } },
      cells: whole.cells.slice(0, 3),
    };
    const s12: BenchResults = {
      ...whole,
      partial: true,
      partialReason: 'shard 1/2',
      context: { ...whole.context, options: { ...whole.context.options, shard: { index: 1, count: 2 } } },
      cells: whole.cells.slice(4, 6),
    };
    expect(() =>
      mergeResults([
        { path: 'a.json', results: s13 },
        { path: 'b.json', results: s12 },
      ]),
    ).toThrow(/merge: b\.json is shard 1\/2 but a\.json is shard 1\/3: shards of one sweep share the count N of --shard K\/N/);
  });
});

describe('profiling', () => {
  it('--cpu-prof writes one profile per cell whose nodes name the WASM functions', async () => {
    const dir = join(tmp, 'prof');
    // Long enough that the 100 us sampler lands in WASM code many times (the loops are fast).
    const r = await runBench(
      quick({ suites: ['paths'], strategies: ['pt-reclaim'], cpuProfDir: dir, heapProfDir: dir, timeMs: 300, iterations: 50 }),
    );
    expect(r.cells.every((c) => c.profiles?.cpu && c.profiles.heap)).toBe(true);
    const files = readdirSync(dir).sort();
    expect(files).toContain('paths-paths-reclaim-slow-pt-reclaim.cpuprofile');
    expect(files).toContain('paths-paths-reclaim-slow-pt-reclaim.heapprofile');
    const wasmNames = files
      .filter((f) => f.endsWith('.cpuprofile'))
      .flatMap((f) => {
        const profile = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { nodes: { callFrame: { functionName: string; url: string } }[] };
        return profile.nodes.filter((n) => n.callFrame.url.startsWith('wasm://')).map((n) => n.callFrame.functionName);
      });
    expect(wasmNames.some((n) => /^assembly\/\w+\/\w+/.test(n))).toBe(true);
    expect(wasmNames.every((n) => !n.startsWith('wasm-function['))).toBe(true);
  });
});
