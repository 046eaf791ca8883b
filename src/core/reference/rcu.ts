/**
 * Deferred table freeing in the reference core (assembly/rcu.ts): table batches handed to
 * call_rcu free their tables when a simulated grace period ends; until then they count as
 * pending (PgtablesPending), which the "real" page-table peak includes.
 */
import type { RefMm } from './mm.js';
import { S, stat_add, stat_get, stat_inc, stat_set } from './stats.js';

export class Rcu {
  /** Length of a grace period, in simulated ns. */
  gpNs = 4e6;
  nowNs = 0;
  /** Callbacks in epoch order, those of one epoch merged. */
  queue: { epoch: number; tables: number }[] = [];
}

export function rcu_reset(rcu: Rcu): void {
  rcu.nowNs = 0;
  rcu.queue = [];
}

/** A table left the page tables: count it as pending until it is freed. */
export function pgtable_pending_inc(mm: RefMm): void {
  stat_inc(mm.s, S.PgtablesPending);
  if (stat_get(mm.s, S.PgtablesPending) > stat_get(mm.s, S.PgtablesPendingPeak)) {
    stat_set(mm.s, S.PgtablesPendingPeak, stat_get(mm.s, S.PgtablesPending));
  }
  note_real_peak(mm);
}

export function pgtable_pending_sub(mm: RefMm, n: number): void {
  stat_add(mm.s, S.PgtablesPending, -n);
}

/** Live tables + tables waiting to be freed: what page tables really occupy. */
export function note_real_peak(mm: RefMm): void {
  const s = mm.s;
  const real = stat_get(s, S.NrPte) + stat_get(s, S.NrPmd) + stat_get(s, S.NrPud) + stat_get(s, S.PgtablesPending);
  if (real > stat_get(s, S.PgtablesRealPeak)) stat_set(s, S.PgtablesRealPeak, real);
}

/** call_rcu for a callback that frees `tables` tables. */
export function call_rcu_tables(mm: RefMm, tables: number): void {
  stat_inc(mm.s, S.RcuCallbacks);
  const rcu = mm.rcu;
  const epoch = Math.floor(rcu.nowNs / rcu.gpNs) + 1;
  const last = rcu.queue[rcu.queue.length - 1];
  if (last?.epoch === epoch) last.tables += tables;
  else rcu.queue.push({ epoch, tables });
}

function complete_oldest(mm: RefMm): void {
  pgtable_pending_sub(mm, mm.rcu.queue.shift()!.tables);
  stat_inc(mm.s, S.GracePeriods);
}

/** Advance simulated time: every epoch that ended invokes its callbacks. */
export function rcu_set_now(mm: RefMm, ns: number): void {
  const rcu = mm.rcu;
  if (ns > rcu.nowNs) rcu.nowNs = ns;
  const current = Math.floor(rcu.nowNs / rcu.gpNs);
  while (rcu.queue.length && rcu.queue[0]!.epoch < current) complete_oldest(mm);
}

/** rcu_barrier: wait for every queued callback (exit). */
export function rcu_barrier(mm: RefMm): void {
  while (mm.rcu.queue.length) complete_oldest(mm);
}
