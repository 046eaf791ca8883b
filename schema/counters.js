// The counter table: one row per counter slot of the core, in slot order.
//
// Everything else is generated from this file by scripts/gen-vocab.js (run by `npm run build`):
// the AssemblyScript `enum Stat` (assembly/generated/stat.ts), STAT_NAMES, the RunResult
// counter fields and their builder, the bench flattening and CSV column order, the cost
// model's default weights (src/generated/counters.ts) and the README's `run --json` table.
// Adding a counter: append a row here, increment it in assembly/ (and in the TypeScript
// reference, src/core/reference.ts, which the differential tests hold to the same counts).
//
// Columns:
//   name    slot name (Stat.<name> in assembly/, stat('<name>') in TypeScript)
//   json    where `run --json` reports it (dotted path), or null for counters the driver
//           only reads internally (inputs of DERIVED fields, or bookkeeping)
//   unit    what one unit counts
//   det     deterministic: the same for the same operations and seed (false: depends on
//           the WASM instance's history, e.g. how far linear memory has already grown)
//   weight  ns of simulated time per unit in the default cost model (src/mm/cost.ts), 0 = free
//   doc     one line for the README

// One row per line is the point of this table: prettier leaves it alone.
/** @type {{name: string, json: string | null, unit: string, det: boolean, weight: number, doc: string}[]} */
// prettier-ignore
export const COUNTERS = [
  // mm->rss_stat, in the kernel's order (include/linux/mm_types_task.h).
  { name: 'RssFile', json: 'rss.filePages', unit: 'pages', det: true, weight: 0, doc: 'MM_FILEPAGES' },
  { name: 'RssAnon', json: 'rss.anonPages', unit: 'pages', det: true, weight: 0, doc: 'MM_ANONPAGES' },
  { name: 'RssSwapEnts', json: 'rss.swapEnts', unit: 'entries', det: true, weight: 0, doc: 'MM_SWAPENTS' },
  { name: 'RssShmem', json: 'rss.shmemPages', unit: 'pages', det: true, weight: 0, doc: 'MM_SHMEMPAGES' },
  // Live page tables per level (mm_pgtables_bytes = 4 KiB x their sum; the PGD is not counted).
  { name: 'NrPte', json: 'tables.pte', unit: 'tables', det: true, weight: 0, doc: 'PTE tables live at the end' },
  { name: 'NrPmd', json: 'tables.pmd', unit: 'tables', det: true, weight: 0, doc: 'PMD tables live at the end' },
  { name: 'NrPud', json: 'tables.pud', unit: 'tables', det: true, weight: 0, doc: 'PUD tables live at the end' },
  { name: 'PeakPgtables', json: null, unit: 'tables', det: true, weight: 0, doc: 'high-water mark of PTE + PMD + PUD tables (VmPTE peak)' },
  // Table lifetime per level.
  { name: 'AllocPte', json: 'tablesAllocated.pte', unit: 'tables', det: true, weight: 300, doc: 'PTE tables allocated' },
  { name: 'AllocPmd', json: 'tablesAllocated.pmd', unit: 'tables', det: true, weight: 300, doc: 'PMD tables allocated' },
  { name: 'AllocPud', json: 'tablesAllocated.pud', unit: 'tables', det: true, weight: 300, doc: 'PUD tables allocated' },
  { name: 'FreedPte', json: 'tablesFreed.pte', unit: 'tables', det: true, weight: 0, doc: 'PTE tables freed (any mechanism, exit not included)' },
  { name: 'FreedPmd', json: 'tablesFreed.pmd', unit: 'tables', det: true, weight: 0, doc: 'PMD tables freed' },
  { name: 'FreedPud', json: 'tablesFreed.pud', unit: 'tables', det: true, weight: 0, doc: 'PUD tables freed' },
  // PT_RECLAIM outcomes (mm/pt_reclaim.c).
  { name: 'ReclaimFast', json: 'reclaim.fast', unit: 'tables', det: true, weight: 0, doc: 'PTE tables PT_RECLAIM freed on the fast path (PMD trylock)' },
  { name: 'ReclaimSlow', json: 'reclaim.slow', unit: 'tables', det: true, weight: 0, doc: 'PTE tables PT_RECLAIM freed on the slow path (locks + rescan)' },
  { name: 'ReclaimSlowFailed', json: 'reclaim.slowFailed', unit: 'scans', det: true, weight: 0, doc: 'slow-path scans that found a non-none entry and kept the table' },
  // Entries the loops read and wrote.
  { name: 'EntriesReadZap', json: 'entries.readZap', unit: 'entries', det: true, weight: 1, doc: 'entries the zap loop read' },
  { name: 'EntriesReadScan', json: 'entries.readScan', unit: 'entries', det: true, weight: 1, doc: 'entries the slow-path scan re-read' },
  { name: 'EntriesCleared', json: 'entries.cleared', unit: 'entries', det: true, weight: 50, doc: 'entries cleared (clear + rmap + folio put, amortised over batches)' },
  { name: 'EntriesSkipped', json: 'entries.skipped', unit: 'entries', det: true, weight: 0, doc: 'non-none entries the zap loop left in place' },
  // Faults by outcome.
  { name: 'FaultAnon', json: 'faults.anon', unit: 'faults', det: true, weight: 10_000, doc: 'do_anonymous_page: a new anonymous page' },
  { name: 'FaultZeroPage', json: 'faults.zeroPage', unit: 'faults', det: true, weight: 10_000, doc: 'read faults that mapped the shared zero page' },
  { name: 'FaultWpCopy', json: 'faults.wpCopy', unit: 'faults', det: true, weight: 10_000, doc: 'write faults that copied (wp_page_copy) a zero or shared page' },
  { name: 'FaultSwapIn', json: 'faults.swapIn', unit: 'faults', det: true, weight: 10_000, doc: 'faults on swap, migration or device entries' },
  { name: 'FaultOther', json: 'faults.other', unit: 'faults', det: true, weight: 10_000, doc: 'other faults (markers, write-enable of a present page)' },
  { name: 'FaultAccessOnly', json: 'faults.accessOnly', unit: 'accesses', det: true, weight: 5, doc: 'accesses to a mapped page: no fault, a memory access' },
  // mmu_gather.
  { name: 'TlbFlushes', json: null, unit: 'flushes', det: true, weight: 0, doc: 'TLB shootdowns (= tlb.ranged + tlb.full; read by bench kernels)' },
  { name: 'ForceFlush', json: 'tlb.forceFlush', unit: 'flushes', det: true, weight: 0, doc: 'flushes forced inside the zap loop (mmu_gather batches full)' },
  { name: 'ForceBreak', json: 'tlb.forceBreak', unit: 'breaks', det: true, weight: 0, doc: 'zap loops broken because the gather could take no more pages' },
  { name: 'ZapRetries', json: 'tlb.zapRetries', unit: 'calls', det: true, weight: 0, doc: 'zap_pte_range calls repeated after a break' },
  { name: 'PagesGathered', json: 'tlb.pagesGathered', unit: 'pages', det: true, weight: 0, doc: 'pages queued in the mmu_gather for freeing after the flush' },
  { name: 'TablesGathered', json: 'tlb.tablesGathered', unit: 'tables', det: true, weight: 100, doc: 'tables queued for freeing after the flush (tlb_remove_table)' },
  // Locks.
  { name: 'PtlLocks', json: 'locks.ptl', unit: 'locks', det: true, weight: 20, doc: 'PTE table lock acquisitions' },
  { name: 'PmdLocks', json: 'locks.pmd', unit: 'locks', det: true, weight: 20, doc: 'PMD lock acquisitions' },
  { name: 'PmdTrylockOk', json: 'locks.pmdTrylockOk', unit: 'locks', det: true, weight: 0, doc: 'PMD trylocks of the fast path that succeeded' },
  { name: 'PmdTrylockFail', json: 'locks.pmdTrylockFail', unit: 'locks', det: true, weight: 0, doc: 'PMD trylocks of the fast path that failed' },
  // Arena.
  { name: 'ArenaFramesLive', json: null, unit: 'frames', det: true, weight: 0, doc: 'arena frames holding a live table (PGD included)' },
  { name: 'ArenaFramesCapacity', json: null, unit: 'frames', det: false, weight: 0, doc: 'frames the linear memory holds now (grows, never shrinks)' },
  { name: 'ArenaFramesPending', json: null, unit: 'frames', det: true, weight: 0, doc: 'frames unhooked in the current gather, not yet freed' },
  { name: 'ArenaFramesHigh', json: null, unit: 'frames', det: true, weight: 0, doc: 'high-water mark of ArenaFramesLive' },
  // MADV_FREE.
  { name: 'LazyfreePages', json: 'lazyfreePages', unit: 'pages', det: true, weight: 0, doc: 'pages MADV_FREE marked lazily freeable' },
  { name: 'NextPfn', json: null, unit: 'pfn', det: true, weight: 0, doc: 'next page frame number handed to a new anonymous page' },
  // Strategies beyond mainline.
  { name: 'ReclaimScan', json: 'reclaim.scan', unit: 'tables', det: true, weight: 0, doc: 'PTE tables freed by the asynchronous scanner (async-scan)' },
  { name: 'ReclaimRefcount', json: 'reclaim.refcount', unit: 'tables', det: true, weight: 0, doc: 'PTE tables freed because their refcount reached zero (refcount)' },
  { name: 'EntriesReadAsyncScan', json: 'asyncScan.entriesRead', unit: 'entries', det: true, weight: 1, doc: 'entries the asynchronous scanner read' },
  { name: 'ScanPasses', json: 'asyncScan.passes', unit: 'passes', det: true, weight: 0, doc: 'asynchronous scanner passes' },
  { name: 'ScanBytes', json: 'asyncScan.bytes', unit: 'bytes', det: true, weight: 0, doc: 'VA the asynchronous scanner walked' },
  { name: 'RefcountAtomics', json: 'refcountAtomics', unit: 'atomics', det: true, weight: 20, doc: 'atomic operations on PTE-table refcounts (pte_try_get / pte_put)' },
  { name: 'ReschedBreaks', json: 'reschedBreaks', unit: 'breaks', det: true, weight: 0, doc: 'zap loops broken by need_resched (--resched)' },
  { name: 'V1RangeWraps', json: 'v1RangeWraps', unit: 'calls', det: true, weight: 0, doc: 'pt-reclaim-v1: calls whose sub-PMD range check wrapped around and left reclaim on' },
  // TLB (tlb.ts): flush_tlb_mm_range outcomes and shootdown IPIs.
  { name: 'TlbFlushRanged', json: 'tlb.ranged', unit: 'flushes', det: true, weight: 200, doc: 'TLB shootdowns of a range (at most 33 strides)' },
  { name: 'TlbFlushFull', json: 'tlb.full', unit: 'flushes', det: true, weight: 500, doc: 'full TLB flushes (range over the 33-stride ceiling)' },
  { name: 'Ipis', json: 'tlb.ipis', unit: 'IPIs', det: true, weight: 2_000, doc: 'IPIs for TLB shootdowns and semi-RCU table frees (cpus - 1 each)' },
  // RCU table freeing (rcu.ts).
  { name: 'TableBatches', json: 'rcu.tableBatches', unit: 'batches', det: true, weight: 0, doc: 'table batch pages handed to RCU' },
  { name: 'TableFreeFallback', json: 'rcu.fallbacks', unit: 'tables', det: true, weight: 0, doc: 'tables freed one by one because no batch page could be had' },
  { name: 'RcuCallbacks', json: 'rcu.callbacks', unit: 'callbacks', det: true, weight: 50, doc: 'RCU callbacks run' },
  { name: 'GracePeriods', json: 'rcu.gracePeriods', unit: 'grace periods', det: true, weight: 0, doc: 'RCU grace periods that ended' },
  { name: 'PgtablesPending', json: null, unit: 'tables', det: true, weight: 0, doc: 'unhooked tables not yet returned to the page allocator (gather + RCU)' },
  { name: 'PgtablesPendingPeak', json: null, unit: 'tables', det: true, weight: 0, doc: 'high-water mark of PgtablesPending' },
  { name: 'PgtablesRealPeak', json: null, unit: 'tables', det: true, weight: 0, doc: 'high-water mark of live + pending tables' },
  // Checker (checker.ts).
  { name: 'CheckViolations', json: null, unit: 'violations', det: true, weight: 0, doc: 'checker violations recorded in the core' },
  { name: 'TlbFlushStrides', json: 'tlb.rangedStrides', unit: 'INVLPGs', det: true, weight: 0, doc: 'entries ranged flushes invalidated one by one: ceil(range / stride) INVLPGs per flush on each CPU' },
  // Guard markers and MADV_PAGEOUT (madvise_guard.ts, madvise_pageout.ts).
  { name: 'GuardMarkers', json: 'guard.markers', unit: 'entries', det: true, weight: 0, doc: 'guard markers (MADV_GUARD_INSTALL) in the page tables at the end' },
  { name: 'GuardInstalled', json: 'guard.installed', unit: 'entries', det: true, weight: 0, doc: 'guard markers MADV_GUARD_INSTALL wrote into none entries' },
  { name: 'GuardRemoved', json: 'guard.removed', unit: 'entries', det: true, weight: 0, doc: 'guard markers MADV_GUARD_REMOVE cleared (munmap and exit drops not counted)' },
  { name: 'GuardInstallZaps', json: 'guard.installZaps', unit: 'calls', det: true, weight: 0, doc: 'MADV_GUARD_INSTALL walks that met a populated entry, zapped the range and retried' },
  { name: 'LazyfreeDiscarded', json: 'lazyfreeDiscarded', unit: 'pages', det: true, weight: 0, doc: 'lazyfree pages (clean since MADV_FREE) MADV_PAGEOUT discarded' },
  // mremap's page-table move (assembly/mremap.ts).
  { name: 'MremapPudMoves', json: 'mremap.pudMoves', unit: 'tables', det: true, weight: 0, doc: 'PMD tables mremap moved whole to a new 1 GiB slot (move_normal_pud)' },
  { name: 'MremapPmdMoves', json: 'mremap.pmdMoves', unit: 'tables', det: true, weight: 0, doc: 'PTE tables mremap moved whole to a new 2 MiB slot (move_normal_pmd)' },
  { name: 'MremapPtesMoved', json: 'mremap.ptesMoved', unit: 'entries', det: true, weight: 10, doc: 'entries mremap moved one by one (move_ptes)' },
  // Anonymous PMD-sized THP (huge_memory.ts).
  { name: 'ThpFaultAlloc', json: 'thp.faultAlloc', unit: 'THPs', det: true, weight: 50_000, doc: 'faults that mapped a new PMD-sized THP (THP_FAULT_ALLOC), a write into the huge zero page included' },
  { name: 'ThpHugeZeroFaults', json: 'thp.hugeZeroPage', unit: 'faults', det: true, weight: 10_000, doc: 'read faults that mapped the huge zero page (set_huge_zero_folio)' },
  { name: 'ThpDeposits', json: 'thp.deposits', unit: 'tables', det: true, weight: 0, doc: 'PTE tables deposited under a huge PMD (pgtable_trans_huge_deposit; they count in VmPTE)' },
  { name: 'ThpSplitPmd', json: 'thp.splitPmd', unit: 'splits', det: true, weight: 5_000, doc: 'huge PMDs split into a PTE table (__split_huge_pmd; THP_SPLIT_PMD)' },
  { name: 'ThpZapPmd', json: 'thp.zapPmd', unit: 'PMDs', det: true, weight: 1_000, doc: 'huge PMDs zapped whole (zap_huge_pmd: the deposit is freed)' },
  { name: 'ThpCollapse', json: 'thp.collapseAlloc', unit: 'THPs', det: true, weight: 200_000, doc: 'PTE tables collapsed into a THP by MADV_COLLAPSE (THP_COLLAPSE_ALLOC)' },
  { name: 'ThpSplitFolio', json: 'thp.splitFolio', unit: 'folios', det: true, weight: 20_000, doc: 'THP folios split into small pages by MADV_FREE of part of one (split_folio)' },
  { name: 'ThpZeroRemapped', json: 'thp.zeroRemapped', unit: 'pages', det: true, weight: 0, doc: 'never-written subpages a folio split mapped to the shared zero page instead (RSS drops)' },
  // File-backed and shmem mappings (filemap.ts).
  { name: 'FaultFile', json: 'faults.file', unit: 'pages', det: true, weight: 10_000, doc: 'page-cache pages finish_fault mapped: the folio ->fault returned (file and shmem)' },
  { name: 'FaultAround', json: 'faults.aroundPages', unit: 'pages', det: true, weight: 100, doc: 'page-cache pages fault-around mapped (filemap_map_pages)' },
  { name: 'FaultCow', json: 'faults.cow', unit: 'faults', det: true, weight: 10_000, doc: 'private file write faults that made an anonymous copy (do_cow_fault, wp_page_copy)' },
  { name: 'FaultWpShared', json: 'faults.wpShared', unit: 'faults', det: true, weight: 10_000, doc: 'shared write faults that made a mapped page-cache page writable (wp_page_shared)' },
];

