/**
 * The TypeScript reference of the kernels, written as a JS engineer would write the hot loops
 * without WebAssembly: one Uint32Array arena of 4 KiB frames, an entry as a (lo, hi) pair of
 * 32-bit words as in src/core/reference.ts, counters in fields. Same branches as the core
 * (assembly/fault.ts, zap.ts, mmu_gather.ts, pt_reclaim.ts, mm.ts), same data, same results.
 */
import type { KernelImpl } from './types.js';

const WORDS = 1024; // 32-bit words per 4 KiB table
const PAGE = 4096;
const PMD_SIZE = 2 ** 21;
const PUD_SIZE = 2 ** 30;
const PGDIR_SIZE = 2 ** 39;
const KERNEL_BASE = 2 ** 44;

// Low-word bits.
const P = 1 << 0;
const RW = 1 << 1;
const A = 1 << 5;
const D = 1 << 6;
const SPECIAL = 1 << 9;
const TABLE_LO = P | RW | (1 << 2) | A | D;
const ANON_LO = TABLE_LO;
const ZERO_LO = P | (1 << 2) | A | SPECIAL;
// High-word bits.
const HI_NX = 1 << 31;
const HI_SIM_FILE = 1 << 20;
const ZERO_PFN = 1;
const FIRST_ANON_PFN = 0x100;
// Swap types and markers (top 5 bits of the high word; offset inverted in bits 9..58).
const MAX_SWAPFILES = 24;
const SWP_HWPOISON = 24;
const SWP_DEVICE_EXCLUSIVE = 30;
const MARKER_UFFD_WP = 1;
const MARKER_POISONED = 2;
const MARKER_GUARD = 4;
// zap flags.
const ZAP_RECLAIM_PT = 1 << 0;
const ZAP_DROP_MARKERS = 1 << 1;
const ZAP_EVEN_COWS = 1 << 2;
const VMA_ANON = 1 << 3;
const VMA_UFFD_WP = 1 << 4;
const ZAP_FLAGS = VMA_ANON | ZAP_EVEN_COWS;
// mmu_gather geometry.
const MMU_GATHER_BUNDLE = 8;
const MAX_GATHER_BATCH = (4096 - 16) / 8;
const MAX_GATHER_BATCH_COUNT = Math.floor(10000 / MAX_GATHER_BATCH);

/** Index of addr's entry in the table of a level whose entries span `size` bytes. */
const index = (addr: number, size: number) => ((addr / size) >>> 0) & 511;
const spanEnd = (addr: number, end: number, size: number) => Math.min((Math.floor(addr / size) + 1) * size, end);
/** The low 32 bits of the marker/offset of a swap-format entry (enough for marker bits). */
const swpOffsetLow = (lo: number, hi: number) => ~((lo >>> 9) | (hi << 23)) >>> 0;
const swpOffset40 = (lo: number, hi: number) => (~(hi >>> 9) & 0xff) * 2 ** 32 + swpOffsetLow(lo, hi);

export class TsKernels implements KernelImpl {
  readonly name = 'ts' as const;
  private mem = new Uint32Array(0);
  private bump = 0;
  private capFrames = 0;
  private pgd = 0;
  private tables = new Int32Array(0); // word offset of each prepared PTE table
  private n = 0;
  private walkRound = 0;
  // counters
  private nextPfn = FIRST_ANON_PFN;
  private faultAnon = 0;
  private faultOther = 0;
  private rssAnonTotal = 0;
  private entriesCleared = 0;
  private entriesSkipped = 0;
  private entriesReadZap = 0;
  private pagesGathered = 0;
  private tlbFlushes = 0;
  private forceBreaks = 0;
  // mmu_gather and per-zap state
  private activeBatch = 0;
  private activeNr = 0;
  private activeMax = MMU_GATHER_BUNDLE;
  private batchCount = 0;
  private delayedRmap = false;
  private rangeDirty = false;
  private rssAnon = 0;
  private forceFlush = false;
  private forceBreak = false;
  private skipped = false;

