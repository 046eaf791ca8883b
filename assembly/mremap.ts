// mremap's page-table move: move_page_tables -> move_normal_pud / move_normal_pmd / move_ptes
// (mm/mremap.c). The driver (src/mm/mremap.ts) does the VMA side: the syscall's checks, the
// destination's munmap, copy_vma, the realignment of the start to a PMD boundary
// (try_realign_addr needs the VMA list) and the source's munmap afterwards, which frees the
// source tables the move emptied (free_pgtables with the neighbours as floor and ceiling).
//
// Per step the kernel takes the largest entry it can move whole, x86 having HAVE_MOVE_PUD
// and HAVE_MOVE_PMD:
//   - source and destination both at a 1 GiB boundary with 1 GiB left, and the destination
//     PUD entry none: the PMD table moves whole (move_normal_pud);
//   - else at a 2 MiB boundary with 2 MiB left and the destination PMD entry none: the PTE
//     table moves whole (move_normal_pmd);
//   - else entry by entry into a destination table allocated as needed (move_ptes).
// Destination PUD and PMD tables are allocated for every step whose source has a table at
// that level (alloc_new_pud, alloc_new_pmd), before a whole move is tried. Entries move
// unchanged: present pages, the zero page, swap entries and markers alike (no RSS moves).
// Not modelled: soft-dirty bits (CONFIG_MEM_SOFT_DIRTY marks moved entries; nothing here
// reads them), uffd-wp clearing (no userfaultfd), huge PMDs
// move whole with their deposit or are split first (move_huge_pmd, below).

import { pmd_trans_huge, __split_huge_pmd, note_folio_pte_moved } from "./huge_memory";
import { PAGE_SHIFT, PMD_SIZE, PUD_SIZE, _PAGE_PRESENT } from "./pgtable";
import { OK, FRAME_PUD, FRAME_PMD, FRAME_PTE, arena_reserve } from "./arena";
import {
  pgd_offset, pud_offset, pmd_offset, pte_offset, entry_table, pmd_clear, table_alloc_populate,
  count_missing_tables,
} from "./mm";
import { flush_tlb_mm_range } from "./tlb";
import { pte_refcount_move_done } from "./pte_refcount";
import { STRATEGY_REFCOUNT, strategy_id } from "./strategy";
import { Stat, stat_inc, stat_add } from "./stats";
import { checker_on, checker_pmd_populate } from "./checker";

/**
 * get_extent: bytes this step may cover at a level of `size`: up to the next boundary of the
 * source and of the destination, and no further than the end.
 */
@inline function get_extent(size: u64, oldAddr: u64, oldEnd: u64, newAddr: u64): u64 {
  const mask = ~(size - 1);
  let extent = ((oldAddr + size) & mask) - oldAddr;
  if (extent > oldEnd - oldAddr) extent = oldEnd - oldAddr;
  const toNew = ((newAddr + size) & mask) - newAddr;
  return extent > toNew ? toNew : extent;
}

/** get_old_pud: the source PUD entry for addr, or 0 when it or the PGD entry is none. */
function get_old_pud(addr: u64): usize {
  const pgde = load<u64>(pgd_offset(addr));
  if (pgde == 0) return 0;
  const pudp = pud_offset(entry_table(pgde), addr);
  return load<u64>(pudp) == 0 ? 0 : pudp;
}

/** get_old_pmd: the source PMD entry for addr, or 0 when any level down to it is none. */
function get_old_pmd(addr: u64): usize {
  const pudp = get_old_pud(addr);
  if (pudp == 0) return 0;
  const pmdp = pmd_offset(entry_table(load<u64>(pudp)), addr);
  return load<u64>(pmdp) == 0 ? 0 : pmdp;
}

/** alloc_new_pud: the destination PUD entry for addr, allocating the PUD table if missing. */
function alloc_new_pud(addr: u64): usize {
  const pgdp = pgd_offset(addr);
  const pgde = load<u64>(pgdp);
  const pudTable = pgde != 0 ? entry_table(pgde) : table_alloc_populate(pgdp, FRAME_PUD);
  return pud_offset(pudTable, addr);
}

/** alloc_new_pmd: the destination PMD entry for addr, allocating PUD and PMD tables if missing. */
function alloc_new_pmd(addr: u64): usize {
  const pudp = alloc_new_pud(addr);
  const pude = load<u64>(pudp);
  const pmdTable = pude != 0 ? entry_table(pude) : table_alloc_populate(pudp, FRAME_PMD);
  return pmd_offset(pmdTable, addr);
}

/**
 * move_normal_pud: hand the whole PMD table under the source PUD entry to the empty
 * destination one, then flush the source's 1 GiB. False when the destination is taken.
 */
function move_normal_pud(oldPudp: usize, newPudp: usize, oldAddr: u64): bool {
  if (load<u64>(newPudp) != 0) return false;
  stat_inc(Stat.PmdLocks); // pud_lock: mm->page_table_lock, one lock for both ends
  const pud = load<u64>(oldPudp);
  store<u64>(oldPudp, 0);
  store<u64>(newPudp, pud);
  flush_tlb_mm_range(oldAddr, oldAddr + PUD_SIZE, PAGE_SHIFT);
  stat_inc(Stat.MremapPudMoves);
  return true;
}

