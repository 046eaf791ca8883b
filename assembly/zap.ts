// The zap path: unmap_page_range -> zap_pud_range -> zap_pmd_range -> zap_pte_range
// (mm/memory.c), with zap_present_ptes / zap_nonpresent_ptes deciding entry by entry.
//
// The caller (the driver) clips the range to one VMA and brackets a whole syscall with
// tlb_gather_mmu / tlb_finish_mmu, as madvise and munmap do.

import {
  PAGE_SHIFT, PMD_SIZE, PUD_SIZE, PGDIR_SIZE, PMD_MASK, MAX_SWAPFILES, SWP_HWPOISON,
  SWP_MIGRATION_WRITE, SWP_DEVICE_EXCLUSIVE, PTE_MARKER_GUARD, PTE_MARKER_POISONED,
  PTE_MARKER_UFFD_WP, SWP_PTE_MARKER, _PAGE_PRESENT, _PAGE_SPECIAL, _PAGE_SIM_FILE, _PAGE_SIM_SHMEM, _PAGE_DIRTY,
  span_end, swp_type, swp_offset, swp_entry,
} from "./pgtable";
import { pgd_offset, pud_offset, pmd_offset, pte_offset, entry_table } from "./mm";
import {
  tlb_remove_tlb_entry, tlb_remove_page, tlb_gather_page, tlb_gather_room, tlb_gather_pages_bulk,
  tlb_flush_mmu_tlbonly, tlb_flush_mmu,
} from "./mmu_gather";
import {
  ZAP_RECLAIM_PT, reclaim_pt_is_enabled, try_get_and_clear_pmd, free_pte, try_to_free_pte,
} from "./pt_reclaim";
import { reclaim_pt_is_enabled_v1, try_to_free_pte_v1 } from "./pt_reclaim_v1";
import { pte_refcount_zap_done } from "./pte_refcount";
import { pmd_trans_huge, zap_huge_pmd, __split_huge_pmd } from "./huge_memory";
import { STRATEGY_V1, STRATEGY_REFCOUNT, strategy_id, need_resched } from "./strategy";
import { Stat, stat_inc, stat_add, stat_get, stat_set } from "./stats";

// zap_details and the VMA properties the zap loop looks at, as one flags word.
// (schema/vocab.js, shared with the driver).
import { ZAP_DROP_MARKERS, ZAP_EVEN_COWS, VMA_ANON, VMA_UFFD_WP } from "./generated/vocab";
export { ZAP_RECLAIM_PT, ZAP_DROP_MARKERS, ZAP_EVEN_COWS, VMA_ANON, VMA_UFFD_WP };

/** should_zap_cows: zap COWed pages unless the caller asked to keep them. */
@inline function should_zap_cows(flags: u32): bool {
  return (flags & (ZAP_RECLAIM_PT | ZAP_EVEN_COWS)) != 0;
}

/** should_zap_folio for an anonymous (true) or file-backed folio. */
@inline function should_zap_folio(flags: u32, anon: bool): bool {
  return should_zap_cows(flags) || !anon;
}

/**
 * zap_install_uffd_wp_if_needed: a file-backed uffd-wp VMA keeps a marker where a page
 * was zapped, unless markers are being dropped. Anonymous VMAs always drop everything.
 * Returns true when a marker was installed (the entry then counts as skipped).
 */
@inline function zap_install_uffd_wp_if_needed(ptep: usize, flags: u32): bool {
  if ((flags & VMA_ANON) != 0 || (flags & ZAP_DROP_MARKERS) != 0 || (flags & VMA_UFFD_WP) == 0) {
    return false;
  }
  store<u64>(ptep, swp_entry(SWP_PTE_MARKER, PTE_MARKER_UFFD_WP));
  return true;
}

/**
 * The state of one zap_pte_range call: its RSS deltas (add_mm_rss_vec), force_flush and
 * force_break, whether an entry was left in place, and the bulk accounting of the current
 * pass's lean run (zap_present_run). One static instance (no allocation), reset by each
 * call; the helpers below update it.
 */
