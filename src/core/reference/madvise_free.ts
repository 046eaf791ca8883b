/**
 * MADV_FREE in the reference core (assembly/madvise_free.ts; mm/madvise.c
 * madvise_free_pte_range): anonymous pages stay mapped but become clean and old; swap and
 * poison entries in the range are dropped. No table is freed or allocated.
 */
import { type RefMm, walk_pte_table_frame } from './mm.js';
import { tlb_remove_tlb_entry } from './mmu_gather.js';
import {
  HI_SIM_FILE,
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
    const pte = walk_pte_table_frame(mm, addr);
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