// Fields of `run --json` computed from the counters (`s` is the counter record).
/** @type {{json: string, unit: string, expr: string, doc: string}[]} */
// prettier-ignore
export const DERIVED = [
  { json: 'vmPteKb', unit: 'kB', expr: '(s.NrPte + s.NrPmd + s.NrPud) * 4', doc: 'VmPTE after the last operation, before exit: (PTE + PMD + PUD tables) x 4 kB, as `mm_pgtables_bytes`' },
  { json: 'peakVmPteKb', unit: 'kB', expr: 's.PeakPgtables * 4', doc: 'the highest VmPTE during the run' },
  { json: 'rss.rssKb', unit: 'kB', expr: '(s.RssAnon + s.RssFile + s.RssShmem) * 4', doc: 'VmRSS: (anon + file + shmem pages) x 4 kB' },
  { json: 'arena.tablesHigh', unit: 'frames', expr: 'Math.max(0, s.ArenaFramesHigh - 1)', doc: 'page-table frames at peak (PGD not counted)' },
  { json: 'realPgtablesKb', unit: 'kB', expr: '(s.NrPte + s.NrPmd + s.NrPud + s.PgtablesPending) * 4', doc: 'page-table memory really held at the end: live tables plus tables waiting for the flush or grace period' },
  { json: 'peakRealPgtablesKb', unit: 'kB', expr: 's.PgtablesRealPeak * 4', doc: 'the highest live + pending page-table memory' },
  { json: 'pendingKb', unit: 'kB', expr: 's.PgtablesPending * 4', doc: 'tables unhooked but not yet freed, at the end' },
  { json: 'peakPendingKb', unit: 'kB', expr: 's.PgtablesPendingPeak * 4', doc: 'the most tables unhooked but not yet freed' },
  { json: 'entriesReadTotal', unit: 'entries', expr: 's.EntriesReadZap + s.EntriesReadScan + s.EntriesReadAsyncScan', doc: 'entries read by the zap loop, slow-path scans and the asynchronous scanner' },
];

