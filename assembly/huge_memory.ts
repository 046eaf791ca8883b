// Anonymous PMD-sized transparent huge pages (mm/huge_memory.c, mm/khugepaged.c).
//
// A huge PMD maps a whole 2 MiB span with one entry (_PAGE_PSE). Every huge PMD of
// anonymous memory has a PTE table deposited beside it (pgtable_trans_huge_deposit), so
// that splitting it later never has to allocate; the deposit counts in VmPTE from the fault
// on (mm_inc_nr_ptes), and zapping the huge PMD frees it (zap_deposited_table). The model
// keeps the deposit's frame in the huge entry's frame field (the kernel keeps a list beside
// the PMD table; the THP's own frame numbers identify nothing here):
//
//   THP        NX | frame of the deposited PTE table | PSE | D A | U RW P
//   huge zero  NX | frame of the deposited PTE table | SPECIAL | PSE | A | U P
//
// A huge PMD is never walked as a table: every walk tests pmd_trans_huge first. While a THP
// is mapped by its PMD, its deposit records which subpages were written (DEPOSIT_WRITTEN at
// their index): a folio split maps never-written subpages to the shared zero page instead
// (remap_page with RMP_USE_SHARED_ZEROPAGE, 6.12+), and that drops them from RSS. After a
// PMD split the PTEs carry the same facts: _PAGE_SIM_LARGE (the folio is still large) and
// _PAGE_SIM_ZEROFILL (never written).
// Which faults may map a THP is the driver's decision (thp_vma_allowable_order and the
// VMA bounds, src/mm/thp.ts): it opens a window with set_thp_fault_window before a fault.

import {
  PAGE_SHIFT, PAGE_SIZE, PMD_SIZE, PMD_SHIFT, PTRS_PER_TABLE, ANON_PTE_FLAGS, ZERO_PTE_FLAGS, ZERO_PFN,
  _PAGE_PRESENT, _PAGE_PSE, _PAGE_SPECIAL, _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_SIM_LARGE, _PAGE_SIM_ZEROFILL,
  _PAGE_USER, _PAGE_NX, _PAGE_SIM_FILE,
  TABLE_BYTES, pfn_pte, pte_pfn, pte_index,
} from "./pgtable";
import { FRAME_PTE, OK, arena_alloc, arena_free, arena_reserve, frame_addr } from "./arena";
import {
  entry_table, table_entry, table_frame, mm_inc_nr_ptes, mm_dec_nr_ptes, pmd_clear, walk_pmd, mm_pgd_frame,
  pmd_alloc_map, count_missing_tables,
} from "./mm";
import { tlb_remove_tlb_entry, tlb_remove_page, tlb_flush_mmu } from "./mmu_gather";
import { flush_tlb_mm_range } from "./tlb";
import { note_real_peak } from "./rcu";
import { checker_on, checker_pmd_populate } from "./checker";
import { Stat, stat_inc, stat_add, stat_get, stat_set } from "./stats";

import {
  SCAN_SUCCEED, SCAN_PMD_NULL, SCAN_PMD_NONE, SCAN_PMD_MAPPED, SCAN_PTE_NON_PRESENT,
} from "./generated/vocab";
export { SCAN_SUCCEED, SCAN_PMD_NULL, SCAN_PMD_NONE, SCAN_PMD_MAPPED, SCAN_PTE_NON_PRESENT };

/** Pages of one PMD-sized THP (HPAGE_PMD_NR). */
const HPAGE_PMD_NR: u64 = <u64>PTRS_PER_TABLE;
export const HUGE_PMD_FLAGS: u64 = ANON_PTE_FLAGS | _PAGE_PSE;
export const HUGE_ZERO_PMD_FLAGS: u64 = ZERO_PTE_FLAGS | _PAGE_PSE;

// [thpLo, thpHi): where the fault in progress may map THPs (empty: nowhere).
let thpLo: u64 = 0;
let thpHi: u64 = 0;
/** transparent_hugepage_use_zero_page(): /sys/kernel/mm/transparent_hugepage/use_zero_page. */
let hugeZeroPage: bool = true;
/** !mm_forbids_zeropage(): a folio split may map never-written subpages to the zero page. */
let splitZeroRemap: bool = true;
/** The write faults in the window store data (set_thp_fault_window). */
let faultStoresData: bool = true;
/** A deposit entry: the subpage at its index was written while the PMD mapped the THP. */
const DEPOSIT_WRITTEN: u64 = 1;
/**
 * move_ptes carried a PTE of a still-large folio to another table: since then a folio's PTEs
 * may sit in several tables, and a folio split looks for them in every table of the mm.
 */
