/**
 * Every reclaim design side by side (issue 3): what each frees, when, and what it costs,
 * and v1's bugs caught in the act. Counts are exact where the model makes them so.
 */
import { describe, it, expect } from 'vitest';
import { runOps } from '../src/run.js';
import { Mm } from '../src/mm/mm.js';
import { WasmCore } from '../src/core/wasm.js';
import { STRATEGY_NAMES } from '../src/strategies.js';
import { seedWorkload } from '../src/workloads/index.js';
import { v1RobotWorkload, forceBreakWorkload, partialDontneedWorkload } from '../src/workloads/designs.js';
import { EntryKind } from '../src/core/types.js';

const MiB = 2 ** 20;
const run = (ops: Iterable<import('../src/trace/ops.js').Op>, strategy: string, extra: Parameters<typeof runOps>[1] = {}) =>
  runOps(ops, { strategy, wasm: 'debug', check: true, ...extra });

describe('strategies registry', () => {
  it('lists every design the issue names', () => {
    expect(STRATEGY_NAMES).toEqual(['none', 'pt-reclaim', 'pt-reclaim-v1', 'async-scan', 'refcount']);
  });
});

describe('pt-reclaim-v1: the kernel test robot report', () => {
  const w = v1RobotWorkload();

  it('v1 drops mapped pages without a zap: checker and exit report Bad rss-counter state', () => {
    const r = run(w.ops(), 'pt-reclaim-v1');
    expect(r.v1RangeWraps).toBe(1);
    expect(r.reclaim.fast).toBe(1);
    const dropped = r.check.violations.find((v) => v.check === 'pages-dropped')!;
    expect(dropped).toMatchObject({ op: 'madvise', index: 2, strategy: 'pt-reclaim-v1', addr: 0x7f0000001000 });
    expect(dropped.message).toContain('511 mapped page(s) dropped without a zap');
    expect(r.check.violations.map((v) => v.check)).toContain('rss-mismatch');
    expect(r.exit.problems).toEqual([expect.stringMatching(/^BUG: Bad rss-counter state mm:\d+ type:MM_ANONPAGES val:511$/)]);
  });

  it('the pages the process wrote become unreachable; touching them faults fresh pages', () => {
    const mm = new Mm(new WasmCore('debug'), { strategy: 'pt-reclaim-v1' });
    const base = 0x7f0000000000;
    mm.mmap(base, 4 * MiB);
    mm.touch(base, 4 * MiB, 'write');
    const written = mm.core.entryAt(base + 0x3000, 0);
    expect(written).not.toBe(0n);
    mm.madvise(base + 0x1000, 0x1000, 'dontneed');
    expect(mm.core.entryAt(base + 0x3000, 0)).toBe(0n); // never zapped, yet gone
    const before = mm.stats().FaultZeroPage;
    mm.touch(base + 0x3000, 0x1000, 'read');
    expect(mm.stats().FaultZeroPage).toBe(before + 1); // a fresh zero page, not the data
    expect(mm.core.entryAt(base + 0x3000, 0)).not.toBe(written);
    expect(mm.exit().problems[0]).toMatch(/Bad rss-counter state .* type:MM_ANONPAGES val:511/);
  });

  it('mainline on the same workload is clean', () => {
    for (const s of ['pt-reclaim', 'none', 'async-scan', 'refcount']) {
      const r = run(w.ops(), s);
      expect(r.check.violations, s).toEqual([]);
      expect(r.exit.problems, s).toEqual([]);
    }
  });

  it('v1 with every reclaim forced slow is safe: the slow path rescans all 512 entries', () => {
    const r = run(w.ops(), 'pt-reclaim-v1', { path: 'slow' });
    expect(r.reclaim.slowFailed).toBe(1);
    expect(r.check.violationCount).toBe(0);
    expect(r.exit.clean).toBe(true);
  });
});

