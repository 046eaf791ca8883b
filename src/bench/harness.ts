/**
 * The benchmark harness: plans the cell matrix (suite case x strategy), runs each cell with
 * tinybench and turns the samples into CellResults. Only sampling happens here; statistics
 * are in stats.ts and output in src/report/.
 *
 * Per cell: (1) an untimed run through Mm that samples VmPTE every N operations (the
 * timeline) and takes the workload's checkpoints; (2) tinybench warm-up, then the measured
 * iterations, each a whole runOps() of the workload on a fresh core. A sample is runOps'
 * own wall time (ops + exit), so instantiating the core is not timed. Counters come from
 * the measured runs and must agree between them: they depend on the seed, never on time.
 */
import type { Bench as BenchClass } from 'tinybench';
import { performance } from 'node:perf_hooks';
import { setMaxListeners } from 'node:events';
import { loadCostChoice } from '../mm/cost-profile.js';
import { runOps, applyOp, makeCore, resolveRunOptions, type ResolvedRunOptions, type RunResult } from '../run.js';
import { Mm } from '../mm/mm.js';
import { PAGE_SIZE, type RawStats } from '../core/types.js';
import { flattenCounters } from '../generated/counters.js';
import type { Op } from '../trace/ops.js';
import { PtreclaimError } from '../errors.js';
import { getSuite, type BenchCase, type SuiteParams } from './suites.js';
import { summarize } from './stats.js';
import { PhaseProfiler } from './profile.js';
import type { BenchOptions, CellResult, TimelinePoint } from './types.js';

/** One cell of the matrix, before it runs. */
export interface PlannedCell {
  index: number;
  id: string;
  suite: string;
  strategy: string;
  case: BenchCase;
}

export function cellId(suite: string, workload: string, variant: string, strategy: string): string {
  return [suite, workload, ...(variant ? [variant] : []), strategy].join('/');
}

export function suiteParams(o: Pick<BenchOptions, 'seed' | 'scale' | 'heapBytes' | 'churn'>): SuiteParams {
  return { seed: o.seed, scale: o.scale, heapBytes: o.heapBytes, churn: o.churn };
}

/** The whole matrix in a fixed order: suites as given, cases as the suite lists them, strategies as given. */
export function planMatrix(o: Pick<BenchOptions, 'suites' | 'strategies' | 'seed' | 'scale' | 'heapBytes' | 'churn'>): PlannedCell[] {
  const out: PlannedCell[] = [];
  for (const name of o.suites) {
    const suite = getSuite(name);
    for (const c of suite.cases(suiteParams(o))) {
      for (const strategy of o.strategies) {
        out.push({ index: out.length, id: cellId(suite.name, c.workload, c.variant, strategy), suite: suite.name, strategy, case: c });
      }
    }
  }
  return out;
}

/** Shard K of N (1-based): cells whose matrix index is K-1 modulo N. Deterministic, balanced across suites. */
export function selectShard<T extends { index: number }>(cells: readonly T[], shard?: { index: number; count: number }): T[] {
  if (!shard) return [...cells];
  return cells.filter((c) => c.index % shard.count === shard.index - 1);
}

/**
 * Every deterministic figure of a RunResult, flat ("reclaim.fast"): generated from the counter
 * table (schema/counters.js). Left out: times and rates, and the WASM memory size.
 */
export { flattenCounters };

const pgtableKb = (s: RawStats) => (s.ArenaFramesLive * PAGE_SIZE) / 1024;
const vmPteKb = (s: RawStats) => ((s.NrPte + s.NrPmd + s.NrPud) * PAGE_SIZE) / 1024;
const rssKb = (s: RawStats) => ((s.RssAnon + s.RssFile + s.RssShmem) * PAGE_SIZE) / 1024;

