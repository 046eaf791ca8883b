/**
 * `bench paths` as one comparison: the per-table counters each path must show (they are
 * deterministic), the ratios' shape, the results-file schema, and the terminal layout at a
 * fixed width with a fixed clock (structure, never timings).
 */
import { describe, it, expect } from 'vitest';
import { stripVTControlCharacters } from 'node:util';
import { comparePaths, strategiesWithPaths } from '../src/bench/paths.js';
import { runBench } from '../src/bench/run.js';
import { validateResults } from '../src/bench/schema.js';
import { DEFAULT_SUITE_PARAMS } from '../src/bench/suites.js';
import { formatPathsComparison } from '../src/report/paths.js';
import { formatBenchTables } from '../src/report/terminal.js';
import { fitGrid, stdoutLayout, textWidth } from '../src/report/layout.js';
import type { PathsComparison } from '../src/bench/types.js';
import { runOps } from '../src/run.js';
import { formatRunTable } from '../src/report/text.js';
import { pathsReclaim } from '../src/workloads/paths.js';

/** A clock that moves 1000 ns per reading: every timed region lasts the same. */
function fakeClock(): () => number {
  let t = 0;
  return () => (t += 1000);
}

describe('paths comparison', () => {
  const quick = (strategy: 'pt-reclaim' | 'pt-reclaim-v1') =>
    comparePaths(strategy, { reclaims: 8, samples: 7, warmup: 1, now: fakeClock() });

  it('only strategies whose MADV_DONTNEED reclaims tables have paths', () => {
    expect(strategiesWithPaths(['none', 'pt-reclaim', 'async-scan', 'pt-reclaim-v1', 'refcount'])).toEqual(['pt-reclaim', 'pt-reclaim-v1']);
  });

  it('per table: fast reads 512 entries and takes 2 locks; slow adds the 512-entry rescan and the PMD lock', () => {
    const c = quick('pt-reclaim');
    expect(c.variants.map((v) => v.variant)).toEqual(['fast', 'slow', 'contended']);
    const [fast, slow, contended] = c.variants;
    expect(fast!.perTable).toMatchObject({
      entriesRead: 512,
      entriesReadScan: 0,
      locks: 2,
      pmdTrylockFails: 0,
      tlbFlushes: 1,
      fastShare: 1,
    });
    expect(slow!.perTable).toMatchObject({
      entriesRead: 1024,
      entriesReadScan: 512,
      locks: 3,
      pmdTrylockFails: 1,
      tlbFlushes: 1,
      fastShare: 0,
    });
    expect(slow!.perTable.simulatedNs).toBeGreaterThan(fast!.perTable.simulatedNs);
    // Contended: some tables by each path (trylock fails and early breaks half the time).
    expect(contended!.perTable.fastShare).toBeGreaterThan(0);
    expect(contended!.perTable.fastShare).toBeLessThan(1);
    for (const v of c.variants) expect(v.samplesNs).toHaveLength(7);
    expect(c.ratios.map((r) => `${r.of}/${r.to}`)).toEqual(['slow/fast', 'contended/fast']);
  });

  it('the fixed cost is measured apart and subtracted: a clock where every region lasts the same gives 0 net', () => {
    const c = quick('pt-reclaim-v1');
    for (const v of c.variants) {
      expect(v.wallNs).toBe(0); // (reclaiming calls - empty calls) / tables, both 1000 ns here
      expect(v.fixedNsPerCall).toBe(1000 / 8);
    }
  });

  it('runBench adds the comparison for the paths suite, and the results file validates', async () => {
    const r = await runBench({
      ...DEFAULT_SUITE_PARAMS,
      suites: ['paths'],
      strategies: ['none', 'pt-reclaim'],
      timeMs: 5,
      iterations: 2,
      warmupIterations: 0,
      timelinePoints: 4,
      wasm: 'release',
    });
    expect(r.paths?.map((p) => p.strategy)).toEqual(['pt-reclaim']);
    expect(() => validateResults(JSON.parse(JSON.stringify(r)), 'r.json')).not.toThrow();
    const broken = JSON.parse(JSON.stringify(r)) as { paths: { variants: { perTable?: unknown }[] }[] };
    delete broken.paths[0]!.variants[0]!.perTable;
    expect(() => validateResults(broken, 'r.json')).toThrow(/paths/);
    // The paths cells are summarised in the comparison, not in three tables of their own.
    const text = formatBenchTables(r, { format: 'wide', width: Infinity });
    expect(text).not.toMatch(/paths\/paths-reclaim\/fast/);
    expect(text).toMatch(/whole run/);
  });
});

