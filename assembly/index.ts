// The WebAssembly core's exported interface. Addresses cross the JS boundary as f64:
// user addresses are below 2^47, so every one is exact, and no BigInt is needed per call.
// Status codes: OK, ERR_* and FAULT_* of assembly/generated/vocab.ts (schema/vocab.js STATUS).

import { ERR_OCCUPIED } from "./generated/vocab";
import { EntryKind, make_entry, entry_kind, PAGE_SHIFT, FIRST_ANON_PFN } from "./pgtable";
import {
  OK, ERR_ARENA_FULL, ERR_GROW_FAILED, arena_init, arena_reserve, arena_limit, arena_frames_touched, arena_frames_base,
  frame_state, frame_addr,
} from "./arena";
import {
  mm_init, mm_pgd_frame, walk_pmd, walk_pte, count_missing_tables, pte_alloc_map, pte_offset,
  entry_table, pgd_offset, pud_offset, pmd_clear,
} from "./mm";
import { fault_range as __fault_range, fault_address as __fault_address, set_zero_page as __set_zero_page } from "./fault";
import { unmap_page_range } from "./zap";
import {
  set_thp_fault_window as __set_thp_fault_window, set_huge_zero_page as __set_huge_zero_page,
  split_huge_pmd_address as __split_huge_pmd_address, do_set_pmd as __do_set_pmd, is_file_huge_pmd, set_split_zero_remap as __set_split_zero_remap, madvise_collapse_pmd as __madvise_collapse_pmd, pmd_trans_huge,
  thp_mm_init,
} from "./huge_memory";
import { set_path_mode as __set_path_mode, pte_table_all_none } from "./pt_reclaim";
import { free_pgd_range as __free_pgd_range } from "./free_pgtables";
import { madvise_free_range as __madvise_free_range } from "./madvise_free";
import {
  madvise_guard_install as __madvise_guard_install, madvise_guard_remove as __madvise_guard_remove,
  find_guard_marker as __find_guard_marker,
} from "./madvise_guard";
import { madvise_cold_or_pageout_range as __madvise_cold_or_pageout_range } from "./madvise_pageout";
import { move_page_tables as __move_page_tables } from "./mremap";
import {
  filemap_map_pages as __filemap_map_pages, finish_fault as __finish_fault, do_cow_fault as __do_cow_fault,
  wp_page_copy as __wp_page_copy, wp_page_shared as __wp_page_shared, filemap_next_fault as __filemap_next_fault,
} from "./filemap";
import { tlb_gather_mmu, tlb_finish_mmu } from "./mmu_gather";
import { Stat, stats_ptr as __stats_ptr, stats_reset, stat_set, stat_get, stat_add, stats_weighted } from "./stats";
import { batchBuffer, batch_entry, BATCH_CAPACITY, BATCH_FAULT_WRITE, BATCH_ZAP } from "./batch";
export { cost_weights_ptr, cost_weights_commit, stats_weighted } from "./stats";
import { set_strategy_id, set_knobs as __set_knobs, strategy_id, STRATEGY_REFCOUNT } from "./strategy";
import { set_cpus as __set_cpus, tlb_reset_range } from "./tlb";
import { rcu_configure as __rcu_configure, rcu_reset, rcu_set_now, rcu_barrier as __rcu_barrier, rcu_epochs_queued } from "./rcu";
import { pte_refcount_charge_faults } from "./pte_refcount";
import { scan_reclaim_range } from "./async_scan";
import { tlb_remove_table } from "./mmu_gather";
import {
  checker_enable, checker_reset, checker_walk as __checker_walk, checker_count_anon, checker_count_file,
  checker_count_swap, checker_count_shmem, checker_log_len, checker_log_kind, checker_log_addr, checker_log_value,
  checker_log_clear,
} from "./checker";

export { Stat, EntryKind };
export {
  ZAP_RECLAIM_PT, ZAP_DROP_MARKERS, ZAP_EVEN_COWS, VMA_ANON, VMA_UFFD_WP,
} from "./zap";
export { PATH_AUTO, PATH_FAST, PATH_SLOW } from "./pt_reclaim";
export {
  STRATEGY_NONE, STRATEGY_PT_RECLAIM, STRATEGY_V1, STRATEGY_ASYNC_SCAN, STRATEGY_REFCOUNT,
} from "./strategy";
export { TABLE_FREE_SEMI_RCU, TABLE_FREE_RCU } from "./rcu";
export {
  CHECK_TABLE_FREED_NOT_EMPTY, CHECK_TABLE_FREED_HOOKED, CHECK_DANGLING_ENTRY,
  CHECK_BREAK_BEFORE_MAKE, CHECK_PAGES_DROPPED,
} from "./checker";

