/**
 * The TLB side of mmu_gather in the reference core (assembly/tlb.ts): the range a gather
 * must invalidate (__tlb_adjust_range), how x86 flushes it (flush_tlb_mm_range) and the
 * shootdown IPIs. A flush is ranged when the range, counted in strides, stays within
 * tlb_single_page_flush_ceiling; the stride is PAGE_SIZE once a PTE was cleared, else PMD_SIZE.
 */
import type { MmuGather } from './mmu_gather.js';
import type { RefMm } from './mm.js';
import { S, stat_add, stat_inc } from './stats.js';

const PAGE_SIZE = 4096;
const PMD_SIZE = 2 ** 21;
// x86's tlb_single_page_flush_ceiling: shared with assembly/ (schema/vocab.js), not retyped.
import { TLB_SINGLE_PAGE_FLUSH_CEILING } from '../types.js';
export { TLB_SINGLE_PAGE_FLUSH_CEILING };

/** tlb_remove_tlb_entry -> __tlb_adjust_range(addr, PAGE_SIZE), cleared_ptes. */
export function tlb_adjust_range_pte(tlb: MmuGather, addr: number): void {
  if (addr < tlb.rangeStart) tlb.rangeStart = addr;
  if (addr + PAGE_SIZE > tlb.rangeEnd) tlb.rangeEnd = addr + PAGE_SIZE;
  tlb.clearedPtes = true;
}

/** pte/pmd/pud_free_tlb -> tlb_flush_p?d_range(addr, PAGE_SIZE): a table went away. */
export function tlb_adjust_range_table(tlb: MmuGather, addr: number): void {
  if (addr < tlb.rangeStart) tlb.rangeStart = addr;
  if (addr + PAGE_SIZE > tlb.rangeEnd) tlb.rangeEnd = addr + PAGE_SIZE;
}

/** tlb->end != 0: something to invalidate. */
export function tlb_range_dirty(tlb: MmuGather): boolean {
  return tlb.rangeEnd !== 0;
}

/** One shootdown of [start, end) with the given stride: ranged or full, plus IPIs. */
export function flush_tlb_mm_range(mm: RefMm, start: number, end: number, stride: number): void {
  stat_inc(mm.s, S.TlbFlushes);
  // x86 shifts the range by the stride (a whole number of strides), so 33 PMDs and a page is ranged.
  const full = Math.floor((end - start) / stride) > TLB_SINGLE_PAGE_FLUSH_CEILING;
  stat_inc(mm.s, full ? S.TlbFlushFull : S.TlbFlushRanged);
  // flush_tlb_func: one flush_tlb_one_user per stride from start up to end.
  if (!full) stat_add(mm.s, S.TlbFlushStrides, Math.ceil((end - start) / stride));
  if (mm.cpus > 1) stat_add(mm.s, S.Ipis, mm.cpus - 1);
}

/** tlb_flush (asm-generic/tlb.h) of the gathered range; resets it (__tlb_reset_range). */
export function tlb_flush_gathered(mm: RefMm): void {
  const tlb = mm.tlb;
  flush_tlb_mm_range(mm, tlb.rangeStart, tlb.rangeEnd, tlb.clearedPtes ? PAGE_SIZE : PMD_SIZE);
  tlb_reset_range(tlb);
}

export function tlb_reset_range(tlb: MmuGather): void {
  tlb.rangeStart = Infinity;
  tlb.rangeEnd = 0;
  tlb.clearedPtes = false;
}
