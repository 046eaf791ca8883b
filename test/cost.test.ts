/**
 * The mmu_gather / TLB / RCU cost model and the simulated clock.
 */
import { describe, it, expect } from 'vitest';
import { runOps } from '../src/run.js';
import { Mm } from '../src/mm/mm.js';
import { WasmCore } from '../src/core/wasm.js';
import { tableChurnWorkload } from '../src/workloads/designs.js';
import { DEFAULT_COST_MODEL } from '../src/mm/cost.js';
import { ReferenceCore } from '../src/core/reference.js';
import { UsageError } from '../src/errors.js';

const MiB = 2 ** 20;
const X = 0x7f0000000000;

describe('TLB flushes and IPIs', () => {
  it('a few pages flush by range; a whole 2 MiB span flushes everything', () => {
    const mm = new Mm(new WasmCore('debug'), { strategy: 'pt-reclaim', cpus: 4 });
    mm.mmap(X, 4 * MiB);
    mm.touch(X, 4 * MiB, 'write');
    mm.madvise(X + 0x10000, 4 * 4096, 'dontneed');
    expect(mm.stats()).toMatchObject({ TlbFlushes: 1, TlbFlushRanged: 1, TlbFlushFull: 0, Ipis: 3 });
    mm.madvise(X + 2 * MiB, 2 * MiB, 'dontneed');
    expect(mm.stats()).toMatchObject({ TlbFlushes: 2, TlbFlushRanged: 1, TlbFlushFull: 1, Ipis: 6 });
    expect(mm.exit().problems).toEqual([]);
  });

  it('a table freed alone (no PTE cleared) flushes by PMD stride', () => {
    const mm = new Mm(new WasmCore('debug'), { strategy: 'pt-reclaim', cpus: 1 });
    mm.mmap(X, 2 * MiB);
    mm.touch(X, 4096, 'read');
    mm.madvise(X, 4096, 'dontneed'); // clears the zero-page entry: ranged
    mm.madvise(X, 2 * MiB, 'dontneed'); // nothing mapped: only the table goes
    expect(mm.stats()).toMatchObject({ ReclaimFast: 1, TlbFlushes: 2, TlbFlushRanged: 2, Ipis: 0 });
  });

  it('ranged flushes count one INVLPG per stride; full flushes none (both cores)', () => {
    for (const core of [new WasmCore('debug'), new ReferenceCore()]) {
      const mm = new Mm(core, { strategy: 'pt-reclaim' });
      mm.mmap(X, 8 * MiB);
      mm.touch(X, 4 * MiB, 'write');
      mm.madvise(X + 0x10000, 5 * 4096, 'dontneed'); // 5 pages: 5 strides of 4 KiB
      expect(mm.stats()).toMatchObject({ TlbFlushRanged: 1, TlbFlushStrides: 5 });
      mm.madvise(X + 2 * MiB, 2 * MiB, 'dontneed'); // 512 pages: over the 33-stride ceiling, full
      expect(mm.stats()).toMatchObject({ TlbFlushRanged: 1, TlbFlushFull: 1, TlbFlushStrides: 5 });
      mm.madvise(X + 6 * MiB, 2 * MiB, 'dontneed'); // nothing mapped, no table: no flush
      mm.touch(X + 4 * MiB, 4096, 'read');
      mm.madvise(X + 4 * MiB, 4096, 'dontneed');
      mm.madvise(X + 4 * MiB, 2 * MiB, 'dontneed'); // only the table goes: one PMD stride
      expect(mm.stats()).toMatchObject({ TlbFlushRanged: 3, TlbFlushStrides: 7 });
      expect(mm.exit().problems).toEqual([]);
    }
  });

  it('a table-only flush of 33 PMD strides plus a page is ranged, as x86 shifts the range (both cores)', () => {
    for (const core of [new WasmCore('debug'), new ReferenceCore()]) {
      const mm = new Mm(core, { strategy: 'none' });
      mm.mmap(X, 128 * MiB);
      mm.touch(X, 128 * MiB, 'write');
      mm.madvise(X, 128 * MiB, 'dontneed'); // no reclaim: 64 empty PTE tables stay
      const before = mm.stats();
      // 34 tables go, no PTE is cleared: stride PMD_SIZE, range 33 PMDs + one page. x86 compares
      // (end - start) >> stride_shift = 33 with the ceiling (33): ranged, 34 INVLPGs.
      mm.munmap(X, 68 * MiB);
      const after = mm.stats();
      expect(after.TlbFlushRanged - before.TlbFlushRanged).toBe(1);
      expect(after.TlbFlushStrides - before.TlbFlushStrides).toBe(34);
    }
  });
});

