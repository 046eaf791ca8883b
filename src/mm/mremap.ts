/**
 * mremap(2) for every VMA kind (private anonymous, file-backed, shmem), the VMA side (mm/mremap.c as of 6.18); the page
 * tables move in the core (assembly/mremap.ts, move_page_tables). A trace's `mremap ADDR
 * OLDLEN NEWLEN` is flags 0 (resize in place); with NEWADDR it is MREMAP_MAYMOVE|MREMAP_FIXED.
 *
 *   do_mremap          page-align both lengths, check_mremap_params (EINVAL), then a pure
 *                      move (FIXED, equal lengths: remap_move, several VMAs and gaps allowed
 *                      since 6.17) or one VMA found at ADDR (check_prep_vma: EFAULT)
 *   mremap_at          no resize: nothing; shrink: munmap of the tail (across VMAs and holes);
 *                      grow: in place when [ADDR, +OLDLEN) ends the VMA and nothing is mapped
 *                      after it (vma_merge_extend, which may merge the next VMA), else ENOMEM
 *   mremap_to          munmap the destination, shrink first if asked, then move_vma
 *   move_vma           copy_vma (merging with the destination's neighbours; an anonymous VMA
 *                      never written takes the destination's pgoff), move_page_tables, then
 *                      munmap of the source, whose free_pgtables frees what the move emptied
 *
 * Measured on the live kernel (test/oracle-mremap.test.ts): an old range not starting in a
 * VMA, or crossing a VMA's end when it must map new memory, is EFAULT (not ENOMEM); a pure
 * move keeps the source's gaps and does not unmap the destination's gaps. File and shmem
 * VMAs (test/oracle-mremap-file.test.ts) move the same way and keep their object and pgoff;
 * growing one does not grow its object (touching past its end is EFAULT); OLDLEN 0 of a
 * shared mapping with NEWADDR maps the same pages a second time and keeps the source.
 */
import { type PageTableCore, CORE_OK, CORE_ARENA_FULL, CORE_GROW_FAILED, PAGE_SIZE, PMD_SIZE, TASK_SIZE } from '../core/types.js';
import { type Vma, type VmaList, VM_SHARED, isAnonymous } from './vma.js';

export type MremapErrno = 'EINVAL' | 'EFAULT' | 'ENOMEM' | 'EPERM';
export type MremapResult = { ok: true; addr: number } | { ok: false; errno: MremapErrno; detail: string };

/** What mremap needs of the mm: its VMAs and core, and the munmap and merge it shares. */
export interface MremapHost {
  readonly vmas: VmaList;
  readonly core: PageTableCore;
  /** mmap_min_addr: the lowest address a mapping may use (security_mmap_addr). */
  readonly mmapMinAddr: number;
  /** do_munmap of a page-aligned, non-empty range; false when it ends above TASK_SIZE (EINVAL). */
  munmap(addr: number, len: number): boolean;
  /** vma_merge_new_range: join a new VMA with compatible neighbours, else insert it. */
  insertMerged(v: Vma): void;
  /** The error for a core that ran out of table frames. */
  arenaError(status: number, start: number, end: number): Error;
}

const pageAlign = (n: number) => Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
const hex = (n: number) => `0x${n.toString(16)}`;
const fail = (errno: MremapErrno, detail: string): MremapResult => ({ ok: false, errno, detail });

/** One remap in progress (struct vma_remap_struct): the lengths are page-aligned. */
interface Remap {
  addr: number;
  oldLen: number;
  newLen: number;
  /** MREMAP_FIXED destination, or undefined for flags 0. */
  newAddr: number | undefined;
}

/** vma_lookup: the VMA that contains addr. */
function vmaLookup(vmas: VmaList, addr: number): Vma | undefined {
  const v = vmas.find(addr);
  return v && v.start <= addr ? v : undefined;
}

/** mremap(addr, oldLen, newLen, newAddr === undefined ? 0 : MREMAP_MAYMOVE|MREMAP_FIXED, newAddr). */
export function doMremap(host: MremapHost, addr: number, oldLen: number, newLen: number, newAddr?: number): MremapResult {
  const r: Remap = { addr, oldLen: pageAlign(oldLen), newLen: pageAlign(newLen), newAddr };
  const bad = checkMremapParams(r);
  if (bad) return bad;
  if (r.newAddr !== undefined && r.oldLen === r.newLen) return remapMove(host, r, r.newAddr);
  const v = vmaLookup(host.vmas, r.addr);
  const prep = checkPrepVma(v, r);
  if (prep) return prep;
  return r.newAddr !== undefined ? mremapTo(host, r, r.newAddr) : mremapAt(host, v!, r);
}