let folioPtesMoved: bool = false;

/** A fresh mm: no folio has been carried apart yet. */
export function thp_mm_init(): void {
  folioPtesMoved = false;
}
/** move_ptes moved the entry e: note a large folio's PTE leaving its table. */
@inline export function note_folio_pte_moved(e: u64): void {
  if ((e & (_PAGE_PRESENT | _PAGE_SIM_LARGE)) == (_PAGE_PRESENT | _PAGE_SIM_LARGE)) folioPtesMoved = true;
}
/**
 * The folio of a large subpage: a split maps a THP at 512 pfns aligned to 512, so the folio
 * is identified by its first pfn wherever its PTEs went (mremap may scatter them).
 */
@inline export function folio_pfn(e: u64): u64 {
  return pte_pfn(e) & ~(HPAGE_PMD_NR - 1);
}

/**
 * The aligned 2 MiB spans of [lo, hi) may get THPs on the next faults; (0, 0) closes it.
 * storesData: the write faults store data (a program's writes), not only fault pages in
 * (MADV_POPULATE_WRITE leaves them all zeros), which decides what a folio split keeps.
 */
export function set_thp_fault_window(lo: u64, hi: u64, storesData: bool): void {
  thpLo = lo;
  thpHi = hi;
  faultStoresData = storesData;
}
export function set_huge_zero_page(enabled: bool): void {
  hugeZeroPage = enabled;
}
/** The mm may map the shared zero page (set with set_zero_page). */
export function set_split_zero_remap(enabled: bool): void {
  splitZeroRemap = enabled;
}

/** The subpages of [addr, next) of the huge PMD pmde were written: note it in its deposit. */
function mark_written(pmde: u64, addr: u64, next: u64): void {
  const deposit = entry_table(pmde);
  const end = deposit + (<usize>pte_index(next - 1) << 3);
  for (let p = deposit + (<usize>pte_index(addr) << 3); p <= end; p += 8) store<u64>(p, DEPOSIT_WRITTEN);
}

/**
 * A PMD-sized page-cache folio mapped by its PMD (do_set_pmd: a read fault on a file VMA
 * whose fault-around or ->fault found one). It has no deposit: on x86 only anonymous huge
 * PMDs get one (arch_needs_pgtable_deposit is false), so its frame field is 0 and it is
 * never walked; it is read-only (a write splits it: the PMD is just cleared, the folio
 * stays cached) and counts 512 pages in MM_FILEPAGES.
 */
export const FILE_HUGE_PMD_FLAGS: u64 = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_NX | _PAGE_SIM_FILE | _PAGE_PSE;
@inline export function is_file_huge_pmd(e: u64): bool {
  return (e & (_PAGE_PSE | _PAGE_SIM_FILE)) == (_PAGE_PSE | _PAGE_SIM_FILE);
}

/**
 * do_set_pmd for the PMD-sized page-cache folio mapping the span of addr, whose PMD is
 * none: the upper tables as a fault allocates them, then the huge entry (RssFile +512).
 * The driver decided that the folio is PMD-sized and suitable. Returns OK or an arena status.
 */
export function do_set_pmd(addr: u64): i32 {
  const status = arena_reserve(count_missing_tables(addr, addr + 1));
  if (status != OK) return status;
  const pmdp = pmd_alloc_map(addr);
  assert(load<u64>(pmdp) == 0, "do_set_pmd: PMD not none");
  if (checker_on()) checker_pmd_populate(pmdp, 0);
  stat_inc(Stat.PmdLocks);
  store<u64>(pmdp, FILE_HUGE_PMD_FLAGS);
  stat_add(Stat.RssFile, HPAGE_PMD_NR);
  stat_inc(Stat.FaultFile);
  return OK;
}

@inline export function pmd_trans_huge(e: u64): bool {
  return (e & _PAGE_PSE) != 0;
}
@inline export function is_huge_zero_pmd(e: u64): bool {
  return (e & (_PAGE_PSE | _PAGE_SPECIAL)) == (_PAGE_PSE | _PAGE_SPECIAL);
}
/** Whether a fault may map a THP at all: one compare outside the per-entry loops. */
@inline export function thp_fault_window_open(): bool {
  return thpHi != 0;
}

