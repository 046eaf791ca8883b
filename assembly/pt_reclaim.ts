// PT_RECLAIM: freeing empty PTE tables from MADV_DONTNEED (mm/pt_reclaim.c, mainline 6.14+).
//
// zap_pte_range() decides between two ways to free the table it just emptied:
//   fast path  - the loop walked the whole PMD span without dropping the PTE lock and
//                skipped nothing: trylock the PMD lock while still holding the PTE lock,
//                read and clear the PMD (try_get_and_clear_pmd), then free the table.
//   slow path  - the trylock failed or the loop broke early: after dropping the PTE lock,
//                take the PMD lock, then the PTE lock nested, check the PMD is unchanged
//                and all 512 entries are none, then clear the PMD and free the table
//                (try_to_free_pte).
// Either way the table goes through mmu_gather (pte_free_tlb) and VmPTE drops at once.
// Upstream has since moved this into mm/memory.c with newer names, same semantics:
// reclaim_pt_is_enabled -> pte_table_reclaim_possible, the fast path -> zap_empty_pte_table,
// try_to_free_pte -> zap_pte_table_if_empty.

import { PMD_SIZE, PTRS_PER_TABLE } from "./pgtable";
import { entry_table, table_frame, mm_dec_nr_ptes, pmd_clear } from "./mm";
import { tlb_remove_table } from "./mmu_gather";
import { Stat, stat_inc, stat_add } from "./stats";
import { contended_pmd_lock } from "./strategy";

import { ZAP_RECLAIM_PT, PATH_AUTO, PATH_FAST, PATH_SLOW } from "./generated/vocab";
/** zap_details.reclaim_pt: only MADV_DONTNEED asks for table reclaim. */
export { ZAP_RECLAIM_PT };

// --path: which way a reclaim goes. `auto`: the PMD trylock fails with the --trylock-fail
// probability (never by default: nothing else runs); `fast`: it never fails; `slow`: it
// always fails. Early breaks still send `fast` through the slow path, as the kernel does.
export { PATH_AUTO, PATH_FAST, PATH_SLOW };

let pathMode: u32 = PATH_AUTO;

export function set_path_mode(mode: u32): void {
  pathMode = mode;
}

/** reclaim_pt_is_enabled: asked for, and this call covers a whole PMD span. */
@inline export function reclaim_pt_is_enabled(start: u64, end: u64, flags: u32): bool {
  return (flags & ZAP_RECLAIM_PT) != 0 && end - start >= PMD_SIZE;
}

/** spin_trylock(pmd_lockptr()): the contention point of the fast path. */
@inline function pmd_trylock(): bool {
  if (pathMode == PATH_SLOW || (pathMode == PATH_AUTO && contended_pmd_lock())) {
    stat_inc(Stat.PmdTrylockFail);
    return false;
  }
  stat_inc(Stat.PmdTrylockOk);
  return true;
}

/**
 * try_get_and_clear_pmd: with the PTE lock held, try the PMD lock; on success read and
 * clear the PMD. Returns the old PMD value, or 0 when the trylock failed.
 */
export function try_get_and_clear_pmd(pmdp: usize): u64 {
  if (!pmd_trylock()) return 0;
  const pmdval = load<u64>(pmdp);
  pmd_clear(pmdp);
  return pmdval;
}

/** free_pte: hand the unhooked table to mmu_gather and drop it from VmPTE. */
export function free_pte(pmdval: u64, addr: u64): void {
  tlb_remove_table(table_frame(entry_table(pmdval)), addr);
  mm_dec_nr_ptes();
}

/**
 * True when all 512 entries of the table are none: the slow path's full scan, the dominant
 * cost it adds over the fast path. OR-reduces the whole table (no early exit: the all-none
 * table, the case that frees, reads every entry anyway). With SIMD: 128 bytes a step into
 * two v128 accumulators, so loads are not serialised on one register; without (the
 * `kernels-scalar` build): the same shape over u64. ASC_FEATURE_SIMD is a compile-time
 * constant, so only one branch is compiled.
 */
export function pte_table_all_none(table: usize): bool {
  const end = table + (<usize>PTRS_PER_TABLE << 3);
  if (ASC_FEATURE_SIMD) {
    let a = i64x2.splat(0);
    let b = i64x2.splat(0);
    for (let p = table; p < end; p += 128) {
      a = v128.or(a, v128.or(
        v128.or(v128.load(p), v128.load(p, 16)),
        v128.or(v128.load(p, 32), v128.load(p, 48)),
      ));
      b = v128.or(b, v128.or(
        v128.or(v128.load(p, 64), v128.load(p, 80)),
        v128.or(v128.load(p, 96), v128.load(p, 112)),
      ));
    }
    return !v128.any_true(v128.or(a, b));
  } else {
    let a: u64 = 0;
    let b: u64 = 0;
    for (let p = table; p < end; p += 64) {
      a |= (load<u64>(p) | load<u64>(p, 8)) | (load<u64>(p, 16) | load<u64>(p, 24));
      b |= (load<u64>(p, 32) | load<u64>(p, 40)) | (load<u64>(p, 48) | load<u64>(p, 56));
    }
    return (a | b) == 0;
  }
}

/** Entries a scan for emptiness reads before it can stop (the first non-none one, or all). */
export function scan_length(table: usize): u32 {
  for (let i: u32 = 0; i < PTRS_PER_TABLE; i++) {
    if (load<u64>(table + (<usize>i << 3)) != 0) return i + 1;
  }
  return PTRS_PER_TABLE;
}

/**
 * try_to_free_pte (mainline order): PMD lock first, then map the table and take its PTE
 * lock nested, check all 512 entries are none, clear the PMD, free. Returns true if freed.
 */
export function try_to_free_pte(pmdp: usize, addr: u64): bool {
  stat_inc(Stat.PmdLocks);
  const pmdval = load<u64>(pmdp);
  if (pmdval == 0) {
    stat_inc(Stat.ReclaimSlowFailed);
    return false;
  }
  stat_inc(Stat.PtlLocks); // nested PTE lock (split PTE locks: a different lock)
  return free_pte_if_empty(pmdp, pmdval, addr);
}

/**
 * The end both slow paths share (mainline and v1), with the PMD and PTE locks held: check
 * all 512 entries are none, then clear the PMD and free the table. Returns true if freed.
 */
export function free_pte_if_empty(pmdp: usize, pmdval: u64, addr: u64): bool {
  const table = entry_table(pmdval);
  if (!pte_table_all_none(table)) {
    stat_add(Stat.EntriesReadScan, scan_length(table));
    stat_inc(Stat.ReclaimSlowFailed);
    return false;
  }
  stat_add(Stat.EntriesReadScan, PTRS_PER_TABLE);
  pmd_clear(pmdp);
  free_pte(pmdval, addr);
  stat_inc(Stat.ReclaimSlow);
  return true;
}
