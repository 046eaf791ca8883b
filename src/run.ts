/**
 * Run a workload or trace through the model: the library API behind `ptreclaim run`.
 */
import { performance } from 'node:perf_hooks';
import { type PageTableCore, type RawStats, type ReclaimPath, PAGE_SIZE } from './core/types.js';
import { WasmCore, type WasmFlavor } from './core/wasm.js';
import { ReferenceCore } from './core/reference.js';
import { Mm, type Errno, type ExitReport } from './mm/mm.js';
import { ArenaFullError, UsageError } from './errors.js';
import { getStrategy } from './strategies.js';
import type { Op, OpKind } from './trace/ops.js';

export const RUN_SCHEMA_VERSION = 1;

export interface RunOptions {
  strategy?: string;
  path?: ReclaimPath;
  /** Which implementation of the hot loops: the WASM core (default) or the TS reference. */
  core?: 'wasm' | 'ts';
  /** WASM build: release (default) or debug (assertions on). */
  wasm?: WasmFlavor;
  /** Most bytes of page tables the arena may hold (rounded down to 4 KiB frames). */
  arenaLimitBytes?: number;
  /** Label for the result: workload name or trace path. */
  source?: string;
  /** Read faults map the shared zero page (default true, as upstream Linux). */
  zeroPage?: boolean;
  /** Most errors listed individually in the result (all are counted). */
  maxErrors?: number;
}

export interface OpError {
  index: number;
  file?: string;
  line?: number;
  op: OpKind;
  errno: Errno;
  detail: string;
}

/** Result of one run. Field names are shared with `ptreclaim oracle --json`. */
export interface RunResult {
  schemaVersion: number;
  source: string;
  strategy: string;
  path: ReclaimPath;
  core: 'wasm' | 'ts';
  ops: number;
  opCounts: Record<OpKind, number>;
  errorCount: number;
  errors: OpError[];
  /** VmPTE in kB after the last operation, before exit (mm_pgtables_bytes / 1024). */
  vmPteKb: number;
  peakVmPteKb: number;
  tables: { pte: number; pmd: number; pud: number };
  tablesAllocated: { pte: number; pmd: number; pud: number };
  tablesFreed: { pte: number; pmd: number; pud: number };
  reclaim: { fast: number; slow: number; slowFailed: number };
  rss: { anonPages: number; filePages: number; swapEnts: number; shmemPages: number; rssKb: number };
  entries: { readZap: number; readScan: number; cleared: number; skipped: number };
  faults: { anon: number; zeroPage: number; wpCopy: number; swapIn: number; other: number; accessOnly: number };
  tlb: { flushes: number; forceFlush: number; forceBreak: number; zapRetries: number; pagesGathered: number; tablesGathered: number };
  locks: { ptl: number; pmd: number; pmdTrylockOk: number; pmdTrylockFail: number };
  lazyfreePages: number;
  arena: { tablesHigh: number; limitFrames: number; memoryBytes: number };
  exit: { clean: boolean; problems: string[] };
  wallMs: number;
  opsPerSec: number;
}

export function makeCore(opts: Pick<RunOptions, 'core' | 'wasm'> = {}): PageTableCore {
  return opts.core === 'ts' ? new ReferenceCore() : new WasmCore(opts.wasm ?? 'release');
}

// One idle WASM instance per build is kept between runs: its linear memory stays grown and
// backed, so repeated runs (benchmarks, --strategy all) do not pay the host's page faults again.
const idleCores = new Map<WasmFlavor, WasmCore>();

function acquireCore(opts: Pick<RunOptions, 'core' | 'wasm'>): PageTableCore {
  if (opts.core === 'ts') return new ReferenceCore();
  const flavor = opts.wasm ?? 'release';
  const idle = idleCores.get(flavor);
  if (idle) {
    idleCores.delete(flavor);
    return idle;
  }
  return new WasmCore(flavor);
}

function releaseCore(core: PageTableCore): void {
  if (core instanceof WasmCore) idleCores.set(core.flavor, core);
}

export function limitFramesFor(bytes: number | undefined): number {
  if (bytes === undefined) return 0;
  const frames = Math.floor(bytes / PAGE_SIZE);
  if (frames < 2) throw new UsageError(`--arena-limit ${bytes} is too small: at least 8 KiB (the PGD and one table) is needed`);
  return frames;
}

/** Apply one operation; returns the error, if the syscall failed. */
export function applyOp(mm: Mm, op: Op): { errno: Errno; detail: string } | undefined {
  let r;
  switch (op.kind) {
    case 'mmap':
      r = mm.mmap(op.addr, op.len);
      break;
    case 'munmap':
      r = mm.munmap(op.addr, op.len);
      break;
    case 'touch':
      r = mm.touch(op.addr, op.len, op.access);
      break;
    case 'madvise':
      r = mm.madvise(op.addr, op.len, op.advice);
      break;
  }
  return r.ok ? undefined : { errno: r.errno, detail: r.detail };
}

