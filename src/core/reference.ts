/**
 * TypeScript reference of the hot loops: the same semantics as the WebAssembly core
 * (assembly/), written independently over typed arrays, so property tests can hold the
 * two against each other: same tables, same entries, same counters.
 *
 * A table is a Uint32Array of 1024 words: entry i is (lo = words[2i], hi = words[2i+1]).
 * Frames are handed out in the same order as the WASM arena (LIFO free list, then bump),
 * so even upper-level entries (which hold frame numbers) agree.
 */
import {
  type CoreOptions, type PageTableCore, type RawStats, type ReclaimPath, type StatName, type CoreConfig,
  type CoreViolation, EntryKind, STRATEGY_IDS,
  STAT_NAMES, STAT_INDEX, CORE_OK, CORE_ARENA_FULL, CORE_SIGSEGV, CORE_SIGBUS, CORE_OCCUPIED,
  ZAP_RECLAIM_PT, ZAP_DROP_MARKERS, ZAP_EVEN_COWS, VMA_ANON, VMA_UFFD_WP,
  ARENA_HARD_MAX_FRAMES,
} from './types.js';
import { UsageError } from '../errors.js';

// The sizes of src/core/types.ts, as this module's own constants: V8 folds those into the
// optimised code (a division by PMD_SIZE becomes a multiplication), while an imported binding
// is loaded and checked at every use and its divisions stay divisions, in every walk.
const PAGE_SIZE = 4096;
const PMD_SIZE = 2 ** 21;
const PUD_SIZE = 2 ** 30;
const PGDIR_SIZE = 2 ** 39;

// Entry bits, split into the low and high 32-bit words.
const P = 1 << 0;
const RW = 1 << 1;
const US = 1 << 2;
const A = 1 << 5;
const D = 1 << 6;
const SPECIAL = 1 << 9;
const HI_SIM_FILE = 1 << 20; // bit 52
const HI_NX = 1 << 31; // bit 63
const TABLE_LO = P | RW | US | A | D;
const ANON_LO = P | RW | US | A | D;
const ZERO_LO = P | US | A | SPECIAL;
const ZERO_PFN = 1;
/** The frame the first anonymous page of a fresh mm gets (NextPfn after reset). */
export const FIRST_ANON_PFN = 0x100;

// Swap types (top 5 bits) and PTE markers, as in assembly/pgtable.ts.
const MAX_SWAPFILES = 24;
const SWP_HWPOISON = 24;
const SWP_MIGRATION_WRITE = 27;
const SWP_DEVICE_WRITE = 28;
const SWP_DEVICE_EXCLUSIVE = 30;
const SWP_PTE_MARKER = 31;
const MARKER_UFFD_WP = 1;
const MARKER_POISONED = 2;
const MARKER_GUARD = 4;

const MMU_GATHER_BUNDLE = 8;
const MAX_GATHER_BATCH = Math.floor((4096 - 16) / 8);
const MAX_GATHER_BATCH_COUNT = Math.floor(10000 / MAX_GATHER_BATCH);
/** Tables per table batch page (assembly/rcu.ts) and the x86 single-flush ceiling (tlb.ts). */
const MAX_TABLE_BATCH = Math.floor((4096 - 24) / 8);
const TLB_SINGLE_PAGE_FLUSH_CEILING = 33;

const enum Level { PGD = 1, PUD = 2, PMD = 3, PTE = 4 }
const PENDING = 5;
const TWO32 = 2 ** 32;

const swpType = (hi: number) => hi >>> 27;
/** The 50-bit offset of a swap-format entry (stored inverted in bits 9..58). */
function swpOffset(lo: number, hi: number): number {
  const low = ~((lo >>> 9) | (hi << 23)) >>> 0;
  const high = ~(hi >>> 9) & 0x3ffff;
  return high * TWO32 + low;
}
function swpEntry(type: number, offset: number): [number, number] {
  const inv = 2 ** 50 - 1 - offset; // ~offset within 50 bits
  const invLow = inv % TWO32;
  const invHigh = Math.floor(inv / TWO32);
  return [(invLow << 9) >>> 0, ((invLow >>> 23) | (invHigh << 9) | (type << 27)) >>> 0];
}
function pfnWords(pfn: number, lo: number, hi: number): [number, number] {
  return [(((pfn % 0x100000) << 12) | lo) >>> 0, (Math.floor(pfn / 0x100000) | hi) >>> 0];
}
const pfnOf = (lo: number, hi: number) => (hi & 0xfffff) * 0x100000 + (lo >>> 12);

/**
 * Entry i of table t := a present, writable, dirty anonymous page at frame pfn
 * (pfn_pte(pfn, ANON_PTE_FLAGS)). pfnWords written out: this runs once per faulted page.
 */
function anonPte(t: Uint32Array, i: number, pfn: number): void {
  t[2 * i] = (((pfn & 0xfffff) << 12) | ANON_LO) >>> 0;
  t[2 * i + 1] = (Math.floor(pfn / 0x100000) | HI_NX) >>> 0;
}

/** pte_table_all_none: the slow path's scan of a whole table, OR-reducing four words a step. */
function tableAllNone(t: Uint32Array): boolean {
  let acc = 0;
  for (let w = 0; w < 1024; w += 4) acc |= t[w]! | t[w + 1]! | t[w + 2]! | t[w + 3]!;
  return acc === 0;
}

