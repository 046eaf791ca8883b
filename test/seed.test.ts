/** The PT_RECLAIM series' headline table, reproduced exactly. */
import { describe, it, expect } from 'vitest';
import { runOps } from '../src/run.js';
import { seedWorkload, getWorkload } from '../src/workloads/index.js';

describe('seed: the series microbenchmark (50 GiB, 25,600 x touch 2 MiB + DONTNEED)', () => {
  it('none -> 102,604 kB (25,600 PTE + 50 PMD + 1 PUD tables)', () => {
    const r = runOps(getWorkload('seed').ops(), { strategy: 'none' });
    expect(r.vmPteKb).toBe(102_604);
    expect(r.tables).toEqual({ pte: 25_600, pmd: 50, pud: 1 });
    expect(r.reclaim).toEqual({ fast: 0, slow: 0, slowFailed: 0, scan: 0, refcount: 0 });
    expect(r.exit).toEqual({ clean: true, problems: [] });
  });

  it('pt-reclaim -> 204 kB, every table freed on the fast path', () => {
    const r = runOps(getWorkload('seed').ops(), { strategy: 'pt-reclaim' });
    expect(r.vmPteKb).toBe(204);
    expect(r.peakVmPteKb).toBe(208);
    expect(r.tables).toEqual({ pte: 0, pmd: 50, pud: 1 });
    expect(r.reclaim).toEqual({ fast: 25_600, slow: 0, slowFailed: 0, scan: 0, refcount: 0 });
    expect(r.entries.readScan).toBe(0);
    expect(r.rss.anonPages).toBe(0);
    expect(r.exit.clean).toBe(true);
  });

  it('pt-reclaim --path slow -> the same 204 kB, 512 entries rescanned per table', () => {
    const r = runOps(getWorkload('seed').ops(), { strategy: 'pt-reclaim', path: 'slow' });
    expect(r.vmPteKb).toBe(204);
    expect(r.reclaim).toEqual({ fast: 0, slow: 25_600, slowFailed: 0, scan: 0, refcount: 0 });
    expect(r.entries.readScan).toBe(25_600 * 512);
  });

  it('the TypeScript reference gives the same result', () => {
    const r = runOps(seedWorkload(5 * 2 ** 30).ops(), { strategy: 'pt-reclaim', core: 'ts' });
    const w = runOps(seedWorkload(5 * 2 ** 30).ops(), { strategy: 'pt-reclaim' });
    expect(r.vmPteKb).toBe(24);
    expect({ ...r, wallMs: 0, opsPerSec: 0, core: 'x', arena: 0 }).toEqual({ ...w, wallMs: 0, opsPerSec: 0, core: 'x', arena: 0 });
  });

  it('MADV_FREE at 5 GiB keeps every table: 10,264 kB (measured on the live kernel too)', () => {
    const r = runOps(getWorkload('seed-5g-free').ops(), { strategy: 'pt-reclaim' });
    expect(r.vmPteKb).toBe(10_264);
    expect(r.rss.anonPages).toBe((5 * 2 ** 30) / 4096);
    expect(r.lazyfreePages).toBe((5 * 2 ** 30) / 4096);
  });
});
