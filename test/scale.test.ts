/**
 * The arena at scale (modest here; bench/scale.ts runs 900,000 tables): tables anywhere in
 * the 47-bit user address space, bookkeeping within 2% of the tables, geometric growth, and
 * a clear error when --arena-limit is exceeded.
 */
import { describe, expect, it } from 'vitest';
import { runScale } from '../src/kernels/scale.js';
import { WasmCore } from '../src/core/wasm.js';
import { Mm, MMAP_MIN_ADDR } from '../src/mm/mm.js';
import { runOps } from '../src/run.js';
import { ArenaFullError } from '../src/errors.js';
import { LEVEL, PAGE_SIZE, PMD_SIZE, TASK_SIZE } from '../src/core/types.js';

describe('scale: 50,000 live PTE tables', () => {
  const res = runScale({ tables: 50_000, every: 10_000 });
  const last = res.points[res.points.length - 1]!;

  it('are all live at the end, without error', () => {
    expect(res.error).toBeUndefined();
    expect(last.pteTables).toBe(50_000);
    // 1 PUD table + 98 PMD tables (50,000 x 2 MiB from 16 TiB spans 98 GiB-aligned blocks) + the PGD.
    expect(last.frames).toBe(50_000 + 98 + 1 + 1);
  });

  it('cost at most 2% of bookkeeping beyond the tables (a fixed 1.25 MiB: under 2% from ~16,000 tables on)', () => {
    for (const p of res.points) {
      expect(p.bookkeepingRatio * p.frames * PAGE_SIZE).toBeLessThanOrEqual(1.25 * 2 ** 20);
      if (p.pteTables >= 20_000) expect(p.bookkeepingRatio).toBeLessThanOrEqual(0.02);
    }
  });

  it('grow memory geometrically: few distinct sizes, each at least 1.25x the last', () => {
    const sizes = [...new Set(res.points.map((p) => p.memoryBytes))];
    for (let i = 1; i < sizes.length; i++) expect(sizes[i]! / sizes[i - 1]!).toBeGreaterThanOrEqual(1.25);
    expect(last.capacityFrames).toBeGreaterThanOrEqual(last.frames);
    expect(last.capacityFrames).toBeLessThanOrEqual(Math.ceil(last.frames * 1.5) + 64);
  });
});

describe('scale: any 47-bit user address', () => {
  it('maps and faults the lowest and the highest user pages, and tables far apart', () => {
    const core = new WasmCore('release');
    const mm = new Mm(core, { strategy: 'pt-reclaim' });
    const spots = [MMAP_MIN_ADDR, 0x7f0000000000, TASK_SIZE - 4 * PMD_SIZE, 0x400000000000 - PMD_SIZE];
    for (const addr of spots) {
      expect(mm.mmap(addr, 4 * PMD_SIZE)).toEqual({ ok: true, addr });
      expect(mm.touch(addr, PAGE_SIZE, 'write')).toEqual({ ok: true });
      expect(core.entryAt(addr, LEVEL.pte) & 1n).toBe(1n);
    }
    const top = TASK_SIZE - PAGE_SIZE;
    expect(mm.touch(top, PAGE_SIZE, 'write')).toEqual({ ok: true });
    expect(core.entryAt(top, LEVEL.pte) & 1n).toBe(1n);
    expect(mm.stats().NrPte).toBe(spots.length + 1);
    expect(mm.exit().problems).toEqual([]);
  });
});

describe('scale: --arena-limit', () => {
  it('exceeding it is an ArenaFullError naming the limit, the operation and the fix', () => {
    const ops = [
      { kind: 'mmap' as const, addr: 0x200000000000, len: 64 * PMD_SIZE },
      ...Array.from({ length: 64 }, (_, i) => ({
        kind: 'touch' as const,
        addr: 0x200000000000 + i * PMD_SIZE,
        len: PAGE_SIZE,
        access: 'write' as const,
      })),
    ];
    let err: unknown;
    try {
      runOps(ops, { arenaLimitBytes: 32 * PAGE_SIZE, strategy: 'none' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ArenaFullError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/operation \d+ \(touch\)/);
    expect(msg).toMatch(/limit 32 frames/);
    expect(msg).toMatch(/--arena-limit/);
  });
});
