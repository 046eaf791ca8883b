// The simulated mm_struct: its PGD, the walk from an address to an entry at each level,
// and the page-table accounting (mm_inc_nr_ptes & co, include/linux/mm.h).

import {
  PTE_PFN_MASK, PAGE_SHIFT, _PAGE_TABLE, PMD_SHIFT, PUD_SHIFT,
  PMD_SIZE, PUD_SIZE, PGDIR_SIZE, pgd_index, pud_index, pmd_index, pte_index, span_end,
} from "./pgtable";
import { FRAME_PGD, FRAME_PUD, FRAME_PMD, FRAME_PTE, frame_addr, addr_frame, arena_alloc, arena_frames_base } from "./arena";
import { Stat, stat_inc, stat_get, stat_set, note_pgtables_peak } from "./stats";
import { note_real_peak } from "./rcu";
import { checker_on, checker_pmd_cleared, checker_pmd_populate } from "./checker";

let pgdFrame: u32 = 0;

/** Allocate the PGD of a fresh mm (mm_alloc_pgd). The PGD is not counted in VmPTE. */
export function mm_init(): void {
  pgdFrame = arena_alloc(FRAME_PGD);
}

export function mm_pgd_frame(): u32 {
  return pgdFrame;
}

/** Address of the table an upper-level entry points to. */
@inline export function entry_table(e: u64): usize {
  // frame << 12 is the entry's frame field itself: no shift down and up again.
  return arena_frames_base() + <usize>(e & PTE_PFN_MASK);
}
/** The upper-level entry that points to the table held in `frame` (pmd_populate & co). */
@inline export function table_entry(frame: u32): u64 {
  return (<u64>frame << PAGE_SHIFT) | _PAGE_TABLE;
}
@inline export function table_frame(table: usize): u32 {
  return addr_frame(table);
}

@inline export function pgd_offset(addr: u64): usize {
  return frame_addr(pgdFrame) + (<usize>pgd_index(addr) << 3);
}
@inline export function pud_offset(pudTable: usize, addr: u64): usize {
  return pudTable + (<usize>pud_index(addr) << 3);
}
@inline export function pmd_offset(pmdTable: usize, addr: u64): usize {
  return pmdTable + (<usize>pmd_index(addr) << 3);
}
@inline export function pte_offset(pteTable: usize, addr: u64): usize {
  return pteTable + (<usize>pte_index(addr) << 3);
}

/** Walk to the PMD entry for addr without allocating; 0 if an upper level is missing. */
@inline export function walk_pmd(addr: u64): usize {
  const pgde = load<u64>(pgd_offset(addr));
  if (pgde == 0) return 0;
  const pude = load<u64>(pud_offset(entry_table(pgde), addr));
  if (pude == 0) return 0;
  return pmd_offset(entry_table(pude), addr);
}

/** Walk to the PTE for addr without allocating; 0 if any level is missing. */
@inline export function walk_pte(addr: u64): usize {
  // Written out level by level (not through walk_pmd) so each level is one test, not two.
  const pgde = load<u64>(pgd_offset(addr));
  if (pgde == 0) return 0;
  const pude = load<u64>(pud_offset(entry_table(pgde), addr));
  if (pude == 0) return 0;
  const pmde = load<u64>(pmd_offset(entry_table(pude), addr));
  if (pmde == 0) return 0;
  return pte_offset(entry_table(pmde), addr);
}

/** Frame of the PTE table hooked for addr, or 0xffffffff when there is none. */
export function walk_pte_table_frame(addr: u64): u32 {
  const pmdp = walk_pmd(addr);
  if (pmdp == 0) return 0xffffffff;
  const pmde = load<u64>(pmdp);
  return pmde == 0 ? 0xffffffff : table_frame(entry_table(pmde));
}

/**
 * pmd_clear: the PMD entry at pmdp becomes none. Every PMD clear goes through here, so the
 * checker (break-before-make, dangling tables) hears of each one.
 */
@inline export function pmd_clear(pmdp: usize): void {
  store<u64>(pmdp, 0);
  if (checker_on()) checker_pmd_cleared(pmdp);
}

