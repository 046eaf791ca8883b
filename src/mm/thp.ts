/**
 * Anonymous PMD-sized THP, the driver's half (the page-table half is assembly/huge_memory.ts
 * and src/core/reference/huge_memory.ts): which VMAs may get THPs (thp_vma_allowable_order),
 * MADV_HUGEPAGE / MADV_NOHUGEPAGE as VMA flags (hugepage_madvise), and MADV_COLLAPSE over
 * one VMA (madvise_collapse, mm/khugepaged.c). khugepaged itself is not modelled.
 */
import { type PageTableCore, PMD_SIZE } from '../core/types.js';
import { SCAN_PMD_MAPPED, SCAN_PMD_NULL, SCAN_SUCCEED } from '../generated/vocab.js';
import { UnmodelledTraceError } from '../errors.js';
import type { ShmemThpMode, ThpMode } from '../options.js';
import { type Vma, VM_HUGEPAGE, VM_NOHUGEPAGE, VM_SHARED, isAnonymous } from './vma.js';

const alignUp = (a: number) => Math.ceil(a / PMD_SIZE) * PMD_SIZE;
const alignDown = (a: number) => Math.floor(a / PMD_SIZE) * PMD_SIZE;

/** A private anonymous VMA that is not VM_NOHUGEPAGE (the part of vma_thp_disabled that applies). */
function thpCapable(v: Vma): boolean {
  return isAnonymous(v) && (v.flags & VM_SHARED) === 0 && (v.flags & VM_NOHUGEPAGE) === 0;
}

/** thp_vma_suitable_order for some address: the VMA holds at least one aligned 2 MiB span. */
function holdsAlignedSpan(v: Vma): boolean {
  return alignUp(v.start) + PMD_SIZE <= v.end;
}

/**
 * thp_vma_allowable_order for a fault (TVA_PAGEFAULT): whether faults in v may map THPs at
 * all (`always`, or `madvise` with VM_HUGEPAGE; never with VM_NOHUGEPAGE or outside private
 * anonymous memory), and v holds an aligned 2 MiB span. The fault window is then v's
 * bounds: the core maps a THP only in a span wholly inside it (thp_vma_suitable_order).
 */
export function thpFaultAllowed(v: Vma, mode: ThpMode): boolean {
  if (mode === 'never' || (mode === 'madvise' && (v.flags & VM_HUGEPAGE) === 0)) return false;
  return thpCapable(v) && holdsAlignedSpan(v);
}

const isShmem = (v: Vma): boolean => v.file?.startsWith('shmem:') === true;
const unmodelled = (what: string, v: Vma) =>
  new UnmodelledTraceError(
    `trace v2: ${what} of a ${isShmem(v) ? 'shared anonymous (shmem)' : 'file'} mapping ([0x${v.start.toString(16)}, 0x${v.end.toString(16)})) is not modelled yet (issue 12); \`ptreclaim oracle --trace\` replays it on the live kernel`,
  );

/**
 * THP of page-cache and shmem folios, measured on 6.18 (ext4, shmem_enabled never):
 * MADV_HUGEPAGE and MADV_NOHUGEPAGE only set VMA flags on any VMA; MADV_COLLAPSE of a file
 * mapping (private or shared: the replayer's file is open for writing, so
 * file_thp_enabled says no) is EINVAL whatever its state, which madvise_collapse gives for
 * any VMA that is not private anonymous. MADV_COLLAPSE of shmem makes a PMD-mapped shmem THP
 * (its PTE table freed, no deposit, RssShmem of all 512 pages): not modelled, so it refuses
 * the trace rather than approximate it.
 */
export function refuseFileThp(v: Vma, advice: 'hugepage' | 'nohugepage' | 'collapse'): void {
  if (advice === 'collapse' && isShmem(v)) throw unmodelled('madvise collapse', v);
}

/** shmem_enabled words under which a shmem fault may allocate a PMD-sized folio (given VM_HUGEPAGE for advise). */
const SHMEM_THP_FAULTS: ReadonlySet<ShmemThpMode> = new Set(['always', 'within_size', 'force']);

