// MADV_COLD and MADV_PAGEOUT on private anonymous memory: madvise_cold_or_pageout_pte_range
// (mm/madvise.c), then for PAGEOUT reclaim_pages -> shrink_folio_list -> try_to_unmap_one.
//
// Both walk only the tables that exist. For each present page that is not the zero page they
// clear the accessed (young) bit and flush it; COLD then deactivates the folio, PAGEOUT
// isolates it for reclaim with references ignored. Without swap (this model, and the host it
// was measured on) reclaim can free only a lazyfree anonymous page: one MADV_FREE made clean
// and nothing has written since. Its entry is cleared and MM_ANONPAGES drops; a page written
// since MADV_FREE has a dirty PTE, so reclaim sets it swap-backed again and keeps it, and an
// ordinary anonymous page cannot be swapped out at all. The PTE dirty bit is exactly that
// state here: pages get it when faulted or written and lose it only in madvise_free_range.
//
// No table is freed (mainline: try_to_unmap is no zap and asks for no PT_RECLAIM; measured:
// the emptied table stays). refcount: every discard is a pte_put, and a table whose count
// reaches zero is freed as after a zap. Call between gather_begin and gather_end (madvise_cold
// and madvise_pageout bracket the walk with tlb_gather_mmu / tlb_finish_mmu).
//
// THP (huge_memory.ts): a huge PMD is left whole by COLD over its whole span, split
// otherwise (madvise_cold_or_pageout_huge_pmd); a PTE-mapped large folio the range does not
// map whole is split (split_folio: never-written subpages become the zero page); PAGEOUT of
// a whole one discards it when every subpage is clean (lazyfree), else splits it (no swap
// to add it to: shrink_folio_list falls back to split_folio_to_list). File pages and swap
// are not modelled here.

import {
  PAGE_SHIFT, PMD_SIZE, _PAGE_PRESENT, _PAGE_SPECIAL, _PAGE_SIM_FILE, _PAGE_ACCESSED, _PAGE_DIRTY,
  _PAGE_SIM_LARGE, PTRS_PER_TABLE,
  span_end,
} from "./pgtable";
import { walk_pmd, entry_table, pte_offset } from "./mm";
import { pmd_trans_huge, madvise_cold_or_pageout_huge_pmd, split_folio, large_folio_batch_whole, folio_pfn } from "./huge_memory";
import { tlb_remove_tlb_entry } from "./mmu_gather";
import { pte_refcount_zap_done } from "./pte_refcount";
import { STRATEGY_REFCOUNT, strategy_id } from "./strategy";
import { Stat, stat_inc, stat_add, stat_get, stat_set } from "./stats";

/**
 * try_to_unmap_one for a lazyfree anonymous folio mapped by the entry at ptep (the "MADV_FREE
 * page check"): a clean folio is discarded, a dirty one kept. Returns true when discarded.
 */
@inline function try_to_unmap_lazyfree(ptep: usize, e: u64, addr: u64): bool {
  if ((e & (_PAGE_DIRTY | _PAGE_SIM_FILE)) != 0) return false;
  store<u64>(ptep, 0);
  tlb_remove_tlb_entry(addr);
  return true;
}

/**
 * madvise_cold_or_pageout_pte_range over [start, end) of one anonymous VMA, then (pageout)
 * the reclaim of the isolated folios.
 */
/** Every subpage of the PTE-mapped large folio from p on is clean (lazyfree, nothing written since). */
function large_folio_clean(p: usize): bool {
  for (let q = p; q < p + (<usize>PTRS_PER_TABLE << 3); q += 8) if ((load<u64>(q) & _PAGE_DIRTY) != 0) return false;
  return true;
}

export function madvise_cold_or_pageout_range(start: u64, end: u64, pageout: bool): void {
  const refcount = strategy_id() == STRATEGY_REFCOUNT;
  let discarded: u64 = 0;
  let addr = start;
  while (addr < end) {
    const next = span_end(addr, end, PMD_SIZE);
    const pmdp = walk_pmd(addr);
    let pmde = pmdp != 0 ? load<u64>(pmdp) : 0;
    if (pmd_trans_huge(pmde)) pmde = madvise_cold_or_pageout_huge_pmd(pmdp, addr, next, pageout) ? 0 : load<u64>(pmdp);
    if (pmde != 0) {
      stat_inc(Stat.PtlLocks);
      const table = entry_table(pmde);
      const first = pte_offset(table, addr);
      const last = first + (<usize>((next - addr) >> PAGE_SHIFT) << 3);
      let here: u64 = 0;
      for (let p = first; p < last; p += 8) {
        let e = load<u64>(p);
        // none, not present (swap, markers, ...) and the zero page (no folio) are passed over
        if ((e & (_PAGE_PRESENT | _PAGE_SPECIAL)) != _PAGE_PRESENT) continue;
        if ((e & _PAGE_SIM_LARGE) != 0) {
          const whole = large_folio_batch_whole(p, last);
          const batchEnd = p + (<usize>PTRS_PER_TABLE << 3);
          if (whole && !pageout) {
            // COLD of a whole PTE-mapped THP: it stays large, every subpage made old.
            for (let q = p; q < batchEnd; q += 8) {
              const f = load<u64>(q);
              if ((f & _PAGE_ACCESSED) != 0) {
                store<u64>(q, f & ~_PAGE_ACCESSED);
                tlb_remove_tlb_entry(addr + (<u64>((q - first) >> 3) << PAGE_SHIFT));
              }
            }
            p = batchEnd - 8;
            continue;
          }
          if (whole && large_folio_clean(p)) {
            // PAGEOUT of a whole lazyfree THP: reclaim discards the folio.
            for (let q = p; q < batchEnd; q += 8) {
              store<u64>(q, 0);
              tlb_remove_tlb_entry(addr + (<u64>((q - first) >> 3) << PAGE_SHIFT));
            }
            here += <u64>PTRS_PER_TABLE;
            p = batchEnd - 8;
            continue;
          }
          split_folio(table, folio_pfn(e)); // then this entry again, as a small folio
          p -= 8;
          continue;
        }
        const a = addr + (<u64>((p - first) >> 3) << PAGE_SHIFT);
        if ((e & _PAGE_ACCESSED) != 0) {
          e &= ~_PAGE_ACCESSED;
          store<u64>(p, e);
          tlb_remove_tlb_entry(a);
        }
        if (pageout && try_to_unmap_lazyfree(p, e, a)) here++;
      }
      discarded += here;
      if (refcount && here != 0) pte_refcount_zap_done(pmdp, addr, here);
    }
    addr = next;
  }
  if (discarded != 0) {
    stat_add(Stat.LazyfreeDiscarded, discarded);
    stat_add(Stat.EntriesCleared, discarded);
    stat_set(Stat.RssAnon, stat_get(Stat.RssAnon) - discarded);
  }
}