/** A fixed comparison (no clock, no core) for layout tests. */
function fixture(strategy: string): PathsComparison {
  const v = (variant: 'fast' | 'slow' | 'contended', wallNs: number, entriesRead: number) => ({
    variant,
    runOptions: {},
    wallNs,
    samplesNs: [wallNs],
    fixedNsPerCall: 200,
    perTable: {
      entriesRead,
      entriesReadZap: 512,
      entriesReadScan: entriesRead - 512,
      locks: 2,
      pmdTrylockFails: 0,
      tlbFlushes: 1,
      simulatedNs: 29782,
      fastShare: 1,
    },
  });
  const ci = { lo: 1.1, hi: 1.3, confidence: 0.95 };
  return {
    strategy,
    reclaimsPerSample: 64,
    samples: 51,
    warmupRounds: 60,
    variants: [v('fast', 180, 512), v('slow', 220, 1024), v('contended', 240, 900)],
    ratios: [
      { of: 'slow', to: 'fast', ratio: 1.22, ci, diffNs: 40, diffCi: { lo: 30, hi: 50, confidence: 0.95 }, p: 0.0001 },
      { of: 'contended', to: 'fast', ratio: 1.33, ci, diffNs: 60, diffCi: { lo: 50, hi: 70, confidence: 0.95 }, p: 0.02 },
    ],
  };
}

const plain = (s: string) => stripVTControlCharacters(s);

describe('terminal layout', () => {
  const paths = [fixture('pt-reclaim'), fixture('pt-reclaim-v1')];

  it('wide: one table, a row per strategy and path, with the ratio, CI and p-value', () => {
    const text = plain(formatPathsComparison(paths, [], { format: 'wide', width: 80 }));
    expect(text.match(/┌/g)).toHaveLength(1);
    expect(text).toMatch(/│ strategy\s+│ path\s+│ wall ns\s+│ ÷ fast/);
    expect(text).toMatch(/│ pt-reclaim\s+│ slow\s+│ 220\s+│ 1\.22x\s+│ \[1\.10, 1\.30\] │ <0\.001 │ \+40 \[30, 50\]/);
    expect(text).toMatch(/│ pt-reclaim-v1 │ contended │ 240\s+│ 1\.33x .* 0\.020 /);
  });

  it('auto at 80 columns: one table per strategy, paths as columns, every line within 80', () => {
    const text = plain(formatPathsComparison(paths, [], { format: 'auto', width: 80 }));
    expect(text.match(/┌/g)).toHaveLength(2);
    expect(text).toMatch(/│ pt-reclaim\s+│ fast\s+│ slow\s+│ contended\s+│/);
    expect(text).toMatch(/│ entries read\s+│ 512\s+│ 1,024\s+│ 900\s+│/);
    expect(textWidth(text)).toBeLessThanOrEqual(80);
  });

  it('auto with room (or no terminal): the wide table', () => {
    expect(plain(formatPathsComparison(paths, [], { format: 'auto', width: Infinity })).match(/┌/g)).toHaveLength(1);
  });

  it('fitGrid splits strategies into groups that fit, repeating the label column; long is one per strategy', () => {
    const grid = {
      corner: '',
      head: ['none', 'pt-reclaim', 'pt-reclaim-v1', 'async-scan', 'refcount'],
      rows: [
        { label: 'run time median (±rme)', cells: Array(5).fill('63.9 µs (±12.3%)') },
        { label: 'VmPTE final', cells: Array(5).fill('1,024 kB') },
      ],
    };
    expect(fitGrid(grid, { format: 'wide', width: 40 })).toHaveLength(1);
    const split = fitGrid(grid, { format: 'auto', width: 80 });
    expect(split.length).toBeGreaterThan(1);
    for (const t of split) {
      expect(textWidth(t)).toBeLessThanOrEqual(80);
      expect(t).toMatch(/run time median/);
    }
    expect(split.join('\n').match(/pt-reclaim-v1/g)).toHaveLength(1); // every strategy once
    expect(fitGrid(grid, { format: 'long', width: Infinity })).toHaveLength(5);
  });

  it('run: five strategies split into tables that fit 80 columns, the knobs line wrapped; wide keeps one table', () => {
    const results = ['none', 'pt-reclaim', 'pt-reclaim-v1', 'async-scan', 'refcount'].map((strategy) =>
      runOps(pathsReclaim(4).ops(), { strategy, source: 'paths-reclaim' }),
    );
    const narrow = plain(formatRunTable(results, { format: 'auto', width: 80 }));
    expect(narrow.match(/┌/g)!.length).toBeGreaterThan(1);
    expect(textWidth(narrow)).toBeLessThanOrEqual(80);
    for (const s of ['none', 'pt-reclaim', 'pt-reclaim-v1', 'async-scan', 'refcount']) expect(narrow).toMatch(new RegExp(`│ ${s}\\s+│`));
    expect(plain(formatRunTable(results, { format: 'wide', width: 80 })).match(/┌/g)).toHaveLength(1);
  });

  it("stdout layout: the terminal's width on a TTY (80 when unknown), unbounded otherwise", () => {
    expect(stdoutLayout('auto', { isTTY: true, columns: 120 })).toEqual({ format: 'auto', width: 120 });
    expect(stdoutLayout('auto', { isTTY: true })).toEqual({ format: 'auto', width: 80 });
    expect(stdoutLayout('long', { isTTY: false, columns: 120 })).toEqual({ format: 'long', width: Infinity });
  });
});
