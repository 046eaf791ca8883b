// The asynchronous scanner of the June 2024 RFC ("mm: pgtable: try to reclaim empty PTE
// pages asynchronously"): a scheduler-tick hook queues a task_work; on return to user it
// walks the VMAs from a saved offset (the driver, src/mm/async-scan.ts, does the VMA walk,
// the budget and the period) and calls scan_reclaim_range for each eligible VMA part.
//
// Per PTE table whose whole 2 MiB span lies inside the VMA part (tables crossing a VMA
// boundary are skipped): PMD lock + PTE lock, pmd_same, check all entries are none, clear
// the PMD, flush the TLB for the span, free the table by RCU (pte_free_defer: one call_rcu
// per table). VmPTE drops at once; the memory returns after the grace period.

import { PAGE_SHIFT, PMD_SIZE, PMD_MASK } from "./pgtable";
import { walk_pmd, entry_table, table_frame, mm_dec_nr_ptes, pmd_clear } from "./mm";
import { pte_table_all_none, scan_length } from "./pt_reclaim";
import { FRAME_PTE, arena_free } from "./arena";
import { flush_tlb_mm_range } from "./tlb";
import { call_rcu_tables, pgtable_pending_inc } from "./rcu";
import { Stat, stat_inc, stat_add } from "./stats";
import { checker_on, checker_table_freed } from "./checker";
import { PTRS_PER_TABLE } from "./pgtable";
import { pmd_trans_huge } from "./huge_memory";

/** Scan [start, end) of one VMA; returns the number of tables freed. */
export function scan_reclaim_range(start: u64, end: u64): u32 {
  let freed: u32 = 0;
  let addr = (start + PMD_SIZE - 1) & PMD_MASK;
  stat_add(Stat.ScanBytes, end - start);
  while (addr + PMD_SIZE <= end) {
    const pmdp = walk_pmd(addr);
    if (pmdp != 0) {
      const pmdval = load<u64>(pmdp);
      // A huge PMD maps pages (its deposit is no table to reclaim): pte_offset_map fails on it.
      if (pmdval != 0 && !pmd_trans_huge(pmdval)) {
        stat_inc(Stat.PmdLocks);
        stat_inc(Stat.PtlLocks);
        const table = entry_table(pmdval);
        if (pte_table_all_none(table)) {
          stat_add(Stat.EntriesReadAsyncScan, PTRS_PER_TABLE);
          pmd_clear(pmdp);
          // flush_tlb_range(vma, addr, addr + PMD_SIZE): stride PAGE_SIZE, so a full flush.
          flush_tlb_mm_range(addr, addr + PMD_SIZE, PAGE_SHIFT);
          const frame = table_frame(table);
          if (checker_on()) checker_table_freed(table, FRAME_PTE, addr, false);
          mm_dec_nr_ptes();
          pgtable_pending_inc();
          call_rcu_tables(1); // pte_free_defer
          arena_free(frame); // the simulator's frame is reusable; the accounting waits for RCU
          stat_inc(Stat.ReclaimScan);
          freed++;
        } else {
          stat_add(Stat.EntriesReadAsyncScan, scan_length(table));
        }
      }
    }
    addr += PMD_SIZE;
  }
  return freed;
}
