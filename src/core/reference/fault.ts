/**
 * The fault path of the reference core (assembly/fault.ts): handle_mm_fault allocating
 * PUD/PMD/PTE tables on demand, then handle_pte_fault per page (mm/memory.c):
 *   none entry, write -> do_anonymous_page: a new anonymous page (MM_ANONPAGES + 1)
 *   none entry, read  -> do_anonymous_page: the shared zero page, read-only (no RSS)
 *   zero page, write  -> do_wp_page -> wp_page_copy: a new anonymous page replaces it
 *   swap entry        -> do_swap_page: swapped back in (MM_SWAPENTS - 1, MM_ANONPAGES + 1)
 *   migration/device  -> the page is back in place (RSS unchanged)
 *   uffd-wp marker    -> as none;  guard marker -> SIGSEGV;  hwpoison / poisoned -> SIGBUS
 *
 * Tuned for the `fault-fill` row of `bench kernels --impl ts`: fault_pte_range keeps the
 * next frame number and the counters in locals, fills runs of none entries in one loop
 * (fill_anon_run), and uses this module's own constants and helpers, which V8 inlines
 * and folds (an imported binding is loaded and checked at every use).
 */
import { CORE_ARENA_FULL, CORE_OK, CORE_SIGBUS, CORE_SIGSEGV } from '../types.js';
import { arena_available } from './arena.js';
import { type RefMm, count_missing_tables, pmd_alloc_map, pte_alloc_map } from './mm.js';
import { huge_pmd_fault, thp_fault_window_open } from './huge_memory.js';
import {
  HI_SIM_ZEROFILL,
  MAX_SWAPFILES,
  PTE_MARKER_GUARD,
  PTE_MARKER_POISONED,
  SWP_DEVICE_EXCLUSIVE,
  SWP_HWPOISON,
  swp_offset,
  swp_type,
} from './pgtable.js';
import { S, stat_add, stat_get, stat_set } from './stats.js';

// Values as in pgtable.ts; local for the per-entry loop (see above).
const PAGE_SIZE = 4096;
const PMD_SIZE = 2 ** 21;
const P = 1 << 0; // _PAGE_PRESENT
const RW = 1 << 1;
const A = 1 << 5;
const D = 1 << 6;
const SPECIAL = 1 << 9;
const PSE = 1 << 7;
const HI_NX = 1 << 31;
const ANON_LO = 0x67; // present, rw, user, accessed, dirty
const ZERO_LO = 0x225; // present, user, accessed, special
const ZERO_PFN = 1;

/**
 * Entry i of table t := a present, writable, dirty anonymous page at frame pfn
 * (pfn_pte(pfn, ANON_PTE_FLAGS)), written out: this runs once per faulted page.
 */
function anon_pte(t: Uint32Array, i: number, pfn: number): void {
  t[2 * i] = (((pfn & 0xfffff) << 12) | ANON_LO) >>> 0;
  t[2 * i + 1] = (Math.floor(pfn / 0x100000) | HI_NX) >>> 0;
}
/** For drivers that fill tables directly (src/kernels/ts.ts). */
export const set_anon_pte = anon_pte;

function zero_pte(t: Uint32Array, i: number): void {
  t[2 * i] = ((ZERO_PFN << 12) | ZERO_LO) >>> 0;
  t[2 * i + 1] = HI_NX >>> 0;
}

/**
 * do_anonymous_page for the run of none entries of t from i to before last, on a write (or
 * with no zero page): each gets a new anonymous page, frame numbers in order from pfn.
 * Returns where the run ended (the first entry that is not none, or last).
 */
function fill_anon_run(t: Uint32Array, i: number, last: number, pfn: number): number {
  do anon_pte(t, i++, pfn++);
  while (i < last && t[2 * i] === 0 && t[2 * i + 1] === 0);
  return i;
}

/**
 * Fault every 4 KiB page of [start, end), all inside one VMA, in address order, one PTE
 * table at a time. Returns CORE_OK, CORE_ARENA_FULL (nothing changed), or CORE_SIGSEGV /
 * CORE_SIGBUS (the pages before mm.faultAddress were faulted).
 */
export function fault_range(mm: RefMm, start: number, end: number, write: boolean): number {
  if (count_missing_tables(mm, start, end) > arena_available(mm)) return CORE_ARENA_FULL;
  let result = CORE_OK;
  for (let addr = start; addr < end && result === CORE_OK;) {
    const next = Math.min((Math.floor(addr / PMD_SIZE) + 1) * PMD_SIZE, end);
    // THP: one test per PMD span (huge_memory.ts).
    const pmdTable = mm.frames[pmd_alloc_map(mm, addr)]!;
    const mi = (addr / PMD_SIZE) & 511;
    const lo = pmdTable[2 * mi]!;
    if ((lo === 0 && pmdTable[2 * mi + 1] === 0 && thp_fault_window_open(mm)) || lo & PSE) {
      if (huge_pmd_fault(mm, pmdTable, mi, addr, next, write, write || !mm.zeroPageEnabled)) {
        addr = next;
        continue;
      }
    }
    result = fault_pte_range(mm, pte_alloc_map(mm, addr), addr, next, write);
    addr = next;
  }
  return result;
}