/**
 * do_huge_pmd_anonymous_page for the none PMD at pmdp (span haddr): deposit a PTE table,
 * then map the huge zero page (a read fault, when both zero pages are allowed:
 * set_huge_zero_folio) or a new THP (+512 MM_ANONPAGES). The caller reserved the frame.
 */
function do_huge_pmd_anonymous_page(pmdp: usize, useZero: bool): void {
  if (checker_on()) checker_pmd_populate(pmdp, 0);
  const frame = arena_alloc(FRAME_PTE); // pte_alloc_one + pgtable_trans_huge_deposit
  mm_inc_nr_ptes();
  stat_inc(Stat.ThpDeposits);
  note_real_peak();
  stat_inc(Stat.PmdLocks);
  if (useZero) {
    store<u64>(pmdp, (<u64>frame << PAGE_SHIFT) | HUGE_ZERO_PMD_FLAGS);
    stat_inc(Stat.ThpHugeZeroFaults);
  } else {
    store<u64>(pmdp, (<u64>frame << PAGE_SHIFT) | HUGE_PMD_FLAGS);
    stat_add(Stat.RssAnon, HPAGE_PMD_NR);
    stat_inc(Stat.ThpFaultAlloc);
  }
}

/**
 * The PMD level of __handle_mm_fault for the span [addr, next) (pud and pmd tables exist,
 * pmdp is its entry): a none PMD inside the window gets a THP or the huge zero page; a
 * huge PMD is accessed as a whole (a write into the huge zero page replaces it by a THP
 * and keeps the deposit: do_huge_zero_wp_pmd; otherwise touch_pmd marks it young and
 * dirty). Returns false when the span is left to the PTE level.
 */
export function huge_pmd_fault(pmdp: usize, addr: u64, next: u64, write: bool, allocOnRead: bool): bool {
  const pmde = load<u64>(pmdp);
  let faulted = false;
  if (pmde == 0) {
    const haddr = addr & ~(PMD_SIZE - 1);
    if (haddr < thpLo || haddr + PMD_SIZE > thpHi) return false;
    do_huge_pmd_anonymous_page(pmdp, !allocOnRead && hugeZeroPage);
    if (write && faultStoresData) mark_written(load<u64>(pmdp), addr, next);
    faulted = true;
  } else if (!pmd_trans_huge(pmde)) {
    return false;
  } else if (write && is_huge_zero_pmd(pmde)) {
    stat_inc(Stat.PmdLocks);
    store<u64>(pmdp, (pmde & ~(HUGE_ZERO_PMD_FLAGS)) | HUGE_PMD_FLAGS);
    stat_add(Stat.RssAnon, HPAGE_PMD_NR);
    stat_inc(Stat.ThpFaultAlloc);
    flush_tlb_mm_range(addr & ~(PMD_SIZE - 1), (addr & ~(PMD_SIZE - 1)) + PMD_SIZE, PMD_SHIFT);
    if (faultStoresData) mark_written(pmde, addr, next);
    faulted = true;
  } else {
    const want = write ? _PAGE_ACCESSED | _PAGE_DIRTY : _PAGE_ACCESSED;
    if ((pmde & want) != want) store<u64>(pmdp, pmde | want); // touch_pmd
    if (write && faultStoresData && !is_huge_zero_pmd(pmde)) mark_written(pmde, addr, next);
  }
  const pages = (next - addr) >> PAGE_SHIFT;
  stat_add(Stat.FaultAccessOnly, faulted ? pages - 1 : pages);
  return true;
}

/** zap_deposited_table: withdraw the deposit and free it at once (it was never walked). */
function zap_deposited_table(pmde: u64): void {
  arena_free(table_frame(entry_table(pmde)));
  mm_dec_nr_ptes();
}

/**
 * zap_huge_pmd: a zap covers the whole huge PMD at pmdp (span haddr). Clear it, free the
 * deposit, and for a THP drop 512 MM_ANONPAGES and queue the folio in the gather.
 */