/** The untimed pass, with the same resolved options as the timed runs: timeline and checkpoints. */
function observe(ops: readonly Op[], runOptions: ResolvedRunOptions, points: number, checkpoints: Record<string, number>) {
  const mm = new Mm(makeCore(runOptions), runOptions);
  const every = Math.max(1, Math.ceil(ops.length / Math.max(1, points)));
  const timeline: TimelinePoint[] = [];
  const marks: Record<string, { vmPteKb: number; rssKb: number }> = {};
  const byIndex = new Map(Object.entries(checkpoints).map(([k, v]) => [v, k]));
  const sample = (i: number) => {
    const s = mm.stats();
    timeline.push({ op: i, vmPteKb: vmPteKb(s), pgtableKb: pgtableKb(s), rssKb: rssKb(s) });
  };
  sample(0);
  for (let i = 0; i < ops.length; i++) {
    applyOp(mm, ops[i]!);
    // Reading the counters costs more than a small op: only at sample points and checkpoints.
    const mark = byIndex.get(i + 1);
    const due = (i + 1) % every === 0 && i + 1 < ops.length;
    if (!mark && !due) continue;
    const s = mm.stats();
    if (mark) marks[mark] = { vmPteKb: vmPteKb(s), rssKb: rssKb(s) };
    if (due) sample(i + 1);
  }
  sample(ops.length);
  mm.exit();
  return { timeline, checkpoints: marks };
}

/** VA given to the zap paths by the operations themselves (exit's teardown not included). */
function zapBytes(ops: readonly Op[]): number {
  let n = 0;
  for (const op of ops) if (op.kind === 'munmap' || (op.kind === 'madvise' && op.advice === 'dontneed')) n += op.len;
  return n;
}

export interface HarnessEvents {
  /** A cell starts: position among the cells this run will do. */
  cellStart?(cell: PlannedCell, position: number, total: number): void;
  /** One measured or warm-up iteration finished. */
  iteration?(cell: PlannedCell, phase: 'warmup' | 'run', samples: number): void;
  cellDone?(result: CellResult, position: number, total: number): void;
}

