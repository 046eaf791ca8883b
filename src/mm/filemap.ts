/**
 * File-backed and shmem mappings: the page cache of each mapped object, readahead and the
 * fault paths that decide which page-cache pages a fault maps (mm/filemap.c, mm/readahead.c,
 * mm/shmem.c, the fault half of mm/memory.c). The page tables themselves change in the
 * core (assembly/filemap.ts); this side knows files.
 *
 * What was measured on the live kernel (6.18, ext4, read_ahead_kb 8192, fault_around_bytes
 * 65536) and is modelled here:
 * - A read fault first maps the cached pages of the fault-around window (do_fault_around:
 *   the 16-page block of the fault, clamped to the VMA, the PTE table and EOF) whose entries
 *   are none, skipping folios that carry the readahead mark. If that did not map the fault's
 *   page, ->fault runs: for a file, a page not cached starts the mmap read-around (the
 *   readahead window centred on the page) and the fault is retried, so the window is then
 *   mapped; a marked page starts asynchronous readahead and is retried the same way.
 * - Readahead on ext4 allocates large folios once it ramps up (each async round two orders
 *   larger); fault-around maps a large folio whole when it lies in the VMA and the PTE table.
 * - shmem has no readahead: ->fault allocates the one page, and only pages already in the
 *   object are mapped around.
 * - Writes never fault around: a private write makes an anonymous copy (do_cow_fault, and
 *   wp_page_copy of a mapped page), a shared write maps the page writable (do_shared_fault)
 *   or makes a mapped one writable (wp_page_shared). Their ->fault still reads ahead.
 * Not modelled: page reclaim (nothing is ever evicted), writeback, mmap_miss decay across
 * files, VM_RAND_READ/VM_SEQ_READ (no madvise sets them in a trace).
 * - MADV_HUGEPAGE on a file VMA (measured): an uncached page reads two PMD-sized folios from
 *   the PMD-aligned index (the second marked); a read fault whose fault-around window starts
 *   with a PMD-sized folio maps it by its none PMD (do_set_pmd: no PTE table, no deposit,
 *   RssFile +512). Only read faults and private writes (which split it) are modelled.
 */
import { PAGE_SIZE, PMD_SIZE, CORE_OK } from '../core/types.js';
import type { PageTableCore } from '../core/types.js';
import { type Vma, VM_HUGEPAGE, VM_NOHUGEPAGE, VM_SHARED } from './vma.js';
import { UnmodelledTraceError } from '../errors.js';

/** fault_around_bytes' default (mm/memory.c): 64 KiB. */
export const DEFAULT_FAULT_AROUND_BYTES = 65536;
/** VM_READAHEAD_PAGES: the default read_ahead_kb of a block device, 128 KiB. */
export const DEFAULT_READAHEAD_BYTES = 128 * 1024;
/** MMAP_LOTSAMISS: read-around stops after this many more misses than hits. */
const MMAP_LOTSAMISS = 100;
/** MAX_PAGECACHE_ORDER on x86-64: PMD order. */
const MAX_PAGECACHE_ORDER = 9;
/** Pages of a PMD-sized folio (HPAGE_PMD_NR). */
export const HPAGE_PMD_NR = 512;

// One byte per page of an object: 0 = not cached, else the folio's order + 1, the readahead
// mark (PG_readahead) on every page of a marked folio, and whether a shared write dirtied it.
const ORDER_MASK = 0x1f;
const DIRTY = 0x40;
const READAHEAD = 0x80;

/** struct file_ra_state: the readahead window of the object's one open file. */
interface RaState {
  start: number;
  size: number;
  asyncSize: number;
  order: number;
  mmapMiss: number;
}

/**
 * A mapped object: a regular file named in the trace (one per name for the whole run, as
 * the replayer opens each name once) or the shmem object of one shared anonymous mmap.
 * Its page cache, size (i_size) and readahead state.
 */
export class MappedObject {
  pages = new Uint8Array(0);
  size = 0;
  readonly ra: RaState = { start: 0, size: 0, asyncSize: 0, order: 0, mmapMiss: 0 };

  constructor(
    readonly key: string,
    readonly shmem: boolean,
  ) {}

  /** Pages up to EOF: DIV_ROUND_UP(i_size, PAGE_SIZE). */
  get eofPages(): number {
    return Math.ceil(this.size / PAGE_SIZE);
  }

