/**
 * Options of a run, resolved once: every default comes from DEFAULTS (which the CLI help
 * also shows), every knob is validated here, and the strategy is looked up here. The run
 * API, the bench harness, validate and the scale kernel all call resolveRunOptions; Mm takes
 * the resolved object as is.
 */
import { PAGE_SIZE, TASK_SIZE, type ReclaimPath, type TableFree } from './core/types.js';
import type { WasmFlavor } from './core/wasm.js';
import type { CostModel } from './mm/cost.js';
import { type CostChoice, DEFAULT_COST_CHOICE } from './mm/cost-profile.js';
import { getStrategy, type Strategy } from './strategies.js';
import { UsageError } from './errors.js';

/** /sys/kernel/mm/transparent_hugepage/enabled for PMD-sized anonymous THP. */
export type ThpMode = 'always' | 'madvise' | 'never';
export const THP_MODES: readonly ThpMode[] = ['always', 'madvise', 'never'];

/**
 * shmem THP of PMD size: /sys/kernel/mm/transparent_hugepage/shmem_enabled, or
 * hugepages-2048kB/shmem_enabled when that is not `inherit`.
 */
export type ShmemThpMode = 'always' | 'within_size' | 'advise' | 'never' | 'deny' | 'force';
export const SHMEM_THP_MODES: readonly ShmemThpMode[] = ['always', 'within_size', 'advise', 'never', 'deny', 'force'];

function checkShmemThpMode(m: string): ShmemThpMode {
  if (!(SHMEM_THP_MODES as readonly string[]).includes(m))
    throw new UsageError(`--shmem-thp ${m}: expected one of ${SHMEM_THP_MODES.join(', ')}`);
  return m as ShmemThpMode;
}

function checkThpMode(m: string): ThpMode {
  if (!(THP_MODES as readonly string[]).includes(m)) throw new UsageError(`--thp ${m}: expected one of ${THP_MODES.join(', ')}`);
  return m as ThpMode;
}

/** Every default of a run, in one place. */
export const DEFAULTS = {
  strategy: 'pt-reclaim',
  path: 'auto' as ReclaimPath,
  core: 'wasm' as 'wasm' | 'ts',
  wasm: 'release' as WasmFlavor,
  /** Probability the fast path's PMD trylock fails (path auto). */
  trylockFail: 0,
  /** Probability need_resched() turns true during a zap_pte_range pass. */
  resched: 0,
  /** Probability a GFP_NOWAIT table batch page cannot be had. */
  nowaitFail: 0,
  seed: 1,
  /** CPUs that ran the mm: this host's count. */
  cpus: 2,
  tableFree: 'rcu' as TableFree,
  /** Scheduler tick period (CONFIG_HZ=250 -> 4 ms). */
  tickMs: 4,
  gracePeriodMs: 4,
  /** async-scan: least time between passes, and VA scanned per pass. */
  scanPeriodMs: 100,
  scanBytes: 256 * 2 ** 20,
  /** Read faults map the shared zero page (upstream default). */
  zeroPage: true,
  /** PMD-sized THP for anonymous memory (/sys/kernel/mm/transparent_hugepage/enabled): this host's. */
  thp: 'madvise' as ThpMode,
  /** Read faults in a THP area map the huge zero page (transparent_hugepage/use_zero_page). */
  thpZeroPage: true,
  /** PMD-sized THP for shmem (transparent_hugepage/shmem_enabled): this host's. */
  shmemThp: 'never' as ShmemThpMode,
  /** fault_around_bytes (mm/memory.c default): a read fault on a file maps up to 16 pages. */
  faultAroundBytes: 65536,
  /** read_ahead_kb of the mapped files' block device (VM_READAHEAD_PAGES: 128 KiB). */
  readaheadBytes: 128 * 1024,
  check: false,
  /** Most errors (and checker violations) listed individually in a result. */
  maxErrors: 100,
  timeline: false,
  source: '<ops>',
  /** mmap_base of a 47-bit task without ASLR: TASK_SIZE minus the 128 MiB minimum stack gap. */
  mmapBase: TASK_SIZE - 128 * 1024 * 1024,
  /**
   * The lowest address a fixed mmap or an mremap destination may use (security_mmap_addr):
   * vm.mmap_min_addr as most distributions set it, for a process without CAP_SYS_RAWIO.
   */
  mmapMinAddr: 0x10000,
} as const;

