// The fault path for a range of pages: handle_mm_fault -> __handle_mm_fault allocating
// PUD/PMD/PTE tables on demand, then handle_pte_fault per page (mm/memory.c):
//   none entry, write -> do_anonymous_page: a new anonymous page (MM_ANONPAGES + 1)
//   none entry, read  -> do_anonymous_page: the shared zero page, read-only (no RSS)
//   zero page, write  -> do_wp_page -> wp_page_copy: a new anonymous page replaces it
//   swap entry        -> do_swap_page: swapped back in (MM_SWAPENTS - 1, MM_ANONPAGES + 1)
//   migration/device  -> the page is back in place (RSS unchanged)
//   uffd-wp marker    -> as none (no userfaultfd context is registered)
//   guard marker      -> SIGSEGV;  hwpoison / poisoned marker -> SIGBUS

import {
  PAGE_SHIFT, PMD_SIZE, PMD_MASK, MAX_SWAPFILES, SWP_HWPOISON, SWP_DEVICE_EXCLUSIVE,
  PTE_MARKER_GUARD, PTE_MARKER_POISONED, ANON_PTE_FLAGS, ZERO_PTE_FLAGS, ZERO_PFN,
  _PAGE_PRESENT, _PAGE_RW, _PAGE_SPECIAL, _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_SIM_ZEROFILL,
  pfn_pte, swp_type, swp_offset, span_end,
} from "./pgtable";
import { OK, arena_reserve } from "./arena";
import { pte_offset, pmd_alloc_map, entry_table, table_alloc_populate, count_missing_tables } from "./mm";
import { FRAME_PTE } from "./arena";
import { huge_pmd_fault, pmd_trans_huge, thp_fault_window_open } from "./huge_memory";
import { Stat, stat_inc, stat_add, stat_get, stat_set } from "./stats";

// FAULT_SIGSEGV: the access hit a guard region, the process would get SIGSEGV at
// fault_address(); FAULT_SIGBUS: it hit a poisoned page, SIGBUS there (schema/vocab.js).
import { FAULT_SIGSEGV, FAULT_SIGBUS } from "./generated/vocab";
export { FAULT_SIGSEGV, FAULT_SIGBUS };

let faultAddress: u64 = 0;
/**
 * Whether read faults may map the shared zero page (mm_forbids_zeropage() false). Some
 * hosts disable it (e.g. a hypervisor's pvm_no_zero_page=1): reads then allocate pages.
 */
let zeroPageEnabled: bool = true;

export function set_zero_page(enabled: bool): void {
  zeroPageEnabled = enabled;
}
/** Page frame numbers are 40 bits wide (bits 12..51 of an entry). */
const PFN_MAX: u64 = (<u64>1 << 40) - 1;

export function fault_address(): u64 {
  return faultAddress;
}

/**
 * do_anonymous_page for a run of none entries, on a write (or with no zero page): each
 * gets a new anonymous page, frame numbers in order. With SIMD two entries are built and
 * stored per step (the pair differs by one frame in the pfn field). Returns where the run
 * ended (the first non-none entry, or last).
 */
@inline function fill_anon_run(p: usize, last: usize, pfn: u64): usize {
  if (ASC_FEATURE_SIMD) {
    let pair = i64x2.replace_lane(i64x2.splat(pfn_pte(pfn, ANON_PTE_FLAGS)), 1, pfn_pte(pfn + 1, ANON_PTE_FLAGS));
    const step = i64x2.splat(<i64>2 << <i64>PAGE_SHIFT);
    while (p + 16 <= last && !v128.any_true(v128.load(p))) {
      v128.store(p, pair);
      pair = i64x2.add(pair, step);
      p += 16;
      pfn += 2;
    }
  }
  while (p < last && load<u64>(p) == 0) {
    store<u64>(p, pfn_pte(pfn, ANON_PTE_FLAGS));
    pfn++;
    p += 8;
  }
  return p;
}

/**
 * Fault every 4 KiB page of [start, end), all inside one VMA, in address order.
 * Returns OK, an arena error (nothing changed), or FAULT_SIGSEGV / FAULT_SIGBUS (the pages
 * before fault_address() were faulted, as a real program's loop would have done).
 * Walks each level once per PTE table; counters live in locals until the end.
 */