// Both, for drivers that work on tables directly (src/kernels/ts.ts), exported under their
// own names: the core's loops call the module-local functions, which V8 inlines outright,
// while a call through an exported binding reloads and rechecks it on every page.
export const setAnonPte = anonPte;
export const pteTableAllNone = tableAllNone;

const toBig = (lo: number, hi: number) => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);

/** Counter slots, as in `enum Stat`. */
const S = STAT_INDEX;

/**
 * Index of addr's entry in a table whose entries each span `size` bytes: floor(addr / size)
 * mod 512. `& 511` truncates the quotient and wraps it modulo 2^32 (ToInt32), which leaves its
 * low 9 bits intact (addr is never negative), so this stays in integer arithmetic.
 */
const idx = (addr: number, size: number) => (addr / size) & 511;
/** End of the aligned `size` block containing addr, clamped to end. */
const spanEnd = (addr: number, end: number, size: number) => Math.min((Math.floor(addr / size) + 1) * size, end);

export class ReferenceCore implements PageTableCore {
  readonly kind = 'ts' as const;
  private frames: Uint32Array[] = [];
  private state: number[] = [];
  private freeList: number[] = [];
  private limit = 0;
  private pgd = 0;
  private s = new Float64Array(STAT_NAMES.length);
  private weights = new Float64Array(STAT_NAMES.length);
  private path = 0;
  private zeroPageEnabled = true;
  private faultAddr = 0;
  // mmu_gather
  private activeBatch = 0;
  private activeNr = 0;
  private activeMax = MMU_GATHER_BUNDLE;
  private batchCount = 0;
  private delayedRmap = false;
  // tlb range (__tlb_adjust_range) and table batches / RCU (assembly/tlb.ts, rcu.ts)
  private rangeStart = Infinity;
  private rangeEnd = 0;
  private clearedPtes = false;
  private cpus = 1;
  private tableBatchNr = 0;
  private haveTableBatch = false;
  private gpNs = 4e6;
  private nowNs = 0;
  private rcuQueue: { epoch: number; tables: number }[] = [];
  private zapBase = 0;
  private pending: number[] = [];
  // per zap_pte_range call
  private rssAnon = 0;
  private rssFile = 0;
  private rssSwap = 0;
  private skipped = false;
  private forceFlush = false;
  private forceBreak = false;

  constructor(opts: CoreOptions = {}) {
    this.reset(opts);
  }

  // Counters by slot (S.Name): a constant index, not a name looked up on every event.
  private inc(i: number, v = 1): void {
    this.s[i] = this.s[i]! + v;
  }
  private get(i: number): number {
    return this.s[i]!;
  }
  private set(i: number, v: number): void {
    this.s[i] = v;
  }

  reset(opts: CoreOptions = {}): void {
    this.frames = [];
    this.state = [];
    this.freeList = [];
    this.pending = [];
    this.rcuQueue = [];
    this.nowNs = 0;
    this.resetRange();
    this.s.fill(0);
    const hardMax = ARENA_HARD_MAX_FRAMES;
    this.limit = !opts.limitFrames || opts.limitFrames > hardMax ? hardMax : opts.limitFrames;
    this.pgd = this.allocFrame(Level.PGD);
    this.set(S.NextPfn, FIRST_ANON_PFN);
  }

  setPathMode(path: ReclaimPath): void {
    this.path = { auto: 0, fast: 1, slow: 2 }[path];
  }

  setZeroPage(enabled: boolean): void {
    this.zeroPageEnabled = enabled;
  }

  // ---- arena ----
  private available(): number {
    return this.freeList.length + (this.limit - this.frames.length);
  }
  private allocFrame(level: number): number {
    let f: number;
    if (this.freeList.length) {
      f = this.freeList.pop()!;
      this.frames[f]!.fill(0);
    } else {
      f = this.frames.length;
      this.frames.push(new Uint32Array(1024));
      this.state.push(0);
    }
    this.state[f] = level;
    this.inc(S.ArenaFramesLive);
    if (this.get(S.ArenaFramesLive) > this.get(S.ArenaFramesHigh)) this.set(S.ArenaFramesHigh, this.get(S.ArenaFramesLive));
    this.set(S.ArenaFramesCapacity, this.frames.length);
    return f;
  }
  private freeFrame(f: number): void {
    this.state[f] = 0;
    this.freeList.push(f);
    this.inc(S.ArenaFramesLive, -1);
  }

