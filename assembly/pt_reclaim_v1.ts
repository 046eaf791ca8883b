// PT_RECLAIM as first posted: "[PATCH v1 0/7] synchronously scan and reclaim empty user PTE
// pages" (Oct 2024, ../shared/seed/pt-reclaim-v1-thread.txt). Modelled with its bugs, each
// of which reviewers or the kernel test robot found:
//
// - The sub-PMD range check subtracts the aligned-up start from the aligned-down end in
//   unsigned 64-bit. For a range inside one PMD span that touches neither boundary (e.g.
//   0x1000..0x2000) the difference wraps to a huge value, so reclaim stays enabled; the fast
//   path then clears a PMD whose table still maps pages outside the zapped range. Those
//   pages vanish without a zap: "BUG: Bad rss-counter state" at exit, and fresh zero-filled
//   pages on the next touch (data loss).
// - The `retry:` label sits below the force_flush/force_break initialisation, so after the
//   first force_break every later pass breaks after one present entry (zap.ts).
// - Set_pt_unreclaimable is called per branch; the fast path is tried whenever the last
//   pass reached the end, even after the PTE lock was dropped midway (the Feb 2025 fix is
//   absent: direct_reclaim is not cleared on early breaks).
// - try_to_free_pte maps the table (lockless PMD read) before taking the PMD lock, then
//   revalidates with pmd_same; the mainline version takes the PMD lock first.

import { PMD_SIZE, PMD_MASK } from "./pgtable";
import { ZAP_RECLAIM_PT, free_pte_if_empty } from "./pt_reclaim";
import { Stat, stat_inc } from "./stats";

/**
 * The v1 test: reclaim unless ALIGN_DOWN(end, PMD_SIZE) - ALIGN(start, PMD_SIZE) < PMD_SIZE,
 * evaluated in u64 exactly as the C expression is.
 */
export function reclaim_pt_is_enabled_v1(start: u64, end: u64, flags: u32): bool {
  if ((flags & ZAP_RECLAIM_PT) == 0) return false;
  const alignedEnd = end & PMD_MASK;
  const alignedStart = (start + PMD_SIZE - 1) & PMD_MASK;
  const diff = alignedEnd - alignedStart; // wraps when alignedEnd < alignedStart
  if (diff < PMD_SIZE) return false;
  if (alignedEnd < alignedStart) stat_inc(Stat.V1RangeWraps);
  return true;
}

/** v1 try_to_free_pte: lockless map first, then PMD lock, nested PTE lock, pmd_same. */
export function try_to_free_pte_v1(pmdp: usize, addr: u64): bool {
  const pmdval = load<u64>(pmdp); // pte_offset_map_rw_nolock: no table -> return, no locks
  if (pmdval == 0) {
    stat_inc(Stat.ReclaimSlowFailed);
    return false;
  }
  stat_inc(Stat.PmdLocks);
  stat_inc(Stat.PtlLocks);
  if (load<u64>(pmdp) != pmdval) { // pmd_same: single-threaded, it always holds
    stat_inc(Stat.ReclaimSlowFailed);
    return false;
  }
  // After the PMD is cleared v1 drops its locks before the TLB flush: a concurrent fault
  // could repopulate the PMD meanwhile (the break-before-make concern raised on arm64).
  return free_pte_if_empty(pmdp, pmdval, addr);
}