  setup(n: number): void {
    this.capFrames = n + Math.floor(n / 512) + 16;
    this.mem = new Uint32Array(this.capFrames * WORDS);
    this.bump = 0;
    this.nextPfn = FIRST_ANON_PFN;
    this.faultAnon = this.faultOther = this.rssAnonTotal = 0;
    this.entriesCleared = this.entriesSkipped = this.entriesReadZap = 0;
    this.pagesGathered = this.tlbFlushes = this.forceBreaks = 0;
    this.pgd = this.allocFrame();
    this.faultRange(KERNEL_BASE, KERNEL_BASE + n * PMD_SIZE, true);
    this.tables = new Int32Array(n);
    for (let i = 0; i < n; i++) this.tables[i] = this.walkTable(KERNEL_BASE + i * PMD_SIZE);
    this.n = n;
    this.walkRound = 0;
  }

  // ---- arena and walks (assembly/arena.ts, mm.ts) ----
  private allocFrame(): number {
    if (this.bump >= this.capFrames) throw new Error('ptreclaim internal error: ts kernels arena full');
    return this.bump++ * WORDS; // fresh Uint32Array memory is zero
  }
  /** Word offset of the table an upper-level entry at word w points to, or -1. */
  private child(w: number): number {
    const lo = this.mem[w]!;
    const hi = this.mem[w + 1]!;
    if (lo === 0 && hi === 0) return -1;
    return ((hi & 0xfffff) * 0x100000 + (lo >>> 12)) * WORDS;
  }
  private populate(w: number): number {
    const t = this.allocFrame();
    const frame = t / WORDS;
    this.mem[w] = (((frame & 0xfffff) << 12) | TABLE_LO) >>> 0;
    this.mem[w + 1] = Math.floor(frame / 0x100000);
    return t;
  }
  private allocWalk(addr: number): number {
    let w = this.pgd + 2 * index(addr, PGDIR_SIZE);
    let t = this.child(w);
    if (t < 0) t = this.populate(w);
    w = t + 2 * index(addr, PUD_SIZE);
    t = this.child(w);
    if (t < 0) t = this.populate(w);
    w = t + 2 * index(addr, PMD_SIZE);
    t = this.child(w);
    return t < 0 ? this.populate(w) : t;
  }
  /** walk_pte without the last step: the PTE table for addr, or -1. */
  private walkTable(addr: number): number {
    let t = this.child(this.pgd + 2 * index(addr, PGDIR_SIZE));
    if (t < 0) return -1;
    t = this.child(t + 2 * index(addr, PUD_SIZE));
    if (t < 0) return -1;
    return this.child(t + 2 * index(addr, PMD_SIZE));
  }
  private countMissing(start: number, end: number): number {
    let n = 0;
    for (let a = start; a < end; ) {
      const pud = this.child(this.pgd + 2 * index(a, PGDIR_SIZE));
      if (pud < 0) {
        const se = spanEnd(a, end, PGDIR_SIZE);
        n += 1 + Math.floor((se - 1) / PUD_SIZE) - Math.floor(a / PUD_SIZE) + 1 + Math.floor((se - 1) / PMD_SIZE) - Math.floor(a / PMD_SIZE) + 1;
        a = se;
        continue;
      }
      const pmd = this.child(pud + 2 * index(a, PUD_SIZE));
      if (pmd < 0) {
        const se = spanEnd(a, end, PUD_SIZE);
        n += 1 + Math.floor((se - 1) / PMD_SIZE) - Math.floor(a / PMD_SIZE) + 1;
        a = se;
        continue;
      }
      if (this.child(pmd + 2 * index(a, PMD_SIZE)) < 0) n++;
      a = spanEnd(a, end, PMD_SIZE);
    }
    return n;
  }