  // ---- walking ----
  private child(table: Uint32Array, i: number): number {
    const lo = table[2 * i]!;
    const hi = table[2 * i + 1]!;
    return lo === 0 && hi === 0 ? -1 : pfnOf(lo, hi);
  }
  private populate(table: Uint32Array, i: number, level: Level): number {
    const f = this.allocFrame(level);
    const [lo, hi] = pfnWords(f, TABLE_LO, 0);
    table[2 * i] = lo;
    table[2 * i + 1] = hi;
    if (level === Level.PTE) this.inc(S.NrPte), this.inc(S.AllocPte);
    else if (level === Level.PMD) this.inc(S.NrPmd), this.inc(S.AllocPmd);
    else this.inc(S.NrPud), this.inc(S.AllocPud);
    const live = this.get(S.NrPte) + this.get(S.NrPmd) + this.get(S.NrPud);
    if (live > this.get(S.PeakPgtables)) this.set(S.PeakPgtables, live);
    this.noteRealPeak();
    return f;
  }
  /** Frames of the PUD, PMD and PTE tables for addr (-1 where missing). Allocates: cold paths only. */
  private walk(addr: number): [number, number, number] {
    const pud = this.child(this.frames[this.pgd]!, idx(addr, PGDIR_SIZE));
    if (pud < 0) return [-1, -1, -1];
    const pmd = this.child(this.frames[pud]!, idx(addr, PUD_SIZE));
    if (pmd < 0) return [pud, -1, -1];
    return [pud, pmd, this.child(this.frames[pmd]!, idx(addr, PMD_SIZE))];
  }
  /** Frame of the PTE table for addr, or -1 (walk_pte without the last step; no allocation). */
  private pteFrame(addr: number): number {
    const frames = this.frames;
    const pud = this.child(frames[this.pgd]!, idx(addr, PGDIR_SIZE));
    if (pud < 0) return -1;
    const pmd = this.child(frames[pud]!, idx(addr, PUD_SIZE));
    if (pmd < 0) return -1;
    return this.child(frames[pmd]!, idx(addr, PMD_SIZE));
  }
  /**
   * The PTE table mapping addr, as a view of its 1024 words (entry i is words 2i, 2i + 1),
   * or undefined when no table is there. For drivers that work on tables directly (the
   * `bench kernels` ts implementation); writes through it bypass every counter.
   */
  pteTable(addr: number): Uint32Array | undefined {
    const f = this.pteFrame(addr);
    return f < 0 ? undefined : this.frames[f];
  }
  private missingTables(start: number, end: number): number {
    const pgd = this.frames[this.pgd]!;
    let n = 0;
    for (let a = start; a < end; a = spanEnd(a, end, PMD_SIZE)) {
      const pud = this.child(pgd, idx(a, PGDIR_SIZE));
      const pmd = pud < 0 ? -1 : this.child(this.frames[pud]!, idx(a, PUD_SIZE));
      const pte = pmd < 0 ? -1 : this.child(this.frames[pmd]!, idx(a, PMD_SIZE));
      // Count each missing level once per span that owns it.
      if (pud < 0 && (a === start || a % PGDIR_SIZE === 0)) n++;
      if (pmd < 0 && (a === start || a % PUD_SIZE === 0)) n++;
      if (pte < 0) n++;
    }
    return n;
  }
  private allocWalk(addr: number): Uint32Array {
    const pgd = this.frames[this.pgd]!;
    let pud = this.child(pgd, idx(addr, PGDIR_SIZE));
    if (pud < 0) pud = this.populate(pgd, idx(addr, PGDIR_SIZE), Level.PUD);
    let pmd = this.child(this.frames[pud]!, idx(addr, PUD_SIZE));
    if (pmd < 0) pmd = this.populate(this.frames[pud]!, idx(addr, PUD_SIZE), Level.PMD);
    let pte = this.child(this.frames[pmd]!, idx(addr, PMD_SIZE));
    if (pte < 0) pte = this.populate(this.frames[pmd]!, idx(addr, PMD_SIZE), Level.PTE);
    return this.frames[pte]!;
  }

  // ---- fault ----
  private zeroPage(t: Uint32Array, i: number): void {
    t[2 * i] = ((ZERO_PFN << 12) | ZERO_LO) >>> 0;
    t[2 * i + 1] = HI_NX >>> 0;
  }

  /** Fault every 4 KiB page of [start, end) in address order (assembly/fault.ts), one PTE table at a time. */
  faultRange(start: number, end: number, write: boolean): number {
    if (this.missingTables(start, end) > this.available()) return CORE_ARENA_FULL;
    let result = CORE_OK;
    for (let addr = start; addr < end && result === CORE_OK; ) {
      const next = spanEnd(addr, end, PMD_SIZE);
      result = this.faultPteRange(this.allocWalk(addr), addr, next, write);
      addr = next;
    }
    return result;
  }