@unmanaged class ZapState {
  rssFile: i64;
  rssAnon: i64;
  rssSwap: i64;
  rssShmem: i64;
  /** An entry was left in place: the table cannot be reclaimed by this call. */
  skipped: bool;
  forceFlush: bool;
  forceBreak: bool;
  /** Lean pages this pass cleared, and the first and last of them (the TLB range's ends). */
  leanPages: u32;
  leanFirst: usize;
  leanLast: usize;
  /** Lean pages the active gather batch still takes, and those taken but not yet gathered. */
  room: u32;
  bulk: u32;
}
const zap = changetype<ZapState>(memory.data(offsetof<ZapState>(), 8));

/** An entry was left in place: the table cannot be reclaimed by this call. */
@inline function note_skipped(): void {
  zap.skipped = true;
  stat_inc(Stat.EntriesSkipped);
}

@inline function add_mm_rss_vec(): void {
  stat_set(Stat.RssFile, <u64>(<i64>stat_get(Stat.RssFile) + zap.rssFile));
  stat_set(Stat.RssAnon, <u64>(<i64>stat_get(Stat.RssAnon) + zap.rssAnon));
  stat_set(Stat.RssSwapEnts, <u64>(<i64>stat_get(Stat.RssSwapEnts) + zap.rssSwap));
  if (zap.rssShmem != 0) stat_set(Stat.RssShmem, <u64>(<i64>stat_get(Stat.RssShmem) + zap.rssShmem));
  zap.rssShmem = 0;
  zap.rssFile = 0;
  zap.rssAnon = 0;
  zap.rssSwap = 0;
}

/** zap_present_ptes for one small folio (or the zero page). */
@inline function zap_present_pte(ptep: usize, e: u64, flags: u32, addr: u64): void {
  if ((e & _PAGE_SPECIAL) != 0) {
    // vm_normal_page() == NULL: the zero page. Nothing to free, no RSS.
    store<u64>(ptep, 0);
    tlb_remove_tlb_entry(addr);
    stat_inc(Stat.EntriesCleared);
    return;
  }
  const anon = (e & _PAGE_SIM_FILE) == 0;
  if (!should_zap_folio(flags, anon)) {
    note_skipped();
    return;
  }
  store<u64>(ptep, 0);
  stat_inc(Stat.EntriesCleared);
  let delayRmap = false;
  if (anon) {
    zap.rssAnon--;
  } else {
    // mm_counter_file: a swap-backed (shmem) folio counts in MM_SHMEMPAGES.
    if ((e & _PAGE_SIM_SHMEM) != 0) zap.rssShmem--;
    else zap.rssFile--;
    // A dirty file page must be flushed from the TLB before its rmap goes (tlb_delay_rmap).
    if ((e & _PAGE_DIRTY) != 0) {
      delayRmap = true;
      zap.forceFlush = true;
    }
  }
  tlb_remove_tlb_entry(addr);
  if (zap_install_uffd_wp_if_needed(ptep, flags)) note_skipped();
  if (tlb_remove_page(delayRmap)) {
    zap.forceFlush = true;
    zap.forceBreak = true;
  }
}

