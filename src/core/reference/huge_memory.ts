/**
 * Anonymous PMD-sized THP in the reference core (assembly/huge_memory.ts; mm/huge_memory.c,
 * mm/khugepaged.c). A huge PMD is a present entry with _PAGE_PSE whose frame field holds
 * the PTE table deposited beside it (pgtable_trans_huge_deposit): counted in VmPTE from
 * the fault on, freed by zap_huge_pmd, turned into the PTE table by a split. The deposit
 * notes which subpages were written (DEPOSIT_WRITTEN); after a PMD split the PTEs carry
 * HI_SIM_LARGE and HI_SIM_ZEROFILL, which split_folio reads.
 */
import { FRAME_PTE, arena_alloc, arena_free } from './arena.js';
import {
  type RefMm,
  count_missing_tables,
  entry_frame,
  mm_dec_nr_ptes,
  mm_inc_nr_ptes,
  pmd_alloc_map,
  pmd_clear,
  walk_tables,
} from './mm.js';
import { arena_available } from './arena.js';
import { CORE_ARENA_FULL, CORE_OK } from '../types.js';
import { tlb_flush_mmu, tlb_remove_page, tlb_remove_tlb_entry } from './mmu_gather.js';
import { HI_SIM_FILE, HI_SIM_LARGE, HI_SIM_ZEROFILL, PAGE_SIZE, PMD_SIZE, pmd_index, pte_index } from './pgtable.js';
import { note_real_peak } from './rcu.js';
import { S, stat_add, stat_get, stat_inc, stat_set } from './stats.js';
import { flush_tlb_mm_range } from './tlb.js';
import { SCAN_PMD_MAPPED, SCAN_PMD_NONE, SCAN_PMD_NULL, SCAN_PTE_NON_PRESENT, SCAN_SUCCEED } from '../../generated/vocab.js';

const HPAGE_PMD_NR = 512;
const PRESENT = 1 << 0;
const A = 1 << 5;
const D = 1 << 6;
const PSE = 1 << 7;
const SPECIAL = 1 << 9;
const HI_NX = 1 << 31;
const ANON_LO = 0x67; // present, rw, user, accessed, dirty
const ZERO_LO = 0x225; // present, user, accessed, special
const TABLE_LO = 0x67;
const ZERO_PFN = 1;
const HUGE_LO = ANON_LO | PSE;
const HUGE_ZERO_LO = ZERO_LO | PSE;
/** A deposit entry (low word): the subpage at its index was written while the PMD mapped the THP. */
const DEPOSIT_WRITTEN = 1;

/** The aligned 2 MiB spans of [lo, hi) may get THPs on the next faults; (0, 0) closes it. */
export function set_thp_fault_window(mm: RefMm, lo: number, hi: number, storesData: boolean): void {
  mm.thpLo = lo;
  mm.thpHi = hi;
  mm.faultStoresData = storesData;
}
export function set_huge_zero_page(mm: RefMm, enabled: boolean): void {
  mm.hugeZeroPage = enabled;
}
/** !mm_forbids_zeropage(): a folio split may map never-written subpages to the zero page. */
export function set_split_zero_remap(mm: RefMm, enabled: boolean): void {
  mm.splitZeroRemap = enabled;
}
/** A fresh mm: no folio has been carried apart yet. */
export function thp_mm_init(mm: RefMm): void {
  mm.folioPtesMoved = false;
}
/** move_ptes moved the entry (lo, hi): note a large folio's PTE leaving its table. */
export function note_folio_pte_moved(mm: RefMm, lo: number, hi: number): void {
  if (lo & PRESENT && hi & HI_SIM_LARGE) mm.folioPtesMoved = true;
}
/** pte_pfn of entry i of t (a present page). */
function pte_pfn(t: Uint32Array, i: number): number {
  return (t[2 * i + 1]! & 0xfffff) * 0x100000 + (t[2 * i]! >>> 12);
}
/** The folio of a large subpage: its first pfn (a split maps a THP at 512 pfns aligned to 512). */
export function folio_pfn(t: Uint32Array, i: number): number {
  return pte_pfn(t, i) - (pte_pfn(t, i) % HPAGE_PMD_NR);
}
/** Whether a fault may map a THP at all: one compare outside the per-entry loops. */
export function thp_fault_window_open(mm: RefMm): boolean {
  return mm.thpHi !== 0;
}

