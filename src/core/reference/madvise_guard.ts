/**
 * Guard regions in the reference core (assembly/madvise_guard.ts; mm/madvise.c 6.13+):
 * madvise_guard_install walks with an install_pte op (allocating missing tables, a marker
 * into every none entry), and on the first populated entry zaps the range (details NULL:
 * markers kept, no PT_RECLAIM) and walks again; madvise_guard_remove clears markers in the
 * tables that exist and frees no table. The reference runs none and pt-reclaim only, so the
 * refcount hooks of the WASM core have no counterpart here.
 */
import { CORE_ARENA_FULL, CORE_OK, ZAP_EVEN_COWS } from '../types.js';
import { arena_available } from './arena.js';
import { type RefMm, count_missing_tables, pte_alloc_map, walk_pte_table_frame } from './mm.js';
import { tlb_finish_mmu, tlb_gather_mmu } from './mmu_gather.js';
import { PAGE_SIZE, PMD_SIZE, PTE_MARKER_GUARD, SWP_PTE_MARKER, pte_index, span_end, swp_entry } from './pgtable.js';
import { S, stat_add, stat_inc } from './stats.js';
import { unmap_page_range } from './zap.js';

/** Walks madvise_guard_install tries before it restarts the syscall. */
const MAX_MADVISE_GUARD_RETRIES = 3;

/** make_pte_marker(PTE_MARKER_GUARD), as its two words. */
const [GUARD_LO, GUARD_HI] = swp_entry(SWP_PTE_MARKER, PTE_MARKER_GUARD);

/** is_guard_pte_marker for entry i of t. */
function is_guard_pte_marker(t: Uint32Array, i: number): boolean {
  return t[2 * i] === GUARD_LO && t[2 * i + 1] === GUARD_HI;
}

/**
 * One walk of guard_install_walk_ops over [start, end): true when it reached the end
 * (every entry a marker), false when it stopped at a populated entry.
 */
function guard_install_walk(mm: RefMm, start: number, end: number): boolean {
  let installed = 0;
  let complete = true;
  for (let addr = start; addr < end && complete;) {
    const next = span_end(addr, end, PMD_SIZE);
    const t = pte_alloc_map(mm, addr);
    stat_inc(mm.s, S.PtlLocks);
    const first = pte_index(addr);
    const last = first + (next - addr) / PAGE_SIZE;
    for (let i = first; i < last; i++) {
      if (t[2 * i] === 0 && t[2 * i + 1] === 0) {
        t[2 * i] = GUARD_LO; // guard_install_set_pte
        t[2 * i + 1] = GUARD_HI;
        installed++;
      } else if (!is_guard_pte_marker(t, i)) {
        complete = false; // guard_install_pte_entry: populated, zap and retry
        break;
      }
    }
    addr = next;
  }
  stat_add(mm.s, S.GuardInstalled, installed);
  stat_add(mm.s, S.GuardMarkers, installed);
  return complete;
}

/** madvise_guard_install over [start, end) of one VMA; opens its own gather for the zap. */
export function madvise_guard_install(mm: RefMm, start: number, end: number, vmaFlags: number): number {
  for (let i = 0; i < MAX_MADVISE_GUARD_RETRIES; i++) {
    if (count_missing_tables(mm, start, end) > arena_available(mm)) return CORE_ARENA_FULL;
    if (guard_install_walk(mm, start, end)) return CORE_OK;
    stat_inc(mm.s, S.GuardInstallZaps);
    tlb_gather_mmu(mm.tlb);
    unmap_page_range(mm, start, end, ZAP_EVEN_COWS | vmaFlags);
    tlb_finish_mmu(mm);
  }
  // The kernel restarts the syscall here; nothing races in the model, so this is not reached.
  throw new Error('ptreclaim internal error: madvise_guard_install: populated entries survived the zap');
}

/** madvise_guard_remove over [start, end): clear the markers of the tables that exist. */
export function madvise_guard_remove(mm: RefMm, start: number, end: number): void {
  let removed = 0;
  for (let addr = start; addr < end;) {
    const next = span_end(addr, end, PMD_SIZE);
    const f = walk_pte_table_frame(mm, addr);
    if (f >= 0) {
      stat_inc(mm.s, S.PtlLocks);
      const t = mm.frames[f]!;
      const first = pte_index(addr);
      const last = first + (next - addr) / PAGE_SIZE;
      for (let i = first; i < last; i++) {
        if (is_guard_pte_marker(t, i)) {
          t[2 * i] = 0;
          t[2 * i + 1] = 0;
          removed++;
        }
      }
    }
    addr = next;
  }
  stat_add(mm.s, S.GuardRemoved, removed);
  stat_add(mm.s, S.GuardMarkers, -removed);
}

/** The first guard marker in [start, end), or -1: what `touch` checks before any access. */
export function find_guard_marker(mm: RefMm, start: number, end: number): number {
  for (let addr = start; addr < end;) {
    const next = span_end(addr, end, PMD_SIZE);
    const f = walk_pte_table_frame(mm, addr);
    if (f >= 0) {
      const t = mm.frames[f]!;
      const first = pte_index(addr);
      const last = first + (next - addr) / PAGE_SIZE;
      for (let i = first; i < last; i++) {
        if (is_guard_pte_marker(t, i)) return Math.floor(addr / PMD_SIZE) * PMD_SIZE + i * PAGE_SIZE;
      }
    }
    addr = next;
  }
  return -1;
}
