/**
 * The zap path of the reference core (assembly/zap.ts; mm/memory.c): unmap_page_range ->
 * zap_pud_range -> zap_pmd_range -> zap_pte_range, with zap_present_pte /
 * zap_nonpresent_pte deciding entry by entry and zap_present_run taking the common entry
 * (a present, normal anonymous page) in bulk. The caller brackets a whole syscall with
 * tlb_gather_mmu / tlb_finish_mmu.
 *
 * Tuned for the `zap` row of `bench kernels --impl ts`: zap_present_run keeps its state in
 * locals and uses this module's own constants (V8 folds those; an imported binding is
 * loaded and checked at every use).
 */
import { VMA_ANON, VMA_UFFD_WP, ZAP_DROP_MARKERS, ZAP_EVEN_COWS, ZAP_RECLAIM_PT } from '../types.js';
import { type RefMm, entry_frame } from './mm.js';
import { __split_huge_pmd, pmd_trans_huge, zap_huge_pmd } from './huge_memory.js';
import {
  tlb_flush_mmu,
  tlb_flush_mmu_tlbonly,
  tlb_gather_page,
  tlb_gather_pages_bulk,
  tlb_gather_room,
  tlb_remove_page,
  tlb_remove_tlb_entry,
} from './mmu_gather.js';
import {
  HI_SIM_FILE,
  HI_SIM_SHMEM,
  MAX_SWAPFILES,
  PGDIR_SIZE,
  PTE_MARKER_GUARD,
  PTE_MARKER_POISONED,
  PTE_MARKER_UFFD_WP,
  PUD_SIZE,
  SWP_DEVICE_EXCLUSIVE,
  SWP_HWPOISON,
  SWP_PTE_MARKER,
  pgd_index,
  pmd_index,
  pud_index,
  set_pte,
  span_end,
  swp_entry,
  swp_offset,
  swp_type,
} from './pgtable.js';
import { free_pte, reclaim_pt_is_enabled, try_get_and_clear_pmd, try_to_free_pte } from './pt_reclaim.js';
import { S, stat_add, stat_inc } from './stats.js';

// Values as in pgtable.ts; local for the per-entry loops (see above).
const PAGE_SIZE = 4096;
const PMD_SIZE = 2 ** 21;
const P = 1 << 0; // _PAGE_PRESENT
const D = 1 << 6; // _PAGE_DIRTY
const SPECIAL = 1 << 9; // _PAGE_SPECIAL

/**
 * The state of one zap_pte_range call (assembly/zap.ts ZapState): the RSS deltas
 * (add_mm_rss_vec), force_flush / force_break, whether an entry was left in place, and the
 * bulk accounting of the current pass's lean run. One instance, reset by each call.
 */
class ZapState {
  rssFile = 0;
  rssAnon = 0;
  rssSwap = 0;
  rssShmem = 0;
  /** An entry was left in place: the table cannot be reclaimed by this call. */
  skipped = false;
  forceFlush = false;
  forceBreak = false;
  /** Address entry 0 of the table maps. */
  base = 0;
  /** Lean pages this pass cleared, and the first and last of them (the TLB range's ends). */
  leanPages = 0;
  leanFirst = 0;
  leanLast = 0;
  /** Lean pages the active gather batch still takes, and those taken but not yet added. */
  room = 0;
  bulk = 0;
}
const zap = new ZapState();

/** should_zap_cows: zap COWed pages unless the caller asked to keep them. */
function should_zap_cows(flags: number): boolean {
  return (flags & (ZAP_RECLAIM_PT | ZAP_EVEN_COWS)) !== 0;
}

/** should_zap_folio for an anonymous (true) or file-backed folio. */
function should_zap_folio(flags: number, anon: boolean): boolean {
  return should_zap_cows(flags) || !anon;
}

/**
 * zap_install_uffd_wp_if_needed: a file-backed uffd-wp VMA keeps a marker where a page was
 * zapped, unless markers are being dropped. Returns true when a marker was installed.
 */
function zap_install_uffd_wp_if_needed(t: Uint32Array, i: number, flags: number): boolean {
  if (flags & VMA_ANON || flags & ZAP_DROP_MARKERS || !(flags & VMA_UFFD_WP)) return false;
  set_pte(t, i, swp_entry(SWP_PTE_MARKER, PTE_MARKER_UFFD_WP));
  return true;
}

