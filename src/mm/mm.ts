/**
 * The simulated process address space: VMAs in TypeScript, page tables in the core.
 * Each method is one system call (or one access pattern) with the kernel's semantics for
 * private anonymous memory; errors come back as errno values, like the syscalls' own.
 */
import {
  EntryKind,
  type PageTableCore,
  type RawStats,
  CORE_OK,
  CORE_ARENA_FULL,
  CORE_GROW_FAILED,
  coreStatusErrno,
  PAGE_SIZE,
  PMD_SIZE,
  TASK_SIZE,
  VMA_ANON,
  ZAP_DROP_MARKERS,
  ZAP_EVEN_COWS,
} from '../core/types.js';
import { ArenaFullError, PtreclaimError, UnmodelledTraceError } from '../errors.js';
import type { Strategy } from '../strategies.js';
import { DEFAULTS, resolveRunOptions, type ResolvedRunOptions, type RunOptions } from '../options.js';
import {
  type Vma,
  VmaList,
  VM_READ,
  VM_WRITE,
  VM_SHARED,
  VM_ACCESS_FLAGS,
  VM_LOCKED,
  PROT_FLAGS,
  anonVmasCompatible,
  sameMappingKind,
  pgoffContiguous,
  placeTopDown,
  isAnonymous,
} from './vma.js';
import { ADVICES_V2, type Access, type Advice, type Prot } from '../trace/ops.js';
import { thpFaultAllowed, hugepageMadviseFlags, madviseCollapse, refuseFileThp, refuseFileThpFault } from './thp.js';
import { type CostModel, SimClock } from './cost.js';
import { AsyncScanner } from './async-scan.js';
import { Checker, type Violation } from './checker.js';
import { type OpBatch, OP_TOUCH, OP_MADVISE } from '../trace/reader.js';
import {
  type FilemapConfig,
  type MappedObject,
  MappedObjects,
  do_fault,
  isFileHugePmd,
  isShared,
  madvise_cold_or_pageout,
  split_folio,
  unmap_mapping_pages,
  vmaPgoff,
} from './filemap.js';
import { doMremap } from './mremap.js';
import { BATCH_STRIDE, BATCH_FAULT_READ, BATCH_FAULT_WRITE, BATCH_ZAP, BATCH_MADV_FREE } from '../core/batch.js';
/** Advice whose effect on a PMD-mapped page-cache folio is modelled (measured). */
const FILE_HUGE_PMD_ADVICE: ReadonlySet<Advice> = new Set<Advice>([
  'dontneed',
  'dontneed-locked',
  'free',
  'collapse',
  'hugepage',
  'nohugepage',
  'populate-read',
  'populate-write',
]);
import { type MadviseMm, isPopulateAdvice, isWalkedAdvice, madvisePopulate, madviseWalkVmas } from './madvise.js';

/** Batch `arg` of the advices applyBatch runs (indices in ADVICES_V2 / ADVICE_WORDS_V2). */
const ARG_DONTNEED = ADVICES_V2.indexOf('dontneed');
const ARG_FREE = ADVICES_V2.indexOf('free');
const ARG_DONTNEED_LOCKED = ADVICES_V2.indexOf('dontneed-locked');

export type Errno = 'EINVAL' | 'ENOMEM' | 'EEXIST' | 'EPERM' | 'EFAULT' | 'EHWPOISON' | 'EACCES' | 'SIGSEGV' | 'SIGBUS';

/** mmap's trace v2 options beyond the protection: MAP_SHARED, and a file with its offset. */
export interface MmapOptions {
  shared?: boolean;
  /** The regular file's name (trace `file=NAME`); absent = anonymous. */
  file?: string;
  /** Page-aligned offset into the file. */
  offset?: number;
}

export type SyscallResult = { ok: true; addr?: number } | { ok: false; errno: Errno; detail: string };

/** mmap_min_addr default: the lowest address a fixed mapping may use (option mmapMinAddr). */
export const MMAP_MIN_ADDR = DEFAULTS.mmapMinAddr;
/**
 * The floor of top-down placement: the kernel's mmap_min_addr variable is the sysctl raised to
 * CONFIG_LSM_MMAP_MIN_ADDR (security/min_addr.c; 65536 by default and on the measuring host),
 * and the gap search never goes below it, privileged or not.
 */
const LSM_MMAP_MIN_ADDR = 0x10000;
/** mmap_base of a 47-bit task without ASLR: TASK_SIZE minus the 128 MiB minimum stack gap. */
export const DEFAULT_MMAP_BASE = DEFAULTS.mmapBase;

/**
 * The mm's options: a run's options without the run-only ones. Mm resolves them with
 * resolveRunOptions (src/options.ts: defaults, validation, the strategy looked up), or
 * takes an already resolved object as is.
 */
export type MmOptions = Omit<RunOptions, 'core' | 'wasm' | 'source' | 'maxErrors' | 'timeline'>;

const pageAlignUp = (n: number) => Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
const ok = (addr?: number): SyscallResult => (addr === undefined ? { ok: true } : { ok: true, addr });
const fail = (errno: Errno, detail: string): SyscallResult => ({ ok: false, errno, detail });

export interface ExitReport {
  /** The kernel's complaints at mm teardown (check_mm), empty when clean. */
  problems: string[];
  /** Counters right after teardown. */
  stats: RawStats;
}

let mmIds = 0;

const describeObject = (o: MappedObject): string => (o.shmem ? 'its shmem object' : `file ${o.key.slice('file:'.length)}`);

/** The VMA flags an access needs. */
const accessFlags = (access: Access): number => (access === 'write' ? VM_WRITE : VM_READ);
/** A VMA's protection as the trace writes it. */
const protWord = (flags: number): string => (flags & VM_WRITE ? 'prot=rw' : flags & VM_READ ? 'prot=r' : 'prot=none');