  /** ftruncate up to `bytes` (never down: the replayer only extends). */
  extend(bytes: number): void {
    if (bytes <= this.size) return;
    this.size = bytes;
    const need = this.eofPages;
    if (need > this.pages.length) {
      const grown = new Uint8Array(Math.max(need, this.pages.length * 2));
      grown.set(this.pages);
      this.pages = grown;
    }
  }

  cached(index: number): boolean {
    return index < this.pages.length && this.pages[index] !== 0;
  }

  /** First index of the folio holding the cached page `index`, and its page count. */
  folio(index: number): [number, number] {
    const n = 2 ** ((this.pages[index]! & ORDER_MASK) - 1);
    return [index - (index % n), n];
  }

  private addFolio(index: number, order: number, mark: boolean): void {
    const v = (order + 1) | (mark ? READAHEAD : 0);
    this.pages.fill(v, index, index + 2 ** order);
  }

  private anyCached(index: number, n: number): boolean {
    for (let i = index; i < index + n; i++) if (this.pages[i] !== 0) return true;
    return false;
  }

  // ---- readahead (mm/readahead.c) ----

  /**
   * page_cache_ra_unbounded over do_page_cache_ra's EOF clamp: order-0 pages for the
   * missing indices of [index, index + nr), the mark on the one `nr - lookahead` in.
   */
  private do_page_cache_ra(index: number, nr: number, lookahead: number): void {
    const last = this.eofPages - 1;
    if (this.size === 0 || index > last) return;
    if (nr > last - index) nr = last - index + 1;
    const mark = lookahead <= nr ? nr - lookahead : -1;
    for (let i = 0; i < nr; i++) if (this.pages[index + i] === 0) this.addFolio(index + i, 0, i === mark);
  }

  /**
   * page_cache_ra_order: the window [ra.start, ra.start + ra.size) in folios of ra.order
   * (capped), aligned, never past EOF; a folio already cached in the way ends the large
   * allocation and the rest goes page by page (the fallback).
   */
  private page_cache_ra_order(): void {
    const ra = this.ra;
    const start = ra.start;
    const last = this.eofPages - 1;
    if (this.size === 0 || start > last) return;
    const limit = Math.min(last, start + ra.size - 1);
    const newOrder = Math.min(MAX_PAGECACHE_ORDER, ra.order, Math.floor(Math.log2(ra.size)));
    ra.order = newOrder;
    const mark = start + ra.size - ra.asyncSize;
    let index = start;
    while (index <= limit) {
      let order = newOrder;
      if (index % 2 ** order !== 0) order = ctz(index);
      while (order > 0 && index + 2 ** order - 1 > limit) order--;
      const n = 2 ** order;
      if (this.anyCached(index, n)) {
        // -EEXIST: the fallback reads the rest page by page.
        this.do_page_cache_ra(index, ra.size - (index - start), ra.asyncSize);
        return;
      }
      this.addFolio(index, order, index === mark - (mark % n));
      index += n;
    }
  }

  /**
   * do_sync_mmap_readahead: the mmap read-around; false when it gave up (too many misses).
   * In a VM_HUGEPAGE VMA (hugepage) it reads two PMD-sized folios from the PMD-aligned index
   * instead, the second one marked (async_size HPAGE_PMD_NR), even without read_ahead_kb.
   * mmap_miss is counted (and may stop it) before that, as in the 2025 filemap change that
   * made THP readahead follow the mmap_miss logic; older kernels read PMD folios first. No
   * measured trace tells the two apart (it takes more than 100 net misses on one file).
   */
  do_sync_mmap_readahead(pgoff: number, raPages: number, hugepage = false): boolean {
    const ra = this.ra;
    if (raPages === 0 && !hugepage) return false;
    if (ra.mmapMiss < MMAP_LOTSAMISS * 10) ra.mmapMiss++;
    if (ra.mmapMiss > MMAP_LOTSAMISS) return false;
    if (hugepage) {
      ra.start = pgoff - (pgoff % HPAGE_PMD_NR);
      ra.size = 2 * HPAGE_PMD_NR;
      ra.asyncSize = HPAGE_PMD_NR;
      ra.order = MAX_PAGECACHE_ORDER;
      this.page_cache_ra_order();
      return true;
    }
    ra.start = Math.max(0, pgoff - Math.floor(raPages / 2));
    ra.size = raPages;
    ra.asyncSize = Math.floor(raPages / 4);
    ra.order = 0;
    this.page_cache_ra_order();
    return true;
  }