/** The subpages of [addr, next) of the huge PMD mi were written: note it in its deposit. */
function mark_written(mm: RefMm, pmdTable: Uint32Array, mi: number, addr: number, next: number): void {
  const t = mm.frames[entry_frame(pmdTable, mi)]!;
  const last = pte_index(next - 1);
  for (let i = pte_index(addr); i <= last; i++) {
    t[2 * i] = DEPOSIT_WRITTEN;
    t[2 * i + 1] = 0;
  }
}

/** A PMD-mapped page-cache folio (assembly/huge_memory.ts FILE_HUGE_PMD_FLAGS): no deposit, frame field 0, read-only. */
const FILE_HUGE_LO = PRESENT | (1 << 2) | A | PSE;
export const is_file_huge_pmd = (lo: number, hi: number): boolean => (lo & PSE) !== 0 && (hi & HI_SIM_FILE) !== 0;

/** do_set_pmd: map the PMD-sized page-cache folio of addr's span by its none PMD (RssFile +512). */
export function do_set_pmd(mm: RefMm, addr: number): number {
  if (count_missing_tables(mm, addr, addr + 1) > arena_available(mm)) return CORE_ARENA_FULL;
  const pmdTable = mm.frames[pmd_alloc_map(mm, addr)]!;
  const mi = pmd_index(addr);
  if (pmdTable[2 * mi] !== 0 || pmdTable[2 * mi + 1] !== 0) throw new Error('do_set_pmd: PMD not none');
  stat_inc(mm.s, S.PmdLocks);
  set_frame_entry(pmdTable, mi, 0, FILE_HUGE_LO, HI_NX | HI_SIM_FILE);
  stat_add(mm.s, S.RssFile, HPAGE_PMD_NR);
  stat_inc(mm.s, S.FaultFile);
  return CORE_OK;
}

export const pmd_trans_huge = (lo: number): boolean => (lo & PSE) !== 0;
export const is_huge_zero_pmd = (lo: number): boolean => (lo & (PSE | SPECIAL)) === (PSE | SPECIAL);

/** Entry i of table t := frame f with flags lo (and NX). */
function set_frame_entry(t: Uint32Array, i: number, f: number, lo: number, hi: number): void {
  t[2 * i] = (((f % 0x100000) << 12) | lo) >>> 0;
  t[2 * i + 1] = (Math.floor(f / 0x100000) | hi) >>> 0;
}

/** do_huge_pmd_anonymous_page for the none entry mi of pmdTable: deposit, then THP or huge zero page. */
function do_huge_pmd_anonymous_page(mm: RefMm, pmdTable: Uint32Array, mi: number, useZero: boolean): void {
  const f = arena_alloc(mm, mm.s, FRAME_PTE);
  mm_inc_nr_ptes(mm);
  stat_inc(mm.s, S.ThpDeposits);
  note_real_peak(mm);
  stat_inc(mm.s, S.PmdLocks);
  if (useZero) {
    set_frame_entry(pmdTable, mi, f, HUGE_ZERO_LO, HI_NX);
    stat_inc(mm.s, S.ThpHugeZeroFaults);
  } else {
    set_frame_entry(pmdTable, mi, f, HUGE_LO, HI_NX);
    stat_add(mm.s, S.RssAnon, HPAGE_PMD_NR);
    stat_inc(mm.s, S.ThpFaultAlloc);
  }
}

/**
 * The PMD level of __handle_mm_fault for [addr, next) (entry mi of pmdTable): see
 * assembly/huge_memory.ts huge_pmd_fault. Returns false when the span goes to the PTE level.
 */