export class Mm {
  readonly id = ++mmIds;
  readonly strategy: Strategy;
  readonly vmas = new VmaList();
  private nextAnonVma = 1;
  private readonly mmapBase: number;
  private exited = false;
  readonly clock: SimClock;
  private readonly cost: CostModel;
  readonly scanner: AsyncScanner | undefined;
  private readonly checker: Checker | undefined;
  private violations: Violation[] = [];
  /** The VMA the last batched operation fell in; dropped by anything that changes VMAs. */
  private batchVma: Vma | undefined;
  private entriesInstalled = false;
  /** Files and shmem objects mapped in this mm, with their page caches (src/mm/filemap.ts). */
  readonly objects = new MappedObjects();
  private readonly filemap: FilemapConfig;
  /** A guard marker was ever written: only then does a touch look for markers (v1 work pays nothing). */
  private guardMarkersMayExist = false;
  /** A regular file was mapped: faults may map its PMD-sized page-cache folios by PMD. */
  private fileHugePmdsMayExist = false;
  /** What src/mm/madvise.ts needs of this mm, without making it public. */
  private readonly madviseMm: MadviseMm;
  /** Set by applyBatch when a batched touch failed (SIGSEGV/SIGBUS): which op, and how. */
  batchFailure: { index: number; errno: Errno; detail: string } | undefined;

  readonly opts: ResolvedRunOptions;

  constructor(
    readonly core: PageTableCore,
    options: MmOptions | ResolvedRunOptions = {},
  ) {
    const opts = resolveRunOptions(options);
    this.opts = opts;
    this.strategy = opts.strategy;
    this.mmapBase = opts.mmapBase;
    core.reset({ limitFrames: opts.limitFrames });
    core.setPathMode(opts.path);
    core.setZeroPage(opts.zeroPage);
    core.setHugeZeroPage(opts.thpZeroPage);
    core.configure({
      strategyId: this.strategy.coreId,
      trylockFail: opts.trylockFail,
      resched: opts.resched,
      nowaitFail: opts.nowaitFail,
      seed: opts.seed,
      cpus: opts.cpus,
      tableFree: opts.tableFree,
      gracePeriodNs: opts.gracePeriodMs * 1e6,
    });
    this.clock = new SimClock(opts.tickMs);
    this.cost = opts.cost;
    core.setCostWeights(this.cost.perEvent);
    this.scanner = this.strategy.usesScanner ? new AsyncScanner(core, opts.scanPeriodMs * 1e6, opts.scanBytes) : undefined;
    this.checker = opts.check ? new Checker(core) : undefined;
    // fault_around_bytes_set: rounddown_pow_of_two, in pages, at least one.
    const around = Math.floor(opts.faultAroundBytes / PAGE_SIZE);
    this.filemap = {
      faultAroundPages: around >= 1 ? 2 ** Math.floor(Math.log2(around)) : 1,
      raPages: Math.floor(opts.readaheadBytes / PAGE_SIZE),
    };
    this.madviseMm = {
      core,
      vmas: this.vmas,
      anonVmaPrepare: (v) => this.anonVmaPrepare(v),
      arenaError: (status, start, end) => this.arenaError(status, start, end),
      faultVma: (v, start, end, write, storesData) => this.faultVma(v, start, end, write, storesData),
      eofAddress: (v) => this.eofAddress(v),
      fileAdvice: (v, s, e, advice) => this.fileAdvice(v, s, e, advice),
    };
  }

  /** Simulated time since the mm was created, in ns (see src/mm/cost.ts). */
  get nowNs(): number {
    return this.clock.nowNs;
  }

  /** Violations the checker found since the last call (then cleared). */
  takeViolations(): Violation[] {
    const out = this.violations;
    this.violations = [];
    return out;
  }

  /**
   * One system call or access: run it, charge its cost to the clock, let the scheduler
   * tick and the async scanner run on return to user space, let RCU catch up, check.
   */
  private syscall(addr: number, len: number, syscall: boolean, fn: () => SyscallResult): SyscallResult {
    this.live();
    const core = this.core;
    const snap = this.checker?.begin(addr, len);
    const w0 = core.weightedStats();
    const r = fn();
    const w1 = core.weightedStats();
    const ticks = this.clock.advance((syscall ? this.cost.syscallNs : 0) + (w1 - w0));
    if (this.scanner) {
      if (ticks > 0) this.scanner.tick(this.clock.nowNs);
      this.scanner.runIfQueued(this.vmas, this.clock.nowNs);
      this.clock.advance(core.weightedStats() - w1);
    }
    core.setNow(this.clock.nowNs);
    if (this.checker && snap) this.violations.push(...this.checker.end(snap));
    return r;
  }

  private live(): void {
    if (this.exited) throw new PtreclaimError('this mm has exited; create a new one');
  }

  /**
   * mmap(addr, len, prot, MAP_PRIVATE|MAP_ANONYMOUS[|MAP_FIXED_NOREPLACE]), prot
   * PROT_READ|PROT_WRITE unless given. addr = null places the mapping top-down like Linux 6.12+.
   */
  mmap(addr: number | null, len: number, prot: Prot = 'rw', options: MmapOptions = {}): SyscallResult {
    this.batchVma = undefined;
    return this.syscall(0, 0, true, () => this.doMmap(addr, len, prot, options));
  }

