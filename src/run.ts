/**
 * Run a workload or trace through the model: the library API behind `ptreclaim run`.
 */
import { performance } from 'node:perf_hooks';
import type { PageTableCore, ReclaimPath, TableFree } from './core/types.js';
import { buildRunCounters, type RunCounters } from './generated/counters.js';
import { WasmCore, type WasmFlavor } from './core/wasm.js';
import { ReferenceCore } from './core/reference.js';
import { Mm, type Errno, type SyscallResult } from './mm/mm.js';
import type { Violation } from './mm/checker.js';
import { ArenaFullError, UnmodelledTraceError } from './errors.js';
import { checkRunArgs, checkRunOptions } from './api-schema.js';
import { type RunOptions, type ResolvedRunOptions, type ShmemThpMode, type ThpMode, isResolved, resolveRunOptions } from './options.js';
import { MODEL_OP_KINDS, modelOp, unmodelledMessage, type ModelOp, type ModelOpKind, type Op, type OpKind } from './trace/ops.js';
import { type OpBatch, OP_CODE_KINDS, batchesOfOps, readTraceBatches } from './trace/reader.js';
import type { Workload } from './workloads/types.js';

/** Version of RunResult's layout; the README says what changed between versions. */
export const RUN_SCHEMA_VERSION = 2;

export { type RunOptions, type ResolvedRunOptions, resolveRunOptions, limitFramesFor, DEFAULTS } from './options.js';

/** A checker violation, placed: which operation, which strategy. */
export interface CheckViolation extends Violation {
  index: number;
  file?: string;
  line?: number;
  op: OpKind | 'exit';
  strategy: string;
}

export interface OpError {
  index: number;
  file?: string;
  line?: number;
  op: OpKind;
  errno: Errno;
  detail: string;
}

/**
 * Result of one run: the counter fields (RunCounters, generated from schema/counters.js) and
 * what the run itself knows. Field names are shared with `ptreclaim oracle --json`.
 */
export interface RunResult extends Omit<RunCounters, 'arena'> {
  schemaVersion: number;
  source: string;
  strategy: string;
  path: ReclaimPath;
  core: 'wasm' | 'ts';
  ops: number;
  /** Operations run per kind: v1's always, `mprotect` and `mremap` (trace v2) only when the trace has one. */
  opCounts: Record<ModelOpKind, number> & { mprotect?: number; mremap?: number };
  errorCount: number;
  errors: OpError[];
  arena: RunCounters['arena'] & { limitFrames: number; memoryBytes: number };
  exit: { clean: boolean; problems: string[] };
  wallMs: number;
  opsPerSec: number;
  /** The knobs this run used (echoed so results are self-describing). */
  config: {
    trylockFail: number;
    resched: number;
    nowaitFail: number;
    seed: number;
    cpus: number;
    tableFree: TableFree;
    tickMs: number;
    gracePeriodMs: number;
    scanPeriodMs: number;
    scanBytes: number;
    mmapMinAddr: number;
    zeroPage: boolean;
    thp: ThpMode;
    thpZeroPage: boolean;
    shmemThp: ShmemThpMode;
    faultAroundBytes: number;
    readaheadBytes: number;
  };
  /** Simulated time at the end of the run (cost model, src/mm/cost.ts). */
  simulatedMs: number;
  /** Which weights simulatedMs used: "built-in default" or "profile FILE (host, date)". */
  costModel: string;
  check: { enabled: boolean; violationCount: number; violations: CheckViolation[] };
  timeline?: { ns: number; vmPteKb: number; realKb: number }[];
}

export function makeCore(opts: RunOptions | ResolvedRunOptions = {}): PageTableCore {
  const o = resolveRunOptions(opts);
  return o.core === 'ts' ? new ReferenceCore() : new WasmCore(o.wasm);
}

// One idle WASM instance per build is kept between runs: its linear memory stays grown and
// backed, so repeated runs (benchmarks, --strategy all) do not pay the host's page faults again.
const idleCores = new Map<WasmFlavor, WasmCore>();