/** check_mremap_params: what can be refused before looking at any VMA. */
function checkMremapParams(r: Remap): MremapResult | undefined {
  if (r.addr % PAGE_SIZE !== 0) return fail('EINVAL', `address ${hex(r.addr)} not page-aligned`);
  if (r.newLen === 0) return fail('EINVAL', 'new length is zero');
  if (r.newLen > TASK_SIZE) return fail('EINVAL', 'new length exceeds the user address space');
  if (r.newAddr === undefined) return undefined;
  if (r.newAddr > TASK_SIZE - r.newLen) return fail('EINVAL', 'new range ends above TASK_SIZE');
  if (r.newAddr % PAGE_SIZE !== 0) return fail('EINVAL', `new address ${hex(r.newAddr)} not page-aligned`);
  if (r.addr + r.oldLen > r.newAddr && r.newAddr + r.newLen > r.addr) return fail('EINVAL', 'old and new ranges overlap');
  return undefined;
}

/**
 * check_prep_vma: a VMA must contain ADDR; when new memory gets mapped (a grow or a move),
 * a private mapping cannot be duplicated (OLDLEN 0) and the range kept cannot cross its end.
 */
function checkPrepVma(v: Vma | undefined, r: Remap): MremapResult | undefined {
  if (!v) return fail('EFAULT', `address ${hex(r.addr)} is not mapped`);
  const grows = r.newLen > r.oldLen;
  if (!grows && r.newAddr === undefined) return undefined;
  if (r.oldLen === 0 && (v.flags & VM_SHARED) === 0) return fail('EINVAL', 'old length zero: a private mapping cannot be duplicated');
  // A shrink may unmap across VMAs: only the part kept must lie in this one.
  const kept = Math.min(r.oldLen, r.newLen);
  if (kept > v.end - r.addr)
    return fail('EFAULT', `range [${hex(r.addr)}, ${hex(r.addr + kept)}) crosses the end of its VMA at ${hex(v.end)}`);
  return undefined;
}

/** mremap_at: flags 0, resize where it is. */
function mremapAt(host: MremapHost, v: Vma, r: Remap): MremapResult {
  if (r.newLen === r.oldLen) return { ok: true, addr: r.addr };
  if (r.newLen < r.oldLen) return shrinkVma(host, r) ?? { ok: true, addr: r.addr };
  const delta = r.newLen - r.oldLen;
  // vrm_can_expand_in_place: the range ends the VMA and [end, end + delta) is free and valid.
  if (v.end - r.addr !== r.oldLen)
    return fail('ENOMEM', `cannot grow in place: [${hex(r.addr)}, ${hex(r.addr + r.oldLen)}) does not end its VMA (at ${hex(v.end)})`);
  const end = v.end + delta;
  if (end > TASK_SIZE || host.vmas.overlaps(v.end, end))
    return fail('ENOMEM', `cannot grow in place: [${hex(v.end)}, ${hex(end)}) is not free`);
  vmaMergeExtend(host.vmas, v, delta);
  return { ok: true, addr: r.addr };
}

/** shrink_vma: munmap of the tail [addr + newLen, addr + oldLen), whatever is mapped there. */
function shrinkVma(host: MremapHost, r: Remap): MremapResult | undefined {
  const start = r.addr + r.newLen;
  return host.munmap(start, r.oldLen - r.newLen)
    ? undefined
    : fail('EINVAL', `old range [${hex(r.addr)}, ${hex(r.addr + r.oldLen)}) ends above TASK_SIZE`);
}

/** vma_merge_extend: v grows by delta, then joins the next VMA if it now touches and matches. */
function vmaMergeExtend(vmas: VmaList, v: Vma, delta: number): void {
  v.end += delta;
  const i = vmas.findIndex(v.start);
  const next = vmas.at(i + 1);
  if (
    next?.start === v.end &&
    next.flags === v.flags &&
    next.file === v.file &&
    next.pgoff === v.pgoff + (next.start - v.start) / PAGE_SIZE &&
    (v.anonVma === 0 || next.anonVma === 0 || v.anonVma === next.anonVma)
  ) {
    v.end = next.end;
    v.anonVma ||= next.anonVma;
    vmas.removeRange(i + 1, 1);
  }
}

