// The invariant checker's WebAssembly half: checks made where the event happens (a table
// leaving the page tables, a PMD being populated, a TLB flush) and a range walk the
// driver runs around each operation. Off unless enabled: timing runs pay one branch.
//
// Violations go into a small log (kind, address, value) that the driver reads and words
// (src/mm/checker.ts); only the first LOG_MAX are kept, all are counted.
//
// Break-before-make uses a per-CPU TLB model reduced to what can go wrong: when a PMD is
// cleared, every CPU may still cache the PMD -> table translation until the next flush;
// populating that PMD again before a flush is a violation (stale translations pending).

import { PAGE_SHIFT, PMD_SIZE, PUD_SIZE, PGDIR_SIZE, PTRS_PER_TABLE, _PAGE_PRESENT, _PAGE_SPECIAL, _PAGE_PSE,
  _PAGE_SIM_FILE, _PAGE_SIM_SHMEM, MAX_SWAPFILES, SWP_MIGRATION_READ, SWP_DEVICE_EXCLUSIVE, span_end, swp_type,
} from "./pgtable";
import { FRAME_PTE, FRAME_PMD, FRAME_PUD, frame_state, frame_addr } from "./arena";
import { Stat, stat_inc } from "./stats";

import {
  CHECK_TABLE_FREED_NOT_EMPTY, CHECK_TABLE_FREED_HOOKED, CHECK_DANGLING_ENTRY, CHECK_BREAK_BEFORE_MAKE,
  CHECK_PAGES_DROPPED,
} from "./generated/vocab";
export {
  CHECK_TABLE_FREED_NOT_EMPTY, CHECK_TABLE_FREED_HOOKED, CHECK_DANGLING_ENTRY, CHECK_BREAK_BEFORE_MAKE,
  CHECK_PAGES_DROPPED,
};

const LOG_MAX: i32 = 64;
const logKind = memory.data(LOG_MAX * 4, 4);
const logAddr = memory.data(LOG_MAX * 8, 8);
const logValue = memory.data(LOG_MAX * 8, 8);
let logLen: i32 = 0;

const STALE_MAX: i32 = 1024;
const stale = memory.data(STALE_MAX * 8, 8);
let staleLen: i32 = 0;
let staleOverflow: bool = false;

let enabled: bool = false;

export function checker_enable(on: bool): void {
  enabled = on;
}
@inline export function checker_on(): bool {
  return enabled;
}
export function checker_reset(): void {
  logLen = 0;
  staleLen = 0;
  staleOverflow = false;
}

export function checker_report(kind: u32, addr: u64, value: u64): void {
  stat_inc(Stat.CheckViolations);
  if (logLen >= LOG_MAX) return;
  store<u32>(logKind + (<usize>logLen << 2), kind);
  store<u64>(logAddr + (<usize>logLen << 3), addr);
  store<u64>(logValue + (<usize>logLen << 3), value);
  logLen++;
}

export function checker_log_len(): i32 {
  return logLen;
}
export function checker_log_kind(i: i32): u32 {
  return load<u32>(logKind + (<usize>i << 2));
}
export function checker_log_addr(i: i32): u64 {
  return load<u64>(logAddr + (<usize>i << 3));
}
export function checker_log_value(i: i32): u64 {
  return load<u64>(logValue + (<usize>i << 3));
}
export function checker_log_clear(): void {
  logLen = 0;
}

/** Entry kinds that hold a mapped page: present normal pages and migration/device entries. */
@inline function maps_page(e: u64): bool {
  if (e == 0) return false;
  if ((e & _PAGE_PRESENT) != 0) return (e & _PAGE_SPECIAL) == 0;
  const type = swp_type(e);
  return type >= SWP_MIGRATION_READ && type <= SWP_DEVICE_EXCLUSIVE;
}

/**
 * A table of `state` covering `addr` is leaving the page tables (pte/pmd/pud_free_tlb).
 * It must be empty and unhooked; a PTE table that still maps pages drops them unzapped.
 */
export function checker_table_freed(table: usize, state: u8, addr: u64, stillHooked: bool): void {
  if (stillHooked) checker_report(CHECK_TABLE_FREED_HOOKED, addr, <u64>state);
  let nonNone: u64 = 0;
  let pages: u64 = 0;
  for (let i: u32 = 0; i < PTRS_PER_TABLE; i++) {
    const e = load<u64>(table + (<usize>i << 3));
    if (e == 0) continue;
    nonNone++;
    if (state == FRAME_PTE && maps_page(e)) pages++;
  }
  if (nonNone != 0) checker_report(CHECK_TABLE_FREED_NOT_EMPTY, addr, (nonNone << 8) | <u64>state);
  if (pages != 0) checker_report(CHECK_PAGES_DROPPED, addr, pages);
}