function acquireCore(opts: ResolvedRunOptions): PageTableCore {
  if (opts.core === 'ts') return new ReferenceCore();
  const flavor = opts.wasm;
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

/**
 * Apply one operation; returns the error, if the syscall failed. An op using a trace v2
 * feature the model does not run is refused (UnmodelledTraceError), never approximated.
 */
export function applyOp(mm: Mm, anyOp: Op, index?: number): { errno: Errno; detail: string } | undefined {
  const op = modelOp(anyOp);
  if (!op) throw new UnmodelledTraceError(unmodelledMessage(anyOp, index));
  let r;
  try {
    r = syscallOf(mm, op);
  } catch (e) {
    // Say where: the arena ran out, or an op the model runs met memory it does not model
    // (mremap of a file mapping).
    const where = op.file ? `${op.file}:${String(op.line)}: ` : index !== undefined ? `operation ${index + 1} (${op.kind}): ` : '';
    if (e instanceof ArenaFullError) throw new ArenaFullError(where + e.message, e.liveTables, e.limitTables);
    if (e instanceof UnmodelledTraceError) throw new UnmodelledTraceError(where + e.message);
    throw e;
  }
  return r.ok ? undefined : { errno: r.errno, detail: r.detail };
}

function syscallOf(mm: Mm, op: ModelOp): SyscallResult {
  switch (op.kind) {
    case 'mmap':
      return mm.mmap(op.addr, op.len, op.prot, { shared: op.shared, file: op.mapFile, offset: op.offset });
    case 'mprotect':
      return mm.mprotect(op.addr, op.len, op.prot);
    case 'mremap':
      return mm.mremap(op.addr, op.len, op.newLen, op.newAddr);
    case 'munmap':
      return mm.munmap(op.addr, op.len);
    case 'touch':
      return mm.touch(op.addr, op.len, op.access);
    case 'madvise':
      return mm.madvise(op.addr, op.len, op.advice);
  }
}

/**
 * Run ops through a fresh mm with one strategy; exit's teardown is checked at the end.
 * Options are checked against the input schema and resolved once (resolveRunOptions); a
 * resolved object (the bench harness passes one per cell) skips both.
 */
export function runOps(ops: Iterable<Op>, options: RunOptions | ResolvedRunOptions = {}): RunResult {
  ops = checkRunArgs('runOps', ops, isResolved(options) ? undefined : options);
  return runBatches(batchesOfOps(ops), options);
}

/**
 * Run a built-in workload (src/workloads/). Its ops come from the project's own generators, so
 * they skip runOps' per-op schema check: for `run seed` that check (ajv's load and compile,
 * then 51,201 ops) cost more CPU than the run itself. A workload that writes batch columns
 * itself (Workload.batches) builds no op objects at all. Options are checked as runTraceFile's.
 */
export function runWorkload(workload: Workload, options: RunOptions | ResolvedRunOptions = {}): RunResult {
  if (!isResolved(options)) checkRunOptions('runWorkload', options);
  return runBatches(
    workload.batches?.() ?? batchesOfOps(workload.ops()),
    isResolved(options) ? options : { source: workload.name, ...options },
  );
}

/**
 * Run a trace file, streamed: memory does not grow with the trace's size. The file is read
 * once per call (for several strategies, call once each).
 */
export function runTraceFile(path: string, options: RunOptions | ResolvedRunOptions = {}): RunResult {
  if (isResolved(options)) return runBatches(readTraceBatches(path), options);
  checkRunOptions('runTraceFile', options);
  return runBatches(readTraceBatches(path), { source: path, ...options });
}

/** Run ops given as batches (src/trace/reader.ts): what runOps and runTraceFile share. */
export function runBatches(batches: Iterable<OpBatch>, options: RunOptions | ResolvedRunOptions = {}): RunResult {
  const opts = resolveRunOptions(options);
  const core = acquireCore(opts);
  try {
    return runOnCore(core, batches, opts);
  } finally {
    releaseCore(core);
  }
}

/**
 * counts[code] += how many of kind[from..to) have that code. A function of its own: in
 * runOnCore's body this loop cost ~17 ms of a 1 M-op trace, here ~2 ms (V8 profile).
 */
function countKinds(kind: Uint8Array, from: number, to: number, counts: number[]): void {
  for (let k = from; k < to; k++) {
    const code = kind[k]!;
    counts[code] = counts[code]! + 1;
  }
}

function runOnCore(core: PageTableCore, batches: Iterable<OpBatch>, opts: ResolvedRunOptions): RunResult {
  const strategy = opts.strategy;
  const config: RunResult['config'] = {
    trylockFail: opts.trylockFail,
    resched: opts.resched,
    nowaitFail: opts.nowaitFail,
    seed: opts.seed,
    cpus: opts.cpus,
    tableFree: opts.tableFree,
    tickMs: opts.tickMs,
    gracePeriodMs: opts.gracePeriodMs,
    scanPeriodMs: opts.scanPeriodMs,
    scanBytes: opts.scanBytes,
    mmapMinAddr: opts.mmapMinAddr,
    zeroPage: opts.zeroPage,
    thp: opts.thp,
    thpZeroPage: opts.thpZeroPage,
    shmemThp: opts.shmemThp,
    faultAroundBytes: opts.faultAroundBytes,
    readaheadBytes: opts.readaheadBytes,
  };
  const mm = new Mm(core, opts);
  const violations: CheckViolation[] = [];
  let violationCount = 0;
  const timeline: { ns: number; vmPteKb: number; realKb: number }[] | undefined = opts.timeline ? [] : undefined;
  const maxErrors = opts.maxErrors;
  const opCounts: RunResult['opCounts'] = { mmap: 0, munmap: 0, touch: 0, madvise: 0 };
  const errors: OpError[] = [];
  let errorCount = 0;
  let index = 0;
  const t0 = performance.now();
  // Runs of touches and madvises inside one VMA go to the core in batches (Mm.applyBatch);
  // the rest, and anything per-operation (checker, timeline), take the one-op path below.
  const batched = mm.canBatch && !timeline;
  const batchedCounts = [0, 0, 0, 0];
  for (const batch of batches) {
    if (batch.firstV2Feature >= 0) {
      const first = batch.firstV2Feature;
      throw new UnmodelledTraceError(unmodelledMessage(batch.op(first), index + first));
    }
    let i = 0;
    while (i < batch.count) {
      if (batched) {
        const j = mm.applyBatch(batch, i);
        countKinds(batch.kind, i, j, batchedCounts);
        const failed = mm.batchFailure;
        if (failed) {
          errorCount++;
          if (errors.length < maxErrors) {
            const line = batch.line[failed.index];
            errors.push({
              index: index + (failed.index - i),
              ...(line ? { file: batch.file, line } : {}),
              op: OP_CODE_KINDS[batch.kind[failed.index]!]!,
              errno: failed.errno,
              detail: failed.detail,
            });
          }
        }
        index += j - i;
        i = j;
        if (i >= batch.count) break;
      }
      const op = batch.op(i++);
      const err = applyOp(mm, op, index);
      if (op.kind === 'mprotect') opCounts.mprotect = (opCounts.mprotect ?? 0) + 1;
      else if (op.kind === 'mremap') opCounts.mremap = (opCounts.mremap ?? 0) + 1;
      else opCounts[op.kind]++;
      if (opts.check) {
        for (const v of mm.takeViolations()) {
          violationCount++;
          if (violations.length < maxErrors)
            violations.push({ ...v, index, file: op.file, line: op.line, op: op.kind, strategy: strategy.name });
        }
      }
      if (timeline) {
        const c = mm.core;
        const live = c.stat('NrPte') + c.stat('NrPmd') + c.stat('NrPud');
        timeline.push({ ns: mm.nowNs, vmPteKb: live * 4, realKb: (live + c.stat('PgtablesPending')) * 4 });
      }
      if (err) {
        errorCount++;
        if (errors.length < maxErrors) errors.push({ index, file: op.file, line: op.line, op: op.kind, ...err });
      }
      index++;
    }
  }
  MODEL_OP_KINDS.forEach((kind, code) => (opCounts[kind] += batchedCounts[code]!));
  const before = mm.stats();
  const simulatedMs = mm.nowNs / 1e6;
  const exit = mm.exit();
  const wallMs = performance.now() - t0;
  if (opts.check) {
    for (const v of mm.takeViolations()) {
      violationCount++;
      if (violations.length < maxErrors) violations.push({ ...v, index, op: 'exit', strategy: strategy.name });
    }
  }
  const counters = buildRunCounters(before);
  return {
    schemaVersion: RUN_SCHEMA_VERSION,
    source: opts.source,
    strategy: strategy.name,
    path: opts.path,
    core: core.kind,
    ops: index,
    opCounts,
    errorCount,
    errors,
    ...counters,
    arena: { ...counters.arena, limitFrames: core.arenaLimitFrames(), memoryBytes: core.memoryBytes() },
    exit: { clean: exit.problems.length === 0, problems: exit.problems },
    wallMs,
    opsPerSec: wallMs > 0 ? (index / wallMs) * 1000 : 0,
    config,
    simulatedMs,
    costModel: opts.costLabel,
    check: { enabled: opts.check, violationCount, violations },
    ...(timeline ? { timeline } : {}),
  };
}