export async function runCell(
  cell: PlannedCell,
  o: BenchOptions,
  profiler: PhaseProfiler,
  events: HarnessEvents = {},
  signal?: AbortSignal,
): Promise<CellResult | undefined> {
  const workload = cell.case.make();
  const ops = [...workload.ops()];
  // Resolved once per cell: defaults, validation and the strategy lookup stay out of the timed runs.
  const runOptions = resolveRunOptions({
    seed: o.seed,
    ...cell.case.options,
    strategy: cell.strategy,
    source: workload.name,
    wasm: 'release',
    core: 'wasm',
    cost: loadCostChoice(o.costProfile),
  });
  const checkpoints = 'checkpoints' in workload ? workload.checkpoints : {};
  const seen = observe(ops, runOptions, o.timelinePoints, checkpoints);

  let first: RunResult | undefined;
  let firstCounters: Record<string, number> | undefined;
  const unstable = new Set<string>();
  let phase: 'warmup' | 'run' = 'warmup';
  let count = 0;
  let profiles: { cpu?: string; heap?: string } | undefined;
  const { Bench } = (await import('tinybench')) as { Bench: typeof BenchClass }; // loaded when a cell runs
  const bench = new Bench({
    time: o.timeMs,
    iterations: o.iterations,
    warmupIterations: o.warmupIterations,
    warmupTime: Math.min(250, o.timeMs / 4),
    retainSamples: true,
    throws: true,
    signal,
    setup: async (_task, mode) => {
      phase = mode ?? 'run';
      count = 0;
      if (mode === 'run') await profiler.start();
    },
    teardown: async (_task, mode) => {
      if (mode === 'run' && profiler.enabled) profiles = await profiler.stop(cell.id.replaceAll('/', '-'));
    },
  });
  // tinybench awaits only microtasks between iterations; let signals (Ctrl-C) and timers run
  // now and then, outside the timed section.
  let lastYield = performance.now();
  const beforeEach = async () => {
    if (performance.now() - lastYield < 50) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    lastYield = performance.now();
  };
  bench.add(
    cell.id,
    () => {
      const t0 = performance.now();
      const r = runOps(ops, runOptions);
      const counters = flattenCounters(r);
      if (!firstCounters) {
        first = r;
        firstCounters = counters;
      } else {
        for (const [k, v] of Object.entries(counters)) if (firstCounters[k] !== v) unstable.add(k);
      }
      events.iteration?.(cell, phase, ++count);
      return { overriddenDuration: r.wallMs, overriddenIterationCost: performance.now() - t0 };
    },
    { beforeEach },
  );
  await bench.run();
  const task = bench.tasks[0]!;
  const res = task.result;
  if (res.state === 'errored') throw res.error;
  if (res.state !== 'completed') return undefined; // aborted: the cell did not finish
  if (unstable.size) {
    throw new PtreclaimError(
      `${cell.id}: counters differ between iterations (${[...unstable].slice(0, 5).join(', ')}): the model is not deterministic for this seed`,
    );
  }
  const samples = [...(res.latency.samples ?? [])];
  const latency = summarize(samples);
  const run = first!;
  const entriesRead = run.entries.readZap + run.entries.readScan;
  const seconds = latency.median / 1000;
  return {
    id: cell.id,
    index: cell.index,
    suite: cell.suite,
    workload: cell.case.workload,
    variant: cell.case.variant,
    strategy: cell.strategy,
    description: workload.description,
    runOptions: { ...cell.case.options },
    ops: run.ops,
    latency,
    samples,
    throughput: {
      opsPerSec: seconds > 0 ? run.ops / seconds : 0,
      zapGiBPerSec: seconds > 0 ? zapBytes(ops) / 2 ** 30 / seconds : 0,
      entriesPerSec: seconds > 0 ? entriesRead / seconds : 0,
    },
    memory: {
      vmPteFinalKb: run.vmPteKb,
      vmPtePeakKb: run.peakVmPteKb,
      // The run's own accounting of tables waiting for the flush and the grace period.
      pgtableFinalKb: run.realPgtablesKb,
      pgtablePeakKb: run.peakRealPgtablesKb,
      rcuPendingPeakKb: run.peakPendingKb,
      wasmMemoryBytes: run.arena.memoryBytes,
      jsHeapUsedBytes: process.memoryUsage().heapUsed,
    },
    counters: firstCounters!,
    checkpoints: seen.checkpoints,
    ...('scale' in workload ? { scale: workload.scale } : {}),
    timeline: seen.timeline,
    exitClean: run.exit.clean,
    errorCount: run.errorCount,
    ...(profiles ? { profiles } : {}),
  };
}

/** Run the planned cells in order; stops early (keeping finished cells) when the signal aborts. */
export async function runCells(
  cells: readonly PlannedCell[],
  o: BenchOptions,
  events: HarnessEvents = {},
  signal?: AbortSignal,
): Promise<{ results: CellResult[]; interrupted: boolean }> {
  const profiler = new PhaseProfiler({ cpuDir: o.cpuProfDir, heapDir: o.heapProfDir });
  const results: CellResult[] = [];
  // Each cell's Bench listens on the signal; many cells are expected, not a leak.
  if (signal) setMaxListeners(0, signal);
  try {
    for (let i = 0; i < cells.length; i++) {
      await new Promise<void>((resolve) => setImmediate(resolve)); // let a pending Ctrl-C land
      if (signal?.aborted) return { results, interrupted: true };
      events.cellStart?.(cells[i]!, i, cells.length);
      const r = await runCell(cells[i]!, o, profiler, events, signal);
      if (!r) return { results, interrupted: true };
      results.push(r);
      events.cellDone?.(r, i, cells.length);
    }
  } finally {
    profiler.close();
  }
  return { results, interrupted: Boolean(signal?.aborted) };
}
