// Micro-kernels for `ptreclaim bench kernels`: the core's own hot loops, run over N prepared
// PTE tables so one call does enough work to time. Nothing here re-implements a loop: scan is
// pte_table_all_none (the slow path's check), zap is unmap_page_range inside one mmu_gather
// per table (MADV_DONTNEED of a 2 MiB chunk, no reclaim so the table stays for the next
// round), fault-fill is fault_range over one table's span, walk is walk_pte plus the entry.
// reclaim-fast / reclaim-slow are the same zap with PT_RECLAIM asked for (ZAP_RECLAIM_PT) and
// the PMD trylock forced to succeed or fail (set_path_mode): zap_pte_range then frees each
// emptied table by try_get_and_clear_pmd, or by try_to_free_pte's relock + 512-entry rescan.
//
// Table i maps [KERNEL_BASE + i * 2 MiB, + 2 MiB). Built twice from the same source
// (asconfig targets kernels-simd / kernels-scalar); index.ts is an entry too, so the core's
// exports (init, stats_ptr, ...) come with it.

import { PMD_SIZE, PTRS_PER_TABLE, TABLE_BYTES, ANON_PTE_FLAGS, FIRST_ANON_PFN, pfn_pte } from "./pgtable";
import { OK, arena_reserve, arena_alloc, frame_addr, FRAME_PGD } from "./arena";
import { ERR_RANGE } from "./generated/vocab";
import { walk_pmd, walk_pte, entry_table } from "./mm";
import { fault_range } from "./fault";
import { unmap_page_range, VMA_ANON, ZAP_EVEN_COWS } from "./zap";
import { pte_table_all_none, ZAP_RECLAIM_PT, PATH_FAST, PATH_SLOW, PATH_AUTO, set_path_mode } from "./pt_reclaim";
import { Stat, stat_get } from "./stats";
import { tlb_gather_mmu, tlb_finish_mmu } from "./mmu_gather";
import { init } from "./index";

/** Where the benchmark tables start: 16 TiB, far from anything else. */
const KERNEL_BASE: u64 = <u64>1 << 44;
/**
 * Most tables a kernel run prepares: 1 GiB of tables, so that "out of cache" can exceed a large
 * L3 (260 MiB on some hosts here).
 */
export const KERNEL_MAX_TABLES: u32 = 262144;
/**
 * Address of each prepared PTE table, so scan and refill need no walk: u32s in arena frames
 * taken after the tables (static data must stay below the arena's fixed base).
 */
let TABLES: usize = 0;
/** MADV_DONTNEED on a private anonymous VMA, without PT_RECLAIM (the table must survive). */
const ZAP_FLAGS: u32 = VMA_ANON | ZAP_EVEN_COWS;
/** MADV_DONTNEED with PT_RECLAIM: each emptied table is freed (the reclaim kernels). */
const RECLAIM_FLAGS: u32 = VMA_ANON | ZAP_RECLAIM_PT;

let nTables: u32 = 0;

@inline function table_va(i: u32): u64 {
  return KERNEL_BASE + <u64>i * PMD_SIZE;
}
@inline function table_at(i: u32): usize {
  return <usize>load<u32>(TABLES + (<usize>i << 2));
}

/**
 * Start a fresh mm and fault `n` PTE tables full (write faults: every entry present, every
 * byte of the tables written, so no zero-page-backed memory flatters later reads).
 * Returns OK or a core status; ERR_RANGE if n is out of range.
 */
export function kernel_setup(n: u32): i32 {
  if (n == 0 || n > KERNEL_MAX_TABLES) return ERR_RANGE;
  let status = init(0);
  if (status != OK) return status;
  status = fault_range(table_va(0), table_va(n), true);
  if (status != OK) return status;
  // The index: consecutive frames from the bump pointer (the free list is empty after init).
  const indexFrames = (n * 4 + <u32>TABLE_BYTES - 1) / <u32>TABLE_BYTES;
  status = arena_reserve(indexFrames);
  if (status != OK) return status;
  TABLES = frame_addr(arena_alloc(FRAME_PGD));
  for (let f: u32 = 1; f < indexFrames; f++) arena_alloc(FRAME_PGD);
  for (let i: u32 = 0; i < n; i++) {
    store<u32>(TABLES + (<usize>i << 2), <u32>entry_table(load<u64>(walk_pmd(table_va(i)))));
  }
  nTables = n;
  walkRound = 0;
  return OK;
}

/** Refill every table with present anonymous entries (pfn = FIRST_ANON_PFN + 512 i + j). */
export function kernel_fill_present(): void {
  for (let i: u32 = 0; i < nTables; i++) {
    const t = table_at(i);
    const pfn0 = FIRST_ANON_PFN + <u64>i * PTRS_PER_TABLE;
    for (let j: u32 = 0; j < PTRS_PER_TABLE; j++) {
      store<u64>(t + (<usize>j << 3), pfn_pte(pfn0 + j, ANON_PTE_FLAGS));
    }
  }
}