describe('pt-reclaim-v1: the retry label below force_break', () => {
  it('makes every present entry after the first break retry again (counters, v1 vs mainline)', () => {
    const w = forceBreakWorkload();
    const v1 = run(w.ops(), 'pt-reclaim-v1');
    const main = run(w.ops(), 'pt-reclaim');
    // Mainline: one break per exhausted gather, one retry each.
    expect(main.tlb.forceBreak).toBe(4);
    expect(main.tlb.zapRetries).toBe(4);
    // v1: after the first break, one retry (and one TLB flush) per remaining present entry.
    expect(v1.tlb.zapRetries).toBeGreaterThan(10 * main.tlb.zapRetries);
    // Each v1 retry pass ends with a forced flush (force_flush stays set as well).
    expect(v1.tlb.ranged + v1.tlb.full - main.tlb.ranged - main.tlb.full).toBe(v1.tlb.zapRetries);
    // Same memory outcome; mainline sends the broken table through the slow path, v1 does not.
    expect(v1.vmPteKb).toBe(main.vmPteKb);
    expect(main.reclaim.slow).toBe(4);
    expect(v1.reclaim.slow).toBe(0);
    expect(v1.check.violationCount + main.check.violationCount).toBe(0);
  });
});

describe('pt-reclaim paths and contention', () => {
  const w = seedWorkload(64 * MiB);

  it('--path fast and --path slow free the same tables; slow reads 512 more entries per table', () => {
    const fast = run(w.ops(), 'pt-reclaim', { path: 'fast' });
    const slow = run(w.ops(), 'pt-reclaim', { path: 'slow' });
    expect(fast.vmPteKb).toBe(slow.vmPteKb);
    expect(fast.tablesFreed).toEqual(slow.tablesFreed);
    expect(fast.reclaim).toMatchObject({ fast: 32, slow: 0 });
    expect(slow.reclaim).toMatchObject({ fast: 0, slow: 32 });
    expect(slow.entries.readScan - fast.entries.readScan).toBe(32 * 512);
    expect(slow.check.violationCount + fast.check.violationCount).toBe(0);
  });

  it('--trylock-fail 1 makes every reclaim slow; 0.5 splits them, reproducibly per seed', () => {
    const all = run(w.ops(), 'pt-reclaim', { trylockFail: 1 });
    expect(all.reclaim).toMatchObject({ fast: 0, slow: 32 });
    expect(all.locks.pmdTrylockFail).toBe(32);
    const half = run(w.ops(), 'pt-reclaim', { trylockFail: 0.5, seed: 7 });
    expect(half.reclaim.fast + half.reclaim.slow).toBe(32);
    expect(half.reclaim.fast).toBeGreaterThan(0);
    expect(half.reclaim.slow).toBeGreaterThan(0);
    expect(run(w.ops(), 'pt-reclaim', { trylockFail: 0.5, seed: 7 }).reclaim).toEqual(half.reclaim);
    expect(half.config).toMatchObject({ trylockFail: 0.5, seed: 7 });
  });

  it('--resched drops direct reclaim in mainline (slow path) but not in v1', () => {
    const main = run(w.ops(), 'pt-reclaim', { resched: 1 });
    expect(main.reschedBreaks).toBeGreaterThan(0);
    expect(main.reclaim).toMatchObject({ fast: 0, slow: 32 });
    const v1 = run(w.ops(), 'pt-reclaim-v1', { resched: 1 });
    expect(v1.reclaim).toMatchObject({ fast: 32, slow: 0 });
    expect(main.check.violationCount + v1.check.violationCount).toBe(0);
  });
});

