/**
 * The interface between the mm model and the page-table hot loops. Two implementations:
 * the WebAssembly core (src/core/wasm.ts, the product) and a TypeScript reference
 * (src/core/reference.ts) that differential tests hold it against.
 */

// The counter slots and the vocabulary shared with the core are generated from schema/
// (scripts/gen-vocab.js); re-exported here under the names the driver has always used.
export { STAT_NAMES, type StatName, type RawStats } from '../generated/counters.js';
import { STAT_NAMES, type StatName, type RawStats } from '../generated/counters.js';
/** Slot of each counter in the block. */
export const STAT_INDEX = Object.fromEntries(STAT_NAMES.map((n, i) => [n, i])) as Record<StatName, number>;

export {
  EntryKind,
  ZAP_RECLAIM_PT,
  ZAP_DROP_MARKERS,
  ZAP_EVEN_COWS,
  VMA_ANON,
  VMA_UFFD_WP,
  type ReclaimPath,
  PATH_MODES,
  type TableFree,
  TABLE_FREE_MODES,
  STRATEGY_IDS,
  type StrategyId,
  CHECK_KINDS,
  CORE_OK,
  CORE_ARENA_FULL,
  CORE_GROW_FAILED,
  CORE_SIGSEGV,
  CORE_SIGBUS,
  CORE_OCCUPIED,
  CORE_RANGE,
  STATUS_ERRNO,
  type CoreStatusErrno,
  MMU_GATHER_BUNDLE,
  MAX_GATHER_BATCH,
  MAX_GATHER_BATCH_COUNT,
  MAX_TABLE_BATCH,
  TLB_SINGLE_PAGE_FLUSH_CEILING,
} from '../generated/vocab.js';
import { STATUS_ERRNO } from '../generated/vocab.js';
import type { CHECK_KINDS, StrategyId, TableFree, EntryKind, ReclaimPath, CoreStatusErrno } from '../generated/vocab.js';

/** The errno (or signal) name of a core status code: STATUS_ERRNO is the one mapping. */
export function coreStatusErrno(status: number): CoreStatusErrno | undefined {
  return (STATUS_ERRNO as Record<string, CoreStatusErrno>)[String(status)];
}

/**
 * The most frames the arena can hold: 4 GiB of wasm32 memory less the first 0x140000 bytes
 * (static data, then one state byte per frame). Same layout as assembly/arena.ts.
 */
export const ARENA_HARD_MAX_FRAMES = (2 ** 32 - 0x140000) / 4096;

/** Page-table levels as `entryAt` numbers them. */
export const LEVEL = { pte: 0, pmd: 1, pud: 2, pgd: 3 } as const;

/** Per-mm configuration of the core, set once after reset. */
export interface CoreConfig {
  strategyId: StrategyId;
  /** Probability that the PMD trylock of the fast path fails (path auto only). */
  trylockFail: number;
  /** Probability that need_resched() turns true during one zap_pte_range pass. */
  resched: number;
  /** Probability that a GFP_NOWAIT table batch page cannot be allocated. */
  nowaitFail: number;
  seed: number;
  /** CPUs that ran the mm: each TLB shootdown IPIs the other cpus - 1. */
  cpus: number;
  tableFree: TableFree;
  /** Length of a simulated RCU grace period. */
  gracePeriodNs: number;
}

export interface CoreViolation {
  kind: (typeof CHECK_KINDS)[keyof typeof CHECK_KINDS];
  addr: number;
  value: number;
}

export interface CoreOptions {
  /** Most page-table frames the arena may hold (PGD included); 0 = what 4 GiB allows. */
  limitFrames?: number;
}