  /**
   * do_async_mmap_readahead on the cached page `pgoff`: when its folio carries the mark,
   * page_cache_async_ra pushes the window on. Returns whether readahead ran (the fault
   * then drops its lock and is retried).
   */
  do_async_mmap_readahead(pgoff: number, raPages: number): boolean {
    const ra = this.ra;
    if (raPages === 0) return false;
    if (ra.mmapMiss > 0) ra.mmapMiss--;
    if (!(this.pages[pgoff]! & READAHEAD)) return false;
    const [head, n] = this.folio(pgoff);
    for (let i = head; i < head + n; i++) this.pages[i] = this.pages[i]! & ~READAHEAD;
    const expected = ra.start + ra.size - ra.asyncSize;
    if (pgoff === expected - (expected % n)) {
      ra.start += ra.size;
      ra.size = Math.max(ra.size, get_next_ra_size(ra.size, raPages));
      ra.asyncSize = ra.size;
    } else {
      // A marked folio without valid readahead state: start at the next page not cached.
      let start = pgoff + 1;
      while (start < pgoff + 1 + raPages && this.cached(start)) start++;
      if (start - pgoff > raPages) return true;
      ra.start = start;
      ra.size = get_next_ra_size(start - pgoff + raPages, raPages);
      ra.asyncSize = ra.size;
    }
    ra.order += 2;
    this.page_cache_ra_order();
    return true;
  }

  /** A page ->fault brought in without readahead (shmem, or read-around given up). */
  addPage(pgoff: number): void {
    if (this.pages[pgoff] === 0) this.addFolio(pgoff, 0, false);
  }

  /** A shared write dirtied the cached page (writeback is not modelled: it stays dirty). */
  markDirty(pgoff: number): void {
    if (this.pages[pgoff] !== 0) this.pages[pgoff] = this.pages[pgoff]! | DIRTY;
  }

  dirty(pgoff: number): boolean {
    return (this.pages[pgoff]! & DIRTY) !== 0;
  }

  anyDirty(first: number, end: number): boolean {
    for (let i = first; i < end; i++) if (this.pages[i]! & DIRTY) return true;
    return false;
  }

  /** The folio at head becomes order-0 folios (split_folio); the readahead mark stays on its first page. */
  splitFolio(head: number, n: number): void {
    const mark = this.pages[head]! & READAHEAD;
    for (let i = head; i < head + n; i++) this.pages[i] = 1 | (this.pages[i]! & DIRTY);
    this.pages[head] = this.pages[head]! | mark;
  }

  /**
   * force_page_cache_ra for MADV_WILLNEED: order-0 pages for the missing indices of
   * [index, index + nr), at most `maxPages` of them, never past EOF, no readahead mark.
   */
  force_page_cache_ra(index: number, nr: number, maxPages: number): void {
    this.do_page_cache_ra(index, Math.min(nr, maxPages), 0);
  }

  /** Hole punch: the pages of [first, end) leave the page cache. */
  removePages(first: number, end: number): void {
    this.pages.fill(0, first, Math.min(end, this.pages.length));
  }

  /** Cached pages in [first, end), for tests. */
  cachedPages(first = 0, end = this.eofPages): number {
    let n = 0;
    for (let i = first; i < end; i++) if (this.cached(i)) n++;
    return n;
  }
}

/** get_next_ra_size: the next readahead window, ramping up to the maximum. */
function get_next_ra_size(cur: number, max: number): number {
  if (cur < max / 16) return 4 * cur;
  if (cur <= max / 2) return 2 * cur;
  return max;
}

/** Trailing zero bits of a positive integer below 2^53. */
function ctz(n: number): number {
  let z = 0;
  while (n % 2 === 0 && z < 53) {
    n /= 2;
    z++;
  }
  return z;
}

/** The knobs of the host the fault paths follow. */
export interface FilemapConfig {
  /** fault_around_bytes: pages a read fault maps around (1 page = no fault-around). */
  faultAroundPages: number;
  /** The file system's read_ahead_kb in pages (file_ra_state.ra_pages). */
  raPages: number;
}

/** The page-cache page of the VMA at addr. */
export const vmaPgoff = (v: Vma, addr: number): number => v.pgoff + (addr - v.start) / PAGE_SIZE;
export const isShared = (v: Vma): boolean => (v.flags & VM_SHARED) !== 0;