/** Start a fresh, empty mm. limitFrames = 0 means "as many as 4 GiB of memory holds". */
export function init(limitFrames: u32): i32 {
  stats_reset();
  rcu_reset();
  checker_reset();
  tlb_reset_range();
  const status = arena_init(limitFrames);
  if (status != OK) return status;
  if (arena_reserve(1) != OK) return ERR_ARENA_FULL;
  mm_init();
  thp_mm_init();
  stat_set(Stat.NextPfn, FIRST_ANON_PFN);
  return OK;
}

export function stats_ptr(): usize {
  return __stats_ptr();
}
export function stats_count(): i32 {
  return <i32>Stat.Count;
}
export function set_path_mode(mode: u32): void {
  __set_path_mode(mode);
}

/** Whether read faults may map the shared zero page (see assembly/fault.ts). */
export function set_zero_page(enabled: bool): void {
  __set_zero_page(enabled);
  __set_split_zero_remap(enabled);
}

// THP (assembly/huge_memory.ts).
/** Faults may map THPs in the aligned 2 MiB spans of [lo, hi); (0, 0): nowhere. */
export function set_thp_fault_window(lo: f64, hi: f64, storesData: bool): void {
  __set_thp_fault_window(<u64>lo, <u64>hi, storesData);
}
/** /sys/kernel/mm/transparent_hugepage/use_zero_page. */
export function set_huge_zero_page(enabled: bool): void {
  __set_huge_zero_page(enabled);
}
/** vma_adjust_trans_huge at a VMA split point: split the huge PMD mapping addr, if any. */
export function split_huge_pmd_address(addr: f64): bool {
  return __split_huge_pmd_address(<u64>addr);
}
/** MADV_COLLAPSE of the PMD span at addr (2 MiB aligned); returns a SCAN_* result. */
export function madvise_collapse_pmd(addr: f64): i32 {
  return __madvise_collapse_pmd(<u64>addr);
}

export function fault_range(start: f64, end: f64, write: bool): i32 {
  if (strategy_id() != STRATEGY_REFCOUNT) return __fault_range(<u64>start, <u64>end, write);
  const faultsBefore = faults_total();
  const installedBefore = stat_get(Stat.FaultAnon) + stat_get(Stat.FaultZeroPage);
  const status = __fault_range(<u64>start, <u64>end, write);
  pte_refcount_charge_faults(faults_total() - faultsBefore,
    stat_get(Stat.FaultAnon) + stat_get(Stat.FaultZeroPage) - installedBefore);
  return status;
}

function faults_total(): u64 {
  return stat_get(Stat.FaultAnon) + stat_get(Stat.FaultZeroPage) + stat_get(Stat.FaultWpCopy) +
    stat_get(Stat.FaultSwapIn) + stat_get(Stat.FaultOther) + stat_get(Stat.FaultAccessOnly);
}

// Strategy, contention knobs, CPUs, RCU and simulated time (set once per mm, after init).
export function set_strategy(id: u32): void {
  set_strategy_id(id);
}
/** Probabilities in [0, 1]; the seed is exact up to 2^53. */
export function set_knobs(trylockFail: f64, resched: f64, nowaitFail: f64, seed: f64): void {
  __set_knobs(trylockFail, resched, nowaitFail, <u64>seed);
}
export function set_cpus(n: u32): void {
  __set_cpus(n);
}
export function rcu_configure(mode: u32, gracePeriodNs: f64): void {
  __rcu_configure(mode, <u64>gracePeriodNs);
}
export function set_now(ns: f64): void {
  rcu_set_now(<u64>ns);
}
export function rcu_barrier(): void {
  __rcu_barrier();
}

/** async-scan: scan one VMA part for empty PTE tables; returns how many were freed. */
export function scan_range(start: f64, end: f64, firstOfPass: bool): u32 {
  if (firstOfPass) stat_add(Stat.ScanPasses, 1);
  return scan_reclaim_range(<u64>start, <u64>end);
}

