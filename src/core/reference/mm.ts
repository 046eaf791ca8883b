/**
 * The simulated mm_struct of the reference core (assembly/mm.ts): its PGD, the walk from an
 * address to an entry at each level, and the page-table accounting (mm_inc_nr_ptes & co).
 * RefMm also holds the state the WASM core keeps in module globals: the arena (RefMm is
 * one), the counters, and one object per kernel structure: the mmu_gather and RCU.
 */
import { Arena, FRAME_PMD, FRAME_PTE, FRAME_PUD, arena_alloc } from './arena.js';
import { MmuGather } from './mmu_gather.js';
import { Rcu, note_real_peak } from './rcu.js';
import { S, new_stats, note_pgtables_peak, stat_add, stat_inc } from './stats.js';
import { PATH_MODES } from '../types.js';

// Tuned: the sizes of pgtable.ts as this module's own constants. V8 folds those into the
// optimised walk (a division by PMD_SIZE becomes a multiplication); an imported binding is
// loaded and checked at every use. The `walk` and `fault-fill` rows of `bench kernels`
// (--impl ts) run these walks once per table.
const PMD_SIZE = 2 ** 21;
const PUD_SIZE = 2 ** 30;
const PGDIR_SIZE = 2 ** 39;
const TABLE_LO = 0x67; // _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY

/**
 * The mm and, flattened into it (one object, so the hot walks load frames directly), the
 * arena its tables live in.
 */
export class RefMm extends Arena {
  /** Frame of the PGD. */
  pgd = 0;
  readonly s = new_stats();
  weights = new_stats();
  readonly tlb = new MmuGather();
  readonly rcu = new Rcu();
  /** --path, as PATH_MODES (assembly/pt_reclaim.ts PATH_AUTO, PATH_FAST, PATH_SLOW). */
  path = PATH_MODES.auto;
  /** mm_forbids_zeropage() false: read faults may map the shared zero page. */
  zeroPageEnabled = true;
  /** THP: faults may map huge PMDs in the aligned 2 MiB spans of [thpLo, thpHi). */
  thpLo = 0;
  thpHi = 0;
  /** THP: the write faults in the window store data (a touch), not only fault pages in. */
  faultStoresData = true;
  /** THP: use_zero_page. */
  hugeZeroPage = true;
  /** THP: a folio split may map never-written subpages to the zero page. */
  splitZeroRemap = true;
  /** THP: move_ptes has carried a large folio's PTE to another table (split_folio searches all). */
  folioPtesMoved = false;
  /** Address of the SIGSEGV/SIGBUS the last fault_range met. */
  faultAddress = 0;
  /** CPUs that ran the mm: each TLB shootdown IPIs the others. */
  cpus = 1;
}

/**
 * Frame of the table an upper-level entry points to, or -1 for a none entry
 * (entry_table in assembly/mm.ts, with the frame number instead of an address).
 */
export function entry_frame(table: Uint32Array, i: number): number {
  const lo = table[2 * i]!;
  const hi = table[2 * i + 1]!;
  return lo === 0 && hi === 0 ? -1 : (hi & 0xfffff) * 0x100000 + (lo >>> 12);
}

/** Frame of the PTE table hooked for addr, or -1 (no allocation). */
export function walk_pte_table_frame(mm: RefMm, addr: number): number {
  const frames = mm.frames;
  const pud = entry_frame(frames[mm.pgd]!, (addr / PGDIR_SIZE) & 511);
  if (pud < 0) return -1;
  const pmd = entry_frame(frames[pud]!, (addr / PUD_SIZE) & 511);
  if (pmd < 0) return -1;
  return entry_frame(frames[pmd]!, (addr / PMD_SIZE) & 511);
}

/** Frames of the PUD, PMD and PTE tables for addr (-1 where missing). Allocates: cold paths only. */
export function walk_tables(mm: RefMm, addr: number): [number, number, number] {
  const frames = mm.frames;
  const pud = entry_frame(frames[mm.pgd]!, (addr / PGDIR_SIZE) & 511);
  if (pud < 0) return [-1, -1, -1];
  const pmd = entry_frame(frames[pud]!, (addr / PUD_SIZE) & 511);
  if (pmd < 0) return [pud, -1, -1];
  return [pud, pmd, entry_frame(frames[pmd]!, (addr / PMD_SIZE) & 511)];
}

