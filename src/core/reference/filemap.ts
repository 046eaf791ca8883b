/**
 * Page-cache pages in the page tables of the reference core (assembly/filemap.ts): the PTE
 * half of faults on file-backed and shmem mappings (mm/memory.c do_read_fault,
 * do_cow_fault, do_shared_fault, finish_fault, wp_page_copy, wp_page_shared; mm/filemap.c
 * filemap_map_pages). Which pages are cached is the driver's (src/mm/filemap.ts).
 */
import { CORE_ARENA_FULL, CORE_OK } from '../types.js';
import { arena_available } from './arena.js';
import { type RefMm, count_missing_tables, pte_alloc_map, walk_pte_table_frame, walk_tables } from './mm.js';
import {
  ANON_LO,
  HI_NX,
  HI_SIM_FILE,
  HI_SIM_SHMEM,
  PAGE_SIZE,
  _PAGE_ACCESSED,
  _PAGE_DIRTY,
  _PAGE_PRESENT,
  _PAGE_RW,
  _PAGE_USER,
  pfn_pte,
  pte_index,
  set_pte,
  span_end,
  PMD_SIZE,
} from './pgtable.js';
import { S, stat_add, stat_get, stat_inc, stat_set } from './stats.js';
import { is_file_huge_pmd } from './huge_memory.js';

/** The PMD mapping addr is a PMD-mapped page-cache folio (no PTE table below it). */
export function file_huge_pmd_at(mm: RefMm, addr: number): boolean {
  const [, pmd] = walk_tables(mm, addr);
  if (pmd < 0) return false;
  const t = mm.frames[pmd]!;
  const i = (addr / PMD_SIZE) & 511;
  return is_file_huge_pmd(t[2 * i]!, t[2 * i + 1]!);
}

/** A page-cache page mapped for reading: present, read-only, accessed, clean. */
const FILE_LO = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED;

function file_pte(pfn: number, shmem: boolean, write: boolean): [number, number] {
  const lo = write ? FILE_LO | _PAGE_RW | _PAGE_DIRTY : FILE_LO;
  return pfn_pte(pfn, lo, HI_NX | HI_SIM_FILE | (shmem ? HI_SIM_SHMEM : 0));
}

/** add_mm_counter(mm, mm_counter_file(folio), n): MM_SHMEMPAGES for shmem, else MM_FILEPAGES. */
function add_mm_counter(mm: RefMm, shmem: boolean, n: number): void {
  stat_add(mm.s, shmem ? S.RssShmem : S.RssFile, n);
}

function next_pfn(mm: RefMm): number {
  const pfn = stat_get(mm.s, S.NextPfn);
  stat_set(mm.s, S.NextPfn, pfn + 1);
  return pfn;
}

/**
 * filemap_map_pages for one run of cached pages: map every none entry of [start, end)
 * (inside one PMD span) read-only, allocating the PTE table if missing. Returns the pages
 * mapped, or CORE_ARENA_FULL (nothing changed).
 */
export function filemap_map_pages(mm: RefMm, start: number, end: number, shmem: boolean): number {
  if (!(start < end && span_end(start, end, PMD_SIZE) === end)) throw new Error('filemap_map_pages: range not within one PMD span');
  if (count_missing_tables(mm, start, start + 1) > arena_available(mm)) return CORE_ARENA_FULL;
  const t = pte_alloc_map(mm, start);
  const first = pte_index(start);
  const last = first + (end - start) / PAGE_SIZE;
  let mapped = 0;
  for (let i = first; i < last; i++) {
    if (t[2 * i] !== 0 || t[2 * i + 1] !== 0) continue;
    set_pte(t, i, file_pte(next_pfn(mm), shmem, false));
    mapped++;
  }
  stat_add(mm.s, S.FaultAround, mapped);
  add_mm_counter(mm, shmem, mapped);
  return mapped;
}

/** finish_fault: map the page ->fault returned at addr (a none entry). */
export function finish_fault(mm: RefMm, addr: number, write: boolean, shmem: boolean): number {
  if (count_missing_tables(mm, addr, addr + 1) > arena_available(mm)) return CORE_ARENA_FULL;
  const t = pte_alloc_map(mm, addr);
  const i = pte_index(addr);
  if (t[2 * i] !== 0 || t[2 * i + 1] !== 0) throw new Error('finish_fault: entry not none');
  set_pte(t, i, file_pte(next_pfn(mm), shmem, write));
  stat_inc(mm.s, S.FaultFile);
  add_mm_counter(mm, shmem, 1);
  return CORE_OK;
}