/** Run ops through a fresh mm with one strategy; exit's teardown is checked at the end. */
export function runOps(ops: Iterable<Op>, opts: RunOptions = {}): RunResult {
  const strategy = getStrategy(opts.strategy ?? 'pt-reclaim');
  const core = acquireCore(opts);
  try {
    return runOnCore(core, ops, opts, strategy.name);
  } finally {
    releaseCore(core);
  }
}

function runOnCore(core: PageTableCore, ops: Iterable<Op>, opts: RunOptions, strategyName: string): RunResult {
  const strategy = getStrategy(strategyName);
  const mm = new Mm(core, { strategy: strategy.name, path: opts.path ?? 'auto', limitFrames: limitFramesFor(opts.arenaLimitBytes), zeroPage: opts.zeroPage });
  const maxErrors = opts.maxErrors ?? 100;
  const opCounts: Record<OpKind, number> = { mmap: 0, munmap: 0, touch: 0, madvise: 0 };
  const errors: OpError[] = [];
  let errorCount = 0;
  let index = 0;
  const t0 = performance.now();
  for (const op of ops) {
    let err;
    try {
      err = applyOp(mm, op);
    } catch (e) {
      if (e instanceof ArenaFullError) {
        const where = op.file ? `${op.file}:${op.line}: ` : `operation ${index + 1} (${op.kind}): `;
        throw new ArenaFullError(where + e.message, e.liveTables, e.limitTables);
      }
      throw e;
    }
    opCounts[op.kind]++;
    if (err) {
      errorCount++;
      if (errors.length < maxErrors) errors.push({ index, file: op.file, line: op.line, op: op.kind, ...err });
    }
    index++;
  }
  const before = mm.stats();
  const exit = mm.exit();
  const wallMs = performance.now() - t0;
  return buildResult({
    source: opts.source ?? '<ops>', strategy: strategy.name, path: opts.path ?? 'auto', core: core.kind,
    ops: index, opCounts, errors, errorCount, stats: before, exit, wallMs, memoryBytes: core.memoryBytes(),
    limitFrames: core.arenaLimitFrames(),
  });
}

function buildResult(a: {
  source: string; strategy: string; path: ReclaimPath; core: 'wasm' | 'ts'; ops: number;
  opCounts: Record<OpKind, number>; errors: OpError[]; errorCount: number; stats: RawStats;
  exit: ExitReport; wallMs: number; memoryBytes: number; limitFrames: number;
}): RunResult {
  const s = a.stats;
  const kb = PAGE_SIZE / 1024;
  return {
    schemaVersion: RUN_SCHEMA_VERSION,
    source: a.source,
    strategy: a.strategy,
    path: a.path,
    core: a.core,
    ops: a.ops,
    opCounts: a.opCounts,
    errorCount: a.errorCount,
    errors: a.errors,
    vmPteKb: (s.NrPte + s.NrPmd + s.NrPud) * kb,
    peakVmPteKb: s.PeakPgtables * kb,
    tables: { pte: s.NrPte, pmd: s.NrPmd, pud: s.NrPud },
    tablesAllocated: { pte: s.AllocPte, pmd: s.AllocPmd, pud: s.AllocPud },
    tablesFreed: { pte: s.FreedPte, pmd: s.FreedPmd, pud: s.FreedPud },
    reclaim: { fast: s.ReclaimFast, slow: s.ReclaimSlow, slowFailed: s.ReclaimSlowFailed },
    rss: {
      anonPages: s.RssAnon, filePages: s.RssFile, swapEnts: s.RssSwapEnts, shmemPages: s.RssShmem,
      rssKb: (s.RssAnon + s.RssFile + s.RssShmem) * kb,
    },
    entries: { readZap: s.EntriesReadZap, readScan: s.EntriesReadScan, cleared: s.EntriesCleared, skipped: s.EntriesSkipped },
    faults: {
      anon: s.FaultAnon, zeroPage: s.FaultZeroPage, wpCopy: s.FaultWpCopy, swapIn: s.FaultSwapIn,
      other: s.FaultOther, accessOnly: s.FaultAccessOnly,
    },
    tlb: {
      flushes: s.TlbFlushes, forceFlush: s.ForceFlush, forceBreak: s.ForceBreak, zapRetries: s.ZapRetries,
      pagesGathered: s.PagesGathered, tablesGathered: s.TablesGathered,
    },
    locks: { ptl: s.PtlLocks, pmd: s.PmdLocks, pmdTrylockOk: s.PmdTrylockOk, pmdTrylockFail: s.PmdTrylockFail },
    lazyfreePages: s.LazyfreePages,
    arena: { tablesHigh: Math.max(0, s.ArenaFramesHigh - 1), limitFrames: a.limitFrames, memoryBytes: a.memoryBytes },
    exit: { clean: a.exit.problems.length === 0, problems: a.exit.problems },
    wallMs: a.wallMs,
    opsPerSec: a.wallMs > 0 ? (a.ops / a.wallMs) * 1000 : 0,
  };
}