  private doMmap(addr: number | null, len: number, prot: Prot, options: MmapOptions): SyscallResult {
    let object: MappedObject | undefined;
    const offset = options.offset ?? 0;
    if (options.file !== undefined) {
      // The replayer extends the file with ftruncate before it calls mmap, whatever mmap says.
      object = this.objects.file(options.file);
      this.fileHugePmdsMayExist = true;
      object.extend(offset + Math.max(0, len));
      if (offset % PAGE_SIZE !== 0) return fail('EINVAL', 'file offset not page-aligned');
    }
    if (len <= 0) return fail('EINVAL', 'length must be positive');
    len = pageAlignUp(len);
    if (len > TASK_SIZE) return fail('ENOMEM', 'length exceeds the user address space');
    if (addr === null) {
      const placed = placeTopDown(this.vmas, len, Math.max(this.opts.mmapMinAddr, LSM_MMAP_MIN_ADDR), this.mmapBase);
      if (placed === undefined) return fail('ENOMEM', 'no gap large enough below mmap_base');
      addr = placed;
    } else {
      if (addr % PAGE_SIZE !== 0) return fail('EINVAL', 'address not page-aligned');
      if (addr + len > TASK_SIZE) return fail('ENOMEM', 'mapping would end above TASK_SIZE');
      // security_mmap_addr: below the floor without the privilege to map there (option mmapMinAddr).
      if (addr < this.opts.mmapMinAddr) return fail('EPERM', `address below mmap_min_addr (0x${this.opts.mmapMinAddr.toString(16)})`);
      if (this.vmas.overlaps(addr, addr + len)) return fail('EEXIST', 'range overlaps an existing mapping (MAP_FIXED_NOREPLACE)');
    }
    // Traces map with MAP_NORESERVE (as the live helper does): no VM_ACCOUNT, so the
    // protection is the only flag that differs between these VMAs (measured: a touched rw
    // VMA made read-only merges in PT_RECLAIM's eyes with a prot=r neighbour).
    let flags: number = PROT_FLAGS[prot];
    let pgoff = addr / PAGE_SIZE;
    if (options.shared) {
      flags |= VM_SHARED;
      // shmem_zero_setup: a shared anonymous mapping gets a shmem object of its own size.
      object ??= this.objects.newShmem(len);
      pgoff = 0;
    }
    if (object && !object.shmem) pgoff = offset / PAGE_SIZE;
    this.insertMerged({ start: addr, end: addr + len, flags, pgoff, anonVma: 0, ...(object ? { file: object.key } : {}) });
    return ok(addr);
  }

  /**
   * mprotect(addr, len, prot): each VMA of the range gets the new protection, split at the
   * range's ends and merged with equal neighbours (mprotect_fixup, vma_modify_flags). A hole
   * stops the walk with ENOMEM after the VMAs before it were changed. Present entries stay
   * present (change_protection only rewrites their bits): no table or RSS counter moves.
   */
  mprotect(addr: number, len: number, prot: Prot): SyscallResult {
    this.batchVma = undefined;
    return this.syscall(addr, len, true, () => this.doMprotect(addr, len, prot));
  }

  private doMprotect(addr: number, len: number, prot: Prot): SyscallResult {
    if (addr % PAGE_SIZE !== 0) return fail('EINVAL', 'address not page-aligned');
    len = pageAlignUp(len);
    const end = addr + len;
    if (end === addr) return ok();
    if (end > TASK_SIZE) return fail('ENOMEM', 'range ends above TASK_SIZE');
    const v = this.vmas.find(addr);
    if (!v || v.start > addr) return fail('ENOMEM', `address 0x${addr.toString(16)} is not mapped`);
    // Look the VMA up again at each step: a fixup may have merged the next VMA into this one.
    for (let cursor = addr; cursor < end;) {
      const i = this.vmas.findIndex(cursor);
      const w = this.vmas.at(i);
      if (!w || w.start > cursor) {
        return fail('ENOMEM', `range includes unmapped addresses from 0x${cursor.toString(16)} (the mapped part before it was changed)`);
      }
      const stop = Math.min(w.end, end);
      this.mprotectFixup(i, cursor, stop, prot);
      cursor = stop;
    }
    return ok();
  }

  /**
   * mprotect_fixup for [start, end) inside the VMA at index i (VM_NORESERVE mappings: no
   * VM_ACCOUNT to charge or drop).
   */
  private mprotectFixup(i: number, start: number, end: number, prot: Prot): void {
    const v = this.vmas.at(i)!;
    this.vmaModifyFlags(i, start, end, (v.flags & ~VM_ACCESS_FLAGS) | PROT_FLAGS[prot]);
  }

  /**
   * __split_vma at addr inside the VMA at index i: a huge PMD straddling addr is split first
   * (vma_adjust_trans_huge), since a huge PMD maps inside one VMA only.
   */
  private splitVma(i: number, addr: number): void {
    if (addr % PMD_SIZE !== 0) this.core.splitHugePmd(addr);
    this.vmas.splitAt(i, addr);
  }

  /**
   * vma_modify_flags for [start, end) inside the VMA at index i: split at the range's ends,
   * set the flags, merge with equal neighbours (mprotect_fixup, madvise_update_vma).
   */
  private vmaModifyFlags(i: number, start: number, end: number, flags: number): void {
    const v = this.vmas.at(i)!;
    if (flags === v.flags) return;
    if (v.start < start) {
      this.splitVma(i, start);
      i++;
    }
    if (this.vmas.at(i)!.end > end) this.splitVma(i, end);
    const mid = this.vmas.at(i)!;
    mid.flags = flags;
    // vma_merge_existing_range: join equal neighbours (flags, pgoff, anon_vma compatible).
    const prev = this.vmas.at(i - 1);
    if (
      prev?.end === mid.start &&
      sameMappingKind(prev, mid) &&
      pgoffContiguous(prev, mid) &&
      anonVmasCompatible(prev.anonVma, mid.anonVma)
    ) {
      prev.end = mid.end;
      prev.anonVma ||= mid.anonVma;
      this.vmas.removeRange(i, 1);
      i--;
    }
    const cur = this.vmas.at(i)!;
    const next = this.vmas.at(i + 1);
    if (
      next?.start === cur.end &&
      sameMappingKind(cur, next) &&
      pgoffContiguous(cur, next) &&
      anonVmasCompatible(cur.anonVma, next.anonVma)
    ) {
      cur.end = next.end;
      cur.anonVma ||= next.anonVma;
      this.vmas.removeRange(i + 1, 1);
    }
  }

