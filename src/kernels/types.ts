/**
 * Vocabulary of `ptreclaim bench kernels`: which hot loop, which implementation, which
 * footprint, and the one record every exporter reads.
 */

export const KERNELS = ['scan', 'zap', 'fault-fill', 'walk', 'reclaim-fast', 'reclaim-slow'] as const;
export type KernelName = (typeof KERNELS)[number];

export const IMPLS = ['wasm-simd', 'wasm-scalar', 'ts', 'native'] as const;
export type ImplName = (typeof IMPLS)[number];

export const FOOTPRINTS = ['in-cache', 'out-of-cache'] as const;
export type Footprint = (typeof FOOTPRINTS)[number];

/**
 * Tables per footprint: 64 x 4 KiB = 256 KiB stays in L2; 32768 x 4 KiB = 128 MiB is beyond L2,
 * and beyond L3 on most hosts, but not on one whose L3 is larger (260 MiB on some hosts here:
 * give --out-of-cache-tables up to MAX_TABLES).
 */
export const DEFAULT_TABLES: Record<Footprint, number> = { 'in-cache': 64, 'out-of-cache': 32768 };
/** The kernels' arena holds at most this many tables (assembly/kernels.ts KERNEL_MAX_TABLES). */
export const MAX_TABLES = 262144;

export interface KernelResult {
  kernel: KernelName;
  impl: ImplName;
  footprint: Footprint;
  /** Median over samples of nanoseconds per 4 KiB table. */
  nsPerTable: number;
  tables: number;
  samples: number;
  /** Every sample, ns per table, in the order taken (for confidence intervals). */
  sampleNs?: number[];
}

/**
 * The slow path's premium for one implementation and footprint: reclaim-slow minus
 * reclaim-fast (ns per table: the PMD relock, the nested PTE lock and the 512-entry rescan),
 * and reclaim-slow / reclaim-fast, each with a 95% bootstrap confidence interval over the
 * two kernels' samples (src/bench/stats.ts bootstrapMedians), and the Mann-Whitney p-value
 * that the two sample sets differ.
 */
export interface ReclaimPremium {
  impl: ImplName;
  footprint: Footprint;
  fastNs: number;
  slowNs: number;
  premiumNs: number;
  premiumCi: { lo: number; hi: number; confidence: number };
  ratio: number;
  ratioCi: { lo: number; hi: number; confidence: number };
  p: number;
}

/**
 * The scan compiled natively at WebAssembly SIMD's width: 128-bit vectors in the WASM build's
 * loop shape (bench/native/kernels.c pte_table_all_none_128). Not one of the issue's
 * implementations; it shows how close 128-bit vectors can get on this CPU.
 */
export const WIDTH_BASELINE = 'native-128' as const;
export type BaselineName = typeof WIDTH_BASELINE;

export interface KernelBaseline {
  kernel: 'scan';
  impl: BaselineName;
  footprint: Footprint;
  nsPerTable: number;
  tables: number;
  samples: number;
}

export interface KernelRatio {
  kernel: KernelName;
  footprint: Footprint;
  /** numerator / denominator of nsPerTable, e.g. wasm-simd / native. */
  of: ImplName;
  to: ImplName | BaselineName;
  ratio: number;
  /** The target for this ratio, when it sets one. */
  target?: { max?: number; min?: number; met: boolean };
}

export interface KernelReport {
  schemaVersion: 1;
  context: {
    node: string;
    platform: string;
    cpu: string;
    date: string;
    samples: number;
    tables: Record<Footprint, number>;
    /** Kernel time each implementation ran before its samples, per kernel and footprint. */
    warmupMs: number;
    /** CPU the native program and this process's main thread shared (null: not pinned). */
    pinnedCpu: number | null;
  };
  results: KernelResult[];
  /** Native scan at 128-bit width (when native runs and scan is measured). */
  baselines: KernelBaseline[];
  /**
   * wasmNative128: wasm-simd / native-128 for scan; tsNative: ts / native, the most any
   * ts/wasm ratio could be if WASM ran at native speed. Neither has a target: they explain
   * wasmNative and tsWasm.
   */
  ratios: { wasmNative: KernelRatio[]; tsWasm: KernelRatio[]; wasmNative128: KernelRatio[]; tsNative: KernelRatio[] };
  /** reclaim-slow against reclaim-fast per implementation (when both kernels ran). */
  premiums?: ReclaimPremium[];
  /** Implementations that were asked for but could not run, and why. */
  skipped: { impl: ImplName; reason: string }[];
  /** Interrupted: only the kernels that finished are here. */
  partial: boolean;
}

/**
 * One implementation of the four kernels over N prepared PTE tables (table i maps
 * [16 TiB + i x 2 MiB, + 2 MiB)). Every implementation runs the same sequence on the same
 * data, so their checksums agree (src/kernels/verify.ts).
 */
export interface KernelImpl {
  readonly name: ImplName;
  /** Fresh mm, n tables faulted full (every byte written). */
  setup(n: number): void;
  /** Every entry present (pfn = 0x100 + 512 i + j). */
  fillPresent(): void;
  /** Every entry none; the tables stay hooked in. */
  fillNone(): void;
  /** pte_table_all_none over every table; how many were empty. */
  scan(): number;
  /** MADV_DONTNEED of each table's 2 MiB (one mmu_gather each, no table reclaim). */
  zap(): void;
  /** Write-fault every page of each table, one fault_range per 2 MiB. */
  faultFill(): void;
  /** Walk to one entry per table and read it; the sum of the entries (mod 2^64). */
  walk(): bigint;
  /**
   * MADV_DONTNEED of each table's 2 MiB with PT_RECLAIM, the PMD trylock forced to succeed
   * (fast path) or fail (slow path: relock + 512-entry rescan); how many tables were freed.
   */
  reclaim(slow: boolean): number;
  /** After reclaim: fault every table back, then every entry present (as fillPresent). */
  refillReclaimed(): void;
  /** Set entry j of table i to a raw value (tests). */
  poke(i: number, j: number, entry: bigint): void;
  /** Sum over tables of entry j x (j + 1), mod 2^64. */
  checksum(): bigint;
  /** Counters of the zap and fault loops, for cross-checks. */
  counters(): KernelCounters;
}

/** Counters of the zap, fault and reclaim loops that every implementation reports alike. */
export interface KernelCounters {
  entriesCleared: number;
  pagesGathered: number;
  tlbFlushes: number;
  forceBreak: number;
  faultAnon: number;
  reclaimFast: number;
  reclaimSlow: number;
  entriesReadScan: number;
  pmdLocks: number;
  nrPte: number;
}