// Fields of `run --json` the run itself fills in (not counters of the core). `type` is the
// JSON type; number and boolean fields with det: true are part of the bench's counters.
/** @type {{json: string, type: 'number' | 'boolean' | 'string' | 'array' | 'object', unit: string, det: boolean, bench?: false, doc: string}[]} */
// prettier-ignore
export const RUN_FIELDS = [
  { json: 'schemaVersion', type: 'number', unit: '', det: true, bench: false, doc: 'this schema\'s version (see below)' },
  { json: 'source', type: 'string', unit: '', det: true, doc: 'workload name or trace path' },
  { json: 'strategy', type: 'string', unit: '', det: true, doc: 'strategy that ran' },
  { json: 'path', type: 'string', unit: '', det: true, doc: '`--path`: auto, fast or slow' },
  { json: 'core', type: 'string', unit: '', det: true, doc: 'hot-loop implementation: wasm or ts' },
  { json: 'ops', type: 'number', unit: 'operations', det: true, doc: 'operations applied' },
  { json: 'opCounts.mmap', type: 'number', unit: 'operations', det: true, doc: 'mmap operations' },
  { json: 'opCounts.munmap', type: 'number', unit: 'operations', det: true, doc: 'munmap operations' },
  { json: 'opCounts.touch', type: 'number', unit: 'operations', det: true, doc: 'touch operations' },
  { json: 'opCounts.madvise', type: 'number', unit: 'operations', det: true, doc: 'madvise operations' },
  { json: 'errorCount', type: 'number', unit: 'operations', det: true, doc: 'failed syscalls' },
  { json: 'errors', type: 'array', unit: '', det: true, doc: 'failed syscalls, first 100: `{index, file, line, op, errno, detail}`' },
  { json: 'arena.limitFrames', type: 'number', unit: 'frames', det: true, doc: 'arena limit (`--arena-limit`)' },
  { json: 'arena.memoryBytes', type: 'number', unit: 'bytes', det: false, doc: 'WASM linear memory (never shrinks: depends on the instance\'s history)' },
  { json: 'exit.clean', type: 'boolean', unit: '', det: true, doc: 'teardown passed the kernel\'s checks' },
  { json: 'exit.problems', type: 'array', unit: '', det: true, doc: 'teardown complaints in the kernel\'s words (`BUG: Bad rss-counter state ...`)' },
  { json: 'wallMs', type: 'number', unit: 'ms', det: false, doc: 'wall time of the simulated run' },
  { json: 'opsPerSec', type: 'number', unit: 'ops/s', det: false, doc: 'operations per second of wall time' },
  { json: 'config.trylockFail', type: 'number', unit: 'probability', det: true, doc: 'knobs the run used (`--trylock-fail`, ...), echoed' },
  { json: 'config.resched', type: 'number', unit: 'probability', det: true, doc: '`--resched`' },
  { json: 'config.nowaitFail', type: 'number', unit: 'probability', det: true, doc: '`--nowait-fail`' },
  { json: 'config.seed', type: 'number', unit: '', det: true, doc: '`--seed`' },
  { json: 'config.cpus', type: 'number', unit: 'CPUs', det: true, doc: '`--cpus`' },
  { json: 'config.tableFree', type: 'string', unit: '', det: true, doc: '`--table-free`' },
  { json: 'config.tickMs', type: 'number', unit: 'ms', det: true, doc: '`--tick-ms`' },
  { json: 'config.gracePeriodMs', type: 'number', unit: 'ms', det: true, doc: '`--grace-period-ms`' },
  { json: 'config.scanPeriodMs', type: 'number', unit: 'ms', det: true, doc: '`--scan-period-ms`' },
  { json: 'config.scanBytes', type: 'number', unit: 'bytes', det: true, doc: '`--scan-bytes`' },
  { json: 'config.mmapMinAddr', type: 'number', unit: 'address', det: true, doc: '`--mmap-min-addr`' },
  { json: 'config.zeroPage', type: 'boolean', unit: '', det: true, doc: 'read faults map the zero page (`zeroPage` in the API; validate: the host\'s)' },
  { json: 'config.thp', type: 'string', unit: '', det: true, doc: '`--thp`' },
  { json: 'config.thpZeroPage', type: 'boolean', unit: '', det: true, doc: '`--thp-zero-page`' },
  { json: 'config.shmemThp', type: 'string', unit: '', det: true, doc: '`--shmem-thp`' },
  { json: 'config.faultAroundBytes', type: 'number', unit: 'bytes', det: true, doc: '`--fault-around`' },
  { json: 'config.readaheadBytes', type: 'number', unit: 'bytes', det: true, doc: '`--readahead`' },
  { json: 'simulatedMs', type: 'number', unit: 'ms', det: true, doc: 'simulated time at the end of the run (cost model)' },
  { json: 'costModel', type: 'string', unit: '', det: true, doc: 'which weights gave simulatedMs: `built-in default` or `profile FILE (host, date)`' },
  { json: 'check.enabled', type: 'boolean', unit: '', det: true, doc: '`--check` was given' },
  { json: 'check.violationCount', type: 'number', unit: 'violations', det: true, doc: 'checker violations' },
  { json: 'check.violations', type: 'array', unit: '', det: true, doc: 'the first 100, placed: `{kind, addr, value, index, file, line, op, strategy, ...}`' },
  { json: 'timeline', type: 'array', unit: '', det: true, doc: 'with `timeline: true` (API only): `{ns, vmPteKb, realKb}` after every operation' },
];
