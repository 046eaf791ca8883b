/**
 * The interface between the mm model and the page-table hot loops. Two implementations:
 * the WebAssembly core (src/core/wasm.ts, the product) and a TypeScript reference
 * (src/core/reference.ts) that differential tests hold it against.
 */

/** Counter slots, in the order of `enum Stat` in assembly/stats.ts (a test checks they agree). */
export const STAT_NAMES = [
  'RssFile', 'RssAnon', 'RssSwapEnts', 'RssShmem',
  'NrPte', 'NrPmd', 'NrPud', 'PeakPgtables',
  'AllocPte', 'AllocPmd', 'AllocPud', 'FreedPte', 'FreedPmd', 'FreedPud',
  'ReclaimFast', 'ReclaimSlow', 'ReclaimSlowFailed',
  'EntriesReadZap', 'EntriesReadScan', 'EntriesCleared', 'EntriesSkipped',
  'FaultAnon', 'FaultZeroPage', 'FaultWpCopy', 'FaultSwapIn', 'FaultOther', 'FaultAccessOnly',
  'TlbFlushes', 'ForceFlush', 'ForceBreak', 'ZapRetries', 'PagesGathered', 'TablesGathered',
  'PtlLocks', 'PmdLocks', 'PmdTrylockOk', 'PmdTrylockFail',
  'ArenaFramesLive', 'ArenaFramesCapacity', 'ArenaFramesPending', 'ArenaFramesHigh',
  'LazyfreePages', 'NextPfn',
] as const;
export type StatName = (typeof STAT_NAMES)[number];
export type RawStats = Record<StatName, number>;

/** Entry kinds the zap loop tells apart (`enum EntryKind` in assembly/pgtable.ts). */
export enum EntryKind {
  None = 0,
  Page = 1,
  ZeroPage = 2,
  Swap = 3,
  Migration = 4,
  DevicePrivate = 5,
  DeviceExclusive = 6,
  UffdWpMarker = 7,
  GuardMarker = 8,
  Hwpoison = 9,
  PoisonedMarker = 10,
  FilePage = 11,
}

// zap flags (zap_details + VMA properties), as in assembly/zap.ts.
export const ZAP_RECLAIM_PT = 1 << 0;
export const ZAP_DROP_MARKERS = 1 << 1;
export const ZAP_EVEN_COWS = 1 << 2;
export const VMA_ANON = 1 << 3;
export const VMA_UFFD_WP = 1 << 4;

/** How a PT_RECLAIM table free is made to go (see assembly/pt_reclaim.ts). */
export type ReclaimPath = 'auto' | 'fast' | 'slow';
export const PATH_MODES: Record<ReclaimPath, number> = { auto: 0, fast: 1, slow: 2 };

// Status codes of the core.
export const CORE_OK = 0;
export const CORE_ARENA_FULL = -1;
export const CORE_GROW_FAILED = -2;
export const CORE_SIGSEGV = -3;
export const CORE_SIGBUS = -4;
export const CORE_OCCUPIED = -5;

/** Page-table levels as `entryAt` numbers them. */
export const LEVEL = { pte: 0, pmd: 1, pud: 2, pgd: 3 } as const;

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
  /** Fault [start, end) inside one VMA; returns a CORE_* status. */
  faultRange(start: number, end: number, write: boolean): number;
  /** Address of the SIGSEGV/SIGBUS reported by the last faultRange. */
  faultAddress(): number;
  gatherBegin(): void;
  gatherEnd(): void;
  zapRange(start: number, end: number, flags: number): void;
  madviseFree(start: number, end: number): void;
  freePgdRange(addr: number, end: number, floor: number, ceiling: number): void;
  stats(): RawStats;
  entryAt(addr: number, level: number): bigint;
  installEntry(addr: number, kind: EntryKind): number;
  /** Every non-empty leaf entry (address -> raw value), in address order. */
  leafEntries(): Map<number, bigint>;
  /** Base addresses of the tables present per level. */
  tableBases(): { pte: number[]; pmd: number[]; pud: number[] };
  arenaLimitFrames(): number;
  /** Bytes of memory the core holds (WASM linear memory; an estimate for the reference). */
  memoryBytes(): number;
}

export const PAGE_SIZE = 4096;
export const PMD_SIZE = 2 * 1024 * 1024;
export const PUD_SIZE = 1024 * 1024 * 1024;
export const PGDIR_SIZE = 512 * PUD_SIZE;
/** One past the highest user address with 4-level paging. */
export const USER_VA_END = 2 ** 47;
/** TASK_SIZE_MAX on x86-64 with 4-level paging: the top page is never mapped. */
export const TASK_SIZE = USER_VA_END - PAGE_SIZE;