  /** vma_merge_new_range: join the new range with compatible neighbours, else insert it. */
  private insertMerged(v: Vma): void {
    const i = this.vmas.findIndex(v.start);
    const prev = this.vmas.at(i - 1);
    const next = this.vmas.at(i);
    const canLeft =
      prev?.end === v.start && sameMappingKind(prev, v) && pgoffContiguous(prev, v) && anonVmasCompatible(prev.anonVma, v.anonVma);
    let canRight =
      next?.start === v.end && sameMappingKind(next, v) && pgoffContiguous(v, next) && anonVmasCompatible(v.anonVma, next.anonVma);
    // Merging both sides also needs prev and next compatible with each other.
    if (canLeft && canRight && !anonVmasCompatible(prev.anonVma, next!.anonVma)) canRight = false;
    if (canLeft && canRight) {
      prev.end = next!.end;
      prev.anonVma ||= next!.anonVma;
      this.vmas.removeRange(i, 1);
    } else if (canLeft) {
      prev.end = v.end;
      prev.anonVma ||= v.anonVma;
    } else if (canRight) {
      next!.start = v.start;
      next!.pgoff = v.pgoff;
      next!.anonVma ||= v.anonVma;
    } else {
      this.vmas.insertAt(i, v);
    }
  }

  /**
   * mremap(addr, oldLen, newLen, flags, newAddr): flags 0 without newAddr (resize in place),
   * MREMAP_MAYMOVE|MREMAP_FIXED with it. Private anonymous memory; see src/mm/mremap.ts.
   */
  mremap(addr: number, oldLen: number, newLen: number, newAddr?: number): SyscallResult {
    this.batchVma = undefined;
    // The checker watches every PMD span the call can change: the old and the new range.
    const lo = newAddr === undefined ? addr : Math.min(addr, newAddr);
    const hi = Math.max(addr + oldLen, addr + newLen, newAddr === undefined ? 0 : newAddr + newLen);
    return this.syscall(lo, Math.min(hi, TASK_SIZE) - lo, true, () =>
      doMremap(
        {
          vmas: this.vmas,
          core: this.core,
          mmapMinAddr: this.opts.mmapMinAddr,
          munmap: (a, l) => this.doMunmap(a, l).ok,
          insertMerged: (v) => this.insertMerged(v),
          arenaError: (status, s, e) => this.arenaError(status, s, e),
        },
        addr,
        oldLen,
        newLen,
        newAddr,
      ),
    );
  }

  /** munmap(addr, len): split, zap, free_pgtables with the neighbours as floor and ceiling. */
  munmap(addr: number, len: number): SyscallResult {
    this.batchVma = undefined;
    return this.syscall(addr, len, true, () => this.doMunmap(addr, len));
  }

  private doMunmap(addr: number, len: number): SyscallResult {
    if (addr % PAGE_SIZE !== 0) return fail('EINVAL', 'address not page-aligned');
    len = pageAlignUp(len);
    if (len === 0) return fail('EINVAL', 'length must be positive');
    if (addr + len > TASK_SIZE) return fail('EINVAL', 'range ends above TASK_SIZE');
    const end = addr + len;
    let i = this.vmas.findIndex(addr);
    const first = this.vmas.at(i);
    if (!first || first.start >= end) return ok();
    if (first.start < addr) {
      this.splitVma(i, addr);
      i++;
    }
    let j = i;
    while (j < this.vmas.size && this.vmas.at(j)!.start < end) j++;
    const last = this.vmas.at(j - 1)!;
    if (last.end > end) this.splitVma(j - 1, end);
    const prev = this.vmas.at(i - 1);
    const next = this.vmas.at(j);
    const detached = this.vmas.removeRange(i, j - i);
    this.unmapRegion(detached, prev ? prev.end : 0, next ? next.start : 0);
    return ok();
  }

  /** unmap_vmas + free_pgtables for detached VMAs, in one mmu_gather. */
  private unmapRegion(detached: readonly Vma[], floor: number, ceiling: number): void {
    const core = this.core;
    core.gatherBegin();
    for (const v of detached) core.zapRange(v.start, v.end, this.unmapFlags(v));
    // free_pgtables: VMAs less than a PMD apart are freed in one call.
    for (let k = 0; k < detached.length;) {
      const start = detached[k]!.start;
      let m = k;
      while (m + 1 < detached.length && detached[m + 1]!.start <= detached[m]!.end + PMD_SIZE) m++;
      const nextVma = detached[m + 1];
      core.freePgdRange(start, detached[m]!.end, floor, nextVma ? nextVma.start : ceiling);
      k = m + 1;
    }
    core.gatherEnd();
  }

  private unmapFlags(v: Vma): number {
    return ZAP_DROP_MARKERS | ZAP_EVEN_COWS | (isAnonymous(v) ? VMA_ANON : 0);
  }

  /**
   * madvise(addr, len, advice), walking VMAs like madvise_walk_vmas: holes make the call
   * return ENOMEM, but the mapped parts are still processed. One mmu_gather per call.
   */
  madvise(addr: number, len: number, advice: Advice): SyscallResult {
    this.batchVma = undefined;
    // MADV_REMOVE unmaps the punched pages from every mapping of the object, and a folio split
    // (free, cold, pageout of part of a THP) reaches every table that maps the folio once
    // mremap may have carried a split THP's PTEs elsewhere: the checker watches the whole space.
    if (!FILE_HUGE_PMD_ADVICE.has(advice)) this.refuseFileHugePmd(addr, addr + len, `madvise ${advice}`);
    const wide =
      advice === 'remove' ||
      (this.checker !== undefined && (advice === 'free' || advice === 'cold' || advice === 'pageout') && this.foliosMayBeScattered());
    return this.syscall(wide ? 0 : addr, wide ? TASK_SIZE : len, true, () => this.doMadvise(addr, len, advice));
  }

  /**
   * Calls that the model does not follow over a PMD-mapped page-cache folio (measured only:
   * faults, zaps, munmap and THP advice over one) refuse the trace when [start, end) reaches
   * a PMD span holding one.
   */
  private refuseFileHugePmd(start: number, end: number, what: string): void {
    if (!this.fileHugePmdsMayExist || !(end > start)) return;
    for (let a = start - (start % PMD_SIZE); a < Math.min(end, TASK_SIZE); a += PMD_SIZE) {
      if (isFileHugePmd(this.core.entryAt(a, 1)))
        throw new UnmodelledTraceError(
          `trace v2: ${what} over a PMD-mapped page-cache folio ([0x${a.toString(16)}, 0x${(a + PMD_SIZE).toString(16)})) is not modelled yet (issue 12); \`ptreclaim oracle --trace\` replays it on the live kernel`,
        );
    }
  }