/** An entry was left in place: the table cannot be reclaimed by this call. */
function note_skipped(mm: RefMm): void {
  zap.skipped = true;
  stat_inc(mm.s, S.EntriesSkipped);
}

function add_mm_rss_vec(mm: RefMm): void {
  stat_add(mm.s, S.RssAnon, zap.rssAnon);
  stat_add(mm.s, S.RssFile, zap.rssFile);
  stat_add(mm.s, S.RssSwapEnts, zap.rssSwap);
  stat_add(mm.s, S.RssShmem, zap.rssShmem);
  zap.rssAnon = zap.rssFile = zap.rssSwap = zap.rssShmem = 0;
}

/** zap_present_ptes for one small folio (or the zero page): entry i of t, (lo, hi). */
function zap_present_pte(mm: RefMm, t: Uint32Array, i: number, lo: number, hi: number, flags: number): void {
  if (lo & SPECIAL) {
    // vm_normal_page() == NULL: the zero page. Nothing to free, no RSS.
    t[2 * i] = 0;
    t[2 * i + 1] = 0;
    tlb_remove_tlb_entry(mm.tlb, zap.base + i * PAGE_SIZE);
    stat_inc(mm.s, S.EntriesCleared);
    return;
  }
  const anon = (hi & HI_SIM_FILE) === 0;
  if (!should_zap_folio(flags, anon)) {
    note_skipped(mm);
    return;
  }
  t[2 * i] = 0;
  t[2 * i + 1] = 0;
  stat_inc(mm.s, S.EntriesCleared);
  let delayRmap = false;
  if (anon) zap.rssAnon--;
  else {
    // mm_counter_file: a swap-backed (shmem) folio counts in MM_SHMEMPAGES.
    if (hi & HI_SIM_SHMEM) zap.rssShmem--;
    else zap.rssFile--;
    // A dirty file page must be flushed from the TLB before its rmap goes (tlb_delay_rmap).
    if (lo & D) {
      delayRmap = true;
      zap.forceFlush = true;
    }
  }
  tlb_remove_tlb_entry(mm.tlb, zap.base + i * PAGE_SIZE);
  if (zap_install_uffd_wp_if_needed(t, i, flags)) note_skipped(mm);
  if (tlb_remove_page(mm, delayRmap)) {
    zap.forceFlush = true;
    zap.forceBreak = true;
  }
}

/** zap_nonpresent_ptes for one entry: entry i of t, (lo, hi). */
function zap_nonpresent_pte(mm: RefMm, t: Uint32Array, i: number, lo: number, hi: number, flags: number): void {
  const type = swp_type(hi);
  if (type < MAX_SWAPFILES) {
    // Genuine swap entry: a private anonymous page that was swapped out.
    if (!should_zap_cows(flags)) {
      note_skipped(mm);
      return;
    }
    zap.rssSwap--;
  } else if (type === SWP_HWPOISON) {
    if (!should_zap_cows(flags)) {
      note_skipped(mm);
      return;
    }
  } else if (type <= SWP_DEVICE_EXCLUSIVE) {
    // Migration, device-private or device-exclusive entry of an anonymous folio.
    if (!should_zap_folio(flags, true)) {
      note_skipped(mm);
      return;
    }
    zap.rssAnon--;
  } else {
    const marker = swp_offset(lo, hi);
    if (marker & PTE_MARKER_GUARD) {
      // Ordinary zapping keeps guard regions; only munmap/exit drop them.
      if (!(flags & ZAP_DROP_MARKERS)) {
        note_skipped(mm);
        return;
      }
      stat_add(mm.s, S.GuardMarkers, -1);
    } else if (marker & PTE_MARKER_POISONED) {
      if (!should_zap_cows(flags)) {
        note_skipped(mm);
        return;
      }
    } else if (marker & PTE_MARKER_UFFD_WP) {
      // Anonymous: always dropped. File: only when markers are dropped.
      if (!(flags & VMA_ANON) && !(flags & ZAP_DROP_MARKERS)) {
        note_skipped(mm);
        return;
      }
    }
  }
  t[2 * i] = 0;
  t[2 * i + 1] = 0;
  stat_inc(mm.s, S.EntriesCleared);
  if (zap_install_uffd_wp_if_needed(t, i, flags)) note_skipped(mm);
}

