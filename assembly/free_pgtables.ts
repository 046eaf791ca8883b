// free_pgd_range -> free_pud_range -> free_pmd_range -> free_pte_range (mm/memory.c):
// after munmap or exit has zapped a range, free the tables that no VMA needs any more.
//
// floor is the end of the previous VMA and ceiling the start of the next one (0 = no
// ceiling): a table is freed only if its whole span lies within [floor, ceiling), since
// a neighbour may still use it. Arithmetic is unsigned 64-bit, wrap-arounds included.

import {
  PMD_SIZE, PUD_SIZE, PGDIR_SIZE, PMD_MASK, PUD_MASK, PGDIR_MASK, span_end,
} from "./pgtable";
import {
  pgd_offset, pud_offset, pmd_offset, entry_table, table_frame,
  mm_dec_nr_ptes, mm_dec_nr_pmds, mm_dec_nr_puds, pmd_clear,
} from "./mm";
import { tlb_remove_table } from "./mmu_gather";

/** free_pte_range: unhook and free the PTE table under one PMD entry. */
function free_pte_range(pmdp: usize, addr: u64): void {
  const table = entry_table(load<u64>(pmdp));
  pmd_clear(pmdp);
  tlb_remove_table(table_frame(table), addr);
  mm_dec_nr_ptes();
}

/** True when the upper-level table spanning `start` (masked by mask) may be freed. */
@inline function upper_table_freeable(start: u64, end: u64, floor: u64, ceiling: u64, mask: u64): bool {
  start &= mask;
  if (start < floor) return false;
  if (ceiling != 0) {
    ceiling &= mask;
    if (ceiling == 0) return false;
  }
  return !(end - 1 > ceiling - 1);
}

function free_pmd_range(pudp: usize, addr: u64, end: u64, floor: u64, ceiling: u64): void {
  const start = addr;
  const pmdTable = entry_table(load<u64>(pudp));
  while (addr != end) {
    const next = span_end(addr, end, PMD_SIZE);
    const pmdp = pmd_offset(pmdTable, addr);
    if (load<u64>(pmdp) != 0) free_pte_range(pmdp, addr);
    addr = next;
  }
  if (!upper_table_freeable(start, end, floor, ceiling, PUD_MASK)) return;
  store<u64>(pudp, 0);
  tlb_remove_table(table_frame(pmdTable), start);
  mm_dec_nr_pmds();
}

function free_pud_range(pgdp: usize, addr: u64, end: u64, floor: u64, ceiling: u64): void {
  const start = addr;
  const pudTable = entry_table(load<u64>(pgdp));
  while (addr != end) {
    const next = span_end(addr, end, PUD_SIZE);
    const pudp = pud_offset(pudTable, addr);
    if (load<u64>(pudp) != 0) free_pmd_range(pudp, addr, next, floor, ceiling);
    addr = next;
  }
  // The P4D level is folded at run time with 4-level paging: P4D_MASK equals PGDIR_MASK.
  if (!upper_table_freeable(start, end, floor, ceiling, PGDIR_MASK)) return;
  store<u64>(pgdp, 0);
  tlb_remove_table(table_frame(pudTable), start);
  mm_dec_nr_puds();
}

/** free_pgd_range: free the tables of [addr, end) that lie wholly within [floor, ceiling). */
export function free_pgd_range(addr: u64, end: u64, floor: u64, ceiling: u64): void {
  addr &= PMD_MASK;
  if (addr < floor) {
    addr += PMD_SIZE;
    if (addr == 0) return;
  }
  if (ceiling != 0) {
    ceiling &= PMD_MASK;
    if (ceiling == 0) return;
  }
  if (end - 1 > ceiling - 1) end -= PMD_SIZE;
  if (addr > end - 1) return;
  while (addr != end) {
    const next = span_end(addr, end, PGDIR_SIZE);
    const pgdp = pgd_offset(addr);
    if (load<u64>(pgdp) != 0) free_pud_range(pgdp, addr, next, floor, ceiling);
    addr = next;
  }
}