export function zap_huge_pmd(pmdp: usize, haddr: u64): void {
  const pmde = load<u64>(pmdp);
  stat_inc(Stat.PmdLocks);
  pmd_clear(pmdp);
  // tlb_remove_pmd_tlb_entry: the range grows by the whole span.
  tlb_remove_tlb_entry(haddr);
  tlb_remove_tlb_entry(haddr + PMD_SIZE - PAGE_SIZE);
  if (is_file_huge_pmd(pmde)) {
    // A page-cache folio: no deposit to free (x86), MM_FILEPAGES - 512.
    stat_inc(Stat.ThpZapPmd);
    stat_inc(Stat.EntriesCleared);
    stat_set(Stat.RssFile, stat_get(Stat.RssFile) - HPAGE_PMD_NR);
    if (tlb_remove_page(false)) tlb_flush_mmu();
    return;
  }
  zap_deposited_table(pmde);
  stat_inc(Stat.ThpZapPmd);
  stat_inc(Stat.EntriesCleared);
  if (is_huge_zero_pmd(pmde)) return;
  stat_set(Stat.RssAnon, stat_get(Stat.RssAnon) - HPAGE_PMD_NR);
  if (tlb_remove_page(false)) tlb_flush_mmu(); // tlb_remove_page_size
}

/**
 * __split_huge_pmd_locked (and __split_huge_zero_page_pmd) for the huge PMD at pmdp, span
 * haddr: the deposit is withdrawn and becomes the PTE table, filled with 512 entries for
 * the pages the huge PMD mapped (zero-page entries for the huge zero page; for a THP the
 * write, young and dirty bits carried over). VmPTE and RSS are unchanged.
 */
export function __split_huge_pmd(pmdp: usize, haddr: u64): u64 {
  const pmde = load<u64>(pmdp);
  stat_inc(Stat.PmdLocks);
  if (is_file_huge_pmd(pmde)) {
    // __split_huge_pmd_locked of a page-cache folio: the PMD is only cleared (no deposit to
    // map it by PTEs); its pages leave the mm (MM_FILEPAGES - 512) and a later fault maps
    // them again. The PMD entry is none afterwards: callers go on with no PTE table.
    pmd_clear(pmdp);
    flush_tlb_mm_range(haddr, haddr + PMD_SIZE, PMD_SHIFT);
    stat_set(Stat.RssFile, stat_get(Stat.RssFile) - HPAGE_PMD_NR);
    stat_inc(Stat.ThpSplitPmd);
    return 0;
  }
  const table = entry_table(pmde);
  // pmdp_invalidate: the huge translation leaves every TLB before the PTEs are in place.
  flush_tlb_mm_range(haddr, haddr + PMD_SIZE, PMD_SHIFT);
  const end = table + TABLE_BYTES;
  let first: u64 = ZERO_PFN;
  if (is_huge_zero_pmd(pmde)) {
    const zero = pfn_pte(ZERO_PFN, ZERO_PTE_FLAGS);
    for (let p = table; p < end; p += 8) store<u64>(p, zero);
  } else {
    // The folio stays large, mapped by 512 PTEs; never-written subpages keep saying so. Its
    // pfns are aligned to 512, which identifies the folio (folio_pfn).
    const flags =
      (ANON_PTE_FLAGS & ~(_PAGE_ACCESSED | _PAGE_DIRTY)) | (pmde & (_PAGE_ACCESSED | _PAGE_DIRTY)) | _PAGE_SIM_LARGE;
    first = (stat_get(Stat.NextPfn) + HPAGE_PMD_NR - 1) & ~(HPAGE_PMD_NR - 1);
    let pfn = first;
    for (let p = table; p < end; p += 8) {
      const zero = load<u64>(p) == DEPOSIT_WRITTEN ? 0 : _PAGE_SIM_ZEROFILL;
      store<u64>(p, pfn_pte(pfn++, flags | zero));
    }
    stat_set(Stat.NextPfn, pfn);
  }
  store<u64>(pmdp, table_entry(table_frame(table))); // pmd_populate
  stat_inc(Stat.ThpSplitPmd);
  return first;
}

/**
 * split_huge_pmd_address: split the huge PMD mapping addr, if there is one (a VMA is being
 * split there: vma_adjust_trans_huge). Returns true when it split one.
 */
export function split_huge_pmd_address(addr: u64): bool {
  const pmdp = walk_pmd(addr);
  if (pmdp == 0 || !pmd_trans_huge(load<u64>(pmdp))) return false;
  __split_huge_pmd(pmdp, addr & ~(PMD_SIZE - 1));
  return true;
}

/**
 * The PTEs in `table` of the large folio whose first pfn is `folio`: each becomes a small
 * folio's, or the shared zero page when never written (zeroRemap). Returns
 * found << 32 | remapped.
 */
