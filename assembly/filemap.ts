// Page-cache pages in the page tables: the PTE half of faults on file-backed and shmem
// mappings (mm/memory.c do_read_fault, do_cow_fault, do_shared_fault, finish_fault,
// wp_page_copy, wp_page_shared; mm/filemap.c filemap_map_pages).
//
// Which pages the page cache holds, readahead and the fault-around window are decided by
// the driver (src/mm/filemap.ts), which knows files; here only entries change. A page-cache
// page is a present entry with _PAGE_SIM_FILE (and _PAGE_SIM_SHMEM for shmem), counted in
// MM_FILEPAGES or MM_SHMEMPAGES (mm_counter_file). Frame numbers come from NextPfn: the
// simulator does not share frames between mappings of one file (no counter looks at them).

import {
  PAGE_SHIFT, PAGE_SIZE, PMD_SIZE, ANON_PTE_FLAGS, _PAGE_PRESENT, _PAGE_RW, _PAGE_USER, _PAGE_ACCESSED,
  _PAGE_DIRTY, _PAGE_NX, _PAGE_SIM_FILE, _PAGE_SIM_SHMEM, pfn_pte, span_end,
} from "./pgtable";
import { OK, arena_reserve } from "./arena";
import { pte_offset, pte_alloc_map, count_missing_tables, walk_pte, walk_pmd } from "./mm";
import { is_file_huge_pmd } from "./huge_memory";
import { Stat, stat_inc, stat_add, stat_get, stat_set } from "./stats";

/** A page-cache page mapped for reading: present, read-only, accessed, clean. */
const FILE_PTE_FLAGS: u64 = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_NX | _PAGE_SIM_FILE;

@inline function file_pte(pfn: u64, shmem: bool, write: bool): u64 {
  let flags = FILE_PTE_FLAGS | (shmem ? _PAGE_SIM_SHMEM : 0);
  if (write) flags |= _PAGE_RW | _PAGE_DIRTY;
  return pfn_pte(pfn, flags);
}

@inline function add_mm_counter(shmem: bool, n: i64): void {
  const slot = shmem ? Stat.RssShmem : Stat.RssFile;
  stat_set(slot, <u64>(<i64>stat_get(slot) + n));
}

/**
 * filemap_map_pages for one run of cached pages: map every none entry of [start, end)
 * (inside one PMD span) read-only, allocating the PTE table if it is missing (the
 * prealloc_pte of do_fault_around). Entries that are not none (mapped, COWed, markers) are
 * left alone. Returns how many pages were mapped, or an arena status (< 0, nothing changed).
 */
export function filemap_map_pages(start: u64, end: u64, shmem: bool): i32 {
  assert(start < end && span_end(start, end, PMD_SIZE) == end, "filemap_map_pages: range not within one PMD span");
  const status = arena_reserve(count_missing_tables(start, start + 1));
  if (status != OK) return status;
  const table = pte_alloc_map(start);
  const first = pte_offset(table, start);
  const last = first + (<usize>((end - start) >> PAGE_SHIFT) << 3);
  let pfn = stat_get(Stat.NextPfn);
  let mapped: i32 = 0;
  for (let p = first; p < last; p += 8) {
    if (load<u64>(p) != 0) continue;
    store<u64>(p, file_pte(pfn++, shmem, false));
    mapped++;
  }
  stat_set(Stat.NextPfn, pfn);
  stat_add(Stat.FaultAround, <u64>mapped);
  add_mm_counter(shmem, mapped);
  return mapped;
}

/**
 * finish_fault for the page ->fault returned: map it at addr (a none entry), read-only on a
 * read, writable and dirty on a shared write (do_shared_fault). Returns OK or an arena status.
 */
export function finish_fault(addr: u64, write: bool, shmem: bool): i32 {
  const status = arena_reserve(count_missing_tables(addr, addr + 1));
  if (status != OK) return status;
  const ptep = pte_offset(pte_alloc_map(addr), addr);
  assert(load<u64>(ptep) == 0, "finish_fault: entry not none");
  const pfn = stat_get(Stat.NextPfn);
  stat_set(Stat.NextPfn, pfn + 1);
  store<u64>(ptep, file_pte(pfn, shmem, write));
  stat_inc(Stat.FaultFile);
  add_mm_counter(shmem, 1);
  return OK;
}

