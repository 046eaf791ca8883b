/**
 * mmu_gather of the reference core (assembly/mmu_gather.ts; mm/mmu_gather.c,
 * include/asm-generic/tlb.h). The contract, in the kernel's order: unhook a page or a table,
 * invalidate the TLB, only then free it. Pages are gathered into batches; when no batch is
 * left the caller must flush now (zap_pte_range sets force_flush and force_break). Tables
 * are gathered into table batches freed after an RCU grace period.
 */
import { FRAME_PENDING, arena_free } from './arena.js';
import type { RefMm } from './mm.js';
import { call_rcu_tables, pgtable_pending_inc } from './rcu.js';
import { S, stat_inc, stat_set } from './stats.js';
import { tlb_adjust_range_pte, tlb_adjust_range_table, tlb_flush_gathered, tlb_range_dirty, tlb_reset_range } from './tlb.js';

// Batch geometry: shared with assembly/ (schema/vocab.js), not retyped.
import { MMU_GATHER_BUNDLE, MAX_GATHER_BATCH, MAX_GATHER_BATCH_COUNT, MAX_TABLE_BATCH } from '../types.js';
export { MMU_GATHER_BUNDLE, MAX_GATHER_BATCH, MAX_GATHER_BATCH_COUNT, MAX_TABLE_BATCH };

/** struct mmu_gather: the page batches, the table batch, the range to flush. */
export class MmuGather {
  /** 0 = the local bundle, k = the k-th batch page. */
  activeBatch = 0;
  activeNr = 0;
  activeMax = MMU_GATHER_BUNDLE;
  /** Batch pages allocated by this gather. */
  batchCount = 0;
  delayedRmap = false;
  /** Tables in the current table batch page. */
  tableBatchNr = 0;
  haveTableBatch = false;
  /** Tables unhooked, waiting for flush + grace period (freed to the arena at tlb_finish_mmu). */
  pending: number[] = [];
  // __tlb_adjust_range: the range to invalidate (tlb.ts).
  rangeStart = Infinity;
  rangeEnd = 0;
  clearedPtes = false;
}

/** tlb_gather_mmu: start a gather for one operation. */
export function tlb_gather_mmu(tlb: MmuGather): void {
  tlb.activeBatch = 0;
  tlb.activeNr = 0;
  tlb.activeMax = MMU_GATHER_BUNDLE;
  tlb.batchCount = 0;
  tlb.delayedRmap = false;
  tlb.tableBatchNr = 0;
  tlb.haveTableBatch = false;
  tlb_reset_range(tlb);
}

/** tlb_next_batch: move to the next batch page; false when no more can be had. */
function tlb_next_batch(tlb: MmuGather): boolean {
  if (tlb.delayedRmap && tlb.activeBatch !== 0) return false;
  if (tlb.activeBatch < tlb.batchCount) tlb.activeBatch++;
  else {
    if (tlb.batchCount === MAX_GATHER_BATCH_COUNT) return false;
    tlb.batchCount++;
    tlb.activeBatch = tlb.batchCount;
  }
  tlb.activeNr = 0;
  tlb.activeMax = MAX_GATHER_BATCH;
  return true;
}

/** tlb_remove_tlb_entry: the entry mapping addr was changed, so the range must be flushed. */
export function tlb_remove_tlb_entry(tlb: MmuGather, addr: number): void {
  tlb_adjust_range_pte(tlb, addr);
}

/**
 * __tlb_remove_folio_pages for one small folio: queue the page for freeing after the flush.
 * True when the gather is full and the caller must flush before going on.
 */
export function tlb_remove_page(mm: RefMm, delayRmap: boolean): boolean {
  stat_inc(mm.s, S.PagesGathered);
  return tlb_gather_page(mm.tlb, delayRmap);
}

/** tlb_remove_page without the counter, for loops that count pages themselves. */
export function tlb_gather_page(tlb: MmuGather, delayRmap: boolean): boolean {
  if (delayRmap) tlb.delayedRmap = true;
  tlb.activeNr++;
  if (tlb.activeNr >= tlb.activeMax - 1) return !tlb_next_batch(tlb);
  return false;
}

