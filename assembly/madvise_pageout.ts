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
// File pages (the file branch), THP (split on a partial range) and swap are not modelled here.

import {
  PAGE_SHIFT, PMD_SIZE, _PAGE_PRESENT, _PAGE_SPECIAL, _PAGE_SIM_FILE, _PAGE_ACCESSED, _PAGE_DIRTY,
  span_end,
} from "./pgtable";
import { walk_pmd, entry_table, pte_offset } from "./mm";
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
export function madvise_cold_or_pageout_range(start: u64, end: u64, pageout: bool): void {
  const refcount = strategy_id() == STRATEGY_REFCOUNT;
  let discarded: u64 = 0;
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
        let e = load<u64>(p);
        // none, not present (swap, markers, ...) and the zero page (no folio) are passed over
        if ((e & (_PAGE_PRESENT | _PAGE_SPECIAL)) != _PAGE_PRESENT) continue;
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