  /**
   * handle_pte_fault for each page of [addr, end), all in PTE table t. The next frame number
   * and the counters live in locals and are committed once per table, so the common case, a
   * run of none entries on a write fault, costs one store pair per page.
   */
  private faultPteRange(t: Uint32Array, addr: number, end: number, write: boolean): number {
    // A none entry gets a new page on a write, and on a read too when there is no zero page.
    const allocOnRead = write || !this.zeroPageEnabled;
    let pfn = this.get(S.NextPfn);
    let anon = 0; // FaultAnon: new pages for none entries and uffd-wp markers
    let zero = 0;
    let wpCopy = 0;
    let swapIn = 0;
    let other = 0;
    let accessOnly = 0;
    let result = CORE_OK;
    const first = idx(addr, PAGE_SIZE);
    const last = first + (end - addr) / PAGE_SIZE;
    let i = first;
    while (i < last) {
      const lo = t[2 * i]!;
      const hi = t[2 * i + 1]!;
      if (lo === 0 && hi === 0 && allocOnRead) {
        // do_anonymous_page for the whole run of none entries that starts here.
        const runStart = i;
        do anonPte(t, i++, pfn++);
        while (i < last && t[2 * i] === 0 && t[2 * i + 1] === 0);
        anon += i - runStart;
        continue;
      }
      if (lo === 0 && hi === 0) {
        this.zeroPage(t, i); // read fault: the shared zero page
        zero++;
      } else if (lo & P) {
        if (!write) {
          if (!(lo & A)) t[2 * i] = (lo | A) >>> 0;
          accessOnly++;
        } else if (!(lo & RW)) {
          if (lo & SPECIAL) { anonPte(t, i, pfn++); wpCopy++; } // wp_page_copy from the zero page
          else { t[2 * i] = (lo | RW | D | A) >>> 0; other++; } // wp_page_reuse
        } else {
          if ((lo & (D | A)) !== (D | A)) t[2 * i] = (lo | D | A) >>> 0;
          accessOnly++;
        }
      } else {
        const type = swpType(hi);
        if (type < MAX_SWAPFILES) {
          anonPte(t, i, pfn++); swapIn++;
        } else if (type === SWP_HWPOISON) {
          result = CORE_SIGBUS;
        } else if (type <= SWP_DEVICE_EXCLUSIVE) {
          // Migration finished / device page migrated back: the same page, mapped again.
          const [nlo, nhi] = pfnWords(swpOffset(lo, hi) % 2 ** 40, ANON_LO, HI_NX);
          t[2 * i] = nlo;
          t[2 * i + 1] = nhi;
          other++;
        } else {
          const marker = swpOffset(lo, hi);
          if (marker & MARKER_GUARD) result = CORE_SIGSEGV;
          else if (marker & MARKER_POISONED) result = CORE_SIGBUS;
          else if (allocOnRead) { anonPte(t, i, pfn++); anon++; }
          else { this.zeroPage(t, i); zero++; }
        }
        if (result !== CORE_OK) {
          this.faultAddr = Math.floor(addr / PMD_SIZE) * PMD_SIZE + i * PAGE_SIZE;
          break;
        }
      }
      i++;
    }
    this.set(S.NextPfn, pfn);
    this.inc(S.FaultAnon, anon);
    this.inc(S.FaultZeroPage, zero);
    this.inc(S.FaultWpCopy, wpCopy);
    this.inc(S.FaultSwapIn, swapIn);
    this.inc(S.FaultOther, other);
    this.inc(S.FaultAccessOnly, accessOnly);
    // New pages: none entries, markers, zero-page copies, swap-ins. Swap-ins leave MM_SWAPENTS.
    this.inc(S.RssAnon, anon + wpCopy + swapIn);
    this.inc(S.RssSwapEnts, -swapIn);
    return result;
  }
  faultAddress(): number {
    return this.faultAddr;
  }

  // ---- mmu_gather ----
  gatherBegin(): void {
    this.activeBatch = 0;
    this.activeNr = 0;
    this.activeMax = MMU_GATHER_BUNDLE;
    this.batchCount = 0;
    this.delayedRmap = false;
    this.tableBatchNr = 0;
    this.haveTableBatch = false;
    this.resetRange();
  }
  private nextBatch(): boolean {
    if (this.delayedRmap && this.activeBatch !== 0) return false;
    if (this.activeBatch < this.batchCount) this.activeBatch++;
    else {
      if (this.batchCount === MAX_GATHER_BATCH_COUNT) return false;
      this.batchCount++;
      this.activeBatch = this.batchCount;
    }
    this.activeNr = 0;
    this.activeMax = MAX_GATHER_BATCH;
    return true;
  }
  /**
   * __tlb_remove_folio_pages for one small folio: queue the page for freeing after the flush.
   * True when the gather is full and the caller must flush before going on.
   */
  private removePage(delayRmap: boolean): boolean {
    this.inc(S.PagesGathered);
    return this.gatherPage(delayRmap);
  }
  /** removePage without the counter, for loops that count pages themselves. */
  private gatherPage(delayRmap: boolean): boolean {
    if (delayRmap) this.delayedRmap = true;
    this.activeNr++;
    if (this.activeNr >= this.activeMax - 1) return !this.nextBatch();
    return false;
  }
  /**
   * Pages gatherPage can take before one fills the active batch (tlb_gather_room): a loop
   * may add that many to activeNr in bulk, then must call gatherPage for the next one.
   * A batch counts as full one slot early, hence the 2.
   */
  private gatherRoom(): number {
    return Math.max(0, this.activeMax - 2 - this.activeNr);
  }
  private resetRange(): void {
    this.rangeStart = Infinity;
    this.rangeEnd = 0;
    this.clearedPtes = false;
  }
  private adjustRange(addr: number, pte: boolean): void {
    if (addr < this.rangeStart) this.rangeStart = addr;
    if (addr + PAGE_SIZE > this.rangeEnd) this.rangeEnd = addr + PAGE_SIZE;
    if (pte) this.clearedPtes = true;
  }
  private flushTlbOnly(): void {
    if (this.rangeEnd === 0) return;
    this.inc(S.TlbFlushes);
    const stride = this.clearedPtes ? PAGE_SIZE : PMD_SIZE;
    this.inc((this.rangeEnd - this.rangeStart) / stride > TLB_SINGLE_PAGE_FLUSH_CEILING ? S.TlbFlushFull : S.TlbFlushRanged);
    if (this.cpus > 1) this.inc(S.Ipis, this.cpus - 1);
    this.resetRange();
  }
  private tableFlush(): void {
    if (!this.haveTableBatch) return;
    this.flushTlbOnly();
    this.callRcu(this.tableBatchNr);
    this.tableBatchNr = 0;
    this.haveTableBatch = false;
  }
  private flushMmu(): void {
    this.flushTlbOnly();
    this.tableFlush();
    this.activeBatch = 0;
    this.activeNr = 0;
    this.activeMax = MMU_GATHER_BUNDLE;
    this.delayedRmap = false;
  }
  private removeTable(frame: number, addr: number): void {
    this.state[frame] = PENDING;
    this.pending.push(frame);
    this.adjustRange(addr, false);
    this.inc(S.TablesGathered);
    this.set(S.ArenaFramesPending, this.pending.length);
    this.inc(S.PgtablesPending);
    if (this.get(S.PgtablesPending) > this.get(S.PgtablesPendingPeak)) this.set(S.PgtablesPendingPeak, this.get(S.PgtablesPending));
    this.noteRealPeak();
    if (!this.haveTableBatch) {
      this.haveTableBatch = true;
      this.inc(S.TableBatches);
    }
    if (++this.tableBatchNr === MAX_TABLE_BATCH) this.tableFlush();
  }
  private noteRealPeak(): void {
    const real = this.get(S.NrPte) + this.get(S.NrPmd) + this.get(S.NrPud) + this.get(S.PgtablesPending);
    if (real > this.get(S.PgtablesRealPeak)) this.set(S.PgtablesRealPeak, real);
  }
  private callRcu(tables: number): void {
    this.inc(S.RcuCallbacks);
    const epoch = Math.floor(this.nowNs / this.gpNs) + 1;
    const last = this.rcuQueue[this.rcuQueue.length - 1];
    if (last && last.epoch === epoch) last.tables += tables;
    else this.rcuQueue.push({ epoch, tables });
  }
  private completeOldest(): void {
    this.inc(S.PgtablesPending, -this.rcuQueue.shift()!.tables);
    this.inc(S.GracePeriods);
  }