/** A PMD entry was cleared: its translation may be cached until the next flush. */
export function checker_pmd_cleared(pmdp: usize): void {
  if (staleLen < STALE_MAX) {
    store<u64>(stale + (<usize>staleLen << 3), <u64>pmdp);
    staleLen++;
  } else {
    staleOverflow = true;
  }
}

/** A PMD entry is being populated (pmd_populate): no stale translation may remain. */
export function checker_pmd_populate(pmdp: usize, addr: u64): void {
  for (let i = 0; i < staleLen; i++) {
    if (load<u64>(stale + (<usize>i << 3)) == <u64>pmdp) {
      checker_report(CHECK_BREAK_BEFORE_MAKE, addr, 0);
      return;
    }
  }
  if (staleOverflow) checker_report(CHECK_BREAK_BEFORE_MAKE, addr, 1);
}

/** Any TLB flush of this model invalidates the gathered range, which covers every cleared PMD. */
export function checker_tlb_flushed(): void {
  staleLen = 0;
  staleOverflow = false;
}

// Range walk: counts pages by RSS type over [lo, hi) and checks every upper-level entry
// met on the way points to a live table of the right level (no use-after-free, no reuse).
let cntAnon: u64 = 0;
let cntFile: u64 = 0;
let cntSwap: u64 = 0;
let cntShmem: u64 = 0;

export function checker_count_anon(): u64 { return cntAnon; }
export function checker_count_file(): u64 { return cntFile; }
export function checker_count_swap(): u64 { return cntSwap; }
export function checker_count_shmem(): u64 { return cntShmem; }

/** Table an upper-level entry points to; checks the frame holds a live table of `level`. */
function checked_child(e: u64, level: u8, addr: u64): usize {
  const frame = <u32>((e & 0x000ffffffffff000) >> PAGE_SHIFT);
  if (frame_state(frame) != level) {
    checker_report(CHECK_DANGLING_ENTRY, addr, <u64>level);
    return 0;
  }
  return frame_addr(frame);
}

export function checker_walk(pgdTable: usize, lo: u64, hi: u64): void {
  cntAnon = 0;
  cntFile = 0;
  cntSwap = 0;
  cntShmem = 0;
  let a = lo;
  while (a < hi) {
    const nPgd = span_end(a, hi, PGDIR_SIZE);
    const pgde = load<u64>(pgdTable + (<usize>((a >> 39) & 511) << 3));
    const pud = pgde != 0 ? checked_child(pgde, FRAME_PUD, a) : 0;
    if (pud != 0) {
      let b = a;
      while (b < nPgd) {
        const nPud = span_end(b, nPgd, PUD_SIZE);
        const pude = load<u64>(pud + (<usize>((b >> 30) & 511) << 3));
        const pmd = pude != 0 ? checked_child(pude, FRAME_PMD, b) : 0;
        if (pmd != 0) {
          let c = b;
          while (c < nPud) {
            const nPmd = span_end(c, nPud, PMD_SIZE);
            const pmde = load<u64>(pmd + (<usize>((c >> 21) & 511) << 3));
            if ((pmde & (_PAGE_PSE | _PAGE_SIM_FILE)) == (_PAGE_PSE | _PAGE_SIM_FILE)) {
              // A PMD-mapped page-cache folio: no deposit, every page of its span counts.
              cntFile += (nPmd - c) >> PAGE_SHIFT;
              c = nPmd;
              continue;
            }
            const pte = pmde != 0 ? checked_child(pmde, FRAME_PTE, c) : 0;
            if (pte != 0) {
              // A huge PMD points to its deposit (which must be a live PTE table) and maps
              // every page of its span; the huge zero page maps none that count.
              if ((pmde & _PAGE_PSE) == 0) count_pages(pte, c, nPmd);
              else if ((pmde & _PAGE_SPECIAL) == 0) cntAnon += (nPmd - c) >> PAGE_SHIFT;
            }
            c = nPmd;
          }
        }
        b = nPud;
      }
    }
    a = nPgd;
  }
}

function count_pages(table: usize, addr: u64, end: u64): void {
  const first = table + (<usize>((addr >> PAGE_SHIFT) & 511) << 3);
  const last = first + (<usize>((end - addr) >> PAGE_SHIFT) << 3);
  for (let p = first; p < last; p += 8) {
    const e = load<u64>(p);
    if (e == 0) continue;
    if ((e & _PAGE_PRESENT) != 0) {
      if ((e & _PAGE_SPECIAL) != 0) continue;
      if ((e & _PAGE_SIM_SHMEM) != 0) cntShmem++;
      else if ((e & _PAGE_SIM_FILE) != 0) cntFile++;
      else cntAnon++;
    } else {
      const type = swp_type(e);
      if (type < MAX_SWAPFILES) cntSwap++;
      else if (maps_page(e)) cntAnon++;
    }
  }
}
