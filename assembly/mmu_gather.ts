// mmu_gather: batched TLB invalidation and deferred freeing (mm/mmu_gather.c,
// include/asm-generic/tlb.h).
//
// The contract, in the kernel's order: first unhook a page or a table from the page
// tables, then invalidate the TLB, and only then free it. Pages are gathered into
// batches; when no batch is left, the caller must flush now (zap_pte_range sets
// force_flush and force_break). Page tables are gathered the same way and, with
// MMU_GATHER_RCU_TABLE_FREE (x86), freed only after an RCU grace period, because
// lockless walkers (GUP-fast) may still be reading them.
//
// Batch geometry for 4 KiB pages on 64-bit:
//   local bundle          MMU_GATHER_BUNDLE = 8 slots
//   one batch page        MAX_GATHER_BATCH = (4096 - 16 header bytes) / 8 = 510 slots
//   batch pages per mm    MAX_GATHER_BATCH_COUNT = 10000 / 510 = 19
// A batch counts as full one slot early, so that a "page + nr_pages" pair always fits.
// The TLB side (range, ranged/full flush, IPIs) is tlb.ts; table freeing after the flush
// (batches, RCU, the single-table fallback) is rcu.ts.

import { FRAME_PENDING, FRAME_PTE, frame_addr, frame_state, arena_free, set_frame_state } from "./arena";
import { Stat, stat_inc, stat_set } from "./stats";
import { tlb_adjust_range_pte, tlb_adjust_range_table, tlb_range_dirty, tlb_flush_gathered, tlb_reset_range } from "./tlb";
import {
  MAX_TABLE_BATCH, TABLE_FREE_SEMI_RCU, table_free_mode, call_rcu_tables, pgtable_pending_inc,
  tlb_remove_table_sync_one,
} from "./rcu";
import { nowait_alloc_fails } from "./strategy";
import { checker_on, checker_table_freed } from "./checker";
import { walk_pte_table_frame } from "./mm";

import { MMU_GATHER_BUNDLE, MAX_GATHER_BATCH, MAX_GATHER_BATCH_COUNT } from "./generated/vocab";
export { MMU_GATHER_BUNDLE, MAX_GATHER_BATCH, MAX_GATHER_BATCH_COUNT };

const NIL: u32 = 0xffffffff;

let activeBatch: u32 = 0; // 0 = the local bundle, k = the k-th batch page
let activeNr: u32 = 0;
let activeMax: u32 = MMU_GATHER_BUNDLE;
let batchCount: u32 = 0; // batch pages allocated by this gather
let delayedRmap: bool = false;
let tableBatchNr: u32 = 0; // tables in the current table batch page
let haveTableBatch: bool = false;
let pendingHead: u32 = NIL; // tables unhooked, waiting for flush + grace period
let pendingCount: u32 = 0;

/** tlb_gather_mmu: start a gather for one operation. */
export function tlb_gather_mmu(): void {
  activeBatch = 0;
  activeNr = 0;
  activeMax = MMU_GATHER_BUNDLE;
  batchCount = 0;
  delayedRmap = false;
  tableBatchNr = 0;
  haveTableBatch = false;
  tlb_reset_range();
}

/** tlb_next_batch: move to the next batch page; false when no more can be had. */
function tlb_next_batch(): bool {
  if (delayedRmap && activeBatch != 0) return false;
  if (activeBatch < batchCount) {
    activeBatch++;
  } else {
    if (batchCount == MAX_GATHER_BATCH_COUNT) return false;
    batchCount++;
    activeBatch = batchCount;
  }
  activeNr = 0;
  activeMax = MAX_GATHER_BATCH;
  return true;
}

/** tlb_remove_tlb_entry: the entry mapping addr was changed, so the range must be flushed. */
@inline export function tlb_remove_tlb_entry(addr: u64): void {
  tlb_adjust_range_pte(addr);
}

/**
 * __tlb_remove_folio_pages for one small folio: queue the page for freeing after the flush.
 * Returns true when the gather is full and the caller must flush before going on.
 */
@inline export function tlb_remove_page(delayRmap: bool): bool {
  stat_inc(Stat.PagesGathered);
  return tlb_gather_page(delayRmap);
}

/**
 * Pages that can be gathered before the active batch is full: a loop may gather that many
 * with tlb_gather_pages_bulk, then must call tlb_gather_page for the next one.
 */