// Checker.
export function check_enable(on: bool): void {
  checker_enable(on);
}
/** Walk [lo, hi): page counts by RSS type, and every upper entry must reach a live table. */
export function check_walk(lo: f64, hi: f64): void {
  __checker_walk(frame_addr(mm_pgd_frame()), <u64>lo, <u64>hi);
}
export function check_count(type: i32): f64 {
  return <f64>(type == 0 ? checker_count_anon() : type == 1 ? checker_count_file() :
    type == 2 ? checker_count_swap() : checker_count_shmem());
}
export function check_log_len(): i32 {
  return checker_log_len();
}
export function check_log_kind(i: i32): u32 {
  return checker_log_kind(i);
}
export function check_log_addr(i: i32): f64 {
  return <f64>checker_log_addr(i);
}
export function check_log_value(i: i32): f64 {
  return <f64>checker_log_value(i);
}
export function check_log_clear(): void {
  checker_log_clear();
}

/**
 * Test hook for the break-before-make check: unhook the PTE table at addr into the open
 * gather without flushing, as v1's try_to_free_pte leaves it when it drops its locks, so a
 * concurrent fault can be replayed in that window. Call between gather_begin and gather_end.
 */
export function debug_unhook_pte_table(addr: f64): bool {
  const pmdp = walk_pmd(<u64>addr);
  if (pmdp == 0 || load<u64>(pmdp) == 0) return false;
  const pmdval = load<u64>(pmdp);
  pmd_clear(pmdp);
  tlb_remove_table(<u32>((pmdval & 0x000ffffffffff000) >> PAGE_SHIFT), <u64>addr);
  stat_set(Stat.NrPte, stat_get(Stat.NrPte) - 1);
  stat_add(Stat.FreedPte, 1);
  return true;
}
/**
 * Test hook for the use-after-free check: free the PTE table at addr through the open
 * gather but leave the PMD pointing at it (a design that forgets pmd_clear). After
 * gather_end the frame is free, and later reused: any walk through the PMD is a UAF.
 */
export function debug_free_pte_table_keep_entry(addr: f64): bool {
  const pmdp = walk_pmd(<u64>addr);
  if (pmdp == 0 || load<u64>(pmdp) == 0) return false;
  const pmdval = load<u64>(pmdp);
  tlb_remove_table(<u32>((pmdval & 0x000ffffffffff000) >> PAGE_SHIFT), <u64>addr);
  stat_set(Stat.NrPte, stat_get(Stat.NrPte) - 1);
  stat_add(Stat.FreedPte, 1);
  return true;
}

export function fault_address(): f64 {
  return <f64>__fault_address();
}

/** Zap [start, end) of one VMA; call between gather_begin and gather_end. */
export function zap_range(start: f64, end: f64, flags: u32): void {
  unmap_page_range(<u64>start, <u64>end, flags);
}
// File-backed and shmem mappings (assembly/filemap.ts); refcount charges what they install.
@inline function charge_refcount(installed: u64): void {
  if (strategy_id() == STRATEGY_REFCOUNT) pte_refcount_charge_faults(1, installed);
}
/** Map the none entries of [start, end) (one PMD span) read-only; returns pages or a status < 0. */
export function filemap_map_pages(start: f64, end: f64, shmem: bool): i32 {
  const n = __filemap_map_pages(<u64>start, <u64>end, shmem);
  if (n > 0) charge_refcount(<u64>n);
  return n;
}
/** do_set_pmd: map the PMD-sized page-cache folio of addr's span by its (none) PMD; a status. */
export function do_set_pmd(addr: f64): i32 {
  return __do_set_pmd(<u64>addr);
}
export function finish_fault(addr: f64, write: bool, shmem: bool): i32 {
  const status = __finish_fault(<u64>addr, write, shmem);
  if (status == OK) charge_refcount(1);
  return status;
}
export function do_cow_fault(addr: f64): i32 {
  const status = __do_cow_fault(<u64>addr);
  if (status == OK) charge_refcount(1);
  return status;
}
export function wp_page_copy(addr: f64): bool {
  const done = __wp_page_copy(<u64>addr);
  if (done) charge_refcount(0);
  return done;
}
export function wp_page_shared(addr: f64): bool {
  const done = __wp_page_shared(<u64>addr);
  if (done) charge_refcount(0);
  return done;
}
export function filemap_next_fault(start: f64, end: f64, write: bool): f64 {
  return <f64>__filemap_next_fault(<u64>start, <u64>end, write);
}