describe('async-scan and refcount', () => {
  it('async-scan frees in steps of at most 256 MiB of VA per 100 ms of simulated time', () => {
    const mm = new Mm(new WasmCore('debug'), { strategy: 'async-scan', check: true });
    const base = 0x7d0000000000;
    const size = 1024 * MiB; // 512 tables
    mm.mmap(base, size);
    mm.touch(base, size, 'write');
    for (let a = base; a < base + size; a += 512 * 1024) mm.madvise(a, 512 * 1024, 'dontneed');
    const samples: { ns: number; pte: number }[] = [];
    const busy = base + size + 2 * MiB;
    mm.mmap(busy, 2 * MiB);
    for (let i = 0; i < 600 && mm.stats().NrPte > 1; i++) {
      mm.touch(busy, 2 * MiB, 'write');
      mm.madvise(busy, 2 * MiB, 'dontneed');
      samples.push({ ns: mm.nowNs, pte: mm.stats().NrPte });
    }
    const passes = mm.scanner!.passes;
    expect(passes.length).toBeGreaterThan(3);
    for (const p of passes) expect(p.freed).toBeLessThanOrEqual(128); // 256 MiB / 2 MiB
    for (let i = 1; i < passes.length; i++) expect(passes[i]!.atNs - passes[i - 1]!.atNs).toBeGreaterThanOrEqual(100e6);
    expect(passes.filter((p) => p.freed === 128).length).toBeGreaterThanOrEqual(3);
    // VmPTE over time never drops by more than 128 tables within one 100 ms window.
    for (let i = 1; i < samples.length; i++) expect(samples[i - 1]!.pte - samples[i]!.pte).toBeLessThanOrEqual(128);
    expect(mm.stats().NrPte).toBeLessThanOrEqual(1);
    expect(mm.takeViolations()).toEqual([]);
    expect(mm.exit().problems).toEqual([]);
  });

  it('--scan-bytes and --scan-period-ms override the budget', () => {
    const r = run(partialDontneedWorkload(0x7d0000000000, 256 * MiB, 200).ops(), 'async-scan', { scanBytes: 64 * MiB, scanPeriodMs: 50 });
    expect(r.asyncScan.passes).toBeGreaterThan(10);
    expect(r.reclaim.scan).toBe(128);
    expect(r.config).toMatchObject({ scanBytes: 64 * MiB, scanPeriodMs: 50 });
    expect(r.check.violationCount).toBe(0);
  });

  it('a table emptied by partial DONTNEEDs: refcount frees it at once, pt-reclaim keeps it, async-scan frees it later', () => {
    const base = 0x7d0000000000;
    const mms = Object.fromEntries(
      ['pt-reclaim', 'refcount', 'async-scan'].map((s) => [s, new Mm(new WasmCore('debug'), { strategy: s, check: true })]),
    );
    for (const mm of Object.values(mms)) {
      mm.mmap(base, 2 * MiB);
      mm.touch(base, 2 * MiB, 'write');
      for (let a = base; a < base + 2 * MiB; a += 512 * 1024) mm.madvise(a, 512 * 1024, 'dontneed');
    }
    expect(mms['refcount']!.stats()).toMatchObject({ NrPte: 0, ReclaimRefcount: 1 });
    expect(mms['pt-reclaim']!.stats().NrPte).toBe(1);
    const scan = mms['async-scan']!;
    expect(scan.stats().NrPte).toBe(1);
    scan.mmap(base + 4 * MiB, 2 * MiB);
    for (let i = 0; i < 40 && scan.stats().ReclaimScan === 0; i++) {
      scan.touch(base + 4 * MiB, 2 * MiB, 'write');
      scan.madvise(base + 4 * MiB, 2 * MiB, 'dontneed');
    }
    expect(scan.nowNs).toBeGreaterThan(100e6); // freed by a later pass, not the first one
    expect(scan.stats().ReclaimScan).toBeGreaterThanOrEqual(1);
    expect(scan.core.entryAt(base, 1)).toBe(0n);
    expect(mms['refcount']!.stats().RefcountAtomics).toBe(2 * 512 + 512 + 512 + 4 * 2); // faults, installs, puts, walks
    for (const mm of Object.values(mms)) {
      expect(mm.takeViolations()).toEqual([]);
      expect(mm.exit().problems).toEqual([]);
    }
  });

  it('refcount charges atomics per map and unmap; pt-reclaim charges none', () => {
    const w = seedWorkload(16 * MiB);
    const rc = run(w.ops(), 'refcount');
    const pt = run(w.ops(), 'pt-reclaim');
    expect(rc.refcountAtomics).toBe(8 * (2 * 512 + 512 + 512 + 2));
    expect(pt.refcountAtomics).toBe(0);
    expect(rc.vmPteKb).toBe(pt.vmPteKb);
  });

  it('installed special entries keep the table under refcount (count is not zero)', () => {
    const mm = new Mm(new WasmCore('debug'), { strategy: 'refcount', check: true });
    const base = 0x7d0000000000;
    mm.mmap(base, 2 * MiB);
    mm.touch(base, 2 * MiB, 'write');
    mm.madvise(base, MiB, 'dontneed');
    mm.installEntry(base + 0x1000, EntryKind.GuardMarker);
    mm.madvise(base + MiB, MiB, 'dontneed');
    expect(mm.stats().NrPte).toBe(1);
    expect(mm.takeViolations()).toEqual([]);
    expect(mm.exit().problems).toEqual([]);
  });
});