/**
 * do_set_pmd's checks for a PMD-sized page-cache folio at addr: the VMA is not
 * VM_NOHUGEPAGE (vma_thp_disabled), the aligned 2 MiB lies inside it and its virtual and
 * file offsets agree modulo 2 MiB (thp_vma_suitable_order). VM_HUGEPAGE is not needed
 * (measured: a second mapping of a file without it maps the folio that the first one read
 * in by PMD); a VM_NOHUGEPAGE VMA maps the folio by PTEs (measured).
 */
function doSetPmdAllowed(v: Vma, addr: number): boolean {
  if ((v.flags & VM_NOHUGEPAGE) !== 0) return false;
  const haddr = addr - (addr % PMD_SIZE);
  return haddr >= v.start && haddr + PMD_SIZE <= v.end && (v.start / PAGE_SIZE - v.pgoff) % HPAGE_PMD_NR === 0;
}

/**
 * do_fault_around + filemap_map_pages: map the cached, unmarked pages of the fault-around
 * window of addr whose entries are none. Returns whether the fault's own page was mapped,
 * or a core status (< 0) when the arena is full.
 */
export function do_fault_around(core: PageTableCore, cfg: FilemapConfig, obj: MappedObject, v: Vma, addr: number): boolean | number {
  const nr = cfg.faultAroundPages;
  const pteOff = (addr / PAGE_SIZE) % 512;
  const vmaOff = (addr - v.start) / PAGE_SIZE;
  const fromPte = Math.max(pteOff - (pteOff % nr), pteOff - Math.min(pteOff, vmaOff));
  const toPte = Math.min(fromPte + nr, 512, pteOff + (v.end - v.start) / PAGE_SIZE - vmaOff) - 1;
  const pgoff = vmaPgoff(v, addr);
  const startPg = pgoff + fromPte - pteOff;
  const endPg = Math.min(pgoff + toPte - pteOff, obj.eofPages - 1);
  const tableBase = addr - pteOff * PAGE_SIZE;
  // The VMA part inside this PTE table, as page-cache indices: a large folio wholly inside
  // it is mapped whole.
  const lowPg = vmaPgoff(v, Math.max(v.start, tableBase));
  const highPg = vmaPgoff(v, Math.min(v.end, tableBase + PMD_SIZE));
  // filemap_map_pmd: the first folio of the window that fault-around may map (cached, not
  // marked) is PMD-sized and the PMD is none: do_set_pmd maps it whole, no PTE table.
  if (core.entryAt(addr, 1) === 0n) {
    let i = startPg;
    while (i <= endPg && (!obj.cached(i) || obj.pages[i]! & READAHEAD)) i++;
    if (i <= endPg && obj.folio(i)[1] === HPAGE_PMD_NR && doSetPmdAllowed(v, addr)) {
      const status = core.doSetPmd(addr);
      return status !== CORE_OK ? status : true; // mmap_miss: only PTE-mapped pages count as reached
    }
  }
  let mappedFault = false;
  let reached = 0;
  let runStart = -1;
  let runEnd = -1;
  const flush = (): number => {
    if (runStart < 0) return 0;
    const s = v.start + (runStart - v.pgoff) * PAGE_SIZE;
    const e = v.start + (runEnd - v.pgoff) * PAGE_SIZE;
    runStart = -1;
    const n = core.filemapMapPages(s, e, obj.shmem);
    return n < 0 ? n : 0;
  };
  for (let i = startPg; i <= endPg;) {
    if (!obj.cached(i) || obj.pages[i]! & READAHEAD) {
      i++;
      continue;
    }
    const [head, n] = obj.folio(i);
    let from = i;
    let to = Math.min(head + n, endPg + 1);
    if (n > 1 && head >= lowPg && head + n <= highPg && head + n <= obj.eofPages) {
      from = head;
      to = head + n;
    }
    reached += to - from;
    if (runStart >= 0 && from === runEnd) runEnd = to;
    else {
      const status = flush();
      if (status < 0) return status;
      runStart = from;
      runEnd = to;
    }
    if (pgoff >= from && pgoff < to) mappedFault = true;
    i = Math.max(to, i + 1);
  }
  const status = flush();
  if (status < 0) return status;
  obj.ra.mmapMiss = Math.max(0, obj.ra.mmapMiss - reached);
  return mappedFault;
}