export function madvise_free(start: f64, end: f64): void {
  __madvise_free_range(<u64>start, <u64>end);
}
/** MADV_GUARD_INSTALL over [start, end) of one VMA; outside gather_begin / gather_end. */
export function madvise_guard_install(start: f64, end: f64, vmaFlags: u32): i32 {
  return __madvise_guard_install(<u64>start, <u64>end, vmaFlags);
}
/** MADV_GUARD_REMOVE over [start, end); call between gather_begin and gather_end. */
export function madvise_guard_remove(start: f64, end: f64): void {
  __madvise_guard_remove(<u64>start, <u64>end);
}
/** MADV_COLD (pageout false) or MADV_PAGEOUT over [start, end) of one anonymous VMA; inside a gather. */
export function madvise_cold_or_pageout(start: f64, end: f64, pageout: bool): void {
  __madvise_cold_or_pageout_range(<u64>start, <u64>end, pageout);
}
/** Address of the first guard marker in [start, end), or -1 (none there). */
export function find_guard_marker(start: f64, end: f64): f64 {
  if (stat_get(Stat.GuardMarkers) == 0) return -1;
  return <f64>__find_guard_marker(<u64>start, <u64>end);
}
/** free_pgd_range; ceiling 0 means "no ceiling" as in the kernel. */
export function free_pgd_range(addr: f64, end: f64, floor: f64, ceiling: f64): void {
  __free_pgd_range(<u64>addr, <u64>end, <u64>floor, <u64>ceiling);
}
/**
 * mremap: move the page tables of [oldAddr, oldEnd) to newAddr (assembly/mremap.ts); call
 * between gather_begin and gather_end. Returns OK or an arena error (nothing moved).
 */
export function move_page_tables(oldAddr: f64, newAddr: f64, oldEnd: f64): i32 {
  return __move_page_tables(<u64>oldAddr, <u64>newAddr, <u64>oldEnd);
}
export function gather_begin(): void {
  tlb_gather_mmu();
}
export function gather_end(): void {
  tlb_finish_mmu();
}

/** The entry mapping addr at a level (0 PTE, 1 PMD, 2 PUD, 3 PGD); 0 where a level is missing. */
export function entry_at(addr: f64, level: i32): u64 {
  const a = <u64>addr;
  if (level == 3) return load<u64>(pgd_offset(a));
  if (level == 2) {
    const pgde = load<u64>(pgd_offset(a));
    return pgde == 0 ? 0 : load<u64>(pud_offset(entry_table(pgde), a));
  }
  if (level == 1) {
    const pmdp = walk_pmd(a);
    return pmdp == 0 ? 0 : load<u64>(pmdp);
  }
  // A PMD-mapped page-cache folio has no PTE table below it (no deposit): no PTE.
  const pmdp = walk_pmd(a);
  if (pmdp != 0 && is_file_huge_pmd(load<u64>(pmdp))) return 0;
  const ptep = walk_pte(a);
  return ptep == 0 ? 0 : load<u64>(ptep);
}

/** Kind of the PTE mapping addr (EntryKind). */
export function pte_kind_at(addr: f64): i32 {
  return <i32>entry_kind(<u64>entry_at(addr, 0));
}

/**
 * Install an entry of a given kind at addr, allocating tables as a fault would, and
 * account it as the kernel would have when it was created. For tests and workloads that
 * need swap, migration, device, marker and poison entries. Returns a status code.
 */
export function install_entry(addr: f64, kind: i32): i32 {
  const a = <u64>addr & ~((<u64>1 << PAGE_SHIFT) - 1);
  const pmdp = walk_pmd(a);
  if (pmdp != 0 && pmd_trans_huge(load<u64>(pmdp))) return ERR_OCCUPIED;
  const status = arena_reserve(count_missing_tables(a, a + 1));
  if (status != OK) return status;
  const ptep = pte_offset(pte_alloc_map(a), a);
  if (load<u64>(ptep) != 0) return ERR_OCCUPIED;
  const pfn = stat_get(Stat.NextPfn);
  stat_set(Stat.NextPfn, pfn + 1);
  const k = <EntryKind>kind;
  store<u64>(ptep, make_entry(k, pfn));
  if (k == EntryKind.Page || k == EntryKind.Migration || k == EntryKind.DevicePrivate ||
      k == EntryKind.DeviceExclusive) {
    stat_add(Stat.RssAnon, 1);
  } else if (k == EntryKind.FilePage) {
    stat_add(Stat.RssFile, 1);
  } else if (k == EntryKind.ShmemPage) {
    stat_add(Stat.RssShmem, 1);
  } else if (k == EntryKind.Swap) {
    stat_add(Stat.RssSwapEnts, 1);
  } else if (k == EntryKind.GuardMarker) {
    stat_add(Stat.GuardMarkers, 1);
  }
  return OK;
}