  // ---- fault (assembly/fault.ts) ----
  private faultRange(start: number, end: number, write: boolean): number {
    if (this.countMissing(start, end) > this.capFrames - this.bump) return -1;
    const m = this.mem;
    let pfn = this.nextPfn;
    let anon = 0;
    let other = 0;
    let result = 0;
    for (let addr = start; addr < end && result === 0; ) {
      const next = spanEnd(addr, end, PMD_SIZE);
      const t = this.allocWalk(addr);
      let w = t + 2 * index(addr, PAGE);
      const last = w + 2 * ((next - addr) / PAGE);
      while (w < last) {
        const lo = m[w]!;
        const hi = m[w + 1]!;
        if (lo === 0 && hi === 0) {
          // do_anonymous_page for the run of none entries (zero page: reads only).
          if (write) {
            while (w < last && m[w] === 0 && m[w + 1] === 0) {
              m[w] = (((pfn & 0xfffff) << 12) | ANON_LO) >>> 0;
              m[w + 1] = (Math.floor(pfn / 0x100000) | HI_NX) >>> 0;
              pfn++;
              anon++;
              w += 2;
            }
            continue;
          }
          m[w] = ((ZERO_PFN << 12) | ZERO_LO) >>> 0;
          m[w + 1] = HI_NX >>> 0;
        } else if (lo & P) {
          if (write && !(lo & RW)) {
            if (lo & SPECIAL) {
              m[w] = (((pfn & 0xfffff) << 12) | ANON_LO) >>> 0;
              m[w + 1] = (Math.floor(pfn / 0x100000) | HI_NX) >>> 0;
              pfn++;
              anon++;
            } else {
              m[w] = (lo | RW | D | A) >>> 0;
              other++;
            }
          } else if ((lo & (D | A)) !== (D | A)) {
            m[w] = (lo | (write ? D | A : A)) >>> 0;
          }
        } else {
          const type = hi >>> 27;
          if (type < MAX_SWAPFILES) {
            m[w] = (((pfn & 0xfffff) << 12) | ANON_LO) >>> 0;
            m[w + 1] = (Math.floor(pfn / 0x100000) | HI_NX) >>> 0;
            pfn++;
            anon++;
          } else if (type === SWP_HWPOISON) {
            result = -4;
          } else if (type <= SWP_DEVICE_EXCLUSIVE) {
            const back = swpOffset40(lo, hi);
            m[w] = (((back % 0x100000) << 12) | ANON_LO) >>> 0;
            m[w + 1] = (Math.floor(back / 0x100000) | HI_NX) >>> 0;
            other++;
          } else {
            const marker = swpOffsetLow(lo, hi);
            if (marker & MARKER_GUARD) result = -3;
            else if (marker & MARKER_POISONED) result = -4;
            else {
              m[w] = (((pfn & 0xfffff) << 12) | ANON_LO) >>> 0;
              m[w + 1] = (Math.floor(pfn / 0x100000) | HI_NX) >>> 0;
              pfn++;
              anon++;
            }
          }
          if (result !== 0) break;
        }
        w += 2;
      }
      addr = next;
    }
    this.nextPfn = pfn;
    this.faultAnon += anon;
    this.faultOther += other;
    this.rssAnonTotal += anon;
    return result;
  }