  // ---- strategy, time, checker: the reference models none and pt-reclaim only ----
  configure(cfg: CoreConfig): void {
    if (cfg.strategyId !== STRATEGY_IDS.none && cfg.strategyId !== STRATEGY_IDS['pt-reclaim']) {
      throw new UsageError('the TypeScript reference core models only the strategies none and pt-reclaim (use --core wasm)');
    }
    if (cfg.trylockFail || cfg.resched || cfg.nowaitFail) {
      throw new UsageError('the TypeScript reference core does not model --trylock-fail, --resched or --nowait-fail (use --core wasm)');
    }
    this.cpus = Math.max(1, cfg.cpus);
    this.gpNs = Math.max(1, cfg.gracePeriodNs);
  }
  setNow(ns: number): void {
    if (ns > this.nowNs) this.nowNs = ns;
    const current = Math.floor(this.nowNs / this.gpNs);
    while (this.rcuQueue.length && this.rcuQueue[0]!.epoch < current) this.completeOldest();
  }
  rcuBarrier(): void {
    while (this.rcuQueue.length) this.completeOldest();
  }
  scanRange(): number {
    throw new UsageError('the TypeScript reference core does not model async-scan (use --core wasm)');
  }
  checkEnable(on: boolean): void {
    if (on) throw new UsageError('the checker runs in the WebAssembly core only (use --core wasm)');
  }
  checkWalk(): { anon: number; file: number; swap: number } {
    throw new UsageError('the checker runs in the WebAssembly core only (use --core wasm)');
  }
  takeViolations(): CoreViolation[] {
    return [];
  }
  gatherEnd(): void {
    this.flushMmu();
    this.batchCount = 0;
    for (let i = this.pending.length - 1; i >= 0; i--) this.freeFrame(this.pending[i]!);
    this.pending.length = 0;
    this.set(S.ArenaFramesPending, 0);
  }

  // ---- zap ----
  private noteSkipped(): void {
    this.skipped = true;
    this.inc(S.EntriesSkipped);
  }
  private installUffdWp(t: Uint32Array, i: number, flags: number): boolean {
    if (flags & VMA_ANON || flags & ZAP_DROP_MARKERS || !(flags & VMA_UFFD_WP)) return false;
    [t[2 * i], t[2 * i + 1]] = swpEntry(SWP_PTE_MARKER, MARKER_UFFD_WP);
    return true;
  }
  private zapEntry(t: Uint32Array, i: number, flags: number): void {
    const lo = t[2 * i]!;
    const hi = t[2 * i + 1]!;
    const cows = (flags & (ZAP_RECLAIM_PT | ZAP_EVEN_COWS)) !== 0;
    if (lo & P) {
      if (lo & SPECIAL) {
        t[2 * i] = 0; t[2 * i + 1] = 0;
        this.adjustRange(this.zapBase + i * PAGE_SIZE, true);
        this.inc(S.EntriesCleared);
        return;
      }
      const anon = (hi & HI_SIM_FILE) === 0;
      if (!(cows || !anon)) { this.noteSkipped(); return; }
      t[2 * i] = 0; t[2 * i + 1] = 0;
      this.inc(S.EntriesCleared);
      let delay = false;
      if (anon) this.rssAnon--;
      else {
        this.rssFile--;
        if (lo & D) { delay = true; this.forceFlush = true; }
      }
      this.adjustRange(this.zapBase + i * PAGE_SIZE, true);
      if (this.installUffdWp(t, i, flags)) this.noteSkipped();
      if (this.removePage(delay)) { this.forceFlush = true; this.forceBreak = true; }
      return;
    }
    const type = swpType(hi);
    if (type < MAX_SWAPFILES) {
      if (!cows) { this.noteSkipped(); return; }
      this.rssSwap--;
    } else if (type === SWP_HWPOISON) {
      if (!cows) { this.noteSkipped(); return; }
    } else if (type <= SWP_DEVICE_EXCLUSIVE) {
      if (!cows) { this.noteSkipped(); return; }
      this.rssAnon--;
    } else {
      const marker = swpOffset(lo, hi);
      if (marker & MARKER_GUARD) {
        if (!(flags & ZAP_DROP_MARKERS)) { this.noteSkipped(); return; }
      } else if (marker & MARKER_POISONED) {
        if (!cows) { this.noteSkipped(); return; }
      } else if (marker & MARKER_UFFD_WP) {
        if (!(flags & VMA_ANON) && !(flags & ZAP_DROP_MARKERS)) { this.noteSkipped(); return; }
      }
    }
    t[2 * i] = 0; t[2 * i + 1] = 0;
    this.inc(S.EntriesCleared);
    if (this.installUffdWp(t, i, flags)) this.noteSkipped();
  }

