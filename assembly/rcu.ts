// Freeing page tables after the TLB flush (mm/mmu_gather.c, MMU_GATHER_RCU_TABLE_FREE):
//
//   tlb_remove_table  tables collect in one batch page (MAX_TABLE_BATCH per page); a full
//                     batch, and the last one at tlb_finish_mmu, is invalidated (TLB flush)
//                     and handed to call_rcu: one callback frees the whole batch after a
//                     grace period, since lockless walkers (GUP-fast) may still read them.
//   fallback          no batch page (GFP_NOWAIT failed, --nowait-fail): the table is freed
//                     alone (tlb_remove_table_one) either by semi-RCU - an IPI to every other
//                     CPU, then freed at once - or by call_rcu (the series' patch 6/7 on x86).
//   pte_free_defer    the async scanner frees each table by its own call_rcu.
//
// Simulated time comes from the driver (rcu_set_now). Grace periods are epochs of gpNs:
// a callback queued during epoch k is invoked when epoch k+1 ends. Only epochs that end
// with callbacks count as grace periods. Memory accounting: a table unhooked from the
// page tables stays "pending" (real memory, no longer in VmPTE) until it is really freed.

import { Stat, stat_inc, stat_add, stat_get, stat_set } from "./stats";
import { tlb_cpus } from "./tlb";

/** MAX_TABLE_BATCH = (PAGE_SIZE - sizeof(struct mmu_table_batch)) / sizeof(void *): 24-byte header. */
import { TABLE_FREE_SEMI_RCU, TABLE_FREE_RCU, MAX_TABLE_BATCH } from "./generated/vocab";
export { TABLE_FREE_SEMI_RCU, TABLE_FREE_RCU, MAX_TABLE_BATCH };

let tableFreeMode: u32 = TABLE_FREE_RCU;
let gpNs: u64 = 4000000;
let nowNs: u64 = 0;

// Callbacks waiting, grouped by the epoch whose end invokes them (a FIFO: epochs only grow).
const RING: i32 = 256;
const ringEpoch = memory.data(RING * 8, 8);
const ringTables = memory.data(RING * 8, 8);
let ringHead: i32 = 0;
let ringLen: i32 = 0;

export function rcu_configure(mode: u32, gracePeriodNs: u64): void {
  tableFreeMode = mode;
  gpNs = gracePeriodNs == 0 ? 1 : gracePeriodNs;
}

export function rcu_reset(): void {
  nowNs = 0;
  ringHead = 0;
  ringLen = 0;
}

@inline export function table_free_mode(): u32 {
  return tableFreeMode;
}

/** A table left the page tables: count it as pending until it is freed. */
export function pgtable_pending_inc(): void {
  const pending = stat_get(Stat.PgtablesPending) + 1;
  stat_set(Stat.PgtablesPending, pending);
  if (pending > stat_get(Stat.PgtablesPendingPeak)) stat_set(Stat.PgtablesPendingPeak, pending);
  note_real_peak();
}

export function pgtable_pending_sub(n: u64): void {
  stat_set(Stat.PgtablesPending, stat_get(Stat.PgtablesPending) - n);
}

/** Live tables + tables waiting to be freed: what page tables really occupy. */
export function note_real_peak(): void {
  const real = stat_get(Stat.NrPte) + stat_get(Stat.NrPmd) + stat_get(Stat.NrPud) + stat_get(Stat.PgtablesPending);
  if (real > stat_get(Stat.PgtablesRealPeak)) stat_set(Stat.PgtablesRealPeak, real);
}

/** call_rcu for a callback that frees `tables` tables. */
export function call_rcu_tables(tables: u32): void {
  stat_inc(Stat.RcuCallbacks);
  const epoch = nowNs / gpNs + 1;
  if (ringLen > 0) {
    const last = (ringHead + ringLen - 1) % RING;
    if (load<u64>(ringEpoch + (<usize>last << 3)) == epoch) {
      const p = ringTables + (<usize>last << 3);
      store<u64>(p, load<u64>(p) + tables);
      return;
    }
  }
  if (ringLen == RING) complete_oldest(); // cannot happen with a forward clock; stay bounded
  const slot = (ringHead + ringLen) % RING;
  store<u64>(ringEpoch + (<usize>slot << 3), epoch);
  store<u64>(ringTables + (<usize>slot << 3), tables);
  ringLen++;
}

function complete_oldest(): void {
  pgtable_pending_sub(load<u64>(ringTables + (<usize>ringHead << 3)));
  stat_inc(Stat.GracePeriods);
  ringHead = (ringHead + 1) % RING;
  ringLen--;
}

/** Advance simulated time: every epoch that ended invokes its callbacks. */
export function rcu_set_now(ns: u64): void {
  if (ns > nowNs) nowNs = ns;
  const current = nowNs / gpNs;
  while (ringLen > 0 && load<u64>(ringEpoch + (<usize>ringHead << 3)) < current) complete_oldest();
}

/** Epochs with callbacks still waiting: rcu_set_now changed a counter iff it lowered this. */
@inline export function rcu_epochs_queued(): i32 {
  return ringLen;
}

/** rcu_barrier: wait for every queued callback (exit). */
export function rcu_barrier(): void {
  while (ringLen > 0) complete_oldest();
}

/** tlb_remove_table_one with semi-RCU: IPI every other CPU, then free at once. */
export function tlb_remove_table_sync_one(): void {
  const cpus = tlb_cpus();
  if (cpus > 1) stat_add(Stat.Ipis, cpus - 1);
  pgtable_pending_sub(1);
}
