// The vocabulary the WebAssembly core and the TypeScript driver share: written once here,
// generated into assembly/generated/vocab.ts and src/generated/vocab.ts by
// scripts/gen-vocab.js (run by `npm run build`). Neither side retypes these values.

/** What an entry is, as the zap loop tells kinds apart (`enum EntryKind`). */
export const ENTRY_KINDS = [
  ['None', 0],
  ['Page', 1],
  ['ZeroPage', 2],
  ['Swap', 3],
  ['Migration', 4],
  ['DevicePrivate', 5],
  ['DeviceExclusive', 6],
  ['UffdWpMarker', 7],
  ['GuardMarker', 8],
  ['Hwpoison', 9],
  ['PoisonedMarker', 10],
  ['FilePage', 11],
  ['ShmemPage', 12],
];

/** zap_details and the VMA properties the zap loop looks at, as one flags word (u32). */
export const ZAP_FLAGS = [
  ['ZAP_RECLAIM_PT', 1 << 0, 'zap_details.reclaim_pt: only MADV_DONTNEED asks for table reclaim.'],
  ['ZAP_DROP_MARKERS', 1 << 1, 'ZAP_FLAG_DROP_MARKER: munmap and exit drop guard and uffd-wp markers too.'],
  ['ZAP_EVEN_COWS', 1 << 2, 'zap_details.even_cows: zap private (COWed) anonymous pages as well.'],
  ['VMA_ANON', 1 << 3, 'vma_is_anonymous(vma).'],
  ['VMA_UFFD_WP', 1 << 4, 'userfaultfd_wp(vma): the VMA is registered for uffd write-protect.'],
];

/** Strategy ids of the core (assembly/strategy.ts): constant name, id, name in the driver. */
export const STRATEGIES = [
  ['STRATEGY_NONE', 0, 'none'],
  ['STRATEGY_PT_RECLAIM', 1, 'pt-reclaim'],
  ['STRATEGY_V1', 2, 'pt-reclaim-v1'],
  ['STRATEGY_ASYNC_SCAN', 3, 'async-scan'],
  ['STRATEGY_REFCOUNT', 4, 'refcount'],
];

/** --path: which way a PT_RECLAIM free goes (assembly/pt_reclaim.ts). */
export const PATH_MODES = [
  ['PATH_AUTO', 0, 'auto'],
  ['PATH_FAST', 1, 'fast'],
  ['PATH_SLOW', 2, 'slow'],
];

/** How a table leaves when no table batch page can be had (assembly/rcu.ts). */
export const TABLE_FREE_MODES = [
  ['TABLE_FREE_SEMI_RCU', 0, 'semi-rcu'],
  ['TABLE_FREE_RCU', 1, 'rcu'],
];

/** Checker violation kinds (assembly/checker.ts): constant name, code, name in reports. */
export const CHECK_KINDS = [
  ['CHECK_TABLE_FREED_NOT_EMPTY', 1, 'table-freed-not-empty'],
  ['CHECK_TABLE_FREED_HOOKED', 2, 'table-freed-still-hooked'],
  ['CHECK_DANGLING_ENTRY', 3, 'dangling-entry'],
  ['CHECK_BREAK_BEFORE_MAKE', 4, 'break-before-make'],
  ['CHECK_PAGES_DROPPED', 5, 'pages-dropped'],
];

/**
 * Status codes the core's exports return (i32): AssemblyScript name, value, TypeScript name
 * (src/core/types.ts CORE_*), errno name, meaning. The one mapping from code to errno.
 */
export const STATUS = [
  ['OK', 0, 'CORE_OK', 'OK', 'success'],
  ['ERR_ARENA_FULL', -1, 'CORE_ARENA_FULL', 'ENOMEM', 'the arena is at its frame limit'],
  ['ERR_GROW_FAILED', -2, 'CORE_GROW_FAILED', 'ENOMEM', 'WebAssembly memory could not grow'],
  ['FAULT_SIGSEGV', -3, 'CORE_SIGSEGV', 'SIGSEGV', 'the access hit a guard region'],
  ['FAULT_SIGBUS', -4, 'CORE_SIGBUS', 'SIGBUS', 'the access hit a poisoned page'],
  ['ERR_OCCUPIED', -5, 'CORE_OCCUPIED', 'EEXIST', 'install_entry: the entry is not none'],
  ['ERR_RANGE', -6, 'CORE_RANGE', 'EINVAL', 'an argument is out of range (kernel_setup table count)'],
];

/** Batch and flush constants (u32 unless given): name, value expression, comment. */
export const CONSTANTS = [
  ['MMU_GATHER_BUNDLE', '8', 'u32', 'pages the mmu_gather holds on its stack before it needs a batch page'],
  ['MAX_GATHER_BATCH', '(4096 - 16) / 8', 'u32', 'page pointers per batch page (struct mmu_gather_batch)'],
  ['MAX_GATHER_BATCH_COUNT', '10000 / MAX_GATHER_BATCH', 'u32', 'most batch pages one gather may hold (soft lockup bound)'],
  ['MAX_TABLE_BATCH', '(4096 - 24) / 8', 'u32', 'tables per table batch page (struct mmu_table_batch)'],
  ['TLB_SINGLE_PAGE_FLUSH_CEILING', '33', 'u64', 'strides above which x86 flushes the whole TLB (tlb_single_page_flush_ceiling)'],
  // The batch buffer (assembly/batch.ts, src/core/batch.ts): geometry and operation codes.
  ['BATCH_CAPACITY', '1024', 'i32', 'entries a batch buffer holds'],
  ['BATCH_STRIDE', '4', 'i32', 'f64 slots per batch entry: code, start, end, zap flags'],
  ['BATCH_FAULT_READ', '0', 'i32', 'batch operation: read fault over [start, end)'],
  ['BATCH_FAULT_WRITE', '1', 'i32', 'batch operation: write fault over [start, end)'],
  ['BATCH_ZAP', '2', 'i32', "batch operation: MADV_DONTNEED zap with the entry's zap flags"],
  ['BATCH_MADV_FREE', '3', 'i32', 'batch operation: MADV_FREE'],
  // MADV_COLLAPSE of one PMD span (huge_memory.ts madvise_collapse_pmd): mm/khugepaged.c scan results.
  ['SCAN_SUCCEED', '1', 'i32', 'collapse: the PTE table became the deposit of a new THP'],
  ['SCAN_PMD_NULL', '2', 'i32', 'collapse: no PMD table there (madvise_collapse goes on)'],
  ['SCAN_PMD_NONE', '3', 'i32', 'collapse: the PMD is none (madvise_collapse stops: EINVAL)'],
  ['SCAN_PMD_MAPPED', '4', 'i32', 'collapse: already a huge PMD (counts as collapsed)'],
  ['SCAN_PTE_NON_PRESENT', '8', 'i32', 'collapse: a non-present entry (swap, marker) in the table'],
];