  private zapPteRange(pmdTable: Uint32Array, pmdIdx: number, addr: number, end: number, flags: number): void {
    const start = addr;
    let canReclaim = (flags & ZAP_RECLAIM_PT) !== 0 && end - start >= PMD_SIZE;
    let direct = true;
    let cleared = false;
    const frame = this.child(pmdTable, pmdIdx);
    const t = this.frames[frame]!;
    const spanBase = Math.floor(addr / PMD_SIZE) * PMD_SIZE;
    this.zapBase = spanBase;
    // The common entry takes a lean path: a present, normal (not special) anonymous page in
    // an anonymous VMA, zapped since COWed pages go too. zapEntry would clear it, count it
    // cleared and gathered, take it off RSS, widen the TLB range to it and add it to the
    // gather batch; here that is counted in locals and committed once per pass (as in
    // assembly/zap.ts). Every other entry goes through zapEntry.
    const lean = (flags & VMA_ANON) !== 0 && (flags & (ZAP_RECLAIM_PT | ZAP_EVEN_COWS)) !== 0;
    for (;;) {
      this.forceFlush = false;
      this.forceBreak = false;
      this.skipped = false;
      this.inc(S.PtlLocks);
      const first = idx(addr, PAGE_SIZE);
      const last = first + (end - addr) / PAGE_SIZE;
      let leanPages = 0;
      let leanFirst = 0; // index of the first and the last lean page (the TLB range's ends)
      let leanLast = 0;
      let room = lean ? this.gatherRoom() : 0; // lean pages the active batch still takes
      let bulk = 0; // lean pages taken from `room`, not yet added to activeNr
      let i = first;
      while (i < last) {
        const lo = t[2 * i]!;
        const hi = t[2 * i + 1]!;
        i++;
        if (lo === 0 && hi === 0) continue;
        if (lean && (lo & (P | SPECIAL)) === P && (hi & HI_SIM_FILE) === 0) {
          t[2 * i - 2] = 0;
          t[2 * i - 1] = 0;
          if (leanPages === 0) leanFirst = i - 1;
          leanLast = i - 1;
          leanPages++;
          if (room > 0) {
            room--;
            bulk++;
            continue;
          }
          // This page fills the active batch: move on to the next one, or flush now.
          this.activeNr += bulk;
          bulk = 0;
          if (this.gatherPage(false)) {
            this.forceFlush = true;
            this.forceBreak = true;
            break;
          }
          room = this.gatherRoom();
          continue;
        }
        this.activeNr += bulk;
        bulk = 0;
        this.zapEntry(t, i - 1, flags);
        if (this.forceBreak) break;
        if (lean) room = this.gatherRoom();
      }
      this.activeNr += bulk;
      if (leanPages !== 0) {
        this.inc(S.EntriesCleared, leanPages);
        this.inc(S.PagesGathered, leanPages);
        this.rssAnon -= leanPages;
        this.adjustRange(spanBase + leanFirst * PAGE_SIZE, true);
        this.adjustRange(spanBase + leanLast * PAGE_SIZE, true);
      }
      this.inc(S.EntriesReadZap, i - first);
      if (this.skipped) canReclaim = false;
      addr = spanBase + i * PAGE_SIZE;
      if (this.forceBreak) { direct = false; this.inc(S.ForceBreak); }
      if (canReclaim && direct && addr === end) {
        if (this.path === 2) { this.inc(S.PmdTrylockFail); direct = false; }
        else {
          this.inc(S.PmdTrylockOk);
          pmdTable[2 * pmdIdx] = 0;
          pmdTable[2 * pmdIdx + 1] = 0;
          cleared = true;
        }
      }
      this.inc(S.RssAnon, this.rssAnon);
      this.inc(S.RssFile, this.rssFile);
      this.inc(S.RssSwapEnts, this.rssSwap);
      this.rssAnon = this.rssFile = this.rssSwap = 0;
      if (this.forceFlush) { this.inc(S.ForceFlush); this.flushTlbOnly(); }
      if (this.forceFlush) this.flushMmu();
      if (addr === end) break;
      this.inc(S.ZapRetries);
    }
    if (!canReclaim) return;
    if (direct && cleared) {
      this.freePte(frame, start);
      this.inc(S.ReclaimFast);
      return;
    }
    // Slow path: PMD lock, nested PTE lock, recheck all 512 entries.
    this.inc(S.PmdLocks);
    const f = this.child(pmdTable, pmdIdx);
    if (f < 0) { this.inc(S.ReclaimSlowFailed); return; }
    this.inc(S.PtlLocks);
    const table = this.frames[f]!;
    if (!tableAllNone(table)) {
      let n = 0;
      while (table[2 * n] === 0 && table[2 * n + 1] === 0) n++;
      this.inc(S.EntriesReadScan, n + 1);
      this.inc(S.ReclaimSlowFailed);
      return;
    }
    this.inc(S.EntriesReadScan, 512);
    pmdTable[2 * pmdIdx] = 0;
    pmdTable[2 * pmdIdx + 1] = 0;
    this.freePte(f, start);
    this.inc(S.ReclaimSlow);
  }

