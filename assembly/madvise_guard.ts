// Guard regions: MADV_GUARD_INSTALL and MADV_GUARD_REMOVE (mm/madvise.c, 6.13+).
//
// madvise_guard_install walks the range with walk_page_range_mm and an install_pte op, so the
// walk allocates every missing PUD/PMD/PTE table (measured: +12 kB on untouched memory) and
// writes a guard marker into each none entry (guard_install_set_pte). The first entry that is
// neither none nor a marker (guard_install_pte_entry) aborts the walk: the markers written
// before it stay, the whole range is zapped with zap_page_range_single (details NULL: COWed
// pages too, markers kept, no PT_RECLAIM), and the walk runs again. Nothing races with it
// here, so the second walk always completes (the kernel tries MAX_MADVISE_GUARD_RETRIES
// times, then restarts the syscall).
//
// madvise_guard_remove walks only the tables that exist and clears the markers: it frees no
// table (mainline), even when that leaves one empty.
//
// A marker is a non-none entry: ordinary zaps skip it (zap.ts), so its table is never
// reclaimed by PT_RECLAIM or the asynchronous scanner; munmap and exit drop it
// (ZAP_DROP_MARKERS). Stat.GuardMarkers counts the live ones, so that `touch` looks for
// markers (find_guard_marker) only in an mm that has some.

import {
  PAGE_SHIFT, PMD_SIZE, PMD_MASK, SWP_PTE_MARKER, PTE_MARKER_GUARD, span_end, swp_entry,
} from "./pgtable";
import { OK, arena_reserve } from "./arena";
import { walk_pmd, entry_table, pte_offset, pte_alloc_map, count_missing_tables } from "./mm";
import { tlb_gather_mmu, tlb_finish_mmu } from "./mmu_gather";
import { unmap_page_range, ZAP_EVEN_COWS } from "./zap";
import { pte_refcount_zap_done } from "./pte_refcount";
import { STRATEGY_REFCOUNT, strategy_id } from "./strategy";
import { Stat, stat_inc, stat_add, stat_get, stat_set } from "./stats";

/** Walks madvise_guard_install tries before it restarts the syscall. */
const MAX_MADVISE_GUARD_RETRIES: u32 = 3;

/** make_pte_marker(PTE_MARKER_GUARD). */
const GUARD_MARKER: u64 = swp_entry(SWP_PTE_MARKER, PTE_MARKER_GUARD);

/** is_guard_pte_marker. */
@inline function is_guard_pte_marker(e: u64): bool {
  return e == GUARD_MARKER;
}

/**
 * One walk of guard_install_walk_ops over [start, end): allocate missing tables, write a
 * marker into every none entry, stop at the first populated one. Returns true when the
 * whole range was walked (every entry is now a marker), false when the walk stopped early.
 * The caller has reserved arena space for the missing tables.
 */
function guard_install_walk(start: u64, end: u64): bool {
  const refcount = strategy_id() == STRATEGY_REFCOUNT;
  let installed: u64 = 0;
  let complete = true;
  let addr = start;
  while (addr < end) {
    const next = span_end(addr, end, PMD_SIZE);
    const table = pte_alloc_map(addr);
    stat_inc(Stat.PtlLocks);
    const first = pte_offset(table, addr);
    const last = first + (<usize>((next - addr) >> PAGE_SHIFT) << 3);
    let here: u64 = 0;
    let p = first;
    for (; p < last; p += 8) {
      const e = load<u64>(p);
      if (e == 0) {
        store<u64>(p, GUARD_MARKER); // guard_install_set_pte
        here++;
      } else if (!is_guard_pte_marker(e)) {
        break; // guard_install_pte_entry: populated, zap and retry
      }
    }
    installed += here;
    // refcount: one pte_get per marker written (a marker is a non-none entry), plus the
    // walker's get and put around the table.
    if (refcount) stat_add(Stat.RefcountAtomics, 2 + here);
    if (p < last) {
      complete = false;
      break;
    }
    addr = next;
  }
  stat_add(Stat.GuardInstalled, installed);
  stat_add(Stat.GuardMarkers, installed);
  return complete;
}