/** zap_nonpresent_ptes for one entry. */
function zap_nonpresent_pte(ptep: usize, e: u64, flags: u32): void {
  const type = swp_type(e);
  if (type < MAX_SWAPFILES) {
    // Genuine swap entry: a private anonymous page that was swapped out.
    if (!should_zap_cows(flags)) { note_skipped(); return; }
    zap.rssSwap--;
  } else if (type == SWP_HWPOISON) {
    if (!should_zap_cows(flags)) { note_skipped(); return; }
  } else if (type <= SWP_MIGRATION_WRITE) {
    // Migration entry of an anonymous folio: still counted in MM_ANONPAGES.
    if (!should_zap_folio(flags, true)) { note_skipped(); return; }
    zap.rssAnon--;
  } else if (type <= SWP_DEVICE_EXCLUSIVE) {
    // Device-private or device-exclusive: anonymous only.
    if (!should_zap_folio(flags, true)) { note_skipped(); return; }
    zap.rssAnon--;
  } else {
    const marker = swp_offset(e);
    if ((marker & PTE_MARKER_GUARD) != 0) {
      // Ordinary zapping keeps guard regions; only munmap/exit drop them.
      if ((flags & ZAP_DROP_MARKERS) == 0) { note_skipped(); return; }
      stat_set(Stat.GuardMarkers, stat_get(Stat.GuardMarkers) - 1);
    } else if ((marker & PTE_MARKER_POISONED) != 0) {
      if (!should_zap_cows(flags)) { note_skipped(); return; }
    } else if ((marker & PTE_MARKER_UFFD_WP) != 0) {
      // Anonymous: always dropped. File: only when markers are dropped.
      if ((flags & VMA_ANON) == 0 && (flags & ZAP_DROP_MARKERS) == 0) { note_skipped(); return; }
    }
  }
  store<u64>(ptep, 0);
  stat_inc(Stat.EntriesCleared);
  if (zap_install_uffd_wp_if_needed(ptep, flags)) note_skipped();
}

/**
 * True when all eight entries at p are present, not special, anonymous pages: the lean
 * path's test (below), two entries per 128-bit compare. Only room >= 8 callers use it.
 */
@inline function lean_block_of_8(p: usize): bool {
  const mask = i64x2.splat(<i64>(_PAGE_PRESENT | _PAGE_SPECIAL | _PAGE_SIM_FILE));
  const want = i64x2.splat(<i64>_PAGE_PRESENT);
  return i64x2.all_true(v128.and(
    v128.and(i64x2.eq(v128.and(v128.load(p), mask), want), i64x2.eq(v128.and(v128.load(p, 16), mask), want)),
    v128.and(i64x2.eq(v128.and(v128.load(p, 32), mask), want), i64x2.eq(v128.and(v128.load(p, 48), mask), want)),
  ));
}

/**
 * The lean path of zap_present_ptes, for an anonymous VMA that zaps COWed pages: from p up
 * to limit, clear each present, normal (not special) anonymous page and pass over none
 * entries. The pages are counted in zap.leanPages and gathered in bulk (zap.room, zap.bulk):
 * exactly what zap_present_pte does for such an entry, counted once per pass. Stops before
 * the first entry that needs zap_present_pte or zap_nonpresent_pte, or after the page that
 * filled the gather (zap.forceBreak). Returns how many entries it consumed.
 * SIMD build: runs of such pages eight entries (64 bytes) at a time, as many blocks as the
 * batch has room for; after a block that is not all such pages, eight go one by one.
 */
function zap_present_run(p0: usize, limit: usize): u32 {
  let p = p0;
  let room = zap.room;
  let bulk = zap.bulk;
  let leanPages = zap.leanPages;
  let leanFirst = zap.leanFirst;
  let leanLast = zap.leanLast;
  let scalarLeft: u32 = 0;
  while (p < limit) {
    if (ASC_FEATURE_SIMD) {
      if (scalarLeft == 0 && room >= 8 && limit - p >= 64) {
        const blocks = min(room >> 3, <u32>((limit - p) >> 6));
        const stop = p + (<usize>blocks << 6);
        let q = p;
        while (q < stop && lean_block_of_8(q)) {
          v128.store(q, i64x2.splat(0));
          v128.store(q, i64x2.splat(0), 16);
          v128.store(q, i64x2.splat(0), 32);
          v128.store(q, i64x2.splat(0), 48);
          q += 64;
        }
        if (q != p) {
          const n = <u32>((q - p) >> 3);
          if (leanPages == 0) leanFirst = p;
          leanLast = q - 8;
          leanPages += n;
          room -= n;
          bulk += n;
          p = q;
        }
        if (q < stop) scalarLeft = 8; // the block at q is not all such pages
        continue;
      }
      if (scalarLeft != 0) scalarLeft--;
    }
    const e = load<u64>(p);
    if (e == 0) {
      p += 8;
      continue;
    }
    if ((e & (_PAGE_PRESENT | _PAGE_SPECIAL | _PAGE_SIM_FILE)) != _PAGE_PRESENT) break;
    store<u64>(p, 0);
    if (leanPages == 0) leanFirst = p;
    leanLast = p;
    leanPages++;
    p += 8;
    if (room != 0) {
      room--;
      bulk++;
      continue;
    }
    // This page fills the active batch: move on to the next one, or flush now.
    tlb_gather_pages_bulk(bulk);
    bulk = 0;
    if (tlb_gather_page(false)) {
      zap.forceFlush = true;
      zap.forceBreak = true;
    }
    if (zap.forceBreak) break; // v1 never clears force_break: it breaks after every page
    room = tlb_gather_room();
  }
  zap.room = room;
  zap.bulk = bulk;
  zap.leanPages = leanPages;
  zap.leanFirst = leanFirst;
  zap.leanLast = leanLast;
  return <u32>((p - p0) >> 3);
}