/** do_cow_fault: a private write to a none entry of a file mapping: an anonymous copy. */
export function do_cow_fault(mm: RefMm, addr: number): number {
  if (count_missing_tables(mm, addr, addr + 1) > arena_available(mm)) return CORE_ARENA_FULL;
  const t = pte_alloc_map(mm, addr);
  const i = pte_index(addr);
  if (t[2 * i] !== 0 || t[2 * i + 1] !== 0) throw new Error('do_cow_fault: entry not none');
  set_pte(t, i, pfn_pte(next_pfn(mm), ANON_LO, HI_NX));
  stat_inc(mm.s, S.FaultCow);
  stat_inc(mm.s, S.RssAnon);
  return CORE_OK;
}

/** The table and index of a present page-cache entry at addr, or undefined. */
function file_entry(mm: RefMm, addr: number): [Uint32Array, number] | undefined {
  const frame = walk_pte_table_frame(mm, addr);
  if (frame < 0) return undefined;
  const t = mm.frames[frame]!;
  const i = pte_index(addr);
  return t[2 * i]! & _PAGE_PRESENT && t[2 * i + 1]! & HI_SIM_FILE ? [t, i] : undefined;
}

/** wp_page_copy of a mapped page-cache page in a private mapping: an anonymous copy replaces it. */
export function wp_page_copy(mm: RefMm, addr: number): boolean {
  const found = file_entry(mm, addr);
  if (!found) return false;
  const [t, i] = found;
  const shmem = (t[2 * i + 1]! & HI_SIM_SHMEM) !== 0;
  set_pte(t, i, pfn_pte(next_pfn(mm), ANON_LO, HI_NX));
  add_mm_counter(mm, shmem, -1);
  stat_inc(mm.s, S.RssAnon);
  stat_inc(mm.s, S.FaultCow);
  return true;
}

/** wp_page_shared: a read-only page-cache page in a shared mapping becomes writable and dirty. */
export function wp_page_shared(mm: RefMm, addr: number): boolean {
  const found = file_entry(mm, addr);
  if (!found) return false;
  const [t, i] = found;
  t[2 * i] = (t[2 * i]! | _PAGE_RW | _PAGE_DIRTY | _PAGE_ACCESSED) >>> 0;
  stat_inc(mm.s, S.FaultWpShared);
  return true;
}

/**
 * The access loop of a touch on a file or shmem mapping up to its next fault: accesses
 * entries needing no fault (FaultAccessOnly) and returns the address of the first that
 * does (none, write-protected for a write, not present), or end.
 */
export function filemap_next_fault(mm: RefMm, start: number, end: number, write: boolean): number {
  const want = write ? _PAGE_PRESENT | _PAGE_RW : _PAGE_PRESENT;
  const bits = write ? _PAGE_ACCESSED | _PAGE_DIRTY : _PAGE_ACCESSED;
  let accessed = 0;
  let addr = start;
  let result = end;
  outer: while (addr < end) {
    const next = span_end(addr, end, PMD_SIZE);
    if (file_huge_pmd_at(mm, addr)) {
      // A PMD-mapped page-cache folio: a read needs no fault, a write does (the driver splits it).
      if (write) {
        result = addr;
        break;
      }
      accessed += (next - addr) / PAGE_SIZE;
      addr = next;
      continue;
    }
    const frame = walk_pte_table_frame(mm, addr);
    if (frame < 0) {
      result = addr;
      break;
    }
    const t = mm.frames[frame]!;
    for (; addr < next; addr += PAGE_SIZE) {
      const i = pte_index(addr);
      const lo = t[2 * i]!;
      if ((lo & want) !== want) {
        result = addr;
        break outer;
      }
      if ((lo & bits) !== bits) t[2 * i] = (lo | bits) >>> 0;
      accessed++;
    }
  }
  stat_add(mm.s, S.FaultAccessOnly, accessed);
  return result;
}
