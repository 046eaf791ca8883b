// The refcount design (RFC 2021-22, "mm: free user PTE page table pages"): every PTE table
// counts its non-none entries plus the walkers inside it (pte_try_get / pte_put); a fault
// takes a walker reference and one more per entry it installs, a zap drops one per entry
// it clears, and the table is freed by whoever drops the count to zero - from any zap.
//
// The count is not stored: it equals the table's non-none entries (walkers are never
// concurrent here), so the model evaluates "count == 0" directly when a zap finishes with
// a table. What the design pays is charged as atomics: two per fault (get and put around
// the walk) plus one per installed entry, one per cleared entry, two per zap walk.

import { entry_table, pmd_clear } from "./mm";
import { free_pte, pte_table_all_none } from "./pt_reclaim";
import { Stat, stat_inc, stat_add } from "./stats";

/** Charge a fault walk: `faults` pages faulted, `installed` of them into none entries. */
export function pte_refcount_charge_faults(faults: u64, installed: u64): void {
  stat_add(Stat.RefcountAtomics, 2 * faults + installed);
}

/**
 * A zap walk of one table ended after clearing `cleared` entries: pte_put for each and
 * for the walker. When the count reached zero the table is unhooked and freed.
 */
export function pte_refcount_zap_done(pmdp: usize, addr: u64, cleared: u64): void {
  stat_add(Stat.RefcountAtomics, 2 + cleared);
  const pmdval = load<u64>(pmdp);
  if (pmdval == 0) return;
  if (!pte_table_all_none(entry_table(pmdval))) return;
  stat_inc(Stat.PmdLocks); // free_pte_table: clear the PMD under its lock
  pmd_clear(pmdp);
  free_pte(pmdval, addr);
  stat_inc(Stat.ReclaimRefcount);
}

/**
 * mremap's move_ptes moved `moved` entries out of the table under pmdp: pte_put for each on
 * the source, a reference for each installed in the destination, a walker get and put on
 * both. The source table is freed when its count reached zero, as after a zap. Whole-table
 * moves (move_normal_pmd/pud) carry their counts with the table: no atomics.
 */
export function pte_refcount_move_done(pmdp: usize, addr: u64, moved: u64): void {
  stat_add(Stat.RefcountAtomics, 2);
  pte_refcount_zap_done(pmdp, addr, 2 * moved);
}