  /** refuseFileHugePmd over every VMA mapping the object (calls that reach all its mappings). */
  private refuseObjectFileHugePmd(object: MappedObject, what: string): void {
    for (const w of this.vmasOf(object)) this.refuseFileHugePmd(w.start, w.end, what);
  }

  /** A THP was split into PTEs and mremap has moved PTEs one by one: a folio may span tables. */
  private foliosMayBeScattered(): boolean {
    const s = this.core.stats();
    return s.ThpSplitPmd > 0 && s.MremapPtesMoved > 0;
  }

  private doMadvise(addr: number, len: number, advice: Advice): SyscallResult {
    if (addr % PAGE_SIZE !== 0) return fail('EINVAL', 'address not page-aligned');
    const alignedLen = pageAlignUp(len);
    const end = addr + alignedLen;
    if (end === addr) return ok();
    if (advice === 'hugepage' || advice === 'nohugepage' || advice === 'collapse') return this.madviseThp(addr, end, advice);
    if (advice === 'remove') return this.madviseRemove(addr, end);
    if (isPopulateAdvice(advice)) return madvisePopulate(this.madviseMm, addr, end, advice);
    if (isWalkedAdvice(advice)) {
      if (advice === 'guard-install') this.guardMarkersMayExist = true;
      return madviseWalkVmas(this.madviseMm, addr, end, advice);
    }
    if (advice === 'free') {
      // madvise_free_single_vma refuses non-anonymous VMAs before touching anything else.
      for (const v of this.vmasIn(addr, end)) {
        if (!isAnonymous(v)) return fail('EINVAL', 'MADV_FREE on a non-anonymous mapping');
      }
    }
    const core = this.core;
    let hole = false;
    let start = addr;
    core.gatherBegin();
    for (let i = this.vmas.findIndex(start); ; i++) {
      const v = this.vmas.at(i);
      if (!v) {
        hole = true;
        break;
      }
      if (start < v.start) {
        hole = true;
        start = v.start;
        if (start >= end) break;
      }
      // madvise_dontneed_free_valid_vma: only MADV_DONTNEED_LOCKED may zap a locked VMA.
      if (v.flags & VM_LOCKED && advice !== 'dontneed-locked') {
        core.gatherEnd();
        return fail('EINVAL', `MADV_${advice.toUpperCase()} on a locked VMA (0x${v.start.toString(16)})`);
      }
      const stop = Math.min(v.end, end);
      if (advice !== 'free') {
        core.zapRange(start, stop, this.strategy.dontneedZapFlags | ZAP_EVEN_COWS | (isAnonymous(v) ? VMA_ANON : 0));
      } else {
        core.madviseFree(start, stop);
      }
      start = stop;
      if (start >= end) break;
    }
    core.gatherEnd();
    return hole ? fail('ENOMEM', 'range includes unmapped addresses (the mapped parts were processed)') : ok();
  }

  /**
   * MADV_HUGEPAGE / MADV_NOHUGEPAGE (VMA flags: split and merged like mprotect) and
   * MADV_COLLAPSE (src/mm/thp.ts), VMA by VMA as madvise_walk_vmas: a hole gives ENOMEM
   * after the rest was processed; a VMA's own error stops the walk.
   */
  private madviseThp(addr: number, end: number, advice: 'hugepage' | 'nohugepage' | 'collapse'): SyscallResult {
    let hole = false;
    for (let cursor = addr; cursor < end;) {
      // Look the VMA up again at each step: a flags change may have merged VMAs.
      const i = this.vmas.findIndex(cursor);
      const v = this.vmas.at(i);
      if (!v || v.start >= end) {
        hole = true;
        break;
      }
      if (v.start > cursor) {
        hole = true;
        cursor = v.start;
      }
      const stop = Math.min(v.end, end);
      refuseFileThp(v, advice);
      if (advice === 'collapse') {
        const err = madviseCollapse(this.core, v, cursor, stop);
        if (err) return fail(err.errno, err.detail);
      } else {
        this.vmaModifyFlags(i, cursor, stop, hugepageMadviseFlags(v.flags, advice));
      }
      cursor = stop;
    }
    return hole ? fail('ENOMEM', 'range includes unmapped addresses (the mapped parts were processed)') : ok();
  }

  /**
   * MADV_REMOVE over [addr, end), VMA by VMA (madvise_remove): a hole punch in the object
   * behind each. Anonymous private memory is EINVAL, a private file mapping EACCES; either
   * stops the walk where it is. Holes make it ENOMEM after the rest was done.
   */
  private madviseRemove(addr: number, end: number): SyscallResult {
    let hole = false;
    let start = addr;
    for (let i = this.vmas.findIndex(start); ; i++) {
      const v = this.vmas.at(i);
      if (!v) return fail('ENOMEM', 'range includes unmapped addresses');
      if (start < v.start) {
        hole = true;
        start = v.start;
        if (start >= end) break;
      }
      const stop = Math.min(v.end, end);
      const object = v.file === undefined ? undefined : this.objects.get(v.file);
      if (!object) return fail('EINVAL', 'MADV_REMOVE on private anonymous memory (no file to punch a hole in)');
      if (!isShared(v)) return fail('EACCES', 'MADV_REMOVE on a private file mapping (it needs a shared writable one)');
      if (!object.shmem) this.refuseObjectFileHugePmd(object, 'madvise remove');
      this.punchHole(object, vmaPgoff(v, start), vmaPgoff(v, stop));
      start = stop;
      if (start >= end) break;
    }
    return hole ? fail('ENOMEM', 'range includes unmapped addresses (the mapped parts were processed)') : ok();
  }