/** handle_pte_fault for each page of [addr, end), all in PTE table t. */
function fault_pte_range(mm: RefMm, t: Uint32Array, addr: number, end: number, write: boolean): number {
  // A none entry gets a new page on a write, and on a read too when there is no zero page.
  const allocOnRead = write || !mm.zeroPageEnabled;
  const s = mm.s;
  let pfn = stat_get(s, S.NextPfn);
  let anon = 0; // FaultAnon: new pages for none entries and uffd-wp markers
  let zero = 0;
  let wpCopy = 0;
  let swapIn = 0;
  let other = 0;
  let accessOnly = 0;
  let result = CORE_OK;
  const first = (addr / PAGE_SIZE) & 511;
  const last = first + (end - addr) / PAGE_SIZE;
  let i = first;
  while (i < last) {
    const lo = t[2 * i]!;
    const hi = t[2 * i + 1]!;
    if (lo === 0 && hi === 0 && allocOnRead) {
      const runEnd = fill_anon_run(t, i, last, pfn);
      anon += runEnd - i;
      pfn += runEnd - i;
      i = runEnd;
      continue;
    }
    if (lo === 0 && hi === 0) {
      zero_pte(t, i); // read fault: the shared zero page
      zero++;
    } else if (lo & P) {
      if (!write) {
        if (!(lo & A)) t[2 * i] = (lo | A) >>> 0;
        accessOnly++;
      } else if (!(lo & RW)) {
        if (lo & SPECIAL) {
          anon_pte(t, i, pfn++);
          wpCopy++;
        } // wp_page_copy from the zero page
        else {
          t[2 * i] = (lo | RW | D | A) >>> 0;
          t[2 * i + 1] = (hi & ~HI_SIM_ZEROFILL) >>> 0;
          other++;
        } // wp_page_reuse
      } else {
        if ((lo & (D | A)) !== (D | A)) t[2 * i] = (lo | D | A) >>> 0;
        // A write also makes a never-written THP subpage hold data.
        if (hi & HI_SIM_ZEROFILL) t[2 * i + 1] = (hi & ~HI_SIM_ZEROFILL) >>> 0;
        accessOnly++;
      }
    } else {
      const type = swp_type(hi);
      if (type < MAX_SWAPFILES) {
        anon_pte(t, i, pfn++);
        swapIn++; // do_swap_page
      } else if (type === SWP_HWPOISON) {
        result = CORE_SIGBUS;
      } else if (type <= SWP_DEVICE_EXCLUSIVE) {
        // Migration finished / device page migrated back: the same page, mapped again.
        const pfnBack = swp_offset(lo, hi) % 2 ** 40;
        t[2 * i] = (((pfnBack % 0x100000) << 12) | ANON_LO) >>> 0;
        t[2 * i + 1] = (Math.floor(pfnBack / 0x100000) | HI_NX) >>> 0;
        other++;
      } else {
        const marker = swp_offset(lo, hi);
        if (marker & PTE_MARKER_GUARD) result = CORE_SIGSEGV;
        else if (marker & PTE_MARKER_POISONED) result = CORE_SIGBUS;
        else if (allocOnRead) {
          anon_pte(t, i, pfn++);
          anon++;
        } else {
          zero_pte(t, i);
          zero++;
        }
      }
      if (result !== CORE_OK) {
        mm.faultAddress = Math.floor(addr / PMD_SIZE) * PMD_SIZE + i * PAGE_SIZE;
        break;
      }
    }
    i++;
  }
  stat_set(s, S.NextPfn, pfn);
  stat_add(s, S.FaultAnon, anon);
  stat_add(s, S.FaultZeroPage, zero);
  stat_add(s, S.FaultWpCopy, wpCopy);
  stat_add(s, S.FaultSwapIn, swapIn);
  stat_add(s, S.FaultOther, other);
  stat_add(s, S.FaultAccessOnly, accessOnly);
  // New pages: none entries, markers, zero-page copies, swap-ins. Swap-ins leave MM_SWAPENTS.
  stat_add(s, S.RssAnon, anon + wpCopy + swapIn);
  stat_add(s, S.RssSwapEnts, -swapIn);
  return result;
}
