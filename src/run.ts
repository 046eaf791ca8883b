/**
 * Run a workload or trace through the model: the library API behind `ptreclaim run`.
 */
import { performance } from 'node:perf_hooks';
import { type PageTableCore, type ReclaimPath, type TableFree, PAGE_SIZE } from './core/types.js';
import { buildRunCounters, type RunCounters } from './generated/counters.js';
import { WasmCore, type WasmFlavor } from './core/wasm.js';
import { ReferenceCore } from './core/reference.js';
import { Mm, DEFAULT_CPUS, type Errno, type MmOptions } from './mm/mm.js';
import type { Violation } from './mm/checker.js';
import { DEFAULT_GRACE_PERIOD_MS, DEFAULT_TICK_MS } from './mm/cost.js';
import { type CostChoice, DEFAULT_COST_CHOICE } from './mm/cost-profile.js';
import { DEFAULT_SCAN_BYTES, DEFAULT_SCAN_PERIOD_MS } from './mm/async-scan.js';
import { ArenaFullError, UsageError } from './errors.js';
import { getStrategy } from './strategies.js';
import { checkRunArgs } from './api-schema.js';
import type { Op, OpKind } from './trace/ops.js';
import { type OpBatch, OP_CODE_KINDS, batchesOfOps, readTraceBatches } from './trace/reader.js';

/** Version of RunResult's layout; the README says what changed between versions. */
export const RUN_SCHEMA_VERSION = 2;

/** What a run needs beyond the mm's own options (strategy, path, knobs: see MmOptions). */
export interface RunOptions extends Omit<MmOptions, 'limitFrames' | 'mmapBase' | 'cost'> {
  /** Which implementation of the hot loops: the WASM core (default) or the TS reference. */
  core?: 'wasm' | 'ts';
  /** WASM build: release (default) or debug (assertions on). */
  wasm?: WasmFlavor;
  /** Most bytes of page tables the arena may hold (rounded down to 4 KiB frames). */
  arenaLimitBytes?: number;
  /** Label for the result: workload name or trace path. */
  source?: string;
  /** Most errors listed individually in the result (all are counted). */
  maxErrors?: number;
  /** Sample (simulated ns, VmPTE kB, real kB) after every operation. */
  timeline?: boolean;
  /** Weights of simulated time: the built-in default, or a `ptreclaim calibrate` profile. */
  cost?: CostChoice;
}

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
  opCounts: Record<OpKind, number>;
  errorCount: number;
  errors: OpError[];
  arena: RunCounters['arena'] & { limitFrames: number; memoryBytes: number };
  exit: { clean: boolean; problems: string[] };
  wallMs: number;
  opsPerSec: number;
  /** The knobs this run used (echoed so results are self-describing). */
  config: {
    trylockFail: number; resched: number; nowaitFail: number; seed: number; cpus: number; tableFree: TableFree;
    tickMs: number; gracePeriodMs: number; scanPeriodMs: number; scanBytes: number;
  };
  /** Simulated time at the end of the run (cost model, src/mm/cost.ts). */
  simulatedMs: number;
  /** Which weights simulatedMs used: "built-in default" or "profile FILE (host, date)". */
  costModel: string;
  check: { enabled: boolean; violationCount: number; violations: CheckViolation[] };
  timeline?: { ns: number; vmPteKb: number; realKb: number }[];
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
  ops = checkRunArgs('runOps', ops, opts);
  return runBatches(batchesOfOps(ops), opts);
}

/**
 * Run a trace file, streamed: memory does not grow with the trace's size. The file is read
 * once per call (for several strategies, call once each).
 */
export function runTraceFile(path: string, opts: RunOptions = {}): RunResult {
  checkRunArgs('runTraceFile', [], opts);
  return runBatches(readTraceBatches(path), { source: path, ...opts });
}

/** Run ops given as batches (src/trace/reader.ts): what runOps and runTraceFile share. */
export function runBatches(batches: Iterable<OpBatch>, opts: RunOptions = {}): RunResult {
  const strategy = getStrategy(opts.strategy ?? 'pt-reclaim');
  const core = acquireCore(opts);
  try {
    return runOnCore(core, batches, opts, strategy.name);
  } finally {
    releaseCore(core);
  }
}