// Accounting: mm_inc_nr_ptes / mm_dec_nr_ptes and the PMD/PUD counterparts.
@inline export function mm_inc_nr_ptes(): void {
  stat_inc(Stat.NrPte);
  stat_inc(Stat.AllocPte);
  note_pgtables_peak();
}
@inline export function mm_dec_nr_ptes(): void {
  stat_set(Stat.NrPte, stat_get(Stat.NrPte) - 1);
  stat_inc(Stat.FreedPte);
}
@inline export function mm_inc_nr_pmds(): void {
  stat_inc(Stat.NrPmd);
  stat_inc(Stat.AllocPmd);
  note_pgtables_peak();
}
@inline export function mm_dec_nr_pmds(): void {
  stat_set(Stat.NrPmd, stat_get(Stat.NrPmd) - 1);
  stat_inc(Stat.FreedPmd);
}
@inline export function mm_inc_nr_puds(): void {
  stat_inc(Stat.NrPud);
  stat_inc(Stat.AllocPud);
  note_pgtables_peak();
}
@inline export function mm_dec_nr_puds(): void {
  stat_set(Stat.NrPud, stat_get(Stat.NrPud) - 1);
  stat_inc(Stat.FreedPud);
}

/** Allocate a table for `level` and hook it into `entryp` (__pud_alloc / __pmd_alloc / __pte_alloc). */
export function table_alloc_populate(entryp: usize, level: u8): usize {
  if (level == FRAME_PTE && checker_on()) checker_pmd_populate(entryp, 0);
  const frame = arena_alloc(level);
  store<u64>(entryp, table_entry(frame));
  if (level == FRAME_PTE) mm_inc_nr_ptes();
  else if (level == FRAME_PMD) mm_inc_nr_pmds();
  else if (level == FRAME_PUD) mm_inc_nr_puds();
  note_real_peak();
  return frame_addr(frame);
}

/**
 * Walk to the PTE table for addr, allocating the missing levels on the way (pud_alloc,
 * pmd_alloc, pte_alloc). The caller has reserved arena space (count_missing_tables).
 */
export function pte_alloc_map(addr: u64): usize {
  const pmdp = pmd_alloc_map(addr);
  const e = load<u64>(pmdp);
  return e != 0 ? entry_table(e) : table_alloc_populate(pmdp, FRAME_PTE);
}

/** Walk to the PMD entry for addr, allocating the PUD and PMD tables on the way (pud_alloc, pmd_alloc). */
@inline export function pmd_alloc_map(addr: u64): usize {
  const pgdp = pgd_offset(addr);
  let e = load<u64>(pgdp);
  const pudTable = e != 0 ? entry_table(e) : table_alloc_populate(pgdp, FRAME_PUD);
  const pudp = pud_offset(pudTable, addr);
  e = load<u64>(pudp);
  const pmdTable = e != 0 ? entry_table(e) : table_alloc_populate(pudp, FRAME_PMD);
  return pmd_offset(pmdTable, addr);
}

/** Tables a fault over [start, end) would allocate: exact, so the arena can be reserved first. */
export function count_missing_tables(start: u64, end: u64): u32 {
  let missing: u32 = 0;
  let addr = start;
  // Walk PMD span by PMD span; each span needs at most one table per level.
  while (addr < end) {
    const pgde = load<u64>(pgd_offset(addr));
    if (pgde == 0) {
      // Whole PGD span is empty: PUD + PMD tables + one PTE table per PMD span.
      const spanEnd = span_end(addr, end, PGDIR_SIZE);
      missing += 1 + count_spans(addr, spanEnd, PUD_SHIFT) + count_spans(addr, spanEnd, PMD_SHIFT);
      addr = spanEnd;
      continue;
    }
    const pude = load<u64>(pud_offset(entry_table(pgde), addr));
    if (pude == 0) {
      const spanEnd = span_end(addr, end, PUD_SIZE);
      missing += 1 + count_spans(addr, spanEnd, PMD_SHIFT);
      addr = spanEnd;
      continue;
    }
    const pmde = load<u64>(pmd_offset(entry_table(pude), addr));
    if (pmde == 0) missing++;
    addr = span_end(addr, end, PMD_SIZE);
  }
  return missing;
}

/** How many `1 << shift`-aligned blocks [start, end) touches. */
@inline function count_spans(start: u64, end: u64, shift: u64): u32 {
  return <u32>(((end - 1) >> shift) - (start >> shift) + 1);
}