function split_folio_ptes(table: usize, folio: u64, zeroRemap: bool): u64 {
  const end = table + TABLE_BYTES;
  const zero = pfn_pte(ZERO_PFN, ZERO_PTE_FLAGS);
  let found: u64 = 0;
  let remapped: u64 = 0;
  for (let p = table; p < end; p += 8) {
    const e = load<u64>(p);
    // Present entries only: the simulator bits overlap a non-present entry's offset field.
    if ((e & (_PAGE_PRESENT | _PAGE_SIM_LARGE)) != (_PAGE_PRESENT | _PAGE_SIM_LARGE) || folio_pfn(e) != folio) continue;
    found++;
    if ((e & _PAGE_SIM_ZEROFILL) != 0 && zeroRemap) {
      store<u64>(p, zero);
      remapped++;
    } else {
      store<u64>(p, e & ~(_PAGE_SIM_LARGE | _PAGE_SIM_ZEROFILL));
    }
  }
  return (found << 32) | remapped;
}

/**
 * split_folio for the PTE-mapped large folio whose first pfn is `folio`, met in `table`:
 * every subpage becomes a small folio; never-written ones are mapped to the shared zero page
 * instead (try_to_map_unused_to_zeropage), and leave MM_ANONPAGES, unless the mm forbids the
 * zero page. The rmap walk reaches every mapping of the folio: once mremap has carried a
 * large folio's PTEs to other tables (folioPtesMoved), a folio not wholly in `table` is
 * looked for in every PTE table of the mm. Subpages no longer mapped are freed.
 */
export function split_folio(table: usize, folio: u64): void {
  const r = split_folio_ptes(table, folio, splitZeroRemap);
  let remapped = r & 0xffffffff;
  if (folioPtesMoved && r >> 32 < HPAGE_PMD_NR) {
    const pgd = frame_addr(mm_pgd_frame());
    for (let i: usize = 0; i < <usize>PTRS_PER_TABLE; i++) {
      const pgde = load<u64>(pgd + (i << 3));
      if (pgde == 0) continue;
      const pud = entry_table(pgde);
      for (let j: usize = 0; j < <usize>PTRS_PER_TABLE; j++) {
        const pude = load<u64>(pud + (j << 3));
        if (pude == 0) continue;
        const pmd = entry_table(pude);
        for (let k: usize = 0; k < <usize>PTRS_PER_TABLE; k++) {
          const pmde = load<u64>(pmd + (k << 3));
          if (pmde == 0 || pmd_trans_huge(pmde)) continue;
          const t = entry_table(pmde);
          if (t != table) remapped += split_folio_ptes(t, folio, splitZeroRemap) & 0xffffffff;
        }
      }
    }
  }
  stat_inc(Stat.ThpSplitFolio);
  stat_add(Stat.ThpZeroRemapped, remapped);
  stat_set(Stat.RssAnon, stat_get(Stat.RssAnon) - remapped);
}

/**
 * madvise_folio_pte_batch for the large folio mapped at p: true when the range, from p up
 * to last, maps all its 512 subpages in a row (then it stays large, lazily freeable): p maps
 * its first subpage and the next 511 entries the next pfns of the same folio.
 */
export function large_folio_batch_whole(p: usize, last: usize): bool {
  if (last - p < <usize>PTRS_PER_TABLE << 3) return false;
  const pfn = pte_pfn(load<u64>(p));
  if ((pfn & (HPAGE_PMD_NR - 1)) != 0) return false;
  for (let i: usize = 0; i < <usize>PTRS_PER_TABLE; i++) {
    const f = load<u64>(p + (i << 3));
    if ((f & (_PAGE_PRESENT | _PAGE_SIM_LARGE)) != (_PAGE_PRESENT | _PAGE_SIM_LARGE) || pte_pfn(f) != pfn + <u64>i) return false;
  }
  return true;
}

/**
 * madvise_cold_or_pageout_pte_range at a huge PMD, [addr, next) of its span. The huge zero
 * page: nothing. COLD of the whole span: the PMD is made old, the THP stays (returns true).
 * Otherwise the PMD is split and the caller goes on at the PTE level (returns false), where
 * the still large folio is split or reclaimed whole.
 */