/** Clear every table (all entries none; the tables stay hooked in). */
export function kernel_fill_none(): void {
  for (let i: u32 = 0; i < nTables; i++) memory.fill(table_at(i), 0, TABLE_BYTES);
}

/** scan: pte_table_all_none over every table; returns how many were all none. */
export function kernel_scan(): u32 {
  let empty: u32 = 0;
  for (let i: u32 = 0; i < nTables; i++) {
    if (pte_table_all_none(table_at(i))) empty++;
  }
  return empty;
}

/** zap: MADV_DONTNEED each table's 2 MiB chunk, one mmu_gather per chunk, as madvise does. */
export function kernel_zap(): void {
  for (let i: u32 = 0; i < nTables; i++) {
    tlb_gather_mmu();
    unmap_page_range(table_va(i), table_va(i + 1), ZAP_FLAGS);
    tlb_finish_mmu();
  }
}

/** fault-fill: write-fault all 512 pages of each table, one fault_range per 2 MiB chunk. */
export function kernel_fault_fill(): i32 {
  for (let i: u32 = 0; i < nTables; i++) {
    const status = fault_range(table_va(i), table_va(i + 1), true);
    if (status != OK) return status;
  }
  return OK;
}

let walkRound: u32 = 0;

/**
 * walk: find the PTE table for one address per table and read the entry there. Each call
 * moves every address one cache line on (slot (37 i + 8 round) mod 512), so over 64 calls
 * the walks touch every line of every table: out of cache means out of cache, not the same
 * 64 bytes per table served from L3. Returns the sum of the entries so nothing is optimised away.
 */
export function kernel_walk(): u64 {
  let sum: u64 = 0;
  let slot: u32 = (walkRound << 3) & (PTRS_PER_TABLE - 1);
  walkRound++;
  // The address and slot advance by addition (the strength reduction gcc does by itself in
  // bench/native/kernels.c), so the loop around walk_pte is as lean as native's.
  let va = table_va(0);
  for (let i: u32 = 0, n = nTables; i < n; i++) {
    const ptep = walk_pte(va + (<u64>slot << 12));
    if (ptep != 0) sum += load<u64>(ptep);
    va += PMD_SIZE;
    slot = (slot + 37) & (PTRS_PER_TABLE - 1);
  }
  return sum;
}

/**
 * reclaim-fast / reclaim-slow: MADV_DONTNEED each table's 2 MiB with PT_RECLAIM, one
 * mmu_gather per chunk, the PMD trylock forced to succeed (fast) or fail (slow). Every table
 * is freed; kernel_refill_reclaimed() rebuilds them (untimed). Returns the tables freed.
 */
export function kernel_reclaim(slow: bool): u32 {
  const freedBefore = stat_get(Stat.ReclaimFast) + stat_get(Stat.ReclaimSlow);
  set_path_mode(slow ? PATH_SLOW : PATH_FAST);
  for (let i: u32 = 0; i < nTables; i++) {
    tlb_gather_mmu();
    unmap_page_range(table_va(i), table_va(i + 1), RECLAIM_FLAGS);
    tlb_finish_mmu();
  }
  set_path_mode(PATH_AUTO);
  return <u32>(stat_get(Stat.ReclaimFast) + stat_get(Stat.ReclaimSlow) - freedBefore);
}

/**
 * After a reclaim kernel: fault every table back (a fresh table from the arena, 512 write
 * faults), note its address, and make every entry present with the usual pfns. Returns OK or
 * a core status.
 */
export function kernel_refill_reclaimed(): i32 {
  const status = kernel_fault_fill();
  if (status != OK) return status;
  for (let i: u32 = 0; i < nTables; i++) {
    store<u32>(TABLES + (<usize>i << 2), <u32>entry_table(load<u64>(walk_pmd(table_va(i)))));
  }
  kernel_fill_present();
  return OK;
}

/** Entries of all tables summed (a checksum the tests compare across implementations). */
export function kernel_checksum(): u64 {
  let sum: u64 = 0;
  for (let i: u32 = 0; i < nTables; i++) {
    const t = table_at(i);
    for (let j: u32 = 0; j < PTRS_PER_TABLE; j++) sum += load<u64>(t + (<usize>j << 3)) * (<u64>j + 1);
  }
  return sum;
}

/** True when this build was compiled with WebAssembly SIMD (kernels-simd). */
export function kernel_simd(): bool {
  return ASC_FEATURE_SIMD;
}

/** Set entry j of table i (tests: a lone non-none entry at every slot). */
export function kernel_poke(i: u32, j: u32, e: u64): void {
  if (i < nTables && j < PTRS_PER_TABLE) store<u64>(table_at(i) + (<usize>j << 3), e);
}