/**
 * move_normal_pmd: hand the whole PTE table under the source PMD entry to the empty
 * destination one, then flush the source's 2 MiB. False when the destination is taken.
 */
function move_normal_pmd(oldPmdp: usize, newPmdp: usize, oldAddr: u64, newAddr: u64): bool {
  if (load<u64>(newPmdp) != 0) return false;
  // pmd_lock of each end: split PMD locks are per PMD table.
  stat_add(Stat.PmdLocks, (oldPmdp ^ newPmdp) >> 12 != 0 ? 2 : 1);
  const pmd = load<u64>(oldPmdp);
  pmd_clear(oldPmdp);
  if (checker_on()) checker_pmd_populate(newPmdp, newAddr);
  store<u64>(newPmdp, pmd);
  flush_tlb_mm_range(oldAddr, oldAddr + PMD_SIZE, PAGE_SHIFT);
  stat_inc(Stat.MremapPmdMoves);
  return true;
}

/**
 * move_ptes: move the entries of [oldAddr, oldAddr + extent), all under one PMD entry, to
 * the same offsets of the destination table (whose entries there are none). A present entry
 * moved means the source range is flushed before the locks drop. Returns entries moved.
 */
function move_ptes(oldPmdp: usize, newPmdp: usize, oldAddr: u64, newAddr: u64, extent: u64): u64 {
  const oldTable = entry_table(load<u64>(oldPmdp));
  const newTable = entry_table(load<u64>(newPmdp));
  stat_add(Stat.PtlLocks, oldTable != newTable ? 2 : 1);
  const n = <usize>(extent >> PAGE_SHIFT);
  const src = pte_offset(oldTable, oldAddr);
  const dst = pte_offset(newTable, newAddr);
  let moved: u64 = 0;
  let present = false;
  for (let i: usize = 0; i < n; i++) {
    const e = load<u64>(src + (i << 3));
    if (e == 0) continue;
    assert(load<u64>(dst + (i << 3)) == 0, "move_ptes: destination entry not none");
    if ((e & _PAGE_PRESENT) != 0) present = true;
    note_folio_pte_moved(e);
    store<u64>(src + (i << 3), 0);
    store<u64>(dst + (i << 3), e);
    moved++;
  }
  stat_add(Stat.MremapPtesMoved, moved);
  if (present) flush_tlb_mm_range(oldAddr, oldAddr + extent, PAGE_SHIFT);
  return moved;
}

/**
 * move_page_tables: move the page tables of [oldAddr, oldEnd) to newAddr. The caller may have
 * realigned both starts down to a PMD boundary (try_realign_addr); nothing is mapped below
 * the original starts then. Returns OK, or an arena error before anything moved (the
 * destination's missing tables are reserved first; the kernel would move back what it had
 * moved and fail with ENOMEM). With the refcount strategy, a source table that move_ptes
 * leaves with no entry is freed (its count dropped to zero): call inside a gather.
 */
export function move_page_tables(oldAddr: u64, newAddr: u64, oldEnd: u64): i32 {
  if (oldAddr >= oldEnd) return OK;
  const status = arena_reserve(count_missing_tables(newAddr, newAddr + (oldEnd - oldAddr)));
  if (status != OK) return status;
  const refcount = strategy_id() == STRATEGY_REFCOUNT;
  while (oldAddr < oldEnd) {
    let extent = get_extent(PUD_SIZE, oldAddr, oldEnd, newAddr);
    const oldPudp = get_old_pud(oldAddr);
    if (oldPudp != 0) {
      const newPudp = alloc_new_pud(newAddr);
      if (extent != PUD_SIZE || !move_normal_pud(oldPudp, newPudp, oldAddr)) {
        extent = get_extent(PMD_SIZE, oldAddr, oldEnd, newAddr);
        const oldPmdp = get_old_pmd(oldAddr);
        if (oldPmdp != 0) {
          const newPmdp = alloc_new_pmd(newAddr);
          // A huge PMD moves whole with its deposit (move_huge_pmd) like a table, else is split first.
          if (extent != PMD_SIZE || !move_normal_pmd(oldPmdp, newPmdp, oldAddr, newAddr)) {
            if (pmd_trans_huge(load<u64>(oldPmdp))) __split_huge_pmd(oldPmdp, oldAddr & ~(PMD_SIZE - 1));
            // A page-cache folio's PMD split is only cleared: nothing left to move (pmd_none).
            if (load<u64>(oldPmdp) != 0) {
              if (load<u64>(newPmdp) == 0) table_alloc_populate(newPmdp, FRAME_PTE);
              const moved = move_ptes(oldPmdp, newPmdp, oldAddr, newAddr, extent);
              if (refcount) pte_refcount_move_done(oldPmdp, oldAddr, moved);
            }
          }
        }
      }
    }
    oldAddr += extent;
    newAddr += extent;
  }
  return OK;
}