@inline export function tlb_gather_room(): u32 {
  // Never negative (unsigned: it would wrap): callers ask only while the active batch has a
  // free slot; once tlb_gather_page has reported the gather full they flush first.
  assert(activeNr + 2 <= activeMax, "tlb_gather_room: the active batch is over-full");
  return activeMax - 1 - activeNr - 1;
}

/** Account `n` pages gathered in bulk, n <= tlb_gather_room() (no batch change needed). */
@inline export function tlb_gather_pages_bulk(n: u32): void {
  assert(n == 0 || n <= tlb_gather_room(), "tlb_gather_pages_bulk: more pages than the batch has room for");
  activeNr += n;
}

/** tlb_remove_page without the counter, for loops that count pages themselves. */
@inline export function tlb_gather_page(delayRmap: bool): bool {
  if (delayRmap) delayedRmap = true;
  activeNr++;
  if (activeNr >= activeMax - 1) return !tlb_next_batch();
  return false;
}

/** tlb_flush_mmu_tlbonly: invalidate the TLB for the gathered range, if any. */
export function tlb_flush_mmu_tlbonly(): void {
  if (!tlb_range_dirty()) return;
  tlb_flush_gathered();
}

/** tlb_table_flush: invalidate, then hand the current table batch to call_rcu. */
function tlb_table_flush(): void {
  if (!haveTableBatch) return;
  tlb_flush_mmu_tlbonly(); // tlb_table_invalidate
  call_rcu_tables(tableBatchNr);
  tableBatchNr = 0;
  haveTableBatch = false;
}

/** tlb_flush_mmu_free: free the gathered pages; batch pages are kept for reuse. */
function tlb_flush_mmu_free(): void {
  activeBatch = 0;
  activeNr = 0;
  activeMax = MMU_GATHER_BUNDLE;
  delayedRmap = false;
}

/** tlb_flush_mmu: flush, then free what the flush made safe to free (tables via RCU). */
export function tlb_flush_mmu(): void {
  tlb_flush_mmu_tlbonly();
  tlb_table_flush();
  tlb_flush_mmu_free();
}

/**
 * pte_free_tlb / pmd_free_tlb / pud_free_tlb -> tlb_remove_table: the table covering addr
 * is already unhooked; it stays allocated until the flush and the grace period are over.
 */
export function tlb_remove_table(frame: u32, addr: u64): void {
  if (checker_on()) check_unhooked(frame, addr);
  set_frame_state(frame, FRAME_PENDING);
  store<u32>(frame_addr(frame), pendingHead);
  pendingHead = frame;
  pendingCount++;
  tlb_adjust_range_table(addr);
  stat_inc(Stat.TablesGathered);
  stat_set(Stat.ArenaFramesPending, pendingCount);
  pgtable_pending_inc();
  if (!haveTableBatch) {
    if (nowait_alloc_fails()) {
      // tlb_remove_table_one: no batch page. Invalidate now, then free this table alone.
      stat_inc(Stat.TableFreeFallback);
      tlb_flush_mmu_tlbonly();
      if (table_free_mode() == TABLE_FREE_SEMI_RCU) tlb_remove_table_sync_one();
      else call_rcu_tables(1);
      return;
    }
    haveTableBatch = true;
    stat_inc(Stat.TableBatches);
  }
  if (++tableBatchNr == MAX_TABLE_BATCH) tlb_table_flush();
}

/** Checker: the table must be empty and no longer reachable from its upper entry. */
function check_unhooked(frame: u32, addr: u64): void {
  const state = frame_state(frame);
  const hooked = state == FRAME_PTE ? walk_pte_table_frame(addr) == frame : false;
  checker_table_freed(frame_addr(frame), state, addr, hooked);
}

/**
 * tlb_finish_mmu: final flush. The table batches go to RCU; the simulated grace period
 * ends with the operation, so their frames return to the arena here.
 */
export function tlb_finish_mmu(): void {
  tlb_flush_mmu();
  batchCount = 0;
  let frame = pendingHead;
  while (frame != NIL) {
    const next = load<u32>(frame_addr(frame));
    arena_free(frame);
    frame = next;
  }
  pendingHead = NIL;
  pendingCount = 0;
  stat_set(Stat.ArenaFramesPending, 0);
}