  private freePte(frame: number, addr: number): void {
    this.removeTable(frame, addr);
    this.inc(S.NrPte, -1);
    this.inc(S.FreedPte);
  }

  zapRange(start: number, end: number, flags: number): void {
    for (let a = start; a !== end; ) {
      const nPgd = spanEnd(a, end, PGDIR_SIZE);
      const pud = this.child(this.frames[this.pgd]!, idx(a, PGDIR_SIZE));
      if (pud >= 0) {
        for (let b = a; b !== nPgd; ) {
          const nPud = spanEnd(b, nPgd, PUD_SIZE);
          const pmd = this.child(this.frames[pud]!, idx(b, PUD_SIZE));
          if (pmd >= 0) {
            const pmdTable = this.frames[pmd]!;
            for (let c = b; c !== nPud; ) {
              const nPmd = spanEnd(c, nPud, PMD_SIZE);
              if (this.child(pmdTable, idx(c, PMD_SIZE)) >= 0) this.zapPteRange(pmdTable, idx(c, PMD_SIZE), c, nPmd, flags);
              c = nPmd;
            }
          }
          b = nPud;
        }
      }
      a = nPgd;
    }
  }

  madviseFree(start: number, end: number): void {
    let swap = 0;
    for (let addr = start; addr < end; ) {
      const next = spanEnd(addr, end, PMD_SIZE);
      const pte = this.pteFrame(addr);
      if (pte >= 0) {
        this.inc(S.PtlLocks);
        const t = this.frames[pte]!;
        const first = idx(addr, PAGE_SIZE);
        const last = first + (next - addr) / PAGE_SIZE;
        for (let i = first; i < last; i++) {
          const lo = t[2 * i]!;
          const hi = t[2 * i + 1]!;
          if (lo === 0 && hi === 0) continue;
          if (lo & P) {
            if (lo & SPECIAL || hi & HI_SIM_FILE) continue;
            if (lo & (A | D)) {
              t[2 * i] = (lo & ~(A | D)) >>> 0;
              this.adjustRange(Math.floor(addr / PMD_SIZE) * PMD_SIZE + i * PAGE_SIZE, true);
            }
            this.inc(S.LazyfreePages);
            continue;
          }
          const type = swpType(hi);
          if (type < MAX_SWAPFILES) {
            t[2 * i] = 0; t[2 * i + 1] = 0; swap--; this.inc(S.EntriesCleared);
          } else if (type === SWP_HWPOISON || (type === SWP_PTE_MARKER && swpOffset(lo, hi) & MARKER_POISONED)) {
            t[2 * i] = 0; t[2 * i + 1] = 0; this.inc(S.EntriesCleared);
          }
        }
      }
      addr = next;
    }
    this.inc(S.RssSwapEnts, swap);
  }

  // ---- free_pgtables ----
  private upperFreeable(start: number, end: number, floor: number, ceiling: number, size: number): boolean {
    start = Math.floor(start / size) * size;
    if (start < floor) return false;
    if (ceiling !== 0) {
      ceiling = Math.floor(ceiling / size) * size;
      if (ceiling === 0) return false;
    }
    // end - 1 > ceiling - 1 in unsigned arithmetic; ceiling 0 stands for 2^64.
    return !(ceiling !== 0 && end - 1 > ceiling - 1);
  }

  freePgdRange(addr: number, end: number, floor: number, ceiling: number): void {
    addr = Math.floor(addr / PMD_SIZE) * PMD_SIZE;
    if (addr < floor) addr += PMD_SIZE;
    if (ceiling !== 0) {
      ceiling = Math.floor(ceiling / PMD_SIZE) * PMD_SIZE;
      if (ceiling === 0) return;
    }
    if (ceiling !== 0 && end - 1 > ceiling - 1) end -= PMD_SIZE;
    if (addr > end - 1) return;
    const pgd = this.frames[this.pgd]!;
    for (let a = addr; a !== end; ) {
      const nPgd = spanEnd(a, end, PGDIR_SIZE);
      const gi = idx(a, PGDIR_SIZE);
      const pudF = this.child(pgd, gi);
      if (pudF >= 0) {
        const pud = this.frames[pudF]!;
        for (let b = a; b !== nPgd; ) {
          const nPud = spanEnd(b, nPgd, PUD_SIZE);
          const ui = idx(b, PUD_SIZE);
          const pmdF = this.child(pud, ui);
          if (pmdF >= 0) {
            const pmd = this.frames[pmdF]!;
            for (let c = b; c !== nPud; ) {
              const nPmd = spanEnd(c, nPud, PMD_SIZE);
              const mi = idx(c, PMD_SIZE);
              const pteF = this.child(pmd, mi);
              if (pteF >= 0) {
                pmd[2 * mi] = 0;
                pmd[2 * mi + 1] = 0;
                this.freePte(pteF, c);
              }
              c = nPmd;
            }
            if (this.upperFreeable(b, nPud, floor, ceiling, PUD_SIZE)) {
              pud[2 * ui] = 0;
              pud[2 * ui + 1] = 0;
              this.removeTable(pmdF, b);
              this.inc(S.NrPmd, -1);
              this.inc(S.FreedPmd);
            }
          }
          b = nPud;
        }
        if (this.upperFreeable(a, nPgd, floor, ceiling, PGDIR_SIZE)) {
          pgd[2 * gi] = 0;
          pgd[2 * gi + 1] = 0;
          this.removeTable(pudF, a);
          this.inc(S.NrPud, -1);
          this.inc(S.FreedPud);
        }
      }
      a = nPgd;
    }
  }

