/**
 * PT_RECLAIM in the reference core (assembly/pt_reclaim.ts): freeing the PTE table that
 * MADV_DONTNEED just emptied. Upstream now has this in mm/memory.c:
 * reclaim_pt_is_enabled is pte_table_reclaim_possible, the fast path
 * (try_get_and_clear_pmd + free_pte) is zap_empty_pte_table, the slow path
 * (try_to_free_pte) is zap_pte_table_if_empty.
 */
import { PATH_MODES, ZAP_RECLAIM_PT } from '../types.js';
import { type RefMm, entry_frame, mm_dec_nr_ptes, pmd_clear } from './mm.js';
import { tlb_remove_table } from './mmu_gather.js';
import { S, stat_add, stat_inc } from './stats.js';

const PMD_SIZE = 2 ** 21;

/** reclaim_pt_is_enabled: asked for, and this call covers a whole PMD span. */
export function reclaim_pt_is_enabled(start: number, end: number, flags: number): boolean {
  return (flags & ZAP_RECLAIM_PT) !== 0 && end - start >= PMD_SIZE;
}

/** spin_trylock(pmd_lockptr()): fails only with --path slow (the reference has no --trylock-fail). */
function pmd_trylock(mm: RefMm): boolean {
  if (mm.path === PATH_MODES.slow) {
    stat_inc(mm.s, S.PmdTrylockFail);
    return false;
  }
  stat_inc(mm.s, S.PmdTrylockOk);
  return true;
}

/**
 * try_get_and_clear_pmd: with the PTE lock held, try the PMD lock; on success read and
 * clear PMD entry i. Returns the frame of the table it pointed to, or -1 when the trylock failed.
 */
export function try_get_and_clear_pmd(mm: RefMm, pmdTable: Uint32Array, i: number): number {
  if (!pmd_trylock(mm)) return -1;
  const frame = entry_frame(pmdTable, i);
  pmd_clear(pmdTable, i);
  return frame;
}

/** free_pte: hand the unhooked table to mmu_gather and drop it from VmPTE. */
export function free_pte(mm: RefMm, frame: number, addr: number): void {
  tlb_remove_table(mm, frame, addr);
  mm_dec_nr_ptes(mm);
}

/**
 * True when all 512 entries of table t are none: the slow path's full scan, OR-reducing
 * four words a step with no early exit. Tuned: the `scan` row of `bench kernels --impl ts`.
 */
export function pte_table_all_none(t: Uint32Array): boolean {
  let acc = 0;
  for (let w = 0; w < 1024; w += 4) acc |= t[w]! | t[w + 1]! | t[w + 2]! | t[w + 3]!;
  return acc === 0;
}

/** Entries a scan for emptiness reads before it can stop (the first non-none one, or all). */
export function scan_length(t: Uint32Array): number {
  for (let i = 0; i < 512; i++) if (t[2 * i] !== 0 || t[2 * i + 1] !== 0) return i + 1;
  return 512;
}

/**
 * try_to_free_pte (mainline order): PMD lock first, then map the table and take its PTE
 * lock nested, check all 512 entries are none, clear the PMD, free. Returns true if freed.
 */
export function try_to_free_pte(mm: RefMm, pmdTable: Uint32Array, i: number, addr: number): boolean {
  stat_inc(mm.s, S.PmdLocks);
  const frame = entry_frame(pmdTable, i);
  if (frame < 0) {
    stat_inc(mm.s, S.ReclaimSlowFailed);
    return false;
  }
  stat_inc(mm.s, S.PtlLocks); // nested PTE lock (split PTE locks: a different lock)
  return free_pte_if_empty(mm, pmdTable, i, frame, addr);
}

/** With the PMD and PTE locks held: if all 512 entries are none, clear the PMD and free the table. */
export function free_pte_if_empty(mm: RefMm, pmdTable: Uint32Array, i: number, frame: number, addr: number): boolean {
  const t = mm.frames[frame]!;
  if (!pte_table_all_none(t)) {
    stat_add(mm.s, S.EntriesReadScan, scan_length(t));
    stat_inc(mm.s, S.ReclaimSlowFailed);
    return false;
  }
  stat_add(mm.s, S.EntriesReadScan, 512);
  pmd_clear(pmdTable, i);
  free_pte(mm, frame, addr);
  stat_inc(mm.s, S.ReclaimSlow);
  return true;
}
