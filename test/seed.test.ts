/** The PT_RECLAIM series' headline table, reproduced exactly. */
import { describe, it, expect } from 'vitest';
import { runOps, runWorkload } from '../src/run.js';
import { seedWorkload, getWorkload } from '../src/workloads/index.js';
import { BATCH_OPS } from '../src/trace/reader.js';

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

  it('writes the series ops straight into batch columns: the same ops, the same run', () => {
    const GiB = 2 ** 30;
    const w = seedWorkload(17 * GiB, { advice: 'free' }); // 17,409 ops: a part-full last batch
    const ops = [...w.ops()];
    expect(ops.length).toBe(1 + 2 * 8704);
    expect(ops.slice(0, 3)).toEqual([
      { kind: 'mmap', addr: 0x200000000000, len: 17 * GiB },
      { kind: 'touch', addr: 0x200000000000, len: 2 ** 21, access: 'write' },
      { kind: 'madvise', addr: 0x200000000000, len: 2 ** 21, advice: 'free' },
    ]);
    expect(ops.at(-1)).toEqual({ kind: 'madvise', addr: 0x200000000000 + 17 * GiB - 2 ** 21, len: 2 ** 21, advice: 'free' });
    // Batches split where batchesOfOps splits them: every one full but the last.
    const counts: number[] = [];
    for (const batch of w.batches!()) counts.push(batch.count); // a batch is reused: read it now
    expect(counts).toEqual([BATCH_OPS, BATCH_OPS, BATCH_OPS, BATCH_OPS, ops.length - 4 * BATCH_OPS]);
    for (const strategy of ['pt-reclaim', 'none'] as const) {
      const viaColumns = runWorkload(seedWorkload(5 * GiB), { strategy });
      const viaObjects = runOps([...seedWorkload(5 * GiB).ops()], { strategy, source: 'seed-5g' });
      expect({ ...viaColumns, wallMs: 0, opsPerSec: 0 }).toEqual({ ...viaObjects, wallMs: 0, opsPerSec: 0 });
    }
  });

  it('runWorkload checks its options as the other entry points do', () => {
    expect(() => runWorkload(seedWorkload(2 ** 30), { strategy: 'bogus' as never })).toThrow(
      /^runWorkload: options\.strategy must be one of .*, not "bogus"$/,
    );
  });
});
