// MADV_FREE: madvise_free_single_vma -> madvise_free_pte_range (mm/madvise.c).
// Lazy free: anonymous pages stay mapped but are marked clean and old, so reclaim may
// drop them later instead of swapping them out; a later write simply re-dirties them.
// Swap entries and poison entries in the range are dropped. No table is ever freed and
// none is allocated (the page walk skips missing tables).

import {
  PAGE_SHIFT, PMD_SIZE, MAX_SWAPFILES, SWP_HWPOISON, SWP_PTE_MARKER, PTE_MARKER_POISONED,
  _PAGE_PRESENT, _PAGE_SPECIAL, _PAGE_SIM_FILE, _PAGE_SIM_LARGE, _PAGE_ACCESSED, _PAGE_DIRTY, PTRS_PER_TABLE,
  span_end, swp_type, swp_offset,
} from "./pgtable";
import { walk_pmd, entry_table, pte_offset } from "./mm";
import { tlb_remove_tlb_entry } from "./mmu_gather";
import { pmd_trans_huge, madvise_free_huge_pmd, split_folio, large_folio_batch_whole, folio_pfn } from "./huge_memory";
import { Stat, stat_inc, stat_add, stat_get, stat_set } from "./stats";

export function madvise_free_range(start: u64, end: u64): void {
  let swap: i64 = 0;
  let addr = start;
  while (addr < end) {
    const next = span_end(addr, end, PMD_SIZE);
    const pmdp = walk_pmd(addr);
    let pmde = pmdp != 0 ? load<u64>(pmdp) : 0;
    if (pmd_trans_huge(pmde)) {
      // madvise_free_huge_pmd: a whole THP stays huge; part of one is split first.
      if (madvise_free_huge_pmd(pmdp, addr, next)) pmde = 0;
      else pmde = load<u64>(pmdp);
      if (pmd_trans_huge(pmde)) pmde = 0; // the huge zero page: nothing to do
    }
    if (pmde != 0) {
      stat_inc(Stat.PtlLocks);
      const table = entry_table(pmde);
      const first = pte_offset(table, addr);
      const last = first + (<usize>((next - addr) >> PAGE_SHIFT) << 3);
      for (let p = first; p < last; p += 8) {
        const e = load<u64>(p);
        if (e == 0) continue;
        if ((e & _PAGE_PRESENT) != 0) {
          // Only normal anonymous folios become lazy-free (zero page and file pages stay).
          if ((e & (_PAGE_SPECIAL | _PAGE_SIM_FILE)) != 0) continue;
          if ((e & _PAGE_SIM_LARGE) != 0) {
            if (!large_folio_batch_whole(p, last)) {
              // Part of a PTE-mapped THP: split_folio, then look at this entry again.
              split_folio(table, folio_pfn(e));
              p -= 8;
              continue;
            }
            // The whole folio: it stays large, every subpage lazily freeable.
            const batchEnd = p + (<usize>PTRS_PER_TABLE << 3);
            for (let q = p; q < batchEnd; q += 8) {
              const f = load<u64>(q);
              if ((f & (_PAGE_ACCESSED | _PAGE_DIRTY)) != 0) {
                store<u64>(q, f & ~(_PAGE_ACCESSED | _PAGE_DIRTY));
                tlb_remove_tlb_entry(addr + (<u64>((q - first) >> 3) << PAGE_SHIFT));
              }
            }
            stat_add(Stat.LazyfreePages, <u64>PTRS_PER_TABLE);
            p = batchEnd - 8;
            continue;
          }
          if ((e & (_PAGE_ACCESSED | _PAGE_DIRTY)) != 0) {
            store<u64>(p, e & ~(_PAGE_ACCESSED | _PAGE_DIRTY));
            tlb_remove_tlb_entry(addr + (<u64>((p - first) >> 3) << PAGE_SHIFT));
          }
          stat_inc(Stat.LazyfreePages);
          continue;
        }
        const type = swp_type(e);
        if (type < MAX_SWAPFILES) {
          store<u64>(p, 0);
          swap--;
          stat_inc(Stat.EntriesCleared);
        } else if (
          type == SWP_HWPOISON ||
          (type == SWP_PTE_MARKER && (swp_offset(e) & PTE_MARKER_POISONED) != 0)
        ) {
          store<u64>(p, 0);
          stat_inc(Stat.EntriesCleared);
        }
      }
    }
    addr = next;
  }
  stat_set(Stat.RssSwapEnts, <u64>(<i64>stat_get(Stat.RssSwapEnts) + swap));
}