export function huge_pmd_fault(
  mm: RefMm,
  pmdTable: Uint32Array,
  mi: number,
  addr: number,
  next: number,
  write: boolean,
  allocOnRead: boolean,
): boolean {
  const lo = pmdTable[2 * mi]!;
  const hi = pmdTable[2 * mi + 1]!;
  let faulted = false;
  const haddr = Math.floor(addr / PMD_SIZE) * PMD_SIZE;
  if (lo === 0 && hi === 0) {
    if (haddr < mm.thpLo || haddr + PMD_SIZE > mm.thpHi) return false;
    do_huge_pmd_anonymous_page(mm, pmdTable, mi, !allocOnRead && mm.hugeZeroPage);
    if (write && mm.faultStoresData) mark_written(mm, pmdTable, mi, addr, next);
    faulted = true;
  } else if (!pmd_trans_huge(lo)) {
    return false;
  } else if (write && is_huge_zero_pmd(lo)) {
    // do_huge_zero_wp_pmd: a THP replaces the huge zero page; the deposit stays.
    stat_inc(mm.s, S.PmdLocks);
    set_frame_entry(pmdTable, mi, entry_frame(pmdTable, mi), HUGE_LO, HI_NX);
    stat_add(mm.s, S.RssAnon, HPAGE_PMD_NR);
    stat_inc(mm.s, S.ThpFaultAlloc);
    flush_tlb_mm_range(mm, haddr, haddr + PMD_SIZE, PMD_SIZE);
    if (mm.faultStoresData) mark_written(mm, pmdTable, mi, addr, next);
    faulted = true;
  } else {
    const want = write ? A | D : A;
    if ((lo & want) !== want) pmdTable[2 * mi] = (lo | want) >>> 0; // touch_pmd
    if (write && mm.faultStoresData && !is_huge_zero_pmd(lo)) mark_written(mm, pmdTable, mi, addr, next);
  }
  const pages = (next - addr) / PAGE_SIZE;
  stat_add(mm.s, S.FaultAccessOnly, faulted ? pages - 1 : pages);
  return true;
}

/** zap_deposited_table: withdraw the deposit and free it at once (it was never walked). */
function zap_deposited_table(mm: RefMm, deposit: number): void {
  arena_free(mm, mm.s, deposit);
  mm_dec_nr_ptes(mm);
}

/** zap_huge_pmd: the zap covers the whole huge PMD mi of pmdTable (span haddr). */
export function zap_huge_pmd(mm: RefMm, pmdTable: Uint32Array, mi: number, haddr: number): void {
  const lo = pmdTable[2 * mi]!;
  const file = is_file_huge_pmd(lo, pmdTable[2 * mi + 1]!);
  const deposit = entry_frame(pmdTable, mi);
  stat_inc(mm.s, S.PmdLocks);
  pmd_clear(pmdTable, mi);
  tlb_remove_tlb_entry(mm.tlb, haddr);
  tlb_remove_tlb_entry(mm.tlb, haddr + PMD_SIZE - PAGE_SIZE);
  if (file) {
    // A page-cache folio: no deposit to free (x86), MM_FILEPAGES - 512.
    stat_inc(mm.s, S.ThpZapPmd);
    stat_inc(mm.s, S.EntriesCleared);
    stat_add(mm.s, S.RssFile, -HPAGE_PMD_NR);
    if (tlb_remove_page(mm, false)) tlb_flush_mmu(mm);
    return;
  }
  zap_deposited_table(mm, deposit);
  stat_inc(mm.s, S.ThpZapPmd);
  stat_inc(mm.s, S.EntriesCleared);
  if (is_huge_zero_pmd(lo)) return;
  stat_add(mm.s, S.RssAnon, -HPAGE_PMD_NR);
  if (tlb_remove_page(mm, false)) tlb_flush_mmu(mm);
}

/** __split_huge_pmd_locked / __split_huge_zero_page_pmd for the huge PMD mi of pmdTable. */
export function __split_huge_pmd(mm: RefMm, pmdTable: Uint32Array, mi: number, haddr: number): number {
  const lo = pmdTable[2 * mi]!;
  if (is_file_huge_pmd(lo, pmdTable[2 * mi + 1]!)) {
    // A page-cache folio's PMD is only cleared: its pages leave the mm (MM_FILEPAGES - 512).
    stat_inc(mm.s, S.PmdLocks);
    pmd_clear(pmdTable, mi);
    flush_tlb_mm_range(mm, haddr, haddr + PMD_SIZE, PMD_SIZE);
    stat_add(mm.s, S.RssFile, -HPAGE_PMD_NR);
    stat_inc(mm.s, S.ThpSplitPmd);
    return 0;
  }
  const deposit = entry_frame(pmdTable, mi);
  const t = mm.frames[deposit]!;
  stat_inc(mm.s, S.PmdLocks);
  flush_tlb_mm_range(mm, haddr, haddr + PMD_SIZE, PMD_SIZE); // pmdp_invalidate
  let first = ZERO_PFN;
  if (is_huge_zero_pmd(lo)) {
    for (let i = 0; i < 512; i++) set_frame_entry(t, i, ZERO_PFN, ZERO_LO, HI_NX);
  } else {
    // The folio stays large, mapped by 512 PTEs; never-written subpages keep saying so. Its
    // pfns are aligned to 512, which identifies the folio (folio_pfn).
    const flags = (ANON_LO & ~(A | D)) | (lo & (A | D));
    first = Math.ceil(stat_get(mm.s, S.NextPfn) / HPAGE_PMD_NR) * HPAGE_PMD_NR;
    let pfn = first;
    for (let i = 0; i < 512; i++) {
      const zero = t[2 * i] === DEPOSIT_WRITTEN ? 0 : HI_SIM_ZEROFILL;
      set_frame_entry(t, i, pfn++, flags, HI_NX | HI_SIM_LARGE | zero);
    }
    stat_set(mm.s, S.NextPfn, pfn);
  }
  set_frame_entry(pmdTable, mi, deposit, TABLE_LO, 0); // pmd_populate
  stat_inc(mm.s, S.ThpSplitPmd);
  return first;
}