/**
 * remap_move: MREMAP_FIXED with equal lengths moves every VMA of the range, each to the same
 * distance from the previous one's destination as in the source (gaps kept, the
 * destination's gaps left alone). A gap at the start is EFAULT; an error stops the walk
 * with the VMAs before it moved.
 */
function remapMove(host: MremapHost, r: Remap, newAddr: number): MremapResult {
  const start = r.addr;
  const end = r.addr + r.oldLen;
  let target = newAddr;
  let lastEnd = 0;
  let first: number | undefined;
  for (let cursor = start; cursor < end;) {
    const v = host.vmas.find(cursor);
    if (!v || v.start >= end) break;
    if (first === undefined && start < v.start) return fail('EFAULT', `address ${hex(start)} is not mapped`);
    const offset = first === undefined ? 0 : v.start - lastEnd;
    lastEnd = v.end;
    const addr = Math.max(v.start, start);
    const len = Math.min(end, v.end) - addr;
    const piece: Remap = { addr, oldLen: len, newLen: len, newAddr: target + offset };
    const res = mremapTo(host, piece, piece.newAddr!);
    if (!res.ok) return res;
    first ??= res.addr;
    target = res.addr + len;
    cursor = addr + len;
  }
  return first === undefined ? fail('EFAULT', `no mapping in [${hex(start)}, ${hex(end)})`) : { ok: true, addr: first };
}

/** mremap_to: MREMAP_FIXED to newAddr. */
function mremapTo(host: MremapHost, r: Remap, newAddr: number): MremapResult {
  host.munmap(newAddr, r.newLen);
  if (!vmaLookup(host.vmas, r.addr)) return fail('EFAULT', `address ${hex(r.addr)} is not mapped`);
  if (r.newLen < r.oldLen) {
    const bad = shrinkVma(host, r); // then move what is left
    if (bad) return bad;
    r = { ...r, oldLen: r.newLen };
  }
  // get_unmapped_area(MAP_FIXED) -> security_mmap_addr, after the destination was unmapped.
  if (newAddr < host.mmapMinAddr) return fail('EPERM', `new address below mmap_min_addr (${hex(host.mmapMinAddr)})`);
  return moveVma(host, r, newAddr);
}

/** move_vma: copy_vma, move_page_tables, then unmap the source. */
function moveVma(host: MremapHost, r: Remap, newAddr: number): MremapResult {
  const { vmas, core } = host;
  const v = vmaLookup(vmas, r.addr)!;
  // copy_vma: an anonymous VMA never written (no anon_vma) takes the destination's pgoff.
  const pgoff = v.anonVma === 0 && isAnonymous(v) ? newAddr / PAGE_SIZE : v.pgoff + (r.addr - v.start) / PAGE_SIZE;
  host.insertMerged({ ...v, start: newAddr, end: newAddr + r.newLen, pgoff });
  const [oldStart, newStart] = tryRealignAddr(vmas, r.addr, newAddr, r.oldLen);
  core.gatherBegin();
  const status = core.movePageTables(oldStart, newStart, r.addr + r.oldLen);
  core.gatherEnd();
  if (status === CORE_ARENA_FULL || status === CORE_GROW_FAILED) throw host.arenaError(status, newStart, newAddr + r.oldLen);
  if (status !== CORE_OK) throw new Error(`ptreclaim internal error: move_page_tables returned status ${status}`);
  // unmap_source_vma; OLDLEN 0 (a shared mapping, checked above) duplicates: the source stays.
  if (r.oldLen > 0) host.munmap(r.addr, r.oldLen);
  return { ok: true, addr: newAddr };
}

/**
 * try_realign_addr(PMD_MASK): when the range reaches the next PMD boundary, both starts sit
 * at the same offset in their PMD, each starts its VMA and nothing is mapped between the PMD
 * boundary below and it, start the move at that boundary, so the first PMD moves whole.
 */
function tryRealignAddr(vmas: VmaList, oldAddr: number, newAddr: number, len: number): [number, number] {
  const oldAlign = oldAddr % PMD_SIZE;
  if (oldAlign === 0 || len < PMD_SIZE - oldAlign || newAddr % PMD_SIZE !== oldAlign) return [oldAddr, newAddr];
  const canAlignDown = (a: number) => {
    const v = vmaLookup(vmas, a);
    return v?.start === a && !vmas.overlaps(a - oldAlign, a);
  };
  return canAlignDown(oldAddr) && canAlignDown(newAddr) ? [oldAddr - oldAlign, newAddr - oldAlign] : [oldAddr, newAddr];
}