/** What a caller may set; anything left out takes its DEFAULTS value. */
export interface RunOptions {
  /** Strategy name (or the strategy itself). */
  strategy?: string | Strategy;
  path?: ReclaimPath;
  /** Which implementation of the hot loops: the WASM core or the TS reference. */
  core?: 'wasm' | 'ts';
  /** WASM build: release or debug (assertions on). */
  wasm?: WasmFlavor;
  /** Most bytes of page tables the arena may hold (rounded down to 4 KiB frames). */
  arenaLimitBytes?: number;
  /** The same limit in frames (PGD included); 0 = what 4 GiB allows. Wins over arenaLimitBytes. */
  limitFrames?: number;
  mmapBase?: number;
  /** Lowest address a fixed mmap or mremap destination may use (EPERM below); validate reads the host's. */
  mmapMinAddr?: number;
  zeroPage?: boolean;
  /** THP for anonymous memory: always, madvise (VM_HUGEPAGE areas only) or never. */
  thp?: ThpMode;
  /** Read faults in a THP area map the huge zero page. */
  thpZeroPage?: boolean;
  /** PMD-sized shmem THP (shmem_enabled); only `never` and `deny` are modelled: others refuse a shmem fault that could map one. */
  shmemThp?: ShmemThpMode;
  /** fault_around_bytes: file read faults map the cached pages of this aligned block (at most 2 MiB). */
  faultAroundBytes?: number;
  /** read_ahead_kb of the block device behind mapped files, in bytes. */
  readaheadBytes?: number;
  trylockFail?: number;
  resched?: number;
  nowaitFail?: number;
  seed?: number;
  cpus?: number;
  tableFree?: TableFree;
  tickMs?: number;
  gracePeriodMs?: number;
  scanPeriodMs?: number;
  scanBytes?: number;
  /** Weights of simulated time: the built-in default, a `ptreclaim calibrate` profile, or a model. */
  cost?: CostChoice | CostModel;
  /** Run the invariant checker around every operation. */
  check?: boolean;
  /** Label for the result: workload name or trace path. */
  source?: string;
  maxErrors?: number;
  /** Sample (simulated ns, VmPTE kB, real kB) after every operation. */
  timeline?: boolean;
}

/** Every option set, checked, and the strategy looked up. */
export interface ResolvedRunOptions {
  readonly resolved: true;
  readonly strategy: Strategy;
  readonly path: ReclaimPath;
  readonly core: 'wasm' | 'ts';
  readonly wasm: WasmFlavor;
  readonly limitFrames: number;
  readonly mmapBase: number;
  readonly mmapMinAddr: number;
  readonly zeroPage: boolean;
  readonly thp: ThpMode;
  readonly thpZeroPage: boolean;
  readonly shmemThp: ShmemThpMode;
  readonly faultAroundBytes: number;
  readonly readaheadBytes: number;
  readonly trylockFail: number;
  readonly resched: number;
  readonly nowaitFail: number;
  readonly seed: number;
  readonly cpus: number;
  readonly tableFree: TableFree;
  readonly tickMs: number;
  readonly gracePeriodMs: number;
  readonly scanPeriodMs: number;
  readonly scanBytes: number;
  readonly cost: CostModel;
  /** Which weights: "built-in default", "profile FILE (host, date)" or "custom". */
  readonly costLabel: string;
  readonly check: boolean;
  readonly source: string;
  readonly maxErrors: number;
  readonly timeline: boolean;
}

export function isResolved(o: RunOptions | ResolvedRunOptions): o is ResolvedRunOptions {
  return (o as Partial<ResolvedRunOptions>).resolved === true;
}

