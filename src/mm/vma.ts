/**
 * Virtual memory areas: a sorted, non-overlapping list with the kernel's merge, split and
 * placement rules for private anonymous mappings (mm/vma.c, mm/mmap.c). File-backed and
 * shared mappings are represented (flags, file identity) so they can be added later; the
 * merge rule already refuses to join mappings of different kinds.
 */
import { PAGE_SIZE, PMD_SIZE } from '../core/types.js';

export const VM_READ = 1 << 0;
export const VM_WRITE = 1 << 1;
export const VM_SHARED = 1 << 3;
/** mlock()ed. No trace operation sets it (no mlock); the madvise checks that refuse it are kept. */
export const VM_LOCKED = 1 << 13;
export const VM_HUGEPAGE = 1 << 29;
export const VM_UFFD_WP = 1 << 12;

export interface Vma {
  start: number;
  end: number;
  flags: number;
  /** File identity for file-backed mappings; undefined = anonymous. */
  file?: string;
  /** Page offset: for anonymous private mappings, vm_start >> PAGE_SHIFT at creation. */
  pgoff: number;
  /** anon_vma identity; 0 until the first write fault (anon_vma_prepare). */
  anonVma: number;
}

export const isAnonymous = (v: Vma): boolean => v.file === undefined;

/** Sorted list of VMAs with the lookups the mm code needs. */
export class VmaList {
  private readonly list: Vma[] = [];

  get size(): number {
    return this.list.length;
  }
  all(): readonly Vma[] {
    return this.list;
  }
  at(i: number): Vma | undefined {
    return this.list[i];
  }

  /** Index of the first VMA whose end is above addr (find_vma), or size if none. */
  findIndex(addr: number): number {
    let lo = 0;
    let hi = this.list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.list[mid]!.end <= addr) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  find(addr: number): Vma | undefined {
    return this.list[this.findIndex(addr)];
  }

  /** True when some VMA intersects [start, end). */
  overlaps(start: number, end: number): boolean {
    const v = this.find(start);
    return v !== undefined && v.start < end;
  }

  insertAt(i: number, v: Vma): void {
    this.list.splice(i, 0, v);
  }
  removeRange(i: number, count: number): Vma[] {
    return this.list.splice(i, count);
  }

  /** Split the VMA at index i at addr (inside it): __split_vma. Both halves keep anon_vma. */
  splitAt(i: number, addr: number): void {
    const v = this.list[i]!;
    const tail: Vma = { ...v, start: addr, pgoff: v.pgoff + (addr - v.start) / PAGE_SIZE };
    v.end = addr;
    this.list.splice(i + 1, 0, tail);
  }

  clear(): Vma[] {
    return this.list.splice(0, this.list.length);
  }
}

/**
 * anon_vma compatibility for merging (is_mergeable_anon_vma; no fork here, so no
 * "uncowed parents"): either side without an anon_vma, or both the same.
 */
export function anonVmasCompatible(a: number, b: number): boolean {
  return a === 0 || b === 0 || a === b;
}

/** Flags of mmap's protection words: PROT_READ|PROT_WRITE, PROT_READ, PROT_NONE. */
export const PROT_FLAGS = { rw: VM_READ | VM_WRITE, r: VM_READ, none: 0 } as const;
/** The protection bits of VMA flags. */
export const VM_ACCESS_FLAGS = VM_READ | VM_WRITE;

/** Same kind of mapping: flags and file (is_mergeable_vma, minus what is not modelled). */
export function sameMappingKind(a: Pick<Vma, 'flags' | 'file'>, b: Pick<Vma, 'flags' | 'file'>): boolean {
  return a.flags === b.flags && a.file === b.file;
}

/** pgoff continuity: b follows a in the same object. */
export function pgoffContiguous(a: Vma, b: Pick<Vma, 'start' | 'pgoff'>): boolean {
  return b.pgoff === a.pgoff + (b.start - a.start) / PAGE_SIZE;
}

/**
 * Top-down placement (vm_unmapped_area with the THP rule of __get_unmapped_area since 6.12):
 * the highest gap below `high` that fits; an anonymous mapping whose length is a multiple
 * of 2 MiB is placed 2 MiB-aligned (the search is padded by 2 MiB, then the result rounded),
 * others end exactly at the top of the gap. Returns undefined when nothing fits.
 */
export function placeTopDown(vmas: VmaList, len: number, low: number, high: number): number | undefined {
  const thpAlign = len % PMD_SIZE === 0;
  const searchLen = thpAlign ? len + PMD_SIZE : len;
  const found = highestGap(vmas, searchLen, low, high);
  if (found === undefined) {
    // __thp_get_unmapped_area falls back to the unpadded search when padding does not fit.
    return thpAlign ? highestGap(vmas, len, low, high) : undefined;
  }
  if (!thpAlign) return found;
  // __thp_get_unmapped_area: round up to the alignment; already aligned -> step up one PMD.
  const offSub = (PMD_SIZE - (found % PMD_SIZE)) % PMD_SIZE;
  return offSub === 0 ? found + PMD_SIZE : found + offSub;
}

function highestGap(vmas: VmaList, len: number, low: number, high: number): number | undefined {
  const list = vmas.all();
  let i = vmas.findIndex(high);
  // A VMA straddling `high` bounds the first gap from above.
  let gapEnd = list[i] && list[i]!.start < high ? list[i]!.start : high;
  for (i -= 1; i >= -1; i--) {
    const v = list[i];
    const gapStart = Math.max(v ? v.end : 0, low);
    if (gapEnd - gapStart >= len) return gapEnd - len;
    if (!v) break;
    gapEnd = v.start;
  }
  return undefined;
}
