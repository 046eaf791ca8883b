/**
 * MADV_FREE in the reference core (assembly/madvise_free.ts; mm/madvise.c
 * madvise_free_pte_range): anonymous pages stay mapped but become clean and old; swap and
 * poison entries in the range are dropped. No table is freed or allocated.
 */
import { type RefMm, walk_pte_table_frame, walk_tables } from './mm.js';
import { folio_pfn, large_folio_batch_whole, madvise_free_huge_pmd, pmd_trans_huge, split_folio } from './huge_memory.js';
import { tlb_remove_tlb_entry } from './mmu_gather.js';
import {
  HI_SIM_FILE,
  HI_SIM_LARGE,
  MAX_SWAPFILES,
  PAGE_SIZE,
  PMD_SIZE,
  PTE_MARKER_POISONED,
  SWP_HWPOISON,
  SWP_PTE_MARKER,
  _PAGE_ACCESSED,
  _PAGE_DIRTY,
  _PAGE_PRESENT,
  _PAGE_SPECIAL,
  pmd_index,
  pte_index,
  span_end,
  swp_offset,
  swp_type,
} from './pgtable.js';
import { S, stat_add, stat_inc } from './stats.js';

export function madvise_free_range(mm: RefMm, start: number, end: number): void {
  let swap = 0;
  for (let addr = start; addr < end;) {
    const next = span_end(addr, end, PMD_SIZE);
    let pte = walk_pte_table_frame(mm, addr);
    if (pte >= 0) {
      const [, pmd] = walk_tables(mm, addr);
      const pmdTable = mm.frames[pmd]!;
      const mi = pmd_index(addr);
      if (pmd_trans_huge(pmdTable[2 * mi]!)) {
        // madvise_free_huge_pmd: a whole THP stays huge; part of one is split first.
        if (madvise_free_huge_pmd(mm, pmdTable, mi, addr, next) || pmd_trans_huge(pmdTable[2 * mi]!)) pte = -1;
      }
    }
    if (pte >= 0) {
      stat_inc(mm.s, S.PtlLocks);
      const t = mm.frames[pte]!;
      const first = pte_index(addr);
      const last = first + (next - addr) / PAGE_SIZE;
      for (let i = first; i < last; i++) {
        const lo = t[2 * i]!;
        const hi = t[2 * i + 1]!;
        if (lo === 0 && hi === 0) continue;
        if (lo & _PAGE_PRESENT) {
          // Only normal anonymous folios become lazy-free (zero page and file pages stay).
          if (lo & _PAGE_SPECIAL || hi & HI_SIM_FILE) continue;
          if (hi & HI_SIM_LARGE) {
            if (!large_folio_batch_whole(t, i, last)) {
              // Part of a PTE-mapped THP: split_folio, then look at this entry again.
              split_folio(mm, t, folio_pfn(t, i));
              i--;
              continue;
            }
            // The whole folio: it stays large, every subpage lazily freeable.
            for (let q = i; q < i + 512; q++) {
              const f = t[2 * q]!;
              if (f & (_PAGE_ACCESSED | _PAGE_DIRTY)) {
                t[2 * q] = (f & ~(_PAGE_ACCESSED | _PAGE_DIRTY)) >>> 0;
                tlb_remove_tlb_entry(mm.tlb, Math.floor(addr / PMD_SIZE) * PMD_SIZE + q * PAGE_SIZE);
              }
            }
            stat_add(mm.s, S.LazyfreePages, 512);
            i += 511;
            continue;
          }
          if (lo & (_PAGE_ACCESSED | _PAGE_DIRTY)) {
            t[2 * i] = (lo & ~(_PAGE_ACCESSED | _PAGE_DIRTY)) >>> 0;
            tlb_remove_tlb_entry(mm.tlb, Math.floor(addr / PMD_SIZE) * PMD_SIZE + i * PAGE_SIZE);
          }
          stat_inc(mm.s, S.LazyfreePages);
          continue;
        }
        const type = swp_type(hi);
        if (type < MAX_SWAPFILES) {
          t[2 * i] = 0;
          t[2 * i + 1] = 0;
          swap--;
          stat_inc(mm.s, S.EntriesCleared);
        } else if (type === SWP_HWPOISON || (type === SWP_PTE_MARKER && swp_offset(lo, hi) & PTE_MARKER_POISONED)) {
          t[2 * i] = 0;
          t[2 * i + 1] = 0;
          stat_inc(mm.s, S.EntriesCleared);
        }
      }
    }
    addr = next;
  }
  stat_add(mm.s, S.RssSwapEnts, swap);
}