describe('table freeing: batches, RCU and the single-table fallback', () => {
  const w = tableChurnWorkload(0x7c0000000000, 2 * 2 ** 30, 2); // 1024 PTE tables per munmap

  it('batches hold 509 tables; each full batch is one RCU callback; memory waits a grace period', () => {
    const r = runOps(w.ops(), { strategy: 'pt-reclaim', check: true });
    // Per munmap: 1024 PTE + 2 PMD + 1 PUD tables = 1027 -> batches of 509, 509, 9.
    expect(r.rcu).toMatchObject({ tableBatches: 6, fallbacks: 0, callbacks: 6 });
    expect(r.rcu.gracePeriods).toBeGreaterThanOrEqual(1);
    expect(r.peakPendingKb).toBe(1027 * 4);
    expect(r.peakRealPgtablesKb).toBeGreaterThan(r.peakVmPteKb);
    expect(r.check.violationCount).toBe(0);
    expect(r.exit.clean).toBe(true);
  });

  it('semi-rcu vs rcu under --nowait-fail 1: IPIs against memory waiting for a grace period', () => {
    const semi = runOps(w.ops(), { strategy: 'pt-reclaim', nowaitFail: 1, tableFree: 'semi-rcu', cpus: 4, check: true });
    const rcu = runOps(w.ops(), { strategy: 'pt-reclaim', nowaitFail: 1, tableFree: 'rcu', cpus: 4, check: true });
    const tables = 2 * 1027;
    expect(semi.rcu).toMatchObject({ tableBatches: 0, fallbacks: tables, callbacks: 0 });
    expect(rcu.rcu).toMatchObject({ tableBatches: 0, fallbacks: tables, callbacks: tables });
    // semi-RCU: one IPI to each of the 3 other CPUs per table, freed at once.
    expect(semi.tlb.ipis - rcu.tlb.ipis).toBe(tables * 3);
    expect(semi.peakPendingKb).toBe(4); // one table at a time, between unhook and its IPI
    expect(rcu.peakPendingKb).toBe(1027 * 4);
    expect(semi.tablesFreed).toEqual(rcu.tablesFreed);
    expect(semi.check.violationCount + rcu.check.violationCount).toBe(0);
    expect(semi.exit.clean && rcu.exit.clean).toBe(true);
  });
});

describe('simulated clock', () => {
  it('charges the documented cost per counter', () => {
    const mm = new Mm(new WasmCore('debug'), { strategy: 'none' });
    mm.mmap(X, 2 * MiB);
    expect(mm.nowNs).toBe(DEFAULT_COST_MODEL.syscallNs);
    mm.touch(X, 2 * MiB, 'write');
    // 512 write faults at 10 us, 3 tables allocated (PUD, PMD, PTE) at 300 ns; no syscall.
    expect(mm.nowNs - DEFAULT_COST_MODEL.syscallNs).toBe(512 * 10_000 + 3 * 300);
    // The reference core keeps the same weighted sum.
    const ref = new Mm(new ReferenceCore(), { strategy: 'none' });
    ref.mmap(X, 2 * MiB);
    ref.touch(X, 2 * MiB, 'write');
    expect(ref.nowNs).toBe(mm.nowNs);
  });

  it('RCU frees pending tables once a full grace period has passed', () => {
    const mm = new Mm(new WasmCore('debug'), { strategy: 'pt-reclaim', gracePeriodMs: 1 });
    mm.mmap(X, 4 * MiB);
    mm.touch(X, 2 * MiB, 'write');
    mm.madvise(X, 2 * MiB, 'dontneed');
    expect(mm.stats().PgtablesPending).toBe(1);
    mm.touch(X + 2 * MiB, 2 * MiB, 'write'); // 5 ms of faults: more than two grace periods
    expect(mm.stats()).toMatchObject({ PgtablesPending: 0, GracePeriods: 1 });
  });

  it('rejects bad knobs with the option and the value in the message', () => {
    // runOps checks its input schema first (src/api-schema.ts); Mm direct goes through resolveRunOptions.
    expect(() => runOps([], { trylockFail: 2 })).toThrow(new UsageError('runOps: options.trylockFail must be <= 1, not 2'));
    expect(() => runOps([], { tickMs: 0 })).toThrow(/options\.tickMs must be > 0, not 0/);
    expect(() => runOps([], { cpus: 1.5 })).toThrow(/options\.cpus must be an integer, not 1\.5/);
    expect(() => new Mm(new WasmCore('release'), { trylockFail: 2 })).toThrow(
      new UsageError('--trylock-fail 2: expected a probability between 0 and 1'),
    );
    expect(() => new Mm(new WasmCore('release'), { tickMs: 0 })).toThrow(/--tick-ms 0: expected a positive number/);
    expect(() => new Mm(new WasmCore('release'), { cpus: 1.5 })).toThrow(/--cpus 1.5: expected a positive integer/);
  });
});