/** --resched: need_resched() turns true halfway through this pass (at least one entry on). */
@inline function resched_limit(first: usize, last: usize): usize {
  if (!need_resched()) return last;
  const half = (last - first) >> 4 << 3;
  return first + (half != 0 ? half : 8);
}

/**
 * zap_pte_range over [addr, end) within one PMD span, including the PT_RECLAIM decision
 * (upstream mm/memory.c: pte_table_reclaim_possible, then zap_empty_pte_table as the fast
 * path or zap_pte_table_if_empty as the slow one; here reclaim_pt_is_enabled,
 * try_get_and_clear_pmd + free_pte, try_to_free_pte as in 6.14). The loop restarts where it
 * stopped after a forced flush or need_resched (`retry:`). Mainline resets
 * force_flush/force_break at each retry and clears direct_reclaim on every early break;
 * pt-reclaim-v1 does neither (see pt_reclaim_v1.ts).
 * Preconditions: the PMD entry is present and [addr, end) lies within its span.
 */
function zap_pte_range(pmdp: usize, addr: u64, end: u64, flags: u32): void {
  assert(load<u64>(pmdp) != 0, "zap_pte_range: no PTE table");
  assert(addr < end && ((addr ^ (end - 1)) & PMD_MASK) == 0, "zap_pte_range: range not within one PMD span");
  const start = addr;
  const sid = strategy_id();
  const v1 = sid == STRATEGY_V1;
  let canReclaim = v1 ? reclaim_pt_is_enabled_v1(start, end, flags) : reclaim_pt_is_enabled(start, end, flags);
  let directReclaim = true;
  let pmdval: u64 = 0;
  const clearedBefore = stat_get(Stat.EntriesCleared);
  const table = entry_table(load<u64>(pmdp));
  const spanBase = addr & PMD_MASK;
  // The common entry (a present, normal anonymous page) goes through zap_present_run when
  // the VMA is anonymous and COWed pages are zapped too.
  const lean = should_zap_cows(flags) && (flags & VMA_ANON) != 0;
  zap.forceFlush = false;
  zap.forceBreak = false;
  while (true) {
    // retry: (v1 placed the label below the force_* initialisation)
    if (!v1) {
      zap.forceFlush = false;
      zap.forceBreak = false;
    }
    zap.skipped = false;
    stat_inc(Stat.PtlLocks);
    const first = pte_offset(table, addr);
    const last = first + (<usize>((end - addr) >> PAGE_SHIFT) << 3);
    const limit = resched_limit(first, last);
    zap.leanPages = 0;
    zap.bulk = 0;
    zap.room = lean && !zap.forceBreak ? tlb_gather_room() : 0;
    let p = first;
    while (p < limit) {
      if (lean) {
        p += <usize>zap_present_run(p, limit) << 3;
        if (zap.forceBreak || p >= limit) break;
      }
      const e = load<u64>(p);
      p += 8;
      if (e == 0) continue;
      tlb_gather_pages_bulk(zap.bulk);
      zap.bulk = 0;
      if ((e & _PAGE_PRESENT) != 0) {
        zap_present_pte(p - 8, e, flags, spanBase + (<u64>((p - 8 - table) >> 3) << PAGE_SHIFT));
        if (zap.forceBreak) break;
      } else {
        zap_nonpresent_pte(p - 8, e, flags);
      }
      zap.room = lean && !zap.forceBreak ? tlb_gather_room() : 0;
    }
    tlb_gather_pages_bulk(zap.bulk);
    zap.bulk = 0;
    const leanPages = zap.leanPages;
    if (leanPages != 0) {
      stat_add(Stat.EntriesCleared, leanPages);
      stat_add(Stat.PagesGathered, leanPages);
      zap.rssAnon -= leanPages;
      tlb_remove_tlb_entry(spanBase + (<u64>((zap.leanFirst - table) >> 3) << PAGE_SHIFT));
      tlb_remove_tlb_entry(spanBase + (<u64>((zap.leanLast - table) >> 3) << PAGE_SHIFT));
    }
    stat_add(Stat.EntriesReadZap, <u64>((p - first) >> 3));
    if (zap.skipped) canReclaim = false;
    addr = spanBase + (<u64>((p - table) >> 3) << PAGE_SHIFT);
    if (zap.forceBreak) {
      if (!v1) directReclaim = false;
      stat_inc(Stat.ForceBreak);
    } else if (p < last) {
      if (!v1) directReclaim = false;
      stat_inc(Stat.ReschedBreaks);
    }
    // Fast path: try to hold the PMD lock and unhook the table while the PTE lock is held.
    if (canReclaim && (directReclaim || v1) && addr == end) {
      pmdval = try_get_and_clear_pmd(pmdp);
      directReclaim = pmdval != 0;
    }
    add_mm_rss_vec();
    if (zap.forceFlush) {
      stat_inc(Stat.ForceFlush);
      tlb_flush_mmu_tlbonly();
    }
    // PTE lock dropped here.
    if (zap.forceFlush) tlb_flush_mmu();
    if (addr == end) break;
    stat_inc(Stat.ZapRetries);
  }
  if (canReclaim) {
    if (directReclaim) {
      free_pte(pmdval, start);
      stat_inc(Stat.ReclaimFast);
    } else if (v1) {
      try_to_free_pte_v1(pmdp, start);
    } else {
      try_to_free_pte(pmdp, start);
    }
  } else if (sid == STRATEGY_REFCOUNT) {
    pte_refcount_zap_done(pmdp, start, stat_get(Stat.EntriesCleared) - clearedBefore);
  }
}