/**
 * do_cow_fault: a write to a none entry of a private file mapping. The page-cache page is
 * read, then copied into a new anonymous page, which is mapped (MM_ANONPAGES + 1).
 */
export function do_cow_fault(addr: u64): i32 {
  const status = arena_reserve(count_missing_tables(addr, addr + 1));
  if (status != OK) return status;
  const ptep = pte_offset(pte_alloc_map(addr), addr);
  assert(load<u64>(ptep) == 0, "do_cow_fault: entry not none");
  const pfn = stat_get(Stat.NextPfn);
  stat_set(Stat.NextPfn, pfn + 1);
  store<u64>(ptep, pfn_pte(pfn, ANON_PTE_FLAGS));
  stat_inc(Stat.FaultCow);
  stat_inc(Stat.RssAnon);
  return OK;
}

/**
 * wp_page_copy of a mapped page-cache page: a write to it in a private mapping replaces it
 * with an anonymous copy (mm counter file - 1, MM_ANONPAGES + 1). Returns false when addr
 * does not map a page-cache page.
 */
export function wp_page_copy(addr: u64): bool {
  const ptep = walk_pte(addr);
  if (ptep == 0) return false;
  const e = load<u64>(ptep);
  if ((e & (_PAGE_PRESENT | _PAGE_SIM_FILE)) != (_PAGE_PRESENT | _PAGE_SIM_FILE)) return false;
  const pfn = stat_get(Stat.NextPfn);
  stat_set(Stat.NextPfn, pfn + 1);
  store<u64>(ptep, pfn_pte(pfn, ANON_PTE_FLAGS));
  add_mm_counter((e & _PAGE_SIM_SHMEM) != 0, -1);
  stat_inc(Stat.RssAnon);
  stat_inc(Stat.FaultCow);
  return true;
}

/**
 * wp_page_shared: a write to a page-cache page mapped read-only in a shared mapping makes
 * the entry writable and dirty; no counter moves. Returns false when addr maps no such page.
 */
export function wp_page_shared(addr: u64): bool {
  const ptep = walk_pte(addr);
  if (ptep == 0) return false;
  const e = load<u64>(ptep);
  if ((e & (_PAGE_PRESENT | _PAGE_SIM_FILE)) != (_PAGE_PRESENT | _PAGE_SIM_FILE)) return false;
  store<u64>(ptep, e | _PAGE_RW | _PAGE_DIRTY | _PAGE_ACCESSED);
  stat_inc(Stat.FaultWpShared);
  return true;
}

/**
 * The access loop of a touch on a file or shmem mapping up to its next fault: entries of
 * [start, end) that the access needs no fault for (present; present and writable for a
 * write) are accessed (FaultAccessOnly; accessed/dirty bits set as the MMU does), a
 * PMD-mapped page-cache folio as a whole on a read. Returns the address of the first entry
 * that needs a fault (none, write-protected for a write, not present, a write into a
 * PMD-mapped folio), or end.
 */
export function filemap_next_fault(start: u64, end: u64, write: bool): u64 {
  const want: u64 = write ? _PAGE_PRESENT | _PAGE_RW : _PAGE_PRESENT;
  const bits: u64 = write ? _PAGE_ACCESSED | _PAGE_DIRTY : _PAGE_ACCESSED;
  let accessed: u64 = 0;
  let addr = start;
  while (addr < end) {
    const next = span_end(addr, end, PMD_SIZE);
    const pmdp = walk_pmd(addr);
    if (pmdp != 0 && is_file_huge_pmd(load<u64>(pmdp))) {
      // A PMD-mapped page-cache folio: a read needs no fault (accessed already); a write
      // does (it is read-only: the driver splits it).
      if (write) break;
      accessed += (next - addr) >> PAGE_SHIFT;
      addr = next;
      continue;
    }
    const ptep0 = walk_pte(addr);
    if (ptep0 == 0) break;
    let p = ptep0;
    while (addr < next) {
      const e = load<u64>(p);
      if ((e & want) != want) {
        stat_add(Stat.FaultAccessOnly, accessed);
        return addr;
      }
      if ((e & bits) != bits) store<u64>(p, e | bits);
      accessed++;
      p += 8;
      addr += PAGE_SIZE;
    }
  }
  stat_add(Stat.FaultAccessOnly, accessed);
  return addr < end ? addr : end;
}