/**
 * What the model does not follow about PMD-sized page-cache and shmem folios: MADV_WILLNEED
 * in a file VMA with VM_HUGEPAGE (not measured; its faults are modelled, src/mm/filemap.ts),
 * and a shmem fault when shmem_enabled lets it allocate a shmem THP (`always`,
 * `within_size`, `force`, or `advise` with VM_HUGEPAGE).
 * Under `never` and `deny` shmem faults map small pages whatever the VMA flags (measured).
 * Call it where the fault reaches the page cache; it throws UnmodelledTraceError.
 */
export function refuseFileThpFault(v: Vma, shmemThp: ShmemThpMode, what: 'a fault' | 'madvise willneed'): void {
  const hugepage = (v.flags & VM_HUGEPAGE) !== 0;
  // A file fault under VM_HUGEPAGE is modelled (src/mm/filemap.ts: PMD-sized readahead, do_set_pmd).
  if (isShmem(v) ? SHMEM_THP_FAULTS.has(shmemThp) || (shmemThp === 'advise' && hugepage) : hugepage && what !== 'a fault')
    throw unmodelled(
      `${what} with ${isShmem(v) ? `shmem_enabled ${shmemThp}` : 'MADV_HUGEPAGE'} (PMD-mapped ${isShmem(v) ? 'shmem' : 'page-cache'} folios)`,
      v,
    );
}

/** hugepage_madvise: the VMA flags after MADV_HUGEPAGE or MADV_NOHUGEPAGE. */

export function hugepageMadviseFlags(flags: number, advice: 'hugepage' | 'nohugepage'): number {
  return advice === 'hugepage' ? (flags & ~VM_NOHUGEPAGE) | VM_HUGEPAGE : (flags & ~VM_HUGEPAGE) | VM_NOHUGEPAGE;
}

/**
 * Results after which madvise_collapse goes on with the next span: no PMD table there. A
 * non-present entry (a guard marker) passes the scan as "unmapped" but then fails the
 * swap-in (SCAN_FAIL), which stops the walk (measured). Every failure maps to EINVAL
 * (madvise_collapse_errno's default).
 */
const CONTINUE_AFTER = new Set([SCAN_PMD_NULL]);

/**
 * madvise_collapse over [start, end) of one VMA (the range clipped to it): every aligned
 * 2 MiB span inside the range becomes a THP when its PTE table holds only none, zero-page
 * and present anonymous entries (max_ptes_none does not apply to MADV_COLLAPSE; the VMA
 * needs no VM_HUGEPAGE, but an anon_vma). Returns undefined on success, else the errno.
 */
export function madviseCollapse(core: PageTableCore, v: Vma, start: number, end: number): { errno: 'EINVAL'; detail: string } | undefined {
  if (!thpCapable(v) || !holdsAlignedSpan(v)) {
    return {
      errno: 'EINVAL',
      detail: 'MADV_COLLAPSE: the VMA cannot hold a THP (VM_NOHUGEPAGE, not anonymous, or no aligned 2 MiB inside it)',
    };
  }
  const hstart = alignUp(start);
  const hend = alignDown(end);
  // __thp_vma_allowable_orders outside a fault: an anonymous VMA without anon_vma (never
  // written, no THP fault) may not collapse at all (measured: EINVAL even when the range
  // holds no whole aligned 2 MiB).
  if (v.anonVma === 0) return { errno: 'EINVAL', detail: 'MADV_COLLAPSE: the VMA has no anon_vma (never written)' };
  let thps = 0;
  let lastFail = 0;
  for (let addr = hstart; addr < hend; addr += PMD_SIZE) {
    const result = core.collapseHugePmd(addr);
    if (result === SCAN_SUCCEED || result === SCAN_PMD_MAPPED) {
      thps++;
      continue;
    }
    lastFail = result;
    if (!CONTINUE_AFTER.has(result)) break;
  }
  if (thps === (hend - hstart) / PMD_SIZE) return undefined;
  return { errno: 'EINVAL', detail: `MADV_COLLAPSE could not collapse every 2 MiB span of the range (scan result ${lastFail})` };
}