/**
 * The lean path of zap_present_ptes, in an anonymous VMA that zaps COWed pages: from entry
 * i up to last, clear each present, normal (not special) anonymous page and pass over none
 * entries; the pages are counted in zap.leanPages and gathered in bulk (zap.room, zap.bulk).
 * Stops before the first entry that needs zap_present_pte or zap_nonpresent_pte, or after
 * the page that fills the gather (zap.forceBreak). Returns how many entries it consumed.
 */
function zap_present_run(mm: RefMm, t: Uint32Array, i: number, last: number): number {
  const tlb = mm.tlb;
  let room = zap.room;
  let bulk = zap.bulk;
  let leanPages = zap.leanPages;
  let leanFirst = zap.leanFirst;
  let leanLast = zap.leanLast;
  let j = i;
  while (j < last) {
    const lo = t[2 * j]!;
    const hi = t[2 * j + 1]!;
    if (lo === 0 && hi === 0) {
      j++;
      continue;
    }
    if ((lo & (P | SPECIAL)) !== P || (hi & HI_SIM_FILE) !== 0) break;
    t[2 * j] = 0;
    t[2 * j + 1] = 0;
    if (leanPages === 0) leanFirst = j;
    leanLast = j;
    leanPages++;
    j++;
    if (room > 0) {
      room--;
      bulk++;
      continue;
    }
    // This page fills the active batch: move on to the next one, or flush now.
    tlb_gather_pages_bulk(tlb, bulk);
    bulk = 0;
    if (tlb_gather_page(tlb, false)) {
      zap.forceFlush = true;
      zap.forceBreak = true;
      break;
    }
    room = tlb_gather_room(tlb);
  }
  zap.room = room;
  zap.bulk = bulk;
  zap.leanPages = leanPages;
  zap.leanFirst = leanFirst;
  zap.leanLast = leanLast;
  return j - i;
}

/**
 * zap_pte_range over [addr, end) within one PMD span (PMD entry pmdIdx of pmdTable),
 * including the PT_RECLAIM decision. The loop restarts where it stopped after a forced
 * flush (`retry:`), resetting force_flush / force_break; an early break clears
 * direct_reclaim. Upstream names of the reclaim steps: see pt_reclaim.ts.
 */