  /**
   * MADV_WILLNEED, MADV_COLD, MADV_PAGEOUT on [start, end) of a file or shmem VMA (called by
   * madvise.ts's walk, inside a gather for COLD and PAGEOUT): WILLNEED reads a file's pages
   * into the page cache (shmem: nothing to swap in); COLD and PAGEOUT as
   * madvise_cold_or_pageout says.
   */
  private fileAdvice(v: Vma, start: number, end: number, advice: 'willneed' | 'cold' | 'pageout'): void {
    const object = this.objects.get(v.file!)!;
    if (advice === 'willneed') {
      if (object.shmem) return; // nothing to swap in
      refuseFileThpFault(v, this.opts.shmemThp, 'madvise willneed');
      object.force_page_cache_ra(vmaPgoff(v, start), (end - start) / PAGE_SIZE, this.filemap.raPages);
      return;
    }
    // They unmap folios from every mapping of the object, which may map one by PMD.
    if (!object.shmem) this.refuseObjectFileHugePmd(object, `madvise ${advice}`);
    madvise_cold_or_pageout(this.core, object, v, start, end, this.vmasOf(object), advice === 'pageout');
  }

  /** Where the object behind a file or shmem VMA ends (the first page that would SIGBUS); Infinity for anonymous memory. */
  private eofAddress(v: Vma): number {
    const object = v.file === undefined ? undefined : this.objects.get(v.file);
    return object ? v.start + (object.eofPages - v.pgoff) * PAGE_SIZE : Infinity;
  }

  /**
   * fallocate(PUNCH_HOLE) of pages [first, last) of an object: unmap_mapping_range (every
   * VMA mapping them, COWed anonymous pages kept, no table freed), then the pages leave the
   * page cache. ext4 punches nothing at or past EOF and stops at the page holding it.
   */
  private punchHole(object: MappedObject, first: number, last: number): void {
    if (!object.shmem) last = Math.min(last, object.eofPages);
    if (first >= last) return;
    const vmas = this.vmasOf(object);
    // unmap_mapping_range -> zap_page_range_single per VMA (even_cows false), then
    // truncate_inode_pages_range: a large folio the hole cuts is split (which unmaps it
    // everywhere), and the pages inside the hole leave the page cache.
    // A dirty one cannot be split: it stays cached whole.
    this.core.gatherBegin();
    unmap_mapping_pages(this.core, vmas, first, last);
    let from = first;
    let to = last;
    for (const edge of [first, last - 1]) {
      if (!object.cached(edge)) continue;
      const [head, n] = object.folio(edge);
      if (n === 1 || (head >= first && head + n <= last)) continue;
      if (split_folio(this.core, object, vmas, head, n)) continue;
      if (head < first) from = Math.min(head + n, last);
      else to = Math.max(head, from);
    }
    this.core.gatherEnd();
    object.removePages(from, to);
  }

  /** The VMAs mapping an object (its i_mmap tree). */
  private vmasOf(object: MappedObject): Vma[] {
    return this.vmas.all().filter((w) => w.file === object.key);
  }

  private vmasIn(start: number, end: number): Vma[] {
    const out: Vma[] = [];
    for (let i = this.vmas.findIndex(start); i < this.vmas.size && this.vmas.at(i)!.start < end; i++) out.push(this.vmas.at(i)!);
    return out;
  }

  /**
   * Access every 4 KiB page of [addr, addr+len) in order (a write or a read), faulting as
   * needed. A range that is not wholly mapped, or with a page the access may not make
   * (PROT_NONE, a write to PROT_READ), is refused with EFAULT before any access (a real
   * program would die with SIGSEGV there).
   */
  touch(addr: number, len: number, access: Access): SyscallResult {
    return this.syscall(addr, len, false, () => this.doTouch(addr, len, access));
  }

  private doTouch(addr: number, len: number, access: Access): SyscallResult {
    const start = Math.floor(addr / PAGE_SIZE) * PAGE_SIZE;
    const end = pageAlignUp(addr + len);
    if (end <= start) return ok();
    const parts = this.vmasIn(start, end);
    let cursor = start;
    for (const v of parts) {
      if (v.start > cursor) break;
      cursor = v.end;
    }
    if (cursor < end) {
      return fail('EFAULT', `address 0x${Math.max(cursor, start).toString(16)} is not mapped (the access would raise SIGSEGV)`);
    }
    const need = accessFlags(access);
    for (const v of parts) {
      if ((v.flags & need) !== need) {
        const at = Math.max(v.start, start);
        return fail('EFAULT', `address 0x${at.toString(16)} is ${protWord(v.flags)} (a ${access} would raise SIGSEGV)`);
      }
    }
    const marker = this.guardMarkersMayExist ? this.core.findGuardMarker(start, end) : -1;
    if (marker >= 0) return fail('EFAULT', `address 0x${marker.toString(16)} is a guard marker (the access would raise SIGSEGV)`);
    for (const v of parts) {
      const object = v.file === undefined ? undefined : this.objects.get(v.file);
      if (!object) continue;
      // Past the end of the object the access would raise SIGBUS (as the replayer checks it).
      const upto = Math.min(v.end, end);
      if (vmaPgoff(v, upto) * PAGE_SIZE > object.size) {
        const at = Math.max(v.start, start, v.start + (object.eofPages - v.pgoff) * PAGE_SIZE);
        return fail('EFAULT', `address 0x${at.toString(16)} is past the end of ${describeObject(object)} (the access would raise SIGBUS)`);
      }
    }
    for (const v of parts) {
      const s = Math.max(v.start, start);
      const e = Math.min(v.end, end);
      const status = this.faultVma(v, s, e, access === 'write');
      if (status === CORE_OK) continue;
      if (status === CORE_ARENA_FULL || status === CORE_GROW_FAILED) throw this.arenaError(status, s, e);
      const at = `0x${this.core.faultAddress().toString(16)}`;
      const errno = coreStatusErrno(status);
      if (errno === 'SIGSEGV') return fail(errno, `guard region at ${at}`);
      if (errno === 'SIGBUS') return fail(errno, `poisoned page at ${at}`);
      throw new PtreclaimError(`unexpected fault status ${status} (${errno ?? 'unknown'})`);
    }
    return ok();
  }