/**
 * A fault at addr (its entry none) on a file or shmem VMA: do_read_fault, do_cow_fault or
 * do_shared_fault with the ->fault of the object (filemap_fault, shmem_fault), retried
 * once after readahead dropped the lock. Returns a core status.
 */
export function do_fault(core: PageTableCore, cfg: FilemapConfig, obj: MappedObject, v: Vma, addr: number, write: boolean): number {
  const pgoff = vmaPgoff(v, addr);
  let tried = false;
  for (;;) {
    if (!write && cfg.faultAroundPages > 1) {
      const r = do_fault_around(core, cfg, obj, v, addr);
      if (typeof r === 'number') return r;
      if (r) return CORE_OK;
    }
    if (obj.shmem) {
      obj.addPage(pgoff); // shmem_fault: shmem_get_folio allocates the page
    } else if (obj.cached(pgoff)) {
      if (!tried && obj.do_async_mmap_readahead(pgoff, cfg.raPages)) {
        tried = true;
        continue;
      }
    } else if (!tried && obj.do_sync_mmap_readahead(pgoff, cfg.raPages, (v.flags & VM_HUGEPAGE) !== 0)) {
      tried = true;
      continue;
    } else {
      obj.addPage(pgoff); // no readahead: the one page is read
    }
    if (write && !isShared(v)) return core.doCowFault(addr);
    if (write) obj.markDirty(pgoff);
    return finish_fault(core, obj, v, addr, write);
  }
}

/**
 * finish_fault: map the folio ->fault returned. A large folio is mapped whole when it lies
 * in the VMA and the PTE table and all its entries are none (measured: a shared write into
 * a 4-page folio maps 4 pages), else only the faulting page.
 */
function finish_fault(core: PageTableCore, obj: MappedObject, v: Vma, addr: number, write: boolean): number {
  const pgoff = vmaPgoff(v, addr);
  const [head, n] = obj.folio(pgoff);
  if (n === HPAGE_PMD_NR && core.entryAt(addr, 1) === 0n && doSetPmdAllowed(v, addr)) {
    // do_set_pmd: the PMD-sized folio mapped whole by its PMD.
    if (write)
      throw new UnmodelledTraceError(
        `trace v2: a shared write fault mapping a PMD-sized page-cache folio by its PMD ([0x${v.start.toString(16)}, 0x${v.end.toString(16)})) is not modelled yet (issue 12); \`ptreclaim oracle --trace\` replays it on the live kernel`,
      );
    return core.doSetPmd(addr);
  }
  let first = addr;
  let last = addr + PAGE_SIZE;
  if (n > 1) {
    const s = addr - (pgoff - head) * PAGE_SIZE;
    const e = s + n * PAGE_SIZE;
    const tableBase = addr - (addr % PMD_SIZE);
    if (s >= v.start && e <= v.end && s >= tableBase && e <= tableBase + PMD_SIZE && head + n <= obj.eofPages) {
      let none = true;
      for (let a = s; a < e && none; a += PAGE_SIZE) none = a === addr || core.entryAt(a, 0) === 0n;
      if (none) {
        first = s;
        last = e;
      }
    }
  }
  for (let a = first; a < last; a += PAGE_SIZE) {
    const status = core.finishFault(a, write, obj.shmem);
    if (status !== CORE_OK) return status;
  }
  return CORE_OK;
}

const PTE_PRESENT = 1n;
const PTE_SIM_FILE = 1n << 52n;
const PMD_PSE = 1n << 7n;
/** The PMD entry maps a PMD-sized page-cache folio (do_set_pmd; no deposit). */
export const isFileHugePmd = (e: bigint): boolean => (e & PMD_PSE) !== 0n && (e & PTE_SIM_FILE) !== 0n;
/** The entry maps a page-cache page (file or shmem). */
export const isPageCachePte = (e: bigint): boolean => (e & PTE_PRESENT) !== 0n && (e & PTE_SIM_FILE) !== 0n;

/** Unmap pages [first, last) of the object from every VMA of `vmas` that maps it (file pages only). */
export function unmap_mapping_pages(core: PageTableCore, vmas: readonly Vma[], first: number, last: number): void {
  for (const w of vmas) {
    const from = Math.max(first, w.pgoff);
    const to = Math.min(last, vmaPgoff(w, w.end));
    if (from < to) core.zapRange(w.start + (from - w.pgoff) * PAGE_SIZE, w.start + (to - w.pgoff) * PAGE_SIZE, 0);
  }
}

