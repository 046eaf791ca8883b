/**
 * The madvise advices of trace format v2 on private anonymous memory, beyond MADV_DONTNEED
 * and MADV_FREE (which Mm runs itself, with MADV_DONTNEED_LOCKED): guard regions, populate,
 * WILLNEED, COLD and PAGEOUT, dispatched as mm/madvise.c does (6.18):
 *
 * - MADV_POPULATE_READ/WRITE (madvise_populate -> faultin_page_range, GUP with
 *   FOLL_MADV_POPULATE): one walk over the whole range, not VMA by VMA. Pages are faulted in
 *   order as `touch` would, but what stops it is reported afterwards, the pages before kept:
 *   a hole ENOMEM, a VMA the access may not make (populate-write on prot=r, either on
 *   prot=none) EINVAL, a guard marker EFAULT (VM_FAULT_SIGSEGV), a poisoned page EHWPOISON.
 * - Every other advice goes through madvise_walk_vmas: VMA by VMA, holes skipped and
 *   reported as ENOMEM at the end, a VMA's error returned at once (the VMAs before it done).
 *   GUARD_INSTALL refuses VM_LOCKED (is_valid_guard_vma), prepares the anon_vma and installs
 *   markers (madvise_guard_install, in the core); GUARD_REMOVE clears them, VM_LOCKED
 *   allowed; COLD and PAGEOUT refuse VM_LOCKED (can_madv_lru_vma) and walk the tables (the
 *   core's madvise_cold_or_pageout); WILLNEED on anonymous memory reads swap entries into the
 *   swap cache (swapin_walk_ops) and maps nothing, so no table or counter moves.
 *
 * COLD and PAGEOUT of part of a THP split it first (measured): the THP model joins that.
 * File and shmem mappings (WILLNEED readahead, COLD/PAGEOUT of page-cache folios, populate through
 * the page cache) go to the file model through MadviseMm's hooks (src/mm/filemap.ts).
 */
import { type PageTableCore, CORE_ARENA_FULL, CORE_GROW_FAILED, CORE_OK, VMA_ANON, coreStatusErrno } from '../core/types.js';
import { PtreclaimError } from '../errors.js';
import type { AdviceV2 } from '../trace/ops.js';
import { type Vma, type VmaList, VM_LOCKED, VM_READ, VM_WRITE, isAnonymous } from './vma.js';
import type { SyscallResult } from './mm.js';

/** What the advices here need of the mm (Mm provides it). */
export interface MadviseMm {
  readonly core: PageTableCore;
  readonly vmas: VmaList;
  /** anon_vma_prepare: the VMA's anon_vma, created or shared with a neighbour. */
  anonVmaPrepare(v: Vma): number;
  /** The error to throw when the arena cannot hold the tables [start, end) needs. */
  arenaError(status: number, start: number, end: number): Error;
  /**
   * Fault [start, end) inside VMA v as touch does (Mm.faultVma: file and shmem through the page
   * cache, THPs where v may have them); storesData false: the write faults store nothing
   * (MADV_POPULATE_WRITE). A CORE_* status.
   */
  faultVma(v: Vma, start: number, end: number, write: boolean, storesData?: boolean): number;
  /** Where the object behind a file or shmem VMA ends (Infinity for anonymous memory). */
  eofAddress(v: Vma): number;
  /** WILLNEED, COLD, PAGEOUT on a file or shmem VMA part (src/mm/filemap.ts; COLD/PAGEOUT inside a gather). */
  fileAdvice(v: Vma, start: number, end: number, advice: 'willneed' | 'cold' | 'pageout'): void;
}

/** The advices this module runs. */
export const WALKED_ADVICES = ['guard-install', 'guard-remove', 'willneed', 'cold', 'pageout'] as const;
export const POPULATE_ADVICES = ['populate-read', 'populate-write'] as const;
type WalkedAdvice = (typeof WALKED_ADVICES)[number];
type PopulateAdvice = (typeof POPULATE_ADVICES)[number];

const ok: SyscallResult = { ok: true };
const hex = (n: number) => `0x${n.toString(16)}`;

export function isWalkedAdvice(advice: AdviceV2): advice is WalkedAdvice {
  return (WALKED_ADVICES as readonly string[]).includes(advice);
}
export function isPopulateAdvice(advice: AdviceV2): advice is PopulateAdvice {
  return advice === 'populate-read' || advice === 'populate-write';
}

/**
 * madvise_populate over [start, end) (page-aligned, non-empty): fault page by page through
 * the VMAs until the end or the first page that cannot be populated.
 */