/**
 * madvise_guard_install over [start, end) of one VMA whose zap flags (VMA_ANON, VMA_UFFD_WP)
 * are vmaFlags. Opens its own mmu_gather for the zap (zap_page_range_single), so call it
 * outside gather_begin / gather_end. Returns OK or an arena error (then nothing of this
 * walk was changed: tables are reserved before each walk).
 */
export function madvise_guard_install(start: u64, end: u64, vmaFlags: u32): i32 {
  for (let i: u32 = 0; i < MAX_MADVISE_GUARD_RETRIES; i++) {
    const status = arena_reserve(count_missing_tables(start, end));
    if (status != OK) return status;
    if (guard_install_walk(start, end)) return OK;
    stat_inc(Stat.GuardInstallZaps);
    tlb_gather_mmu();
    unmap_page_range(start, end, ZAP_EVEN_COWS | vmaFlags);
    tlb_finish_mmu();
  }
  // The kernel restarts the syscall here (page faults kept racing with it). Nothing races in
  // the model and the zap clears every populated entry an anonymous VMA can hold.
  assert(false, "madvise_guard_install: populated entries survived the zap");
  return OK;
}

/**
 * madvise_guard_remove over [start, end): clear every guard marker in the tables that exist
 * (guard_remove_pte_entry). Mainline frees no table. refcount: each cleared marker is a
 * pte_put, and a table whose count reaches zero is freed as after a zap (call inside
 * gather_begin / gather_end).
 */
export function madvise_guard_remove(start: u64, end: u64): void {
  const refcount = strategy_id() == STRATEGY_REFCOUNT;
  let removed: u64 = 0;
  let addr = start;
  while (addr < end) {
    const next = span_end(addr, end, PMD_SIZE);
    const pmdp = walk_pmd(addr);
    const pmde = pmdp != 0 ? load<u64>(pmdp) : 0;
    if (pmde != 0) {
      stat_inc(Stat.PtlLocks);
      const first = pte_offset(entry_table(pmde), addr);
      const last = first + (<usize>((next - addr) >> PAGE_SHIFT) << 3);
      let here: u64 = 0;
      for (let p = first; p < last; p += 8) {
        if (is_guard_pte_marker(load<u64>(p))) {
          store<u64>(p, 0);
          here++;
        }
      }
      removed += here;
      if (refcount) pte_refcount_zap_done(pmdp, addr, here);
    }
    addr = next;
  }
  stat_add(Stat.GuardRemoved, removed);
  stat_set(Stat.GuardMarkers, stat_get(Stat.GuardMarkers) - removed);
}

/**
 * The first guard marker in [start, end), or -1: what `touch` checks before any access (a
 * touch reaching a marker would die with SIGSEGV, so the trace refuses it whole with EFAULT,
 * as the live helper does through /proc/self/pagemap). Only tables that exist are read.
 */
export function find_guard_marker(start: u64, end: u64): i64 {
  let addr = start;
  while (addr < end) {
    const next = span_end(addr, end, PMD_SIZE);
    const pmdp = walk_pmd(addr);
    const pmde = pmdp != 0 ? load<u64>(pmdp) : 0;
    if (pmde != 0) {
      const table = entry_table(pmde);
      const first = pte_offset(table, addr);
      const last = first + (<usize>((next - addr) >> PAGE_SHIFT) << 3);
      for (let p = first; p < last; p += 8) {
        if (is_guard_pte_marker(load<u64>(p))) {
          return <i64>((addr & PMD_MASK) + (<u64>((p - table) >> 3) << PAGE_SHIFT));
        }
      }
    }
    addr = next;
  }
  return -1;
}
