// The TLB side of mmu_gather: the range a gather must invalidate (__tlb_adjust_range),
// how x86 flushes it (flush_tlb_mm_range, arch/x86/mm/tlb.c) and the shootdown IPIs.
//
// A flush is ranged when the range, counted in strides, stays within
// tlb_single_page_flush_ceiling (33); otherwise the whole TLB is flushed. The stride is
// PAGE_SIZE once a PTE was cleared, PMD_SIZE when only tables were freed
// (tlb_get_unmap_shift). Every other CPU that ran the mm gets one IPI per flush.

import { PAGE_SHIFT, PAGE_SIZE, PMD_SHIFT } from "./pgtable";
import { Stat, stat_inc, stat_add } from "./stats";
import { checker_tlb_flushed } from "./checker";

import { TLB_SINGLE_PAGE_FLUSH_CEILING } from "./generated/vocab";
export { TLB_SINGLE_PAGE_FLUSH_CEILING };

let cpus: u32 = 1;
let rangeStart: u64 = U64.MAX_VALUE;
let rangeEnd: u64 = 0;
let clearedPtes: bool = false;

export function set_cpus(n: u32): void {
  cpus = n < 1 ? 1 : n;
}
export function tlb_cpus(): u32 {
  return cpus;
}

/** tlb_remove_tlb_entry -> __tlb_adjust_range(addr, PAGE_SIZE), cleared_ptes. */
@inline export function tlb_adjust_range_pte(addr: u64): void {
  if (addr < rangeStart) rangeStart = addr;
  if (addr + PAGE_SIZE > rangeEnd) rangeEnd = addr + PAGE_SIZE;
  clearedPtes = true;
}

/** pte/pmd/pud_free_tlb -> tlb_flush_p?d_range(addr, PAGE_SIZE): a table went away. */
export function tlb_adjust_range_table(addr: u64): void {
  if (addr < rangeStart) rangeStart = addr;
  if (addr + PAGE_SIZE > rangeEnd) rangeEnd = addr + PAGE_SIZE;
}

/** tlb->end != 0: something to invalidate. */
@inline export function tlb_range_dirty(): bool {
  return rangeEnd != 0;
}

/** One shootdown of [start, end) with the given stride: ranged or full, plus IPIs. */
export function flush_tlb_mm_range(start: u64, end: u64, strideShift: u64): void {
  stat_inc(Stat.TlbFlushes);
  if ((end - start) >> strideShift > TLB_SINGLE_PAGE_FLUSH_CEILING) {
    stat_inc(Stat.TlbFlushFull);
  } else {
    stat_inc(Stat.TlbFlushRanged);
    // flush_tlb_func: one flush_tlb_one_user per stride from start up to end.
    stat_add(Stat.TlbFlushStrides, (end - start + (<u64>1 << strideShift) - 1) >> strideShift);
  }
  if (cpus > 1) stat_add(Stat.Ipis, cpus - 1);
  checker_tlb_flushed();
}

/** tlb_flush (asm-generic/tlb.h) of the gathered range; resets it (__tlb_reset_range). */
export function tlb_flush_gathered(): void {
  flush_tlb_mm_range(rangeStart, rangeEnd, clearedPtes ? PAGE_SHIFT : PMD_SHIFT);
  tlb_reset_range();
}

export function tlb_reset_range(): void {
  rangeStart = U64.MAX_VALUE;
  rangeEnd = 0;
  clearedPtes = false;
}