  // ---- mmu_gather (assembly/mmu_gather.ts) ----
  private gatherBegin(): void {
    this.activeBatch = 0;
    this.activeNr = 0;
    this.activeMax = MMU_GATHER_BUNDLE;
    this.batchCount = 0;
    this.delayedRmap = false;
    this.rangeDirty = false;
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
  private flushTlbOnly(): void {
    if (!this.rangeDirty) return;
    this.tlbFlushes++;
    this.rangeDirty = false;
  }
  private flushMmu(): void {
    this.flushTlbOnly();
    this.activeBatch = 0;
    this.activeNr = 0;
    this.activeMax = MMU_GATHER_BUNDLE;
    this.delayedRmap = false;
  }

  // ---- zap (assembly/zap.ts), MADV_DONTNEED without table reclaim ----
  private zapNonPresent(w: number, lo: number, hi: number, flags: number): void {
    const cows = (flags & (ZAP_RECLAIM_PT | ZAP_EVEN_COWS)) !== 0;
    const type = hi >>> 27;
    const skip = () => {
      this.skipped = true;
      this.entriesSkipped++;
    };
    if (type < MAX_SWAPFILES || type === SWP_HWPOISON || type <= SWP_DEVICE_EXCLUSIVE) {
      if (!cows) return skip();
    } else {
      const marker = swpOffsetLow(lo, hi);
      if (marker & MARKER_GUARD) {
        if (!(flags & ZAP_DROP_MARKERS)) return skip();
      } else if (marker & MARKER_POISONED) {
        if (!cows) return skip();
      } else if (marker & MARKER_UFFD_WP && !(flags & VMA_ANON) && !(flags & ZAP_DROP_MARKERS)) return skip();
    }
    this.mem[w] = 0;
    this.mem[w + 1] = 0;
    this.entriesCleared++;
  }

  private zapPteRange(t: number, addr: number, end: number, flags: number): void {
    const m = this.mem;
    const spanBase = Math.floor(addr / PMD_SIZE) * PMD_SIZE;
    const cows = (flags & (ZAP_RECLAIM_PT | ZAP_EVEN_COWS)) !== 0;
    for (;;) {
      this.forceFlush = false;
      this.forceBreak = false;
      this.skipped = false;
      const first = t + 2 * index(addr, PAGE);
      const last = first + 2 * ((end - addr) / PAGE);
      let w = first;
      while (w < last) {
        const lo = m[w]!;
        const hi = m[w + 1]!;
        w += 2;
        if (lo === 0 && hi === 0) continue;
        if (!(lo & P)) {
          this.zapNonPresent(w - 2, lo, hi, flags);
          continue;
        }
        // zap_present_ptes for one small folio.
        if (lo & SPECIAL) {
          m[w - 2] = 0;
          m[w - 1] = 0;
          this.rangeDirty = true;
          this.entriesCleared++;
          continue;
        }
        const anon = (hi & HI_SIM_FILE) === 0;
        if (!(cows || !anon)) {
          this.skipped = true;
          this.entriesSkipped++;
          continue;
        }
        m[w - 2] = 0;
        m[w - 1] = 0;
        this.entriesCleared++;
        let delay = false;
        if (anon) this.rssAnon--;
        else if (lo & D) {
          delay = true;
          this.forceFlush = true;
        }
        this.rangeDirty = true;
        if (!(flags & VMA_ANON) && !(flags & ZAP_DROP_MARKERS) && flags & VMA_UFFD_WP) {
          m[w - 2] = (~MARKER_UFFD_WP << 9) >>> 0; // uffd-wp marker (type 31, offset ~1)
          m[w - 1] = ((31 << 27) | 0x7ffffff) >>> 0;
          this.skipped = true;
          this.entriesSkipped++;
        }
        // __tlb_remove_folio_pages
        this.pagesGathered++;
        if (delay) this.delayedRmap = true;
        this.activeNr++;
        if (this.activeNr >= this.activeMax - 1 && !this.nextBatch()) {
          this.forceFlush = true;
          this.forceBreak = true;
          break;
        }
      }
      this.entriesReadZap += (w - first) / 2;
      addr = spanBase + ((w - t) / 2) * PAGE;
      if (this.forceBreak) this.forceBreaks++;
      this.rssAnonTotal += this.rssAnon;
      this.rssAnon = 0;
      if (this.forceFlush) {
        this.flushTlbOnly();
        this.flushMmu();
      }
      if (addr === end) break;
    }
  }

  private unmapPageRange(start: number, end: number, flags: number): void {
    for (let a = start; a !== end; ) {
      const n1 = spanEnd(a, end, PGDIR_SIZE);
      const pud = this.child(this.pgd + 2 * index(a, PGDIR_SIZE));
      if (pud >= 0) {
        for (let b = a; b !== n1; ) {
          const n2 = spanEnd(b, n1, PUD_SIZE);
          const pmd = this.child(pud + 2 * index(b, PUD_SIZE));
          if (pmd >= 0) {
            for (let c = b; c !== n2; ) {
              const n3 = spanEnd(c, n2, PMD_SIZE);
              const pte = this.child(pmd + 2 * index(c, PMD_SIZE));
              if (pte >= 0) this.zapPteRange(pte, c, n3, flags);
              c = n3;
            }
          }
          b = n2;
        }
      }
      a = n1;
    }
  }

  // ---- the kernels ----
  fillPresent(): void {
    const m = this.mem;
    for (let i = 0; i < this.n; i++) {
      const t = this.tables[i]!;
      const pfn0 = FIRST_ANON_PFN + i * 512;
      for (let j = 0; j < 512; j++) {
        const pfn = pfn0 + j;
        m[t + 2 * j] = (((pfn & 0xfffff) << 12) | ANON_LO) >>> 0;
        m[t + 2 * j + 1] = (Math.floor(pfn / 0x100000) | HI_NX) >>> 0;
      }
    }
  }
  fillNone(): void {
    for (let i = 0; i < this.n; i++) this.mem.fill(0, this.tables[i]!, this.tables[i]! + WORDS);
  }
  scan(): number {
    const m = this.mem;
    let empty = 0;
    for (let i = 0; i < this.n; i++) {
      const t = this.tables[i]!;
      let acc = 0;
      for (let w = t; w < t + WORDS; w += 4) acc |= m[w]! | m[w + 1]! | m[w + 2]! | m[w + 3]!;
      if (acc === 0) empty++;
    }
    return empty;
  }
  zap(): void {
    for (let i = 0; i < this.n; i++) {
      const va = KERNEL_BASE + i * PMD_SIZE;
      this.gatherBegin();
      this.unmapPageRange(va, va + PMD_SIZE, ZAP_FLAGS);
      this.flushMmu(); // tlb_finish_mmu (no tables pending: nothing to free)
      this.batchCount = 0;
    }
  }
  faultFill(): void {
    for (let i = 0; i < this.n; i++) {
      const va = KERNEL_BASE + i * PMD_SIZE;
      if (this.faultRange(va, va + PMD_SIZE, true) !== 0) throw new Error('ptreclaim internal error: ts kernels fault failed');
    }
  }
  walk(): bigint {
    let lo = 0;
    let hi = 0;
    const shift = 8 * this.walkRound++; // one cache line on per call (assembly/kernels.ts)
    for (let i = 0; i < this.n; i++) {
      const addr = KERNEL_BASE + i * PMD_SIZE + ((i * 37 + shift) & 511) * PAGE;
      const t = this.walkTable(addr);
      if (t < 0) continue;
      const w = t + 2 * index(addr, PAGE);
      lo += this.mem[w]!;
      hi += this.mem[w + 1]!;
    }
    return BigInt.asUintN(64, (BigInt(hi) << 32n) + BigInt(lo));
  }
  poke(i: number, j: number, entry: bigint): void {
    if (i >= this.n || j >= 512) return;
    this.mem[this.tables[i]! + 2 * j] = Number(entry & 0xffffffffn);
    this.mem[this.tables[i]! + 2 * j + 1] = Number(entry >> 32n);
  }
  checksum(): bigint {
    let sum = 0n;
    for (let i = 0; i < this.n; i++) {
      const t = this.tables[i]!;
      for (let j = 0; j < 512; j++) {
        const e = (BigInt(this.mem[t + 2 * j + 1]!) << 32n) | BigInt(this.mem[t + 2 * j]!);
        if (e !== 0n) sum += e * BigInt(j + 1);
      }
    }
    return BigInt.asUintN(64, sum);
  }
  counters(): ReturnType<KernelImpl['counters']> {
    return {
      entriesCleared: this.entriesCleared,
      pagesGathered: this.pagesGathered,
      tlbFlushes: this.tlbFlushes,
      forceBreak: this.forceBreaks,
      faultAnon: this.faultAnon,
    };
  }
}