export function madvisePopulate(mm: MadviseMm, start: number, end: number, advice: PopulateAdvice): SyscallResult {
  const write = advice === 'populate-write';
  const need = write ? VM_WRITE : VM_READ;
  for (let cursor = start; cursor < end;) {
    const v = mm.vmas.find(cursor);
    if (!v || v.start > cursor) {
      return { ok: false, errno: 'ENOMEM', detail: `address ${hex(cursor)} is not mapped (the pages before it were populated)` };
    }
    // check_vma_flags without FOLL_FORCE: the access must be allowed.
    if ((v.flags & need) === 0) {
      return {
        ok: false,
        errno: 'EINVAL',
        detail: `address ${hex(cursor)} is in a VMA that does not allow a ${write ? 'write' : 'read'} (the pages before it were populated)`,
      };
    }
    const stop = Math.min(v.end, end);
    // A file or shmem page past the object's end would SIGBUS: populate stops there with EFAULT.
    const eof = mm.eofAddress(v);
    const status = cursor < eof ? mm.faultVma(v, cursor, Math.min(stop, eof), write, false) : CORE_OK;
    if (status === CORE_OK && eof < stop) {
      return {
        ok: false,
        errno: 'EFAULT',
        detail: `address ${hex(Math.max(cursor, eof))} is past the end of the mapped object (the pages before it were populated)`,
      };
    }
    if (status !== CORE_OK) {
      if (status === CORE_ARENA_FULL || status === CORE_GROW_FAILED) throw mm.arenaError(status, cursor, stop);
      const at = hex(mm.core.faultAddress());
      const errno = coreStatusErrno(status);
      if (errno === 'SIGSEGV') return { ok: false, errno: 'EFAULT', detail: `guard region at ${at} (the pages before it were populated)` };
      if (errno === 'SIGBUS')
        return { ok: false, errno: 'EHWPOISON', detail: `poisoned page at ${at} (the pages before it were populated)` };
      throw new PtreclaimError(`unexpected fault status ${status} (${errno ?? 'unknown'})`);
    }
    cursor = stop;
  }
  return ok;
}

/** The zap flags of a VMA's own properties (the zap of MADV_GUARD_INSTALL adds ZAP_EVEN_COWS). */
const vmaZapFlags = (v: Vma): number => (isAnonymous(v) ? VMA_ANON : 0);

/** One VMA part [start, end) of a walked advice: undefined when done, else the error. */
function madviseVma(mm: MadviseMm, v: Vma, start: number, end: number, advice: WalkedAdvice): SyscallResult | undefined {
  const core = mm.core;
  switch (advice) {
    case 'guard-install': {
      if (v.flags & VM_LOCKED)
        return { ok: false, errno: 'EINVAL', detail: `guard regions cannot be installed in a locked VMA (${hex(v.start)})` };
      // Markers make the range non-empty from a page-table point of view: it gets an anon_vma.
      if (v.anonVma === 0) v.anonVma = mm.anonVmaPrepare(v);
      const status = core.madviseGuardInstall(start, end, vmaZapFlags(v));
      if (status !== CORE_OK) throw mm.arenaError(status, start, end);
      return undefined;
    }
    case 'guard-remove':
      core.gatherBegin();
      core.madviseGuardRemove(start, end);
      core.gatherEnd();
      return undefined;
    case 'willneed':
      if (!isAnonymous(v)) mm.fileAdvice(v, start, end, advice); // readahead into the page cache
      return undefined;
    case 'cold':
    case 'pageout':
      if (v.flags & VM_LOCKED)
        return { ok: false, errno: 'EINVAL', detail: `MADV_${advice.toUpperCase()} on a locked VMA (${hex(v.start)})` };
      core.gatherBegin();
      if (isAnonymous(v)) core.madviseColdOrPageout(start, end, advice === 'pageout');
      else mm.fileAdvice(v, start, end, advice);
      core.gatherEnd();
      return undefined;
  }
}

/** madvise_walk_vmas over [start, end) (page-aligned, non-empty) for a walked advice. */
export function madviseWalkVmas(mm: MadviseMm, start: number, end: number, advice: WalkedAdvice): SyscallResult {
  let hole = false;
  for (let i = mm.vmas.findIndex(start); start < end; i++) {
    const v = mm.vmas.at(i);
    if (!v) {
      hole = true;
      break;
    }
    if (start < v.start) {
      hole = true;
      start = v.start;
      if (start >= end) break;
    }
    const stop = Math.min(v.end, end);
    const err = madviseVma(mm, v, start, stop, advice);
    if (err) return err;
    start = stop;
  }
  return hole ? { ok: false, errno: 'ENOMEM', detail: 'range includes unmapped addresses (the mapped parts were processed)' } : ok;
}