export interface PageTableCore {
  readonly kind: 'wasm' | 'ts';
  /** Start a fresh, empty mm. */
  reset(opts?: CoreOptions): void;
  setPathMode(path: ReclaimPath): void;
  /** Whether read faults may map the shared zero page (default true, as upstream). */
  setZeroPage(enabled: boolean): void;
  /**
   * THP: faults may map huge PMDs in the aligned 2 MiB spans of [lo, hi); (0, 0) closes the
   * window. storesData: the write faults store data (a touch), not only fault pages in
   * (MADV_POPULATE_WRITE): never-written THP subpages become the zero page on a folio split.
   */
  setThpFaultWindow(lo: number, hi: number, storesData?: boolean): void;
  /** THP: read faults may map the huge zero page (use_zero_page; default true). */
  setHugeZeroPage(enabled: boolean): void;
  /** THP: split the huge PMD mapping addr, if any (a VMA split there); true when one was split. */
  splitHugePmd(addr: number): boolean;
  /** THP: MADV_COLLAPSE of the PMD span at addr (2 MiB aligned); returns a SCAN_* result. */
  collapseHugePmd(addr: number): number;
  /** Fault [start, end) inside one VMA; returns a CORE_* status. */
  faultRange(start: number, end: number, write: boolean): number;
  /** Address of the SIGSEGV/SIGBUS reported by the last faultRange. */
  faultAddress(): number;
  gatherBegin(): void;
  gatherEnd(): void;
  zapRange(start: number, end: number, flags: number): void;
  madviseFree(start: number, end: number): void;
  /**
   * MADV_GUARD_INSTALL over [start, end) of one VMA (vmaFlags: VMA_ANON, VMA_UFFD_WP for its
   * zap); outside gatherBegin/gatherEnd (it gathers its own zap). Returns a CORE_* status.
   */
  madviseGuardInstall(start: number, end: number, vmaFlags: number): number;
  /** MADV_GUARD_REMOVE over [start, end); between gatherBegin and gatherEnd. */
  madviseGuardRemove(start: number, end: number): void;
  /** MADV_COLD (pageout false) or MADV_PAGEOUT over [start, end) of one anonymous VMA; inside a gather. */
  madviseColdOrPageout(start: number, end: number, pageout: boolean): void;
  /** Address of the first guard marker in [start, end), or -1 when there is none. */
  findGuardMarker(start: number, end: number): number;
  // File-backed and shmem pages (assembly/filemap.ts); which pages are cached is the driver's.
  /** filemap_map_pages: map the none entries of [start, end) (one PMD span) read-only; pages mapped or a CORE_* status < 0. */
  filemapMapPages(start: number, end: number, shmem: boolean): number;
  /** do_set_pmd: map the PMD-sized page-cache folio of addr's span by its none PMD (no deposit, RssFile +512); a CORE_* status. */
  doSetPmd(addr: number): number;
  /** finish_fault: map one page-cache page at addr (a none entry), writable and dirty on a shared write. */
  finishFault(addr: number, write: boolean, shmem: boolean): number;
  /** do_cow_fault: a private write to a none entry of a file mapping: a new anonymous page. */
  doCowFault(addr: number): number;
  /** wp_page_copy of a mapped page-cache page; false when addr maps none. */
  wpPageCopy(addr: number): boolean;
  /** wp_page_shared: the mapped page-cache page at addr becomes writable; false when none. */
  wpPageShared(addr: number): boolean;
  /** Access [start, end) up to the first entry that needs a fault; returns its address or end. */
  filemapNextFault(start: number, end: number, write: boolean): number;
  freePgdRange(addr: number, end: number, floor: number, ceiling: number): void;
  /**
   * mremap: move the page tables of [oldAddr, oldEnd) to newAddr (move_page_tables), inside
   * a gather; returns CORE_OK, or an arena status with nothing moved.
   */
  movePageTables(oldAddr: number, newAddr: number, oldEnd: number): number;
  stats(): RawStats;
  /** One counter, without building the whole record. */
  stat(name: StatName): number;
  /** Set the cost model's per-counter weights (ns per unit); unnamed counters weigh 0. */
  setCostWeights(weights: Partial<Record<StatName, number>>): void;
  /** Sum of counter x weight; an operation's cost is its change across the operation. */
  weightedStats(): number;
  entryAt(addr: number, level: number): bigint;
  installEntry(addr: number, kind: EntryKind): number;
  /** Every non-empty leaf entry (address -> raw value), in address order. */
  leafEntries(): Map<number, bigint>;
  /** Base addresses of the tables present per level. */
  tableBases(): { pte: number[]; pmd: number[]; pud: number[] };
  arenaLimitFrames(): number;
  /** Bytes of memory the core holds (WASM linear memory; an estimate for the reference). */
  memoryBytes(): number;
  /** Strategy and cost-model configuration; call after reset, before any operation. */
  configure(cfg: CoreConfig): void;
  /** Simulated time moved on: RCU grace periods that ended free their tables. */
  setNow(ns: number): void;
  /** rcu_barrier: every queued RCU callback runs (exit). */
  rcuBarrier(): void;
  /** async-scan: scan one VMA part for empty PTE tables; returns how many were freed. */
  scanRange(start: number, end: number, firstOfPass: boolean): number;
  /** Invariant checks inside the core (assembly/checker.ts). */
  checkEnable(on: boolean): void;
  /** Pages mapped in [lo, hi) by RSS type; records dangling upper-level entries met. */
  checkWalk(lo: number, hi: number): { anon: number; file: number; swap: number; shmem: number };
  /** Violations the core recorded since the last call (then cleared). */
  takeViolations(): CoreViolation[];
  /** The batch buffer (src/core/batch.ts); a fresh view after every applyBatch. */
  batchBuffer(): Float64Array;
  /**
   * Apply batch entries [0, n) from simulated time nowNs, each charged as Mm charges one
   * operation; returns how many were applied (see batchStatus for why it stopped).
   */
  applyBatch(n: number, nowNs: number, syscallNs: number): number;
  /** Simulated time after the last applyBatch. */
  batchNowNs(): number;
  /** Status of the entry the last applyBatch stopped at; CORE_OK when it ran them all. */
  batchStatus(): number;
}

export const PAGE_SIZE = 4096;
export const PMD_SIZE = 2 * 1024 * 1024;
export const PUD_SIZE = 1024 * 1024 * 1024;
export const PGDIR_SIZE = 512 * PUD_SIZE;
/** One past the highest user address with 4-level paging. */
export const USER_VA_END = 2 ** 47;
/** TASK_SIZE_MAX on x86-64 with 4-level paging: the top page is never mapped. */
export const TASK_SIZE = USER_VA_END - PAGE_SIZE;
