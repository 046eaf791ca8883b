/**
 * MADV_COLD and MADV_PAGEOUT on private anonymous memory in the reference core
 * (assembly/madvise_pageout.ts; mm/madvise.c madvise_cold_or_pageout_pte_range, then
 * reclaim_pages -> shrink_folio_list -> try_to_unmap_one): the accessed bit of every present
 * page but the zero page is cleared; without swap PAGEOUT frees only lazyfree pages (clean
 * since MADV_FREE: PTE dirty bit clear), clearing their entries. No table is freed.
 */
import { type RefMm, entry_frame, walk_pte_table_frame, walk_tables } from './mm.js';
import { folio_pfn, large_folio_batch_whole, madvise_cold_or_pageout_huge_pmd, pmd_trans_huge, split_folio } from './huge_memory.js';
import { tlb_remove_tlb_entry } from './mmu_gather.js';
import {
  HI_SIM_FILE,
  HI_SIM_LARGE,
  PAGE_SIZE,
  PMD_SIZE,
  _PAGE_ACCESSED,
  _PAGE_DIRTY,
  _PAGE_PRESENT,
  _PAGE_SPECIAL,
  pmd_index,
  pte_index,
  span_end,
} from './pgtable.js';
import { S, stat_add } from './stats.js';

/** try_to_unmap_one's MADV_FREE check for entry i of t: discard a clean lazyfree folio. */
function try_to_unmap_lazyfree(mm: RefMm, t: Uint32Array, i: number, addr: number): boolean {
  if (t[2 * i]! & _PAGE_DIRTY || t[2 * i + 1]! & HI_SIM_FILE) return false;
  t[2 * i] = 0;
  t[2 * i + 1] = 0;
  tlb_remove_tlb_entry(mm.tlb, addr);
  return true;
}

/** Every subpage of the PTE-mapped large folio from entry i on is clean (lazyfree). */
function large_folio_clean(t: Uint32Array, i: number): boolean {
  for (let q = i; q < i + 512; q++) if (t[2 * q]! & _PAGE_DIRTY) return false;
  return true;
}

/** madvise_cold_or_pageout_pte_range over [start, end) of one anonymous VMA, then reclaim. */
export function madvise_cold_or_pageout_range(mm: RefMm, start: number, end: number, pageout: boolean): void {
  let discarded = 0;
  for (let addr = start; addr < end;) {
    const next = span_end(addr, end, PMD_SIZE);
    let f = walk_pte_table_frame(mm, addr);
    if (f >= 0) {
      const [, pmd] = walk_tables(mm, addr);
      const pmdTable = mm.frames[pmd]!;
      const mi = pmd_index(addr);
      if (pmd_trans_huge(pmdTable[2 * mi]!)) {
        f = madvise_cold_or_pageout_huge_pmd(mm, pmdTable, mi, addr, next, pageout) ? -1 : entry_frame(pmdTable, mi);
      }
    }
    if (f >= 0) {
      stat_add(mm.s, S.PtlLocks, 1);
      const t = mm.frames[f]!;
      const first = pte_index(addr);
      const last = first + (next - addr) / PAGE_SIZE;
      for (let i = first; i < last; i++) {
        const lo = t[2 * i]!;
        if ((lo & (_PAGE_PRESENT | _PAGE_SPECIAL)) !== _PAGE_PRESENT) continue;
        if (t[2 * i + 1]! & HI_SIM_LARGE) {
          const whole = large_folio_batch_whole(t, i, last);
          if (whole && !pageout) {
            // COLD of a whole PTE-mapped THP: it stays large, every subpage made old.
            for (let q = i; q < i + 512; q++) {
              if (t[2 * q]! & _PAGE_ACCESSED) {
                t[2 * q] = (t[2 * q]! & ~_PAGE_ACCESSED) >>> 0;
                tlb_remove_tlb_entry(mm.tlb, addr + (q - first) * PAGE_SIZE);
              }
            }
            i += 511;
            continue;
          }
          if (whole && large_folio_clean(t, i)) {
            // PAGEOUT of a whole lazyfree THP: reclaim discards the folio.
            for (let q = i; q < i + 512; q++) {
              t[2 * q] = 0;
              t[2 * q + 1] = 0;
              tlb_remove_tlb_entry(mm.tlb, addr + (q - first) * PAGE_SIZE);
            }
            discarded += 512;
            i += 511;
            continue;
          }
          split_folio(mm, t, folio_pfn(t, i)); // then this entry again, as a small folio
          i--;
          continue;
        }
        const a = addr + (i - first) * PAGE_SIZE;
        if (lo & _PAGE_ACCESSED) {
          t[2 * i] = (lo & ~_PAGE_ACCESSED) >>> 0;
          tlb_remove_tlb_entry(mm.tlb, a);
        }
        if (pageout && try_to_unmap_lazyfree(mm, t, i, a)) discarded++;
      }
    }
    addr = next;
  }
  if (discarded !== 0) {
    stat_add(mm.s, S.LazyfreeDiscarded, discarded);
    stat_add(mm.s, S.EntriesCleared, discarded);
    stat_add(mm.s, S.RssAnon, -discarded);
  }
}