// Accounting: mm_inc_nr_ptes / mm_dec_nr_ptes and the PMD/PUD counterparts.
export function mm_inc_nr_ptes(mm: RefMm): void {
  stat_inc(mm.s, S.NrPte);
  stat_inc(mm.s, S.AllocPte);
  note_pgtables_peak(mm.s);
}
export function mm_dec_nr_ptes(mm: RefMm): void {
  stat_add(mm.s, S.NrPte, -1);
  stat_inc(mm.s, S.FreedPte);
}
export function mm_inc_nr_pmds(mm: RefMm): void {
  stat_inc(mm.s, S.NrPmd);
  stat_inc(mm.s, S.AllocPmd);
  note_pgtables_peak(mm.s);
}
export function mm_dec_nr_pmds(mm: RefMm): void {
  stat_add(mm.s, S.NrPmd, -1);
  stat_inc(mm.s, S.FreedPmd);
}
export function mm_inc_nr_puds(mm: RefMm): void {
  stat_inc(mm.s, S.NrPud);
  stat_inc(mm.s, S.AllocPud);
  note_pgtables_peak(mm.s);
}
export function mm_dec_nr_puds(mm: RefMm): void {
  stat_add(mm.s, S.NrPud, -1);
  stat_inc(mm.s, S.FreedPud);
}

/**
 * pmd_clear: the PMD entry i of pmdTable becomes none. (The WASM core's checker hook has
 * no counterpart here: the checker runs in the WASM core only.)
 */
export function pmd_clear(pmdTable: Uint32Array, i: number): void {
  pmdTable[2 * i] = 0;
  pmdTable[2 * i + 1] = 0;
}

/** Allocate a table for `level` and hook it into entry i of `table` (__pud_alloc / __pmd_alloc / __pte_alloc). */
export function table_alloc_populate(mm: RefMm, table: Uint32Array, i: number, level: number): number {
  const f = arena_alloc(mm, mm.s, level);
  table[2 * i] = (((f % 0x100000) << 12) | TABLE_LO) >>> 0;
  table[2 * i + 1] = Math.floor(f / 0x100000) >>> 0;
  if (level === FRAME_PTE) mm_inc_nr_ptes(mm);
  else if (level === FRAME_PMD) mm_inc_nr_pmds(mm);
  else mm_inc_nr_puds(mm);
  note_real_peak(mm);
  return f;
}

/**
 * Walk to the PTE table for addr, allocating the missing levels on the way (pud_alloc,
 * pmd_alloc, pte_alloc). The caller has checked the arena (count_missing_tables).
 */
export function pte_alloc_map(mm: RefMm, addr: number): Uint32Array {
  const frames = mm.frames;
  const pmd = pmd_alloc_map(mm, addr);
  const mi = (addr / PMD_SIZE) & 511;
  let pte = entry_frame(frames[pmd]!, mi);
  if (pte < 0) pte = table_alloc_populate(mm, frames[pmd]!, mi, FRAME_PTE);
  return frames[pte]!;
}

/** Walk to the PMD table for addr, allocating the PUD and PMD tables on the way; returns its frame. */
export function pmd_alloc_map(mm: RefMm, addr: number): number {
  const frames = mm.frames;
  const pgd = frames[mm.pgd]!;
  const gi = (addr / PGDIR_SIZE) & 511;
  let pud = entry_frame(pgd, gi);
  if (pud < 0) pud = table_alloc_populate(mm, pgd, gi, FRAME_PUD);
  const ui = (addr / PUD_SIZE) & 511;
  let pmd = entry_frame(frames[pud]!, ui);
  if (pmd < 0) pmd = table_alloc_populate(mm, frames[pud]!, ui, FRAME_PMD);
  return pmd;
}

/** Tables a fault over [start, end) would allocate: exact, so the arena can be checked first. */
export function count_missing_tables(mm: RefMm, start: number, end: number): number {
  const frames = mm.frames;
  const pgd = frames[mm.pgd]!;
  let n = 0;
  for (let a = start; a < end; a = Math.min((Math.floor(a / PMD_SIZE) + 1) * PMD_SIZE, end)) {
    const pud = entry_frame(pgd, (a / PGDIR_SIZE) & 511);
    const pmd = pud < 0 ? -1 : entry_frame(frames[pud]!, (a / PUD_SIZE) & 511);
    const pte = pmd < 0 ? -1 : entry_frame(frames[pmd]!, (a / PMD_SIZE) & 511);
    // Count each missing level once per span that owns it.
    if (pud < 0 && (a === start || a % PGDIR_SIZE === 0)) n++;
    if (pmd < 0 && (a === start || a % PUD_SIZE === 0)) n++;
    if (pte < 0) n++;
  }
  return n;
}