/**
 * split_folio of a large page-cache folio: it is unmapped everywhere first (unmap_folio)
 * and, being a file folio, not mapped back (remap_page maps back anonymous folios only);
 * its pages become order-0 folios that stay cached. A dirty folio cannot be split (ext4's
 * dirty buffers cannot be released: measured, its mappings stay): returns false then.
 * `vmas` map the object.
 */
export function split_folio(core: PageTableCore, obj: MappedObject, vmas: readonly Vma[], head: number, n: number): boolean {
  if (obj.anyDirty(head, head + n)) return false;
  unmap_mapping_pages(core, vmas, head, head + n);
  obj.splitFolio(head, n);
  return true;
}

/**
 * MADV_COLD / MADV_PAGEOUT over [start, end) of a file or shmem VMA
 * (madvise_cold_or_pageout_pte_range, then reclaim_pages for PAGEOUT), as measured without
 * swap. A large folio the range does not map whole from its first page on (it crosses the
 * range's ends, or some of its pages are not mapped) is split, which unmaps it everywhere
 * (both advices). PAGEOUT then unmaps each folio of the range from every mapping
 * (try_to_unmap), skipping a small folio another mapping maps too (folio_maybe_mapped_shared;
 * a large one counts as shared only across processes); a clean file folio then leaves the
 * page cache, a dirty one (direct reclaim writes no file pages back) and shmem (no swap)
 * stay cached. COWed anonymous pages stay (no swap); the PTE table stays. `vmas` are the
 * VMAs of the mm mapping the same object.
 */
export function madvise_cold_or_pageout(
  core: PageTableCore,
  obj: MappedObject,
  v: Vma,
  start: number,
  end: number,
  vmas: readonly Vma[],
  pageout: boolean,
): void {
  const mappedElsewhere = (pgoff: number): boolean =>
    vmas.some((w) => {
      if (w === v || pgoff < w.pgoff || pgoff >= vmaPgoff(w, w.end)) return false;
      return isPageCachePte(core.entryAt(w.start + (pgoff - w.pgoff) * PAGE_SIZE, 0));
    });
  let a = start;
  while (a < end) {
    const pgoff = vmaPgoff(v, a);
    if (!isPageCachePte(core.entryAt(a, 0)) || !obj.cached(pgoff)) {
      a += PAGE_SIZE;
      continue;
    }
    const [head, n] = obj.folio(pgoff);
    if (n > 1) {
      // madvise_folio_pte_batch: the mapped pages of this folio from a on, inside the range
      // and the PTE table (the walk goes PMD by PMD: a folio mapped across two tables is cut).
      const stop = Math.min(end, a - (a % PMD_SIZE) + PMD_SIZE);
      let nr = 1;
      while (a + nr * PAGE_SIZE < stop && pgoff + nr < head + n && isPageCachePte(core.entryAt(a + nr * PAGE_SIZE, 0))) nr++;
      if (nr < n) {
        if (split_folio(core, obj, vmas, head, n)) continue; // the entry is none now
        a += nr * PAGE_SIZE; // left in place
        continue;
      }
      if (pageout) {
        unmap_mapping_pages(core, vmas, head, head + n);
        if (!obj.shmem && !obj.anyDirty(head, head + n)) obj.removePages(head, head + n);
      }
      a += n * PAGE_SIZE;
      continue;
    }
    if (pageout && !mappedElsewhere(pgoff)) {
      core.zapRange(a, a + PAGE_SIZE, 0);
      if (!obj.shmem && !obj.dirty(pgoff)) obj.removePages(pgoff, pgoff + 1);
    }
    a += PAGE_SIZE;
  }
}

/** Create the objects of a run and look them up: one per file name, one per shmem mmap. */
export class MappedObjects {
  private readonly objects = new Map<string, MappedObject>();
  private shmemCount = 0;

  /** The regular file called name (created empty on first use). */
  file(name: string): MappedObject {
    const key = `file:${name}`;
    let o = this.objects.get(key);
    if (!o) this.objects.set(key, (o = new MappedObject(key, false)));
    return o;
  }

  /** A new shmem object of `bytes` (shmem_zero_setup for a shared anonymous mmap). */
  newShmem(bytes: number): MappedObject {
    const o = new MappedObject(`shmem:${++this.shmemCount}`, true);
    o.extend(bytes);
    this.objects.set(o.key, o);
    return o;
  }

  get(key: string): MappedObject | undefined {
    return this.objects.get(key);
  }
}