export function fault_range(start: u64, end: u64, write: bool): i32 {
  const status = arena_reserve(count_missing_tables(start, end));
  if (status != OK) return status;
  const allocOnRead = write || !zeroPageEnabled;
  let pfn = stat_get(Stat.NextPfn);
  let anon: u64 = 0; // FaultAnon: new pages for none entries and uffd-wp markers
  let zero: u64 = 0;
  let wpCopy: u64 = 0;
  let swapIn: u64 = 0;
  let other: u64 = 0;
  let accessOnly: u64 = 0;
  let result = OK;
  let addr = start;
  while (addr < end && result == OK) {
    const next = span_end(addr, end, PMD_SIZE);
    const pmdp = pmd_alloc_map(addr);
    const pmde = load<u64>(pmdp);
    // THP: one test per PMD span, outside the per-entry loop (huge_memory.ts).
    if ((pmde == 0 && thp_fault_window_open()) || pmd_trans_huge(pmde)) {
      if (huge_pmd_fault(pmdp, addr, next, write, allocOnRead)) {
        addr = next;
        continue;
      }
    }
    const table = pmde != 0 ? entry_table(pmde) : table_alloc_populate(pmdp, FRAME_PTE);
    const first = pte_offset(table, addr);
    const last = first + (<usize>((next - addr) >> PAGE_SHIFT) << 3);
    let p = first;
    while (p < last) {
      const e = load<u64>(p);
      if (e == 0) {
        if (allocOnRead) {
          const runEnd = fill_anon_run(p, last, pfn);
          const n = <u64>((runEnd - p) >> 3);
          pfn += n;
          anon += n;
          p = runEnd;
          continue;
        }
        store<u64>(p, pfn_pte(ZERO_PFN, ZERO_PTE_FLAGS));
        zero++;
      } else if ((e & _PAGE_PRESENT) != 0) {
        if (!write) {
          if ((e & _PAGE_ACCESSED) == 0) store<u64>(p, e | _PAGE_ACCESSED);
          accessOnly++;
        } else if ((e & _PAGE_RW) == 0) {
          if ((e & _PAGE_SPECIAL) != 0) {
            store<u64>(p, pfn_pte(pfn++, ANON_PTE_FLAGS)); // wp_page_copy from the zero page
            wpCopy++;
          } else {
            store<u64>(p, (e | _PAGE_RW | _PAGE_DIRTY | _PAGE_ACCESSED) & ~_PAGE_SIM_ZEROFILL); // wp_page_reuse
            other++;
          }
        } else {
          // A write also makes a never-written THP subpage hold data (_PAGE_SIM_ZEROFILL).
          if ((e & (_PAGE_DIRTY | _PAGE_ACCESSED | _PAGE_SIM_ZEROFILL)) != (_PAGE_DIRTY | _PAGE_ACCESSED)) {
            store<u64>(p, (e | _PAGE_DIRTY | _PAGE_ACCESSED) & ~_PAGE_SIM_ZEROFILL);
          }
          accessOnly++;
        }
      } else {
        const type = swp_type(e);
        if (type < MAX_SWAPFILES) {
          store<u64>(p, pfn_pte(pfn++, ANON_PTE_FLAGS));
          swapIn++;
        } else if (type == SWP_HWPOISON) {
          result = FAULT_SIGBUS;
        } else if (type <= SWP_DEVICE_EXCLUSIVE) {
          // Migration finished / device page migrated back: the same page, mapped again.
          store<u64>(p, pfn_pte(swp_offset(e) & PFN_MAX, ANON_PTE_FLAGS));
          other++;
        } else {
          const marker = swp_offset(e);
          if ((marker & PTE_MARKER_GUARD) != 0) result = FAULT_SIGSEGV;
          else if ((marker & PTE_MARKER_POISONED) != 0) result = FAULT_SIGBUS;
          else if (allocOnRead) {
            store<u64>(p, pfn_pte(pfn++, ANON_PTE_FLAGS));
            anon++;
          } else {
            store<u64>(p, pfn_pte(ZERO_PFN, ZERO_PTE_FLAGS));
            zero++;
          }
        }
        if (result != OK) {
          faultAddress = (addr & PMD_MASK) + (<u64>((p - table) >> 3) << PAGE_SHIFT);
          break;
        }
      }
      p += 8;
    }
    addr = next;
  }
  stat_set(Stat.NextPfn, pfn);
  stat_add(Stat.FaultAnon, anon);
  stat_add(Stat.FaultZeroPage, zero);
  stat_add(Stat.FaultWpCopy, wpCopy);
  stat_add(Stat.FaultSwapIn, swapIn);
  stat_add(Stat.FaultOther, other);
  stat_add(Stat.FaultAccessOnly, accessOnly);
  // New pages: none entries, markers, zero-page copies, swap-ins. Swap-ins leave MM_SWAPENTS.
  stat_add(Stat.RssAnon, anon + wpCopy + swapIn);
  stat_set(Stat.RssSwapEnts, stat_get(Stat.RssSwapEnts) - swapIn);
  return result;
}