function zap_pte_range(mm: RefMm, pmdTable: Uint32Array, pmdIdx: number, addr: number, end: number, flags: number): void {
  const start = addr;
  let canReclaim = reclaim_pt_is_enabled(start, end, flags); // pte_table_reclaim_possible
  let directReclaim = true;
  let pmdFrame = -1; // pmdval: the table try_get_and_clear_pmd unhooked
  const t = mm.frames[entry_frame(pmdTable, pmdIdx)]!;
  const spanBase = Math.floor(addr / PMD_SIZE) * PMD_SIZE;
  zap.base = spanBase;
  // The common entry (a present, normal anonymous page) goes through zap_present_run when
  // the VMA is anonymous and COWed pages are zapped too.
  const lean = (flags & VMA_ANON) !== 0 && should_zap_cows(flags);
  // The zap_* callees set zap.forceFlush / forceBreak / skipped, which TS narrowed to false at the reset below.
  /* eslint-disable @typescript-eslint/no-unnecessary-condition -- callee-mutated flags (see above) */
  for (;;) {
    // retry:
    zap.forceFlush = false;
    zap.forceBreak = false;
    zap.skipped = false;
    stat_inc(mm.s, S.PtlLocks);
    const first = (addr / PAGE_SIZE) & 511;
    const last = first + (end - addr) / PAGE_SIZE;
    zap.leanPages = 0;
    zap.bulk = 0;
    zap.room = lean ? tlb_gather_room(mm.tlb) : 0;
    let i = first;
    while (i < last) {
      if (lean) {
        i += zap_present_run(mm, t, i, last);
        if (zap.forceBreak || i >= last) break;
      }
      const lo = t[2 * i]!;
      const hi = t[2 * i + 1]!;
      i++;
      if (lo === 0 && hi === 0) continue;
      tlb_gather_pages_bulk(mm.tlb, zap.bulk);
      zap.bulk = 0;
      if (lo & P) {
        zap_present_pte(mm, t, i - 1, lo, hi, flags);
        if (zap.forceBreak) break;
      } else {
        zap_nonpresent_pte(mm, t, i - 1, lo, hi, flags);
      }
      if (lean) zap.room = tlb_gather_room(mm.tlb);
    }
    tlb_gather_pages_bulk(mm.tlb, zap.bulk);
    zap.bulk = 0;
    if (zap.leanPages !== 0) {
      stat_add(mm.s, S.EntriesCleared, zap.leanPages);
      stat_add(mm.s, S.PagesGathered, zap.leanPages);
      zap.rssAnon -= zap.leanPages;
      tlb_remove_tlb_entry(mm.tlb, spanBase + zap.leanFirst * PAGE_SIZE);
      tlb_remove_tlb_entry(mm.tlb, spanBase + zap.leanLast * PAGE_SIZE);
    }
    stat_add(mm.s, S.EntriesReadZap, i - first);
    if (zap.skipped) canReclaim = false;
    addr = spanBase + i * PAGE_SIZE;
    if (zap.forceBreak) {
      directReclaim = false;
      stat_inc(mm.s, S.ForceBreak);
    }
    // Fast path (zap_empty_pte_table upstream): try to hold the PMD lock and unhook the
    // table while the PTE lock is held.
    if (canReclaim && directReclaim && addr === end) {
      pmdFrame = try_get_and_clear_pmd(mm, pmdTable, pmdIdx);
      directReclaim = pmdFrame >= 0;
    }
    add_mm_rss_vec(mm);
    if (zap.forceFlush) {
      stat_inc(mm.s, S.ForceFlush);
      tlb_flush_mmu_tlbonly(mm);
    }
    // PTE lock dropped here.
    if (zap.forceFlush) tlb_flush_mmu(mm);
    if (addr === end) break;
    stat_inc(mm.s, S.ZapRetries);
  }
  /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  if (!canReclaim) return;
  if (directReclaim) {
    free_pte(mm, pmdFrame, start);
    stat_inc(mm.s, S.ReclaimFast);
  } else {
    try_to_free_pte(mm, pmdTable, pmdIdx, start); // zap_pte_table_if_empty upstream
  }
}

function zap_pmd_range(mm: RefMm, pmdTable: Uint32Array, addr: number, end: number, flags: number): void {
  while (addr !== end) {
    const next = span_end(addr, end, PMD_SIZE);
    const mi = pmd_index(addr);
    if (entry_frame(pmdTable, mi) >= 0) {
      if (pmd_trans_huge(pmdTable[2 * mi]!)) {
        // A huge PMD: zapped whole when the range covers its span, else split first.
        if (next - addr === PMD_SIZE) {
          zap_huge_pmd(mm, pmdTable, mi, addr);
          addr = next;
          continue;
        }
        __split_huge_pmd(mm, pmdTable, mi, Math.floor(addr / PMD_SIZE) * PMD_SIZE);
        if (entry_frame(pmdTable, mi) < 0) {
          addr = next; // a page-cache folio's PMD: cleared, no table left
          continue;
        }
      }
      zap_pte_range(mm, pmdTable, mi, addr, next, flags);
    }
    addr = next;
  }
}

function zap_pud_range(mm: RefMm, pudTable: Uint32Array, addr: number, end: number, flags: number): void {
  while (addr !== end) {
    const next = span_end(addr, end, PUD_SIZE);
    const pmd = entry_frame(pudTable, pud_index(addr));
    if (pmd >= 0) zap_pmd_range(mm, mm.frames[pmd]!, addr, next, flags);
    addr = next;
  }
}

/** unmap_page_range over [addr, end) of one VMA. */
export function unmap_page_range(mm: RefMm, addr: number, end: number, flags: number): void {
  while (addr !== end) {
    const next = span_end(addr, end, PGDIR_SIZE);
    const pud = entry_frame(mm.frames[mm.pgd]!, pgd_index(addr));
    if (pud >= 0) zap_pud_range(mm, mm.frames[pud]!, addr, next, flags);
    addr = next;
  }
}