/**
 * Pages tlb_gather_page can take before one fills the active batch: a loop may gather that
 * many with tlb_gather_pages_bulk, then must call tlb_gather_page for the next one. A batch
 * counts as full one slot early, hence the 2. Never negative: a caller asks only while the
 * active batch has a free slot (after tlb_gather_page reported the gather full it flushes
 * first), as assembly/mmu_gather.ts asserts in its debug build.
 */
export function tlb_gather_room(tlb: MmuGather): number {
  const room = tlb.activeMax - 2 - tlb.activeNr;
  if (room < 0) throw new Error(`ptreclaim internal error: tlb_gather_room: batch over-full (${tlb.activeNr} of ${tlb.activeMax})`);
  return room;
}

/** Account `n` pages gathered in bulk, n <= tlb_gather_room() (no batch change needed). */
export function tlb_gather_pages_bulk(tlb: MmuGather, n: number): void {
  if (n !== 0 && n > tlb_gather_room(tlb)) {
    throw new Error(`ptreclaim internal error: tlb_gather_pages_bulk: ${n} pages, room for ${tlb_gather_room(tlb)}`);
  }
  tlb.activeNr += n;
}

/** tlb_flush_mmu_tlbonly: invalidate the TLB for the gathered range, if any. */
export function tlb_flush_mmu_tlbonly(mm: RefMm): void {
  if (!tlb_range_dirty(mm.tlb)) return;
  tlb_flush_gathered(mm);
}

/** tlb_table_flush: invalidate, then hand the current table batch to call_rcu. */
function tlb_table_flush(mm: RefMm): void {
  const tlb = mm.tlb;
  if (!tlb.haveTableBatch) return;
  tlb_flush_mmu_tlbonly(mm); // tlb_table_invalidate
  call_rcu_tables(mm, tlb.tableBatchNr);
  tlb.tableBatchNr = 0;
  tlb.haveTableBatch = false;
}

/** tlb_flush_mmu_free: free the gathered pages; batch pages are kept for reuse. */
function tlb_flush_mmu_free(tlb: MmuGather): void {
  tlb.activeBatch = 0;
  tlb.activeNr = 0;
  tlb.activeMax = MMU_GATHER_BUNDLE;
  tlb.delayedRmap = false;
}

/** tlb_flush_mmu: flush, then free what the flush made safe to free (tables via RCU). */
export function tlb_flush_mmu(mm: RefMm): void {
  tlb_flush_mmu_tlbonly(mm);
  tlb_table_flush(mm);
  tlb_flush_mmu_free(mm.tlb);
}

/**
 * pte_free_tlb / pmd_free_tlb / pud_free_tlb -> tlb_remove_table: the table covering addr
 * is already unhooked; it stays allocated until the flush and the grace period are over.
 */
export function tlb_remove_table(mm: RefMm, frame: number, addr: number): void {
  const tlb = mm.tlb;
  mm.state[frame] = FRAME_PENDING;
  tlb.pending.push(frame);
  tlb_adjust_range_table(tlb, addr);
  stat_inc(mm.s, S.TablesGathered);
  stat_set(mm.s, S.ArenaFramesPending, tlb.pending.length);
  pgtable_pending_inc(mm);
  if (!tlb.haveTableBatch) {
    tlb.haveTableBatch = true;
    stat_inc(mm.s, S.TableBatches);
  }
  if (++tlb.tableBatchNr === MAX_TABLE_BATCH) tlb_table_flush(mm);
}

/**
 * tlb_finish_mmu: final flush. The table batches go to RCU; the simulated grace period
 * ends with the operation, so their frames return to the arena here.
 */
export function tlb_finish_mmu(mm: RefMm): void {
  const tlb = mm.tlb;
  tlb_flush_mmu(mm);
  tlb.batchCount = 0;
  for (let i = tlb.pending.length - 1; i >= 0; i--) arena_free(mm, mm.s, tlb.pending[i]!);
  tlb.pending.length = 0;
  stat_set(mm.s, S.ArenaFramesPending, 0);
}