  // ---- inspection ----
  stat(name: StatName): number {
    return this.get(S[name]);
  }

  setCostWeights(weights: Partial<Record<StatName, number>>): void {
    this.weights = Float64Array.from(STAT_NAMES, (n) => weights[n] ?? 0);
  }

  weightedStats(): number {
    let acc = 0;
    for (let i = 0; i < this.s.length; i++) acc += this.s[i]! * this.weights[i]!;
    return acc;
  }

  stats(): RawStats {
    const out = {} as RawStats;
    STAT_NAMES.forEach((n, i) => (out[n] = this.s[i]!));
    return out;
  }

  entryAt(addr: number, level: number): bigint {
    const pgd = this.frames[this.pgd]!;
    const read = (t: Uint32Array, i: number) => toBig(t[2 * i]!, t[2 * i + 1]!);
    if (level === 3) return read(pgd, idx(addr, PGDIR_SIZE));
    const [pud, pmd, pte] = this.walk(addr);
    if (level === 2) return pud < 0 ? 0n : read(this.frames[pud]!, idx(addr, PUD_SIZE));
    if (level === 1) return pmd < 0 ? 0n : read(this.frames[pmd]!, idx(addr, PMD_SIZE));
    return pte < 0 ? 0n : read(this.frames[pte]!, idx(addr, PAGE_SIZE));
  }

  installEntry(addr: number, kind: EntryKind): number {
    const a = Math.floor(addr / PAGE_SIZE) * PAGE_SIZE;
    if (this.missingTables(a, a + 1) > this.available()) return CORE_ARENA_FULL;
    const t = this.allocWalk(a);
    const i = idx(a, PAGE_SIZE);
    if (t[2 * i] !== 0 || t[2 * i + 1] !== 0) return CORE_OCCUPIED;
    const pfn = this.get(S.NextPfn);
    this.set(S.NextPfn, pfn + 1);
    let w: [number, number];
    switch (kind) {
      case EntryKind.Page: w = pfnWords(pfn, ANON_LO, HI_NX); break;
      case EntryKind.FilePage: w = pfnWords(pfn, ANON_LO, HI_NX | HI_SIM_FILE); break;
      case EntryKind.ZeroPage: w = pfnWords(ZERO_PFN, ZERO_LO, HI_NX); break;
      case EntryKind.Swap: w = swpEntry(0, pfn); break;
      case EntryKind.Migration: w = swpEntry(SWP_MIGRATION_WRITE, pfn); break;
      case EntryKind.DevicePrivate: w = swpEntry(SWP_DEVICE_WRITE, pfn); break;
      case EntryKind.DeviceExclusive: w = swpEntry(SWP_DEVICE_EXCLUSIVE, pfn); break;
      case EntryKind.UffdWpMarker: w = swpEntry(SWP_PTE_MARKER, MARKER_UFFD_WP); break;
      case EntryKind.GuardMarker: w = swpEntry(SWP_PTE_MARKER, MARKER_GUARD); break;
      case EntryKind.Hwpoison: w = swpEntry(SWP_HWPOISON, pfn); break;
      case EntryKind.PoisonedMarker: w = swpEntry(SWP_PTE_MARKER, MARKER_POISONED); break;
      default: w = [0, 0];
    }
    [t[2 * i], t[2 * i + 1]] = w;
    if (kind === EntryKind.Page || kind === EntryKind.Migration || kind === EntryKind.DevicePrivate || kind === EntryKind.DeviceExclusive) this.inc(S.RssAnon);
    else if (kind === EntryKind.FilePage) this.inc(S.RssFile);
    else if (kind === EntryKind.Swap) this.inc(S.RssSwapEnts);
    return CORE_OK;
  }

  leafEntries(): Map<number, bigint> {
    const out = new Map<number, bigint>();
    for (const base of this.tableBases().pte) {
      const t = this.frames[this.pteFrame(base)]!;
      for (let i = 0; i < 512; i++) {
        if (t[2 * i] !== 0 || t[2 * i + 1] !== 0) out.set(base + i * PAGE_SIZE, toBig(t[2 * i]!, t[2 * i + 1]!));
      }
    }
    return out;
  }

  tableBases(): { pte: number[]; pmd: number[]; pud: number[] } {
    const out = { pte: [] as number[], pmd: [] as number[], pud: [] as number[] };
    const pgd = this.frames[this.pgd]!;
    for (let i = 0; i < 512; i++) {
      const pud = this.child(pgd, i);
      if (pud < 0) continue;
      out.pud.push(i * PGDIR_SIZE);
      for (let j = 0; j < 512; j++) {
        const pmd = this.child(this.frames[pud]!, j);
        if (pmd < 0) continue;
        out.pmd.push(i * PGDIR_SIZE + j * PUD_SIZE);
        for (let k = 0; k < 512; k++) {
          if (this.child(this.frames[pmd]!, k) >= 0) out.pte.push(i * PGDIR_SIZE + j * PUD_SIZE + k * PMD_SIZE);
        }
      }
    }
    return out;
  }

  arenaLimitFrames(): number {
    return this.limit;
  }
  memoryBytes(): number {
    return this.frames.length * PAGE_SIZE;
  }
}