/** split_huge_pmd_address: split the huge PMD mapping addr, if any. */
export function split_huge_pmd_address(mm: RefMm, addr: number): boolean {
  const [, pmd] = walk_tables(mm, addr);
  if (pmd < 0) return false;
  const pmdTable = mm.frames[pmd]!;
  const mi = pmd_index(addr);
  if (!pmd_trans_huge(pmdTable[2 * mi]!)) return false;
  __split_huge_pmd(mm, pmdTable, mi, Math.floor(addr / PMD_SIZE) * PMD_SIZE);
  return true;
}

/** The PTEs in t of the large folio whose first pfn is `folio`, split: [found, remapped to the zero page]. */
function split_folio_ptes(mm: RefMm, t: Uint32Array, folio: number): [number, number] {
  let found = 0;
  let remapped = 0;
  for (let i = 0; i < 512; i++) {
    const hi = t[2 * i + 1]!;
    // Present entries only: the simulator bits overlap a non-present entry's offset field.
    if (!(t[2 * i]! & PRESENT) || !(hi & HI_SIM_LARGE) || folio_pfn(t, i) !== folio) continue;
    found++;
    if (hi & HI_SIM_ZEROFILL && mm.splitZeroRemap) {
      set_frame_entry(t, i, ZERO_PFN, ZERO_LO, HI_NX);
      remapped++;
    } else {
      t[2 * i + 1] = (hi & ~(HI_SIM_LARGE | HI_SIM_ZEROFILL)) >>> 0;
    }
  }
  return [found, remapped];
}

/**
 * split_folio for the PTE-mapped large folio whose first pfn is `folio`, met in PTE table t:
 * never-written subpages are mapped to the shared zero page (and leave MM_ANONPAGES) unless
 * the mm forbids it. Once mremap has carried large folios' PTEs apart (folioPtesMoved), a
 * folio not wholly in t is looked for in every PTE table of the mm (the rmap walk).
 */
export function split_folio(mm: RefMm, t: Uint32Array, folio: number): void {
  const [found, here] = split_folio_ptes(mm, t, folio);
  let remapped = here;
  if (mm.folioPtesMoved && found < HPAGE_PMD_NR) {
    const pgd = mm.frames[mm.pgd]!;
    for (let i = 0; i < 512; i++) {
      const pud = entry_frame(pgd, i);
      if (pud < 0) continue;
      for (let j = 0; j < 512; j++) {
        const pmd = entry_frame(mm.frames[pud]!, j);
        if (pmd < 0) continue;
        const pmdTable = mm.frames[pmd]!;
        for (let k = 0; k < 512; k++) {
          const pte = entry_frame(pmdTable, k);
          if (pte < 0 || pmd_trans_huge(pmdTable[2 * k]!) || mm.frames[pte] === t) continue;
          remapped += split_folio_ptes(mm, mm.frames[pte]!, folio)[1];
        }
      }
    }
  }
  stat_inc(mm.s, S.ThpSplitFolio);
  stat_add(mm.s, S.ThpZeroRemapped, remapped);
  stat_add(mm.s, S.RssAnon, -remapped);
}

/**
 * madvise_folio_pte_batch: the range, from entry i up to last, maps all 512 subpages of the
 * folio (entry i its first, the next 511 the next pfns).
 */
export function large_folio_batch_whole(t: Uint32Array, i: number, last: number): boolean {
  if (last - i < 512) return false;
  const pfn = pte_pfn(t, i);
  if (pfn % HPAGE_PMD_NR !== 0) return false;
  for (let q = i; q < i + 512; q++) {
    if (!(t[2 * q]! & PRESENT) || !(t[2 * q + 1]! & HI_SIM_LARGE) || pte_pfn(t, q) !== pfn + (q - i)) return false;
  }
  return true;
}