/** True when the PTE table mapping addr exists and all its entries are none. */
export function pte_table_empty_at(addr: f64): bool {
  const pmdp = walk_pmd(<u64>addr);
  if (pmdp == 0 || load<u64>(pmdp) == 0 || pmd_trans_huge(load<u64>(pmdp))) return false;
  return pte_table_all_none(entry_table(load<u64>(pmdp)));
}

// Arena facts for the driver (memory accounting, clear errors).
export function arena_limit_frames(): u32 {
  return arena_limit();
}
export function arena_touched_frames(): u32 {
  return arena_frames_touched();
}
export function arena_base(): usize {
  return arena_frames_base();
}
export function pgd_frame(): u32 {
  return mm_pgd_frame();
}
/** For tests (test/arena-reinit.test.ts): the state byte of one frame. */
export function frame_state_of(frame: u32): u32 {
  return frame_state(frame);
}
// Batched operations (assembly/batch.ts): one crossing for a run of faults and madvises.
let batchNow: f64 = 0;
let batchStatus: i32 = OK;

export function batch_ptr(): usize {
  return batchBuffer;
}
export function batch_capacity(): i32 {
  return BATCH_CAPACITY;
}
/** Simulated time after the last batch_apply. */
export function batch_now(): f64 {
  return batchNow;
}
/** Status of the operation a batch_apply stopped at (OK when it ran them all). */
export function batch_status(): i32 {
  return batchStatus;
}

/**
 * Apply entries [0, n) of the batch buffer, starting at simulated time `now`. Returns how many
 * were applied. A fault that fails stops the batch: on arena full (or memory that cannot grow)
 * it changed nothing and is not counted; on SIGSEGV/SIGBUS it ran (and was charged) and is. A
 * fault over a guard marker stops the batch before it (not counted, status OK): the driver
 * refuses it on the one-op path.
 */
export function batch_apply(n: i32, now: f64, syscallNs: f64): i32 {
  batchStatus = OK;
  // The weighted sum after one entry is the sum before the next, unless RCU's catch-up in
  // between invoked callbacks (and so changed counters): then it is taken again. The same
  // sums of the same counters, so the same doubles as one sum before and one after each.
  let w0 = stats_weighted();
  for (let i = 0; i < n; i++) {
    const p = batch_entry(i);
    const code = <i32>load<f64>(p);
    const start = load<f64>(p, 8);
    const end = load<f64>(p, 16);
    let cost: f64 = 0;
    if (code <= BATCH_FAULT_WRITE) {
      // A touch reaching a guard marker is refused whole before any access: the one-op path
      // (the driver) says so. Markers cannot change inside a batch (no batched op writes or
      // drops one), so the count tested here holds for every entry.
      if (stat_get(Stat.GuardMarkers) != 0 && __find_guard_marker(<u64>start, <u64>end) >= 0) {
        batchNow = now;
        return i;
      }
      const status = fault_range(start, end, code == BATCH_FAULT_WRITE);
      if (status != OK) {
        batchStatus = status;
        if (status == ERR_ARENA_FULL || status == ERR_GROW_FAILED) {
          batchNow = now;
          return i;
        }
        now += stats_weighted() - w0;
        rcu_set_now(<u64>now);
        batchNow = now;
        return i + 1;
      }
    } else {
      cost = syscallNs;
      tlb_gather_mmu();
      if (code == BATCH_ZAP) unmap_page_range(<u64>start, <u64>end, <u32>load<f64>(p, 24));
      else __madvise_free_range(<u64>start, <u64>end);
      tlb_finish_mmu();
    }
    const w1 = stats_weighted();
    now += cost + (w1 - w0);
    const queued = rcu_epochs_queued();
    rcu_set_now(<u64>now);
    w0 = rcu_epochs_queued() == queued ? w1 : stats_weighted();
  }
  batchNow = now;
  return n;
}
