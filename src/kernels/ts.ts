/**
 * The TypeScript implementation of the kernels: the reference core's own hot loops
 * (src/core/reference/), driven exactly as assembly/kernels.ts drives the WASM core's.
 * Nothing here re-implements a loop: scan is pteTableAllNone (the slow path's check), zap is
 * zapRange inside one gather per table, fault-fill is faultRange over one table's span, walk
 * is the reference's table walk plus the entry. Only the driver is here: prepare N tables,
 * refill them, and read them for checksums and tests.
 *
 * Table i maps [KERNEL_BASE + i x 2 MiB, + 2 MiB), as in the other implementations.
 */
import { FIRST_ANON_PFN, ReferenceCore, pteTableAllNone, setAnonPte } from '../core/reference.js';
import { CORE_OK, VMA_ANON, ZAP_EVEN_COWS, ZAP_RECLAIM_PT } from '../core/types.js';
import type { KernelImpl } from './types.js';

// Local, not imported from core/types.ts, so V8 folds them into the loops (see reference/zap.ts).
const PAGE_SIZE = 4096;
const PMD_SIZE = 2 ** 21;
/** Where the benchmark tables start: 16 TiB, far from anything else. */
const KERNEL_BASE = 2 ** 44;
/** MADV_DONTNEED on a private anonymous VMA, without PT_RECLAIM (the table must survive). */
const ZAP_FLAGS = VMA_ANON | ZAP_EVEN_COWS;
/** MADV_DONTNEED with PT_RECLAIM: each emptied table is freed (the reclaim kernels). */
const RECLAIM_FLAGS = VMA_ANON | ZAP_RECLAIM_PT;
const PTRS_PER_TABLE = 512;

const tableVa = (i: number) => KERNEL_BASE + i * PMD_SIZE;

export class TsKernels implements KernelImpl {
  readonly name = 'ts' as const;
  private core = new ReferenceCore();
  /** Each prepared PTE table (a view of the reference's own table), so fills and scans need no walk. */
  private tables: Uint32Array[] = [];
  private walkRound = 0;

  setup(n: number): void {
    this.core.reset();
    const status = this.core.faultRange(tableVa(0), tableVa(n), true);
    if (status !== CORE_OK) throw new Error(`ptreclaim internal error: ts kernels setup failed (${status})`);
    this.tables = Array.from({ length: n }, (_, i) => this.core.pteTable(tableVa(i))!);
    this.walkRound = 0;
  }

  fillPresent(): void {
    for (let i = 0; i < this.tables.length; i++) {
      const t = this.tables[i]!;
      const pfn0 = FIRST_ANON_PFN + i * PTRS_PER_TABLE;
      for (let j = 0; j < PTRS_PER_TABLE; j++) setAnonPte(t, j, pfn0 + j);
    }
  }

  fillNone(): void {
    for (const t of this.tables) t.fill(0);
  }

  scan(): number {
    let empty = 0;
    for (const t of this.tables) if (pteTableAllNone(t)) empty++;
    return empty;
  }

  /** MADV_DONTNEED of each table's 2 MiB, one gather each (tlb_gather_mmu .. tlb_finish_mmu). */
  zap(): void {
    const core = this.core;
    for (let i = 0; i < this.tables.length; i++) {
      core.gatherBegin();
      core.zapRange(tableVa(i), tableVa(i + 1), ZAP_FLAGS);
      core.gatherEnd();
    }
  }

  /** reclaim-fast / reclaim-slow: zapRange with PT_RECLAIM, the trylock forced by the path mode. */
  reclaim(slow: boolean): number {
    const core = this.core;
    const before = core.stat('ReclaimFast') + core.stat('ReclaimSlow');
    core.setPathMode(slow ? 'slow' : 'fast');
    for (let i = 0; i < this.tables.length; i++) {
      core.gatherBegin();
      core.zapRange(tableVa(i), tableVa(i + 1), RECLAIM_FLAGS);
      core.gatherEnd();
    }
    core.setPathMode('auto');
    return core.stat('ReclaimFast') + core.stat('ReclaimSlow') - before;
  }

  refillReclaimed(): void {
    this.faultFill();
    for (let i = 0; i < this.tables.length; i++) this.tables[i] = this.core.pteTable(tableVa(i))!;
    this.fillPresent();
  }

  faultFill(): void {
    for (let i = 0; i < this.tables.length; i++) {
      const status = this.core.faultRange(tableVa(i), tableVa(i + 1), true);
      if (status !== CORE_OK) throw new Error(`ptreclaim internal error: ts kernels fault failed (${status})`);
    }
  }

  /**
   * Walk to entry (37 i + 8 round) mod 512 of each table and read it. Each call moves every
   * address one cache line on (assembly/kernels.ts kernel_walk). The entries' low and high
   * words are summed apart (exact in doubles for any table count) and joined mod 2^64.
   */
  walk(): bigint {
    let lo = 0;
    let hi = 0;
    let j = (8 * this.walkRound++) & (PTRS_PER_TABLE - 1);
    // Address and slot advance by addition, as in assembly/kernels.ts.
    let va = tableVa(0);
    for (let i = 0; i < this.tables.length; i++, va += PMD_SIZE, j = (j + 37) & (PTRS_PER_TABLE - 1)) {
      const t = this.core.pteTable(va + j * PAGE_SIZE);
      if (t === undefined) continue;
      lo += t[2 * j]!;
      hi += t[2 * j + 1]!;
    }
    return BigInt.asUintN(64, (BigInt(hi) << 32n) + BigInt(lo));
  }

  poke(i: number, j: number, entry: bigint): void {
    if (i >= this.tables.length || j >= PTRS_PER_TABLE) return;
    this.tables[i]![2 * j] = Number(entry & 0xffffffffn);
    this.tables[i]![2 * j + 1] = Number(entry >> 32n);
  }

  checksum(): bigint {
    let sum = 0n;
    for (const t of this.tables) {
      for (let j = 0; j < PTRS_PER_TABLE; j++) {
        const e = (BigInt(t[2 * j + 1]!) << 32n) | BigInt(t[2 * j]!);
        if (e !== 0n) sum += e * BigInt(j + 1);
      }
    }
    return BigInt.asUintN(64, sum);
  }

  counters(): ReturnType<KernelImpl['counters']> {
    const core = this.core;
    return {
      entriesCleared: core.stat('EntriesCleared'),
      pagesGathered: core.stat('PagesGathered'),
      tlbFlushes: core.stat('TlbFlushes'),
      forceBreak: core.stat('ForceBreak'),
      faultAnon: core.stat('FaultAnon'),
      reclaimFast: core.stat('ReclaimFast'),
      reclaimSlow: core.stat('ReclaimSlow'),
      entriesReadScan: core.stat('EntriesReadScan'),
      pmdLocks: core.stat('PmdLocks'),
      nrPte: core.stat('NrPte'),
    };
  }
}