/**
 * madvise_cold_or_pageout_pte_range at the huge PMD mi: nothing for the huge zero page, the
 * PMD made old for COLD of the whole span (both: true); else split, the PTE level goes on.
 */
export function madvise_cold_or_pageout_huge_pmd(
  mm: RefMm,
  pmdTable: Uint32Array,
  mi: number,
  addr: number,
  next: number,
  pageout: boolean,
): boolean {
  const lo = pmdTable[2 * mi]!;
  stat_inc(mm.s, S.PmdLocks);
  if (is_huge_zero_pmd(lo)) return true;
  if (next - addr === PMD_SIZE && !pageout) {
    if (lo & A) {
      pmdTable[2 * mi] = (lo & ~A) >>> 0;
      tlb_remove_tlb_entry(mm.tlb, addr);
      tlb_remove_tlb_entry(mm.tlb, addr + PMD_SIZE - PAGE_SIZE);
    }
    return true;
  }
  __split_huge_pmd(mm, pmdTable, mi, Math.floor(addr / PMD_SIZE) * PMD_SIZE);
  return false;
}

/** madvise_free_huge_pmd for [addr, next) of the huge PMD mi; true when it handled the span. */
export function madvise_free_huge_pmd(mm: RefMm, pmdTable: Uint32Array, mi: number, addr: number, next: number): boolean {
  const lo = pmdTable[2 * mi]!;
  stat_inc(mm.s, S.PmdLocks);
  if (is_huge_zero_pmd(lo)) return false;
  if (next - addr !== PMD_SIZE) {
    const folio = __split_huge_pmd(mm, pmdTable, mi, Math.floor(addr / PMD_SIZE) * PMD_SIZE);
    split_folio(mm, mm.frames[entry_frame(pmdTable, mi)]!, folio);
    return false;
  }
  if (lo & (A | D)) {
    pmdTable[2 * mi] = (lo & ~(A | D)) >>> 0;
    tlb_remove_tlb_entry(mm.tlb, addr);
    tlb_remove_tlb_entry(mm.tlb, addr + PMD_SIZE - PAGE_SIZE);
  }
  stat_add(mm.s, S.LazyfreePages, HPAGE_PMD_NR);
  return true;
}

/** MADV_COLLAPSE of the PMD span at haddr (hpage_collapse_scan_pmd + collapse_huge_page). */
export function madvise_collapse_pmd(mm: RefMm, haddr: number): number {
  const [, pmd] = walk_tables(mm, haddr);
  if (pmd < 0) return SCAN_PMD_NULL;
  const pmdTable = mm.frames[pmd]!;
  const mi = pmd_index(haddr);
  const lo = pmdTable[2 * mi]!;
  if (lo === 0 && pmdTable[2 * mi + 1] === 0) return SCAN_PMD_NONE;
  if (pmd_trans_huge(lo)) return SCAN_PMD_MAPPED;
  const f = entry_frame(pmdTable, mi);
  const t = mm.frames[f]!;
  stat_inc(mm.s, S.PtlLocks);
  let noneOrZero = 0;
  for (let i = 0; i < 512; i++) {
    const elo = t[2 * i]!;
    const ehi = t[2 * i + 1]!;
    if ((elo === 0 && ehi === 0) || (elo & (PRESENT | SPECIAL)) === (PRESENT | SPECIAL)) {
      noneOrZero++;
      continue;
    }
    if (!(elo & PRESENT)) return SCAN_PTE_NON_PRESENT;
  }
  // The table becomes the deposit, noting which subpages hold data (mapped and written).
  for (let i = 0; i < 512; i++) {
    const elo = t[2 * i]!;
    const ehi = t[2 * i + 1]!;
    const data = (elo !== 0 || ehi !== 0) && !(elo & SPECIAL) && !(ehi & HI_SIM_ZEROFILL);
    t[2 * i] = data ? DEPOSIT_WRITTEN : 0;
    t[2 * i + 1] = 0;
  }
  stat_inc(mm.s, S.PmdLocks);
  pmd_clear(pmdTable, mi);
  flush_tlb_mm_range(mm, haddr, haddr + PMD_SIZE, PAGE_SIZE); // pmdp_collapse_flush
  set_frame_entry(pmdTable, mi, f, HUGE_LO, HI_NX);
  stat_add(mm.s, S.RssAnon, noneOrZero);
  stat_inc(mm.s, S.ThpCollapse);
  stat_inc(mm.s, S.ThpDeposits);
  return SCAN_SUCCEED;
}