  /**
   * Fault [start, end) inside VMA v (handle_mm_fault page by page): file and shmem through
   * the page cache, anonymous memory in the core's fault loop, with the THP fault window open
   * when v may have THPs (src/mm/thp.ts), where a huge zero page fault prepares the anon_vma
   * too. storesData false: the write faults store nothing (MADV_POPULATE_WRITE), so THP
   * subpages stay zeros. Returns a core status; for touch and MADV_POPULATE_*.
   */
  private faultVma(v: Vma, start: number, end: number, write: boolean, storesData = true): number {
    if (write && v.anonVma === 0 && !isShared(v)) v.anonVma = this.anonVmaPrepare(v);
    const object = v.file === undefined ? undefined : this.objects.get(v.file);
    if (object) return this.touchFile(object, v, start, end, write);
    if (!thpFaultAllowed(v, this.opts.thp)) return this.core.faultRange(start, end, write);
    const zeroBefore = this.core.stat('ThpHugeZeroFaults');
    this.core.setThpFaultWindow(v.start, v.end, storesData);
    const status = this.core.faultRange(start, end, write);
    this.core.setThpFaultWindow(0, 0);
    // do_huge_pmd_anonymous_page prepares the anon_vma on a read fault too.
    if (v.anonVma === 0 && this.core.stat('ThpHugeZeroFaults') !== zeroBefore) v.anonVma = this.anonVmaPrepare(v);
    return status;
  }

  /**
   * The accesses of a touch over [s, e) of a file or shmem VMA: run up to each entry that
   * needs a fault (core), then handle that fault here, where the page cache is known.
   */
  private touchFile(object: MappedObject, v: Vma, s: number, e: number, write: boolean): number {
    const core = this.core;
    for (let a = s; a < e; a += PAGE_SIZE) {
      a = core.filemapNextFault(a, e, write);
      if (a >= e) break;
      let status: number;
      if (this.fileHugePmdsMayExist && isFileHugePmd(core.entryAt(a, 1))) {
        // A write into a PMD-mapped page-cache folio (reads never stop here): wp_huge_pmd
        // splits it, which for a file folio only clears the PMD (RssFile -512, measured),
        // and the fault goes on at the PTE level: a private write copies the page.
        if (isShared(v))
          throw new UnmodelledTraceError(
            `trace v2: a shared write into a PMD-mapped page-cache folio (0x${a.toString(16)}) is not modelled yet (issue 12); \`ptreclaim oracle --trace\` replays it on the live kernel`,
          );
        core.splitHugePmd(a);
      }
      const entry = core.entryAt(a, 0);
      if (entry === 0n) {
        refuseFileThpFault(v, this.opts.shmemThp, 'a fault');
        status = do_fault(core, this.filemap, object, v, a, write);
      } else if (entry & 1n) {
        // A write to a read-only page: the page cache's page is copied (private) or made writable.
        if (isShared(v) ? core.wpPageShared(a) : core.wpPageCopy(a)) {
          if (isShared(v)) object.markDirty(vmaPgoff(v, a));
          continue;
        }
        status = core.faultRange(a, a + PAGE_SIZE, true); // an anonymous page: as anonymous memory does
      } else {
        status = core.faultRange(a, a + PAGE_SIZE, write); // markers, swap-format entries
      }
      if (status !== CORE_OK) return status;
    }
    return CORE_OK;
  }

  /** anon_vma_prepare: reuse an adjacent VMA's anon_vma when compatible, else a new one. */
  private anonVmaPrepare(v: Vma): number {
    const i = this.vmas.findIndex(v.start);
    const next = this.vmas.at(i + 1);
    const prev = this.vmas.at(i - 1);
    if (next?.start === v.end && next.anonVma && sameMappingKind(v, next) && pgoffContiguous(v, next)) return next.anonVma;
    if (prev?.end === v.start && prev.anonVma && sameMappingKind(prev, v) && pgoffContiguous(prev, v)) return prev.anonVma;
    return this.nextAnonVma++;
  }

  private arenaError(status: number, start: number, end: number): ArenaFullError {
    const s = this.core.stats();
    const live = s.NrPte + s.NrPmd + s.NrPud;
    const limit = this.core.arenaLimitFrames();
    const range = `[0x${start.toString(16)}, 0x${end.toString(16)})`;
    const mib = ((limit * PAGE_SIZE) / 2 ** 20).toFixed(0);
    // Advise raising the limit only when one was set: without one the arena is already at
    // the most wasm32 memory can hold, and the caller (bench) may have no such flag.
    const why =
      status !== CORE_ARENA_FULL
        ? `arena full: ${live} tables live; the host refused to grow WebAssembly memory while faulting ${range}`
        : this.opts.limitFrames
          ? `arena full: ${live} tables live, limit ${limit} frames (${mib} MiB); faulting ${range} needs more. Raise --arena-limit (at most about 4 GiB of tables fit in wasm32 memory)`
          : `arena full: ${live} tables live, ${mib} MiB, the most page-table memory the simulator holds (wasm32 memory); faulting ${range} needs more: use a smaller trace or scale`;
    return new ArenaFullError(why, live, limit);
  }

  /** Whether applyBatch may be used: no per-operation checker or async scanner, no special entries. */
  get canBatch(): boolean {
    return !this.checker && !this.scanner && !this.entriesInstalled;
  }

