/**
 * mremap's page-table move in the reference core (assembly/mremap.ts; mm/mremap.c):
 * move_page_tables takes per step the largest entry it can move whole (move_normal_pud: a
 * PMD table for 1 GiB, move_normal_pmd: a PTE table for 2 MiB, each only into a none
 * destination entry), else moves entries one by one (move_ptes) into a destination table
 * allocated as needed. Destination PUD and PMD tables are allocated for every step whose
 * source has a table at that level. The reference models none and pt-reclaim only: no
 * refcount bookkeeping here.
 */
import { __split_huge_pmd, note_folio_pte_moved, pmd_trans_huge } from './huge_memory.js';
import { FRAME_PMD, FRAME_PTE, FRAME_PUD, arena_available } from './arena.js';
import { type RefMm, count_missing_tables, entry_frame, pmd_clear, table_alloc_populate } from './mm.js';
import { PAGE_SIZE, PMD_SIZE, PUD_SIZE, _PAGE_PRESENT, pgd_index, pmd_index, pte_index, pud_index } from './pgtable.js';
import { S, stat_add, stat_inc } from './stats.js';
import { flush_tlb_mm_range } from './tlb.js';
import { CORE_ARENA_FULL, CORE_OK } from '../types.js';

/** get_extent: bytes this step may cover at a level of `size` (next boundary of either end, or the end). */
function get_extent(size: number, oldAddr: number, oldEnd: number, newAddr: number): number {
  const extent = Math.min((Math.floor(oldAddr / size) + 1) * size - oldAddr, oldEnd - oldAddr);
  return Math.min(extent, (Math.floor(newAddr / size) + 1) * size - newAddr);
}

/** get_old_pud: frame of the PMD table the source PUD entry for addr points to, or -1. */
function get_old_pud(mm: RefMm, addr: number): number {
  const pud = entry_frame(mm.frames[mm.pgd]!, pgd_index(addr));
  return pud < 0 ? -1 : entry_frame(mm.frames[pud]!, pud_index(addr));
}

/** get_old_pmd: frame of the PTE table the source PMD entry for addr points to, or -1. */
function get_old_pmd(mm: RefMm, addr: number): number {
  const pmd = get_old_pud(mm, addr);
  return pmd < 0 ? -1 : entry_frame(mm.frames[pmd]!, pmd_index(addr));
}

/** alloc_new_pud: frame of the destination PUD table for addr, allocated if missing. */
function alloc_new_pud(mm: RefMm, addr: number): number {
  const pgd = mm.frames[mm.pgd]!;
  const pud = entry_frame(pgd, pgd_index(addr));
  return pud >= 0 ? pud : table_alloc_populate(mm, pgd, pgd_index(addr), FRAME_PUD);
}

/** alloc_new_pmd: frame of the destination PMD table for addr, PUD and PMD allocated if missing. */
function alloc_new_pmd(mm: RefMm, addr: number): number {
  const pudTable = mm.frames[alloc_new_pud(mm, addr)]!;
  const pmd = entry_frame(pudTable, pud_index(addr));
  return pmd >= 0 ? pmd : table_alloc_populate(mm, pudTable, pud_index(addr), FRAME_PMD);
}

/** Copy entry i of `from` into entry j of `to` and clear it in `from`. */
function move_entry(from: Uint32Array, i: number, to: Uint32Array, j: number): void {
  to[2 * j] = from[2 * i]!;
  to[2 * j + 1] = from[2 * i + 1]!;
  from[2 * i] = 0;
  from[2 * i + 1] = 0;
}

/** move_normal_pud: the whole PMD table moves to the empty destination PUD entry; false if taken. */
function move_normal_pud(mm: RefMm, oldPud: Uint32Array, newPud: Uint32Array, oldAddr: number, newAddr: number): boolean {
  if (entry_frame(newPud, pud_index(newAddr)) >= 0) return false;
  stat_inc(mm.s, S.PmdLocks); // pud_lock: mm->page_table_lock, one lock for both ends
  move_entry(oldPud, pud_index(oldAddr), newPud, pud_index(newAddr));
  flush_tlb_mm_range(mm, oldAddr, oldAddr + PUD_SIZE, PAGE_SIZE);
  stat_inc(mm.s, S.MremapPudMoves);
  return true;
}