export function madvise_cold_or_pageout_huge_pmd(pmdp: usize, addr: u64, next: u64, pageout: bool): bool {
  const pmde = load<u64>(pmdp);
  stat_inc(Stat.PmdLocks);
  if (is_huge_zero_pmd(pmde)) return true;
  if (next - addr == PMD_SIZE && !pageout) {
    if ((pmde & _PAGE_ACCESSED) != 0) {
      store<u64>(pmdp, pmde & ~_PAGE_ACCESSED);
      tlb_remove_tlb_entry(addr);
      tlb_remove_tlb_entry(addr + PMD_SIZE - PAGE_SIZE);
    }
    return true;
  }
  __split_huge_pmd(pmdp, addr & ~(PMD_SIZE - 1));
  return false;
}

/**
 * madvise_free_huge_pmd for [addr, next) of the huge PMD at pmdp. The huge zero page:
 * nothing (and no split). A whole THP: marked clean and old, lazily freeable, still
 * mapped (returns true). Part of a THP: the folio is split (split_folio, which remaps it
 * by PTEs), and the caller goes on at the PTE level (returns false).
 */
export function madvise_free_huge_pmd(pmdp: usize, addr: u64, next: u64): bool {
  const pmde = load<u64>(pmdp);
  stat_inc(Stat.PmdLocks);
  if (is_huge_zero_pmd(pmde)) return false;
  if (next - addr != PMD_SIZE) {
    const folio = __split_huge_pmd(pmdp, addr & ~(PMD_SIZE - 1));
    split_folio(entry_table(load<u64>(pmdp)), folio);
    return false;
  }
  if ((pmde & (_PAGE_ACCESSED | _PAGE_DIRTY)) != 0) {
    store<u64>(pmdp, pmde & ~(_PAGE_ACCESSED | _PAGE_DIRTY));
    tlb_remove_tlb_entry(addr);
    tlb_remove_tlb_entry(addr + PMD_SIZE - PAGE_SIZE);
  }
  stat_add(Stat.LazyfreePages, HPAGE_PMD_NR);
  return true;
}

/**
 * MADV_COLLAPSE of the PMD span at haddr (hpage_collapse_scan_pmd + collapse_huge_page,
 * as a caller that is not khugepaged: max_ptes_none does not apply). The PTE table must
 * hold only none, zero-page and present anonymous entries (measured on 6.18: an all-none
 * table, a zero-page-only one and read-only pages all collapse); then a THP replaces them
 * and the table becomes its deposit (VmPTE unchanged, MM_ANONPAGES +1 per none or
 * zero-page entry). The VMA's anon_vma is the driver's check. Returns a SCAN_* result.
 */
export function madvise_collapse_pmd(haddr: u64): i32 {
  const pmdp = walk_pmd(haddr);
  if (pmdp == 0) return SCAN_PMD_NULL;
  const pmde = load<u64>(pmdp);
  if (pmde == 0) return SCAN_PMD_NONE;
  if (pmd_trans_huge(pmde)) return SCAN_PMD_MAPPED;
  const table = entry_table(pmde);
  const end = table + TABLE_BYTES;
  stat_inc(Stat.PtlLocks);
  let noneOrZero: u64 = 0;
  for (let p = table; p < end; p += 8) {
    const e = load<u64>(p);
    if (e == 0 || (e & (_PAGE_PRESENT | _PAGE_SPECIAL)) == (_PAGE_PRESENT | _PAGE_SPECIAL)) {
      noneOrZero++;
      continue;
    }
    if ((e & _PAGE_PRESENT) == 0) return SCAN_PTE_NON_PRESENT;
  }
  // __collapse_huge_page_copy: the new THP holds the old pages' data; the table becomes its
  // deposit, noting which subpages hold data (a page mapped there and written).
  for (let p = table; p < end; p += 8) {
    const e = load<u64>(p);
    const data = e != 0 && (e & (_PAGE_SPECIAL | _PAGE_SIM_ZEROFILL)) == 0;
    store<u64>(p, data ? DEPOSIT_WRITTEN : 0);
  }
  // pmdp_collapse_flush: unhook the table and flush before the huge entry goes in.
  stat_inc(Stat.PmdLocks);
  pmd_clear(pmdp);
  flush_tlb_mm_range(haddr, haddr + PMD_SIZE, PAGE_SHIFT);
  store<u64>(pmdp, (<u64>table_frame(table) << PAGE_SHIFT) | HUGE_PMD_FLAGS);
  stat_add(Stat.RssAnon, noneOrZero);
  stat_inc(Stat.ThpCollapse);
  stat_inc(Stat.ThpDeposits);
  return SCAN_SUCCEED;
}
