/**
 * Scale: how many live PTE tables the WebAssembly arena holds and what each costs. Touches
 * one page per 2 MiB (one PTE table each) through the real mm model (VMAs in TS, tables in
 * WASM) and samples memory as it goes. Used by bench/scale.ts (900,000 tables) and
 * test/scale.test.ts (a modest run).
 */
import { performance } from 'node:perf_hooks';
import { makeCore, resolveRunOptions } from '../run.js';
import { Mm } from '../mm/mm.js';
import { PAGE_SIZE, PMD_SIZE } from '../core/types.js';
import { PtreclaimError } from '../errors.js';

export interface ScalePoint {
  /** PTE tables live (NrPte). */
  pteTables: number;
  /** All page-table frames live: PTE + PMD + PUD tables and the PGD. */
  frames: number;
  /** WebAssembly linear memory, bytes (what the host reserved for the module). */
  memoryBytes: number;
  /** Memory not holding tables: static data + frame states + frames grown but not yet used. */
  memoryPerTable: number;
  /** Arena bookkeeping (static data + 1 byte of state per frame) over the bytes of the tables. */
  bookkeepingRatio: number;
  /** Frames memory has room for (geometric growth runs ahead of use). */
  capacityFrames: number;
  rssBytes: number;
  jsHeapBytes: number;
  elapsedMs: number;
}

export interface ScaleResult {
  base: number;
  tablesTarget: number;
  points: ScalePoint[];
  /** Slope of WASM memory over PTE tables between the first and last point (bytes per table). */
  memoryGrowthPerTable: number;
  error?: string;
}

export interface ScaleOptions {
  tables: number;
  /** Where the mapping starts (any page-aligned 47-bit user address). */
  base?: number;
  /** Sample every this many tables. */
  every?: number;
  arenaLimitBytes?: number;
}

/** The first frame of the arena sits this far into linear memory (static data + frame states). */
function framesBase(s: { ArenaFramesCapacity: number }, memoryBytes: number, limited: boolean): number | undefined {
  return limited ? undefined : memoryBytes - s.ArenaFramesCapacity * PAGE_SIZE;
}

export function runScale(opts: ScaleOptions): ScaleResult {
  const base = opts.base ?? 0x100000000000;
  const every = opts.every ?? Math.max(1, Math.floor(opts.tables / 10));
  const limitFrames = opts.arenaLimitBytes ? Math.floor(opts.arenaLimitBytes / PAGE_SIZE) : 0;
  const runOptions = resolveRunOptions({ strategy: 'none', core: 'wasm', wasm: 'release', limitFrames });
  const core = makeCore(runOptions);
  const mm = new Mm(core, runOptions);
  const len = opts.tables * PMD_SIZE;
  const r = mm.mmap(base, len);
  if (!r.ok) throw new PtreclaimError(`scale: mmap(0x${base.toString(16)}, ${len}) failed: ${r.errno} ${r.detail}`);
  const points: ScalePoint[] = [];
  const t0 = performance.now();
  const sample = () => {
    const s = core.stats();
    const memoryBytes = core.memoryBytes();
    const frames = s.ArenaFramesLive;
    const fb = framesBase(s, memoryBytes, limitFrames !== 0 && s.ArenaFramesCapacity >= limitFrames);
    const mu = process.memoryUsage();
    points.push({
      pteTables: s.NrPte,
      frames,
      memoryBytes,
      memoryPerTable: s.NrPte ? memoryBytes / s.NrPte : 0,
      bookkeepingRatio: fb === undefined || !frames ? NaN : fb / (frames * PAGE_SIZE),
      capacityFrames: s.ArenaFramesCapacity,
      rssBytes: mu.rss,
      jsHeapBytes: mu.heapUsed,
      elapsedMs: performance.now() - t0,
    });
  };
  let error: string | undefined;
  try {
    for (let i = 0; i < opts.tables; i++) {
      const t = mm.touch(base + i * PMD_SIZE + (i % 512) * PAGE_SIZE, 1, 'write');
      if (!t.ok) throw new PtreclaimError(`scale: touch of table ${i} failed: ${t.errno} ${t.detail}`);
      if ((i + 1) % every === 0) sample();
    }
  } catch (e) {
    if (!(e instanceof PtreclaimError)) throw e;
    error = e.message;
  }
  if (!points.length || points[points.length - 1]!.pteTables !== core.stats().NrPte) sample();
  const first = points[0]!;
  const last = points[points.length - 1]!;
  const memoryGrowthPerTable =
    last.pteTables > first.pteTables ? (last.memoryBytes - first.memoryBytes) / (last.pteTables - first.pteTables) : NaN;
  return { base, tablesTarget: opts.tables, points, memoryGrowthPerTable, ...(error ? { error } : {}) };
}
