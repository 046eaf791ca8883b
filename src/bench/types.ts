/**
 * The benchmark results record: one serialisable object every exporter, `compare`, `merge`
 * and `report` read. Versioned by BENCH_SCHEMA_VERSION (the JSON schema is in schema.ts).
 */

export const BENCH_SCHEMA_VERSION = 1;
export const BENCH_KIND = 'ptreclaim-bench';

/** Options that shape the results (recorded in the context block). */
export interface BenchOptions {
  suites: string[];
  strategies: string[];
  /** tinybench time budget per cell, ms (a minimum, together with iterations). */
  timeMs: number;
  /** Minimum measured iterations per cell. */
  iterations: number;
  warmupIterations: number;
  seed: number;
  scale: number;
  heapBytes: number;
  churn: number;
  /** VmPTE timeline: about this many samples per workload run. */
  timelinePoints: number;
  shard?: { index: number; count: number };
  cpuProfDir?: string;
  heapProfDir?: string;
  wasm: 'release';
  /** `--cost-profile FILE`: weights of simulated time (absent: the built-in default). */
  costProfile?: string;
  /** Label of the cost model simulated times used: "built-in default" or "profile FILE (host, date)". */
  costModel?: string;
}

export interface BenchContext {
  ptreclaimVersion: string;
  gitCommit: string | null;
  node: string;
  platform: string;
  cpuModel: string;
  cores: number;
  wasmSha256: string;
  date: string;
  options: BenchOptions;
}

export interface TimelinePoint {
  /** Operations applied so far. */
  op: number;
  vmPteKb: number;
  /** Page-table frames held, PGD and tables waiting for the grace period included, kB. */
  pgtableKb: number;
  rssKb: number;
}

export interface CellResult {
  /** suite/workload[/variant]/strategy: stable, used to match cells across files. */
  id: string;
  /** Position in the unsharded cell matrix (sharding and merge keep the order by it). */
  index: number;
  suite: string;
  workload: string;
  variant: string;
  strategy: string;
  description: string;
  runOptions: Record<string, unknown>;
  ops: number;
  /** Latency of one whole workload run (ops + exit), milliseconds. */
  latency: { mean: number; median: number; p99: number; min: number; max: number; rme: number; samples: number };
  /** Raw latency samples, ms, in the order measured. */
  samples: number[];
  throughput: {
    /** Simulated operations per second at the median latency. */
    opsPerSec: number;
    /** VA handed to MADV_DONTNEED and munmap, GiB per second. */
    zapGiBPerSec: number;
    /** Page-table entries read (zap loop + slow-path scans) per second. */
    entriesPerSec: number;
  };
  memory: {
    vmPteFinalKb: number;
    vmPtePeakKb: number;
    /** Page-table frames (PGD and RCU-pending tables included) at the end and at peak, kB. */
    pgtableFinalKb: number;
    pgtablePeakKb: number;
    /** Largest count of tables waiting for the TLB flush + RCU grace period, kB. */
    rcuPendingPeakKb: number;
    wasmMemoryBytes: number;
    jsHeapUsedBytes: number;
  };
  /** Every numeric field of the run's RunResult, flattened ("reclaim.fast"), times excluded: deterministic. */
  counters: Record<string, number>;
  /** Named snapshots (e.g. sparse: "before") of VmPTE, kB. */
  checkpoints: Record<string, { vmPteKb: number; rssKb: number }>;
  /** sparse: the scale factor; memory figures x 1/scale give full scale. */
  scale?: number;
  timeline: TimelinePoint[];
  exitClean: boolean;
  errorCount: number;
  profiles?: { cpu?: string; heap?: string };
}

export interface BenchResults {
  kind: typeof BENCH_KIND;
  schemaVersion: number;
  /** True when the run stopped early (Ctrl-C) or is one shard: not every cell of the matrix is here. */
  partial: boolean;
  /** Why it is partial ("interrupted", "shard 1/4"), if it is. */
  partialReason?: string;
  context: BenchContext;
  /** Cells in the matrix: total of the unsharded run. */
  matrixSize: number;
  cells: CellResult[];
  /** Suites run by another module (kernels), stored as they returned. */
  extra?: Record<string, unknown>;
  /**
   * The paths suite's answer (src/bench/paths.ts): fast | slow | contended per reclaimed
   * table for each strategy that has paths, with the ratios. Present when the paths suite
   * ran (in the first shard only when sharded).
   */
  paths?: PathsComparison[];
}

/** One path of one strategy in the paths comparison; figures are per reclaimed table. */
export interface PathVariantResult {
  variant: 'fast' | 'slow' | 'contended';
  /** Run options of the path (path, trylockFail, resched). */
  runOptions: Record<string, unknown>;
  /** Median over samples of the wall ns of one table's reclaim, the driver's fixed per-call cost subtracted. */
  wallNs: number;
  /** Every sample of that (ns per table), in the order taken. */
  samplesNs: number[];
  /** The subtracted fixed cost: median wall ns of a MADV_DONTNEED call that finds no table. */
  fixedNsPerCall: number;
  perTable: {
    /** Page-table entries read: zap loop + slow-path rescan. */
    entriesRead: number;
    entriesReadZap: number;
    entriesReadScan: number;
    /** Locks taken: PTE locks, the slow path's PMD lock, won PMD trylocks. */
    locks: number;
    pmdTrylockFails: number;
    tlbFlushes: number;
    /** Simulated kernel time (cost model, src/mm/cost.ts), the syscall overhead included. */
    simulatedNs: number;
    /** Share of the tables freed by the fast path (0..1). */
    fastShare: number;
  };
}

/** slow/fast or contended/fast: ratio of the median wall ns, its 95% bootstrap CI, the ns difference, the U test's p. */
export interface PathRatio {
  of: 'slow' | 'contended';
  to: 'fast';
  ratio: number;
  ci: { lo: number; hi: number; confidence: number };
  diffNs: number;
  diffCi: { lo: number; hi: number; confidence: number };
  p: number;
}

export interface PathsComparison {
  strategy: string;
  /** Tables freed (MADV_DONTNEED calls timed) per sample. */
  reclaimsPerSample: number;
  samples: number;
  warmupRounds: number;
  variants: PathVariantResult[];
  ratios: PathRatio[];
}