function zap_pmd_range(pmdTable: usize, addr: u64, end: u64, flags: u32): void {
  while (addr != end) {
    const next = span_end(addr, end, PMD_SIZE);
    const pmdp = pmd_offset(pmdTable, addr);
    const pmde = load<u64>(pmdp);
    if (pmde != 0) {
      if (pmd_trans_huge(pmde)) {
        // A huge PMD: zapped whole when the range covers its span, else split first.
        if (next - addr == PMD_SIZE) {
          zap_huge_pmd(pmdp, addr);
          addr = next;
          continue;
        }
        __split_huge_pmd(pmdp, addr & PMD_MASK);
        if (load<u64>(pmdp) == 0) { // a page-cache folio's PMD: cleared, no table left
          addr = next;
          continue;
        }
      }
      zap_pte_range(pmdp, addr, next, flags);
    }
    addr = next;
  }
}

function zap_pud_range(pudTable: usize, addr: u64, end: u64, flags: u32): void {
  while (addr != end) {
    const next = span_end(addr, end, PUD_SIZE);
    const pude = load<u64>(pud_offset(pudTable, addr));
    if (pude != 0) zap_pmd_range(entry_table(pude), addr, next, flags);
    addr = next;
  }
}

/** unmap_page_range over [addr, end) of one VMA. */
export function unmap_page_range(addr: u64, end: u64, flags: u32): void {
  while (addr != end) {
    const next = span_end(addr, end, PGDIR_SIZE);
    const pgde = load<u64>(pgd_offset(addr));
    if (pgde != 0) zap_pud_range(entry_table(pgde), addr, next, flags);
    addr = next;
  }
}
