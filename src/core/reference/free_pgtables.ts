/**
 * free_pgd_range -> free_pud_range -> free_pmd_range -> free_pte_range in the reference
 * core (assembly/free_pgtables.ts; mm/memory.c): after munmap or exit zapped a range, free
 * the tables no VMA needs any more. floor is the end of the previous VMA, ceiling the start
 * of the next one (0 = no ceiling); a table is freed only if its whole span lies within.
 * The kernel's unsigned 64-bit arithmetic is written out where it can wrap.
 */
import { type RefMm, entry_frame, mm_dec_nr_pmds, mm_dec_nr_puds, pmd_clear } from './mm.js';
import { tlb_remove_table } from './mmu_gather.js';
import { PGDIR_SIZE, PMD_SIZE, PUD_SIZE, pgd_index, pmd_index, pte_clear, pud_index, span_end } from './pgtable.js';
import { free_pte } from './pt_reclaim.js';

/** free_pte_range: unhook and free the PTE table under PMD entry i. */
function free_pte_range(mm: RefMm, pmdTable: Uint32Array, i: number, frame: number, addr: number): void {
  pmd_clear(pmdTable, i);
  free_pte(mm, frame, addr);
}

/** True when the upper-level table of `size` spanning `start` may be freed. */
function upper_table_freeable(start: number, end: number, floor: number, ceiling: number, size: number): boolean {
  start = Math.floor(start / size) * size;
  if (start < floor) return false;
  if (ceiling !== 0) {
    ceiling = Math.floor(ceiling / size) * size;
    if (ceiling === 0) return false;
  }
  // end - 1 > ceiling - 1 in unsigned arithmetic; ceiling 0 stands for 2^64.
  return !(ceiling !== 0 && end - 1 > ceiling - 1);
}

function free_pmd_range(
  mm: RefMm,
  pud: Uint32Array,
  ui: number,
  pmdF: number,
  addr: number,
  end: number,
  floor: number,
  ceiling: number,
): void {
  const start = addr;
  const pmd = mm.frames[pmdF]!;
  for (let c = addr; c !== end;) {
    const next = span_end(c, end, PMD_SIZE);
    const mi = pmd_index(c);
    const pteF = entry_frame(pmd, mi);
    if (pteF >= 0) free_pte_range(mm, pmd, mi, pteF, c);
    c = next;
  }
  if (!upper_table_freeable(start, end, floor, ceiling, PUD_SIZE)) return;
  pte_clear(pud, ui); // pud_clear
  tlb_remove_table(mm, pmdF, start);
  mm_dec_nr_pmds(mm);
}

function free_pud_range(
  mm: RefMm,
  pgd: Uint32Array,
  gi: number,
  pudF: number,
  addr: number,
  end: number,
  floor: number,
  ceiling: number,
): void {
  const start = addr;
  const pud = mm.frames[pudF]!;
  for (let b = addr; b !== end;) {
    const next = span_end(b, end, PUD_SIZE);
    const ui = pud_index(b);
    const pmdF = entry_frame(pud, ui);
    if (pmdF >= 0) free_pmd_range(mm, pud, ui, pmdF, b, next, floor, ceiling);
    b = next;
  }
  // The P4D level is folded at run time with 4-level paging: P4D_MASK equals PGDIR_MASK.
  if (!upper_table_freeable(start, end, floor, ceiling, PGDIR_SIZE)) return;
  pte_clear(pgd, gi); // pgd_clear
  tlb_remove_table(mm, pudF, start);
  mm_dec_nr_puds(mm);
}

/** free_pgd_range: free the tables of [addr, end) that lie wholly within [floor, ceiling). */
export function free_pgd_range(mm: RefMm, addr: number, end: number, floor: number, ceiling: number): void {
  addr = Math.floor(addr / PMD_SIZE) * PMD_SIZE;
  if (addr < floor) addr += PMD_SIZE;
  if (ceiling !== 0) {
    ceiling = Math.floor(ceiling / PMD_SIZE) * PMD_SIZE;
    if (ceiling === 0) return;
  }
  if (ceiling !== 0 && end - 1 > ceiling - 1) end -= PMD_SIZE;
  if (addr > end - 1) return;
  const pgd = mm.frames[mm.pgd]!;
  for (let a = addr; a !== end;) {
    const next = span_end(a, end, PGDIR_SIZE);
    const gi = pgd_index(a);
    const pudF = entry_frame(pgd, gi);
    if (pudF >= 0) free_pud_range(mm, pgd, gi, pudF, a, next, floor, ceiling);
    a = next;
  }
}