/** Frames for an --arena-limit in bytes (0: no limit). */
export function limitFramesFor(bytes: number | undefined): number {
  if (bytes === undefined) return 0;
  const frames = Math.floor(bytes / PAGE_SIZE);
  if (frames < 2) throw new UsageError(`--arena-limit ${bytes} is too small: at least 8 KiB (the PGD and one table) is needed`);
  return frames;
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

/** fault_around_bytes as debugfs takes it: 0 up to 2 MiB (PTRS_PER_PTE pages). */
function checkFaultAround(bytes: number): number {
  if (!Number.isInteger(bytes) || bytes < 0 || bytes > 512 * PAGE_SIZE) {
    throw new UsageError(`--fault-around ${bytes}: expected a byte count from 0 to 2097152 (2 MiB, one PTE table)`);
  }
  return bytes;
}

function checkReadahead(bytes: number): number {
  if (!Number.isInteger(bytes) || bytes < 0 || bytes > 2 ** 40) {
    throw new UsageError(`--readahead ${bytes}: expected a byte count from 0 (no readahead) to 1 TiB`);
  }
  return bytes;
}

function checkMmapMinAddr(v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > TASK_SIZE) {
    throw new UsageError(`--mmap-min-addr ${v}: expected a whole number of bytes from 0 to 0x${TASK_SIZE.toString(16)} (TASK_SIZE)`);
  }
  return v;
}

/** Fill in the defaults, validate, look the strategy up: once per run. Idempotent. */
export function resolveRunOptions(o: RunOptions | ResolvedRunOptions = {}): ResolvedRunOptions {
  if (isResolved(o)) return o;
  const strategy = o.strategy ?? DEFAULTS.strategy;
  const cost: CostChoice = o.cost === undefined ? DEFAULT_COST_CHOICE : 'model' in o.cost ? o.cost : { model: o.cost, label: 'custom' };
  return {
    resolved: true,
    strategy: typeof strategy === 'string' ? getStrategy(strategy) : strategy,
    path: o.path ?? DEFAULTS.path,
    core: o.core ?? DEFAULTS.core,
    wasm: o.wasm ?? DEFAULTS.wasm,
    limitFrames: o.limitFrames ?? limitFramesFor(o.arenaLimitBytes),
    mmapBase: o.mmapBase ?? DEFAULTS.mmapBase,
    mmapMinAddr: checkMmapMinAddr(o.mmapMinAddr ?? DEFAULTS.mmapMinAddr),
    zeroPage: o.zeroPage ?? DEFAULTS.zeroPage,
    thp: checkThpMode(o.thp ?? DEFAULTS.thp),
    thpZeroPage: o.thpZeroPage ?? DEFAULTS.thpZeroPage,
    shmemThp: checkShmemThpMode(o.shmemThp ?? DEFAULTS.shmemThp),
    faultAroundBytes: checkFaultAround(o.faultAroundBytes ?? DEFAULTS.faultAroundBytes),
    readaheadBytes: checkReadahead(o.readaheadBytes ?? DEFAULTS.readaheadBytes),
    trylockFail: checkProbability('--trylock-fail', o.trylockFail ?? DEFAULTS.trylockFail),
    resched: checkProbability('--resched', o.resched ?? DEFAULTS.resched),
    nowaitFail: checkProbability('--nowait-fail', o.nowaitFail ?? DEFAULTS.nowaitFail),
    seed: o.seed ?? DEFAULTS.seed,
    cpus: checkPositive('--cpus', o.cpus ?? DEFAULTS.cpus, true),
    tableFree: o.tableFree ?? DEFAULTS.tableFree,
    tickMs: checkPositive('--tick-ms', o.tickMs ?? DEFAULTS.tickMs),
    gracePeriodMs: checkPositive('--grace-period-ms', o.gracePeriodMs ?? DEFAULTS.gracePeriodMs),
    scanPeriodMs: checkPositive('--scan-period-ms', o.scanPeriodMs ?? DEFAULTS.scanPeriodMs),
    scanBytes: checkPositive('--scan-bytes', o.scanBytes ?? DEFAULTS.scanBytes, true),
    cost: cost.model,
    costLabel: cost.label,
    check: o.check ?? DEFAULTS.check,
    source: o.source ?? DEFAULTS.source,
    maxErrors: o.maxErrors ?? DEFAULTS.maxErrors,
    timeline: o.timeline ?? DEFAULTS.timeline,
  };
}