  /**
   * Apply ops from..count-1 of a batch, as long as each is a touch or madvise lying inside
   * one VMA, through the core's batch entry (one crossing per BATCH_CAPACITY ops); the VMA
   * checks here are a range compare per op, none per page. Counters and simulated time are
   * exactly those of the one-op methods. Returns the index of the first op not applied: it
   * needs the one-op path (mmap, munmap, a range across VMAs, an error to report, arena
   * full). A batched touch that failed is left in batchFailure.
   */
  applyBatch(batch: OpBatch, from: number): number {
    this.live();
    this.batchFailure = undefined;
    const core = this.core;
    let buf = core.batchBuffer();
    const capacity = buf.length / BATCH_STRIDE;
    const { kind, addr, len, arg } = batch;
    const zapFlags = this.strategy.dontneedZapFlags | ZAP_EVEN_COWS;
    let v = this.batchVma;
    let n = 0; // entries in the buffer
    let first = from; // op of the buffer's first entry
    let i = from;
    for (; i < batch.count; i++) {
      const k = kind[i];
      let start: number;
      let end: number;
      if (k === OP_TOUCH) {
        start = Math.floor(addr[i]! / PAGE_SIZE) * PAGE_SIZE;
        end = pageAlignUp(addr[i]! + len[i]!);
      } else if (k === OP_MADVISE) {
        start = addr[i]!;
        if (start % PAGE_SIZE !== 0) break;
        end = start + pageAlignUp(len[i]!);
      } else {
        break;
      }
      if (end <= start) break;
      if (v === undefined || start < v.start || end > v.end) {
        v = this.vmas.find(start);
        if (v === undefined || start < v.start || end > v.end) break;
        this.batchVma = v;
      }
      const p = n * BATCH_STRIDE;
      buf[p + 1] = start;
      buf[p + 2] = end;
      if (k === OP_TOUCH) {
        const write = arg[i] === 0;
        if ((v.flags & (write ? VM_WRITE : VM_READ)) === 0) break; // EFAULT: the one-op path says it
        if (thpFaultAllowed(v, this.opts.thp)) break; // THP faults: the one-op path opens the window
        if (v.file !== undefined) break; // file and shmem faults: the one-op path knows the page cache
        if (write && v.anonVma === 0) v.anonVma = this.anonVmaPrepare(v);
        buf[p] = write ? BATCH_FAULT_WRITE : BATCH_FAULT_READ;
      } else if (arg[i] === ARG_DONTNEED || arg[i] === ARG_DONTNEED_LOCKED) {
        if (v.flags & VM_LOCKED && arg[i] === ARG_DONTNEED) break; // EINVAL: the one-op path says it
        buf[p] = BATCH_ZAP;
        buf[p + 3] = zapFlags | (isAnonymous(v) ? VMA_ANON : 0);
      } else if (arg[i] === ARG_FREE) {
        if (!isAnonymous(v) || v.flags & VM_LOCKED) break; // MADV_FREE's EINVAL: the one-op path says it
        buf[p] = BATCH_MADV_FREE;
      } else {
        break; // the other advices take the one-op path
      }
      if (++n === capacity) {
        const done = this.flushBatch(n, first);
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- flushBatch sets batchFailure; TS keeps the narrowing to undefined from the reset above
        if (done < n || this.batchFailure) return first + done;
        first = i + 1;
        n = 0;
        buf = core.batchBuffer();
      }
    }
    if (n > 0) {
      const done = this.flushBatch(n, first);
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- flushBatch sets batchFailure; TS keeps the narrowing to undefined from the reset above
      if (done < n || this.batchFailure) return first + done;
    }
    return i;
  }

  /** Apply n buffered entries; returns how many ran (fewer after a failure). */
  private flushBatch(n: number, first: number): number {
    const core = this.core;
    const done = core.applyBatch(n, this.clock.nowNs, this.cost.syscallNs);
    this.clock.nowNs = core.batchNowNs();
    const errno = coreStatusErrno(core.batchStatus());
    if (errno === 'SIGSEGV' || errno === 'SIGBUS') {
      const at = `0x${core.faultAddress().toString(16)}`;
      this.batchFailure =
        errno === 'SIGSEGV'
          ? { index: first + done - 1, errno, detail: `guard region at ${at}` }
          : { index: first + done - 1, errno, detail: `poisoned page at ${at}` };
    }
    return done;
  }

  /** Install a special entry (swap, marker, ...) at addr, for tests and workloads. */
  installEntry(addr: number, kind: EntryKind): number {
    this.live();
    this.entriesInstalled = true;
    if (kind === EntryKind.GuardMarker) this.guardMarkersMayExist = true;
    return this.core.installEntry(addr, kind);
  }

  stats(): RawStats {
    return this.core.stats();
  }

  /** exit_mmap: zap everything, free every table (floor 0, no ceiling), then check_mm. */
  exit(): ExitReport {
    this.live();
    const all = this.vmas.clear();
    const snap = this.checker?.begin(0, TASK_SIZE);
    if (all.length) this.unmapRegion(all, 0, 0);
    this.core.rcuBarrier();
    this.exited = true;
    const stats = this.core.stats();
    if (this.checker && snap) this.violations.push(...this.checker.end(snap));
    const problems: string[] = [];
    const rss: [keyof RawStats, string][] = [
      ['RssFile', 'MM_FILEPAGES'],
      ['RssAnon', 'MM_ANONPAGES'],
      ['RssSwapEnts', 'MM_SWAPENTS'],
      ['RssShmem', 'MM_SHMEMPAGES'],
    ];
    for (const [key, type] of rss) {
      if (stats[key] !== 0) problems.push(`BUG: Bad rss-counter state mm:${this.id} type:${type} val:${stats[key]}`);
    }
    const pgtablesBytes = (stats.NrPte + stats.NrPmd + stats.NrPud) * PAGE_SIZE;
    if (pgtablesBytes !== 0) problems.push(`BUG: non-zero pgtables_bytes on freeing mm: ${pgtablesBytes}`);
    if (stats.PgtablesPending !== 0)
      problems.push(`ptreclaim: ${stats.PgtablesPending} page-table pages still waiting for an RCU grace period after exit`);
    if (stats.ArenaFramesLive !== 1)
      problems.push(`ptreclaim: ${stats.ArenaFramesLive - 1} page-table frames still allocated after exit (only the PGD should remain)`);
    return { problems, stats };
  }
}