/** move_normal_pmd: the whole PTE table moves to the empty destination PMD entry; false if taken. */
function move_normal_pmd(mm: RefMm, oldPmdF: number, newPmdF: number, oldAddr: number, newAddr: number): boolean {
  const newPmd = mm.frames[newPmdF]!;
  if (entry_frame(newPmd, pmd_index(newAddr)) >= 0) return false;
  stat_add(mm.s, S.PmdLocks, oldPmdF !== newPmdF ? 2 : 1); // split PMD locks: one per PMD table
  const oldPmd = mm.frames[oldPmdF]!;
  const i = pmd_index(oldAddr);
  const j = pmd_index(newAddr);
  newPmd[2 * j] = oldPmd[2 * i]!;
  newPmd[2 * j + 1] = oldPmd[2 * i + 1]!;
  pmd_clear(oldPmd, i);
  flush_tlb_mm_range(mm, oldAddr, oldAddr + PMD_SIZE, PAGE_SIZE);
  stat_inc(mm.s, S.MremapPmdMoves);
  return true;
}

/** move_ptes: entries of [oldAddr, oldAddr + extent) to the same offsets at newAddr; returns how many moved. */
function move_ptes(mm: RefMm, oldPteF: number, newPteF: number, oldAddr: number, newAddr: number, extent: number): number {
  stat_add(mm.s, S.PtlLocks, oldPteF !== newPteF ? 2 : 1);
  const from = mm.frames[oldPteF]!;
  const to = mm.frames[newPteF]!;
  const i0 = pte_index(oldAddr);
  const j0 = pte_index(newAddr);
  const n = extent / PAGE_SIZE;
  let moved = 0;
  let present = false;
  for (let k = 0; k < n; k++) {
    const i = i0 + k;
    const lo = from[2 * i]!;
    if (lo === 0 && from[2 * i + 1] === 0) continue;
    if ((lo & _PAGE_PRESENT) !== 0) present = true;
    note_folio_pte_moved(mm, lo, from[2 * i + 1]!);
    move_entry(from, i, to, j0 + k);
    moved++;
  }
  stat_add(mm.s, S.MremapPtesMoved, moved);
  if (present) flush_tlb_mm_range(mm, oldAddr, oldAddr + extent, PAGE_SIZE);
  return moved;
}

/**
 * move_page_tables: move the tables of [oldAddr, oldEnd) to newAddr (both starts possibly
 * realigned down to a PMD boundary by the caller). CORE_ARENA_FULL, with nothing moved, when
 * the destination's missing tables do not fit.
 */
export function move_page_tables(mm: RefMm, oldAddr: number, newAddr: number, oldEnd: number): number {
  if (oldAddr >= oldEnd) return CORE_OK;
  if (count_missing_tables(mm, newAddr, newAddr + (oldEnd - oldAddr)) > arena_available(mm)) return CORE_ARENA_FULL;
  while (oldAddr < oldEnd) {
    let extent = get_extent(PUD_SIZE, oldAddr, oldEnd, newAddr);
    if (get_old_pud(mm, oldAddr) >= 0) {
      const newPudF = alloc_new_pud(mm, newAddr);
      const oldPudF = entry_frame(mm.frames[mm.pgd]!, pgd_index(oldAddr));
      if (extent !== PUD_SIZE || !move_normal_pud(mm, mm.frames[oldPudF]!, mm.frames[newPudF]!, oldAddr, newAddr)) {
        extent = get_extent(PMD_SIZE, oldAddr, oldEnd, newAddr);
        const oldPteF = get_old_pmd(mm, oldAddr);
        if (oldPteF >= 0) {
          const newPmdF = alloc_new_pmd(mm, newAddr);
          const oldPmdF = get_old_pud(mm, oldAddr);
          // A huge PMD moves whole with its deposit (move_huge_pmd) like a table, else is split first.
          if (extent !== PMD_SIZE || !move_normal_pmd(mm, oldPmdF, newPmdF, oldAddr, newAddr)) {
            const oldPmd = mm.frames[oldPmdF]!;
            if (pmd_trans_huge(oldPmd[2 * pmd_index(oldAddr)]!)) {
              __split_huge_pmd(mm, oldPmd, pmd_index(oldAddr), Math.floor(oldAddr / PMD_SIZE) * PMD_SIZE);
            }
            // A page-cache folio's PMD split is only cleared: nothing left to move (pmd_none).
            if (entry_frame(oldPmd, pmd_index(oldAddr)) < 0) {
              oldAddr += extent;
              newAddr += extent;
              continue;
            }
            const newPmd = mm.frames[newPmdF]!;
            let newPteF = entry_frame(newPmd, pmd_index(newAddr));
            if (newPteF < 0) newPteF = table_alloc_populate(mm, newPmd, pmd_index(newAddr), FRAME_PTE);
            move_ptes(mm, oldPteF, newPteF, oldAddr, newAddr, extent);
          }
        }
      }
    }
    oldAddr += extent;
    newAddr += extent;
  }
  return CORE_OK;
}