function runOnCore(core: PageTableCore, batches: Iterable<OpBatch>, opts: RunOptions, strategyName: string): RunResult {
  const strategy = getStrategy(strategyName);
  const config: RunResult['config'] = {
    trylockFail: checkProbability('--trylock-fail', opts.trylockFail ?? 0),
    resched: checkProbability('--resched', opts.resched ?? 0),
    nowaitFail: checkProbability('--nowait-fail', opts.nowaitFail ?? 0),
    seed: opts.seed ?? 1,
    cpus: checkPositive('--cpus', opts.cpus ?? DEFAULT_CPUS, true),
    tableFree: opts.tableFree ?? 'rcu',
    tickMs: checkPositive('--tick-ms', opts.tickMs ?? DEFAULT_TICK_MS),
    gracePeriodMs: checkPositive('--grace-period-ms', opts.gracePeriodMs ?? DEFAULT_GRACE_PERIOD_MS),
    scanPeriodMs: checkPositive('--scan-period-ms', opts.scanPeriodMs ?? DEFAULT_SCAN_PERIOD_MS),
    scanBytes: checkPositive('--scan-bytes', opts.scanBytes ?? DEFAULT_SCAN_BYTES, true),
  };
  const mm = new Mm(core, {
    strategy: strategy.name, path: opts.path ?? 'auto', limitFrames: limitFramesFor(opts.arenaLimitBytes), zeroPage: opts.zeroPage,
    ...config, check: opts.check, cost: (opts.cost ?? DEFAULT_COST_CHOICE).model,
  });
  const violations: CheckViolation[] = [];
  let violationCount = 0;
  const timeline: { ns: number; vmPteKb: number; realKb: number }[] | undefined = opts.timeline ? [] : undefined;
  const maxErrors = opts.maxErrors ?? 100;
  const opCounts: Record<OpKind, number> = { mmap: 0, munmap: 0, touch: 0, madvise: 0 };
  const errors: OpError[] = [];
  let errorCount = 0;
  let index = 0;
  const t0 = performance.now();
  // Runs of touches and madvises inside one VMA go to the core in batches (Mm.applyBatch);
  // the rest, and anything per-operation (checker, timeline), take the one-op path below.
  const batched = mm.canBatch && !timeline;
  const batchedCounts = [0, 0, 0, 0];
  for (const batch of batches) {
    let i = 0;
    while (i < batch.count) {
      if (batched) {
        const j = mm.applyBatch(batch, i);
        for (let k = i; k < j; k++) {
          const code = batch.kind[k]!;
          batchedCounts[code] = batchedCounts[code]! + 1;
        }
        const failed = mm.batchFailure;
        if (failed) {
          errorCount++;
          if (errors.length < maxErrors) {
            const line = batch.line[failed.index];
            errors.push({
              index: index + (failed.index - i), ...(line ? { file: batch.file, line } : {}),
              op: OP_CODE_KINDS[batch.kind[failed.index]!]!, errno: failed.errno, detail: failed.detail,
            });
          }
        }
        index += j - i;
        i = j;
        if (i >= batch.count) break;
      }
      const op = batch.op(i++);
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
      if (opts.check) {
        for (const v of mm.takeViolations()) {
          violationCount++;
          if (violations.length < maxErrors) violations.push({ ...v, index, file: op.file, line: op.line, op: op.kind, strategy: strategy.name });
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
  OP_CODE_KINDS.forEach((kind, code) => (opCounts[kind] += batchedCounts[code]!));
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
    source: opts.source ?? '<ops>',
    strategy: strategy.name,
    path: opts.path ?? 'auto',
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
    costModel: (opts.cost ?? DEFAULT_COST_CHOICE).label,
    check: { enabled: opts.check ?? false, violationCount, violations },
    ...(timeline ? { timeline } : {}),
  };
}

function checkProbability(flag: string, p: number): number {
  if (!Number.isFinite(p) || p < 0 || p > 1) throw new UsageError(`${flag} ${p}: expected a probability between 0 and 1`);
  return p;
}

function checkPositive(flag: string, v: number, integer = false): number {
  if (!Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    throw new UsageError(`${flag} ${v}: expected a positive ${integer ? 'integer' : 'number'}`);
  }
  return v;
}
