/**
 * The corners of PT_RECLAIM and page-table freeing, each against the kernel's rules
 * (zap_pte_range, madvise_walk_vmas, free_pgd_range). Table counts are exact.
 */
import { describe, it, expect } from 'vitest';
import { newMm, vmPteKb, expectCleanExit, ok, MiB, GiB } from './helpers/mm.js';
import { EntryKind } from '../src/core/types.js';
import { DEFAULT_MMAP_BASE } from '../src/mm/mm.js';

const X = 0x300000000000; // 1 GiB-aligned, far from anything

describe.each(['wasm', 'ts'] as const)('mm corners (%s core)', (core) => {
  it('DONTNEED of part of a PMD span frees no table', () => {
    const mm = newMm('pt-reclaim', { core });
    ok(mm.mmap(X, 4 * MiB));
    ok(mm.touch(X, 4 * MiB, 'write'));
    expect(vmPteKb(mm)).toBe(16); // 2 PTE + 1 PMD + 1 PUD
    ok(mm.madvise(X + 0x1000, 0x1ff000, 'dontneed'));
    expect(vmPteKb(mm)).toBe(16);
    expect(mm.stats().RssAnon).toBe(1024 - 511);
    expect(mm.stats().ReclaimFast + mm.stats().ReclaimSlow).toBe(0);
    expectCleanExit(mm);
  });

  it('two calls each covering half a PMD free no table', () => {
    const mm = newMm('pt-reclaim', { core });
    ok(mm.mmap(X, 4 * MiB));
    ok(mm.touch(X, 4 * MiB, 'write'));
    ok(mm.madvise(X, 1 * MiB, 'dontneed'));
    ok(mm.madvise(X + 1 * MiB, 1 * MiB, 'dontneed'));
    expect(vmPteKb(mm)).toBe(16);
    // The table is empty now, but nobody looked at all of it in one call.
    expectCleanExit(mm);
  });

  it('an unaligned range reclaims the whole PMD spans in its middle', () => {
    const mm = newMm('pt-reclaim', { core });
    ok(mm.mmap(X, 8 * MiB));
    ok(mm.touch(X, 8 * MiB, 'write'));
    expect(vmPteKb(mm)).toBe(24);
    ok(mm.madvise(X + 1 * MiB, 6 * MiB, 'dontneed'));
    expect(mm.stats().NrPte).toBe(2);
    expect(vmPteKb(mm)).toBe(16);
    expect(mm.stats().ReclaimFast).toBe(2);
    expectCleanExit(mm);
  });

  it('adjacent mappings merge, so one DONTNEED covers their PMDs whole', () => {
    const mm = newMm('pt-reclaim', { core });
    ok(mm.mmap(X, 1 * MiB));
    ok(mm.mmap(X + 1 * MiB, 3 * MiB));
    expect(mm.vmas.size).toBe(1);
    ok(mm.touch(X, 4 * MiB, 'write'));
    ok(mm.madvise(X, 4 * MiB, 'dontneed'));
    expect(vmPteKb(mm)).toBe(8); // PMD + PUD only
    expectCleanExit(mm);
  });

  it('a range crossing a VMA boundary is zapped VMA by VMA', () => {
    const mm = newMm('pt-reclaim', { core });
    // A and C get different anon_vmas; B then merges with A only (prev/next incompatible).
    ok(mm.mmap(X, 1 * MiB));
    ok(mm.touch(X, 1 * MiB, 'write'));
    ok(mm.mmap(X + 3 * MiB, 1 * MiB));
    ok(mm.touch(X + 3 * MiB, 1 * MiB, 'write'));
    ok(mm.mmap(X + 1 * MiB, 2 * MiB));
    expect(mm.vmas.all().map((v) => [v.start - X, v.end - X])).toEqual([
      [0, 3 * MiB],
      [3 * MiB, 4 * MiB],
    ]);
    ok(mm.touch(X, 4 * MiB, 'write'));
    ok(mm.madvise(X, 4 * MiB, 'dontneed'));
    // PMD 0 was covered by one call; PMD 1 by two calls (one per VMA): it stays.
    expect(mm.stats().NrPte).toBe(1);
    expect(vmPteKb(mm)).toBe(12);
    expectCleanExit(mm);
  });

  it('holes: ENOMEM, and the mapped parts are still processed', () => {
    const mm = newMm('pt-reclaim', { core });
    ok(mm.mmap(X, 2 * MiB));
    ok(mm.mmap(X + 4 * MiB, 2 * MiB));
    ok(mm.touch(X, 2 * MiB, 'write'));
    ok(mm.touch(X + 4 * MiB, 2 * MiB, 'write'));
    const r = mm.madvise(X, 6 * MiB, 'dontneed');
    expect(r).toMatchObject({ ok: false, errno: 'ENOMEM' });
    expect(mm.stats().RssAnon).toBe(0);
    expect(vmPteKb(mm)).toBe(8);
    // A hole before the first VMA and after the last one, too.
    expect(mm.madvise(X - 2 * MiB, 2 * MiB, 'dontneed')).toMatchObject({ ok: false, errno: 'ENOMEM' });
    expect(mm.madvise(X + 6 * MiB, 2 * MiB, 'free')).toMatchObject({ ok: false, errno: 'ENOMEM' });
    expectCleanExit(mm);
  });

  it('munmap keeps tables a neighbouring VMA still uses (floor/ceiling)', () => {
    const mm = newMm('pt-reclaim', { core });
    ok(mm.mmap(X, 1 * MiB));
    ok(mm.mmap(X + 1 * MiB + 64 * 1024, 512 * 1024));
    ok(mm.touch(X, 1 * MiB, 'write'));
    ok(mm.touch(X + 1 * MiB + 64 * 1024, 512 * 1024, 'write'));
    expect(vmPteKb(mm)).toBe(12);
    ok(mm.munmap(X, 1 * MiB));
    expect(vmPteKb(mm)).toBe(12); // shared PTE table survives
    expect(mm.stats().RssAnon).toBe(128);
    ok(mm.munmap(X + 1 * MiB + 64 * 1024, 512 * 1024));
    expect(vmPteKb(mm)).toBe(0); // nothing left: every level goes
    expectCleanExit(mm);
  });

  it('munmap frees the PMD table when the previous VMA ends exactly where its 1 GiB span begins', () => {
    const mm = newMm('pt-reclaim', { core });
    const g = X + GiB; // 1 GiB-aligned
    ok(mm.mmap(g - 2 * MiB, 2 * MiB)); // ends exactly at g: the floor
    ok(mm.mmap(g + 2 * MiB, 2 * MiB));
    ok(mm.touch(g - 2 * MiB, 2 * MiB, 'write'));
    ok(mm.touch(g + 2 * MiB, 2 * MiB, 'write'));
    expect(mm.stats()).toMatchObject({ NrPte: 2, NrPmd: 2, NrPud: 1 });
    ok(mm.munmap(g + 2 * MiB, 2 * MiB));
    expect(mm.stats()).toMatchObject({ NrPte: 1, NrPmd: 1, NrPud: 1 });
    expectCleanExit(mm);
  });

  it('munmap in the middle of a VMA splits it and frees only wholly unused tables', () => {
    const mm = newMm('none', { core });
    ok(mm.mmap(X, 8 * MiB));
    ok(mm.touch(X, 8 * MiB, 'write'));
    ok(mm.munmap(X + 3 * MiB, 2 * MiB)); // [3M, 5M): no PMD span is wholly inside
    expect(mm.vmas.size).toBe(2);
    expect(mm.stats().NrPte).toBe(4);
    ok(mm.munmap(X + 2 * MiB, 4 * MiB)); // now [2M, 6M) is free: PMDs 1 and 2 go
    expect(mm.stats().NrPte).toBe(2);
    expectCleanExit(mm);
  });

  it('MADV_FREE keeps pages and tables; DONTNEED afterwards reclaims', () => {
    const mm = newMm('pt-reclaim', { core });
    ok(mm.mmap(X, 4 * MiB));
    ok(mm.touch(X, 4 * MiB, 'write'));
    ok(mm.madvise(X, 4 * MiB, 'free'));
    expect(vmPteKb(mm)).toBe(16);
    expect(mm.stats().RssAnon).toBe(1024);
    expect(mm.stats().LazyfreePages).toBe(1024);
    ok(mm.madvise(X, 4 * MiB, 'dontneed'));
    expect(vmPteKb(mm)).toBe(8);
    expect(mm.stats().RssAnon).toBe(0);
    expectCleanExit(mm);
  });

  it('read faults map the zero page: tables but no RSS; a write then copies', () => {
    const mm = newMm('pt-reclaim', { core });
    ok(mm.mmap(X, 4 * MiB));
    ok(mm.touch(X, 4 * MiB, 'read'));
    expect(vmPteKb(mm)).toBe(16);
    expect(mm.stats().RssAnon).toBe(0);
    expect(mm.stats().FaultZeroPage).toBe(1024);
    ok(mm.touch(X, 8192, 'write'));
    expect(mm.stats().FaultWpCopy).toBe(2);
    expect(mm.stats().RssAnon).toBe(2);
    ok(mm.madvise(X, 4 * MiB, 'dontneed'));
    expect(vmPteKb(mm)).toBe(8);
    expectCleanExit(mm);
  });

  it('a range crossing a 1 GiB boundary needs two PMD tables', () => {
    const mm = newMm('pt-reclaim', { core });
    const a = X + GiB - 2 * MiB;
    ok(mm.mmap(a, 4 * MiB));
    ok(mm.touch(a, 4 * MiB, 'write'));
    expect(mm.stats()).toMatchObject({ NrPte: 2, NrPmd: 2, NrPud: 1 });
    ok(mm.madvise(a, 4 * MiB, 'dontneed'));
    expect(mm.stats()).toMatchObject({ NrPte: 0, NrPmd: 2, NrPud: 1 });
    ok(mm.munmap(a, 4 * MiB));
    expect(vmPteKb(mm)).toBe(0);
    expectCleanExit(mm);
  });

  it('strategy none never frees a table in DONTNEED', () => {
    const mm = newMm('none', { core });
    ok(mm.mmap(X, 8 * MiB));
    ok(mm.touch(X, 8 * MiB, 'write'));
    ok(mm.madvise(X, 8 * MiB, 'dontneed'));
    expect(vmPteKb(mm)).toBe(24);
    expectCleanExit(mm);
  });

  it('the flushed TLB range runs from the first to the last zapped page, exactly (ceiling 33 pages)', () => {
    // DONTNEED of pages 0..63: page `zero` the zero page (a special entry), the next two never
    // touched, then pages written up to page 39. The first pages go one by one (the on-stack
    // bundle has room for 6), the later ones as 8-entry SIMD blocks in the SIMD build, one of
    // which holds page 39. Range zero..39: 34 pages from page 6, over the ceiling, a full
    // flush; 33 pages from page 7, ranged.
    const page = 0x1000;
    for (const [zero, full] of [
      [6, 1],
      [7, 0],
    ] as const) {
      const mm = newMm('none', { core });
      ok(mm.mmap(X, 64 * page));
      ok(mm.touch(X + zero * page, page, 'read'));
      ok(mm.touch(X + (zero + 3) * page, (37 - zero) * page, 'write'));
      const before = mm.stats();
      ok(mm.madvise(X, 64 * page, 'dontneed'));
      const s = mm.stats();
      expect([s.TlbFlushFull - before.TlbFlushFull, s.TlbFlushRanged - before.TlbFlushRanged], `zero page at ${zero}`).toEqual([
        full,
        1 - full,
      ]);
      expect(s.RssAnon).toBe(0);
      expectCleanExit(mm);
    }
  });

  it('a DONTNEED larger than the mmu_gather batches breaks once and goes slow there', () => {
    // 7 + 19 x 509 = 9,678 pages fit before a forced flush; 64 MiB is 16,384 pages.
    const mm = newMm('pt-reclaim', { core });
    ok(mm.mmap(X, 64 * MiB));
    ok(mm.touch(X, 64 * MiB, 'write'));
    ok(mm.madvise(X, 64 * MiB, 'dontneed'));
    const s = mm.stats();
    expect(s).toMatchObject({ ForceBreak: 1, ZapRetries: 1, ReclaimFast: 31, ReclaimSlow: 1, NrPte: 0 });
    expect(s.EntriesReadScan).toBe(512);
    expectCleanExit(mm);
  });

  it('--path slow frees the same tables, reading 512 more entries each', () => {
    const fast = newMm('pt-reclaim', { core, path: 'fast' });
    const slow = newMm('pt-reclaim', { core, path: 'slow' });
    for (const mm of [fast, slow]) {
      ok(mm.mmap(X, 16 * MiB));
      for (let a = X; a < X + 16 * MiB; a += 2 * MiB) {
        ok(mm.touch(a, 2 * MiB, 'write'));
        ok(mm.madvise(a, 2 * MiB, 'dontneed'));
      }
    }
    expect(vmPteKb(fast)).toBe(vmPteKb(slow));
    expect(fast.stats()).toMatchObject({ ReclaimFast: 8, ReclaimSlow: 0, EntriesReadScan: 0 });
    expect(slow.stats()).toMatchObject({ ReclaimFast: 0, ReclaimSlow: 8, EntriesReadScan: 8 * 512, PmdTrylockFail: 8 });
    expectCleanExit(fast);
    expectCleanExit(slow);
  });

  describe('non-present entries in the zap loop', () => {
    const setup = (kind: EntryKind) => {
      const mm = newMm('pt-reclaim', { core });
      ok(mm.mmap(X, 2 * MiB));
      ok(mm.touch(X, 1 * MiB, 'write'));
      expect(mm.installEntry(X + 1 * MiB, kind)).toBe(0);
      return mm;
    };
    it.each([
      ['swap', EntryKind.Swap, 'RssSwapEnts'],
      ['migration', EntryKind.Migration, 'RssAnon'],
      ['device-private', EntryKind.DevicePrivate, 'RssAnon'],
      ['device-exclusive', EntryKind.DeviceExclusive, 'RssAnon'],
      ['uffd-wp marker (anonymous VMA)', EntryKind.UffdWpMarker, undefined],
      ['hwpoison', EntryKind.Hwpoison, undefined],
      ['poisoned marker', EntryKind.PoisonedMarker, undefined],
    ] as const)('%s is zapped, accounted, and does not block reclaim', (_n, kind, counter) => {
      const mm = setup(kind);
      ok(mm.madvise(X, 2 * MiB, 'dontneed'));
      expect(mm.stats().NrPte).toBe(0);
      expect(mm.stats().RssAnon).toBe(0);
      if (counter) expect(mm.stats()[counter]).toBe(0);
      expectCleanExit(mm);
    });
    it('a guard marker survives DONTNEED and keeps its table; munmap drops it', () => {
      const mm = setup(EntryKind.GuardMarker);
      ok(mm.madvise(X, 2 * MiB, 'dontneed'));
      expect(mm.stats()).toMatchObject({ NrPte: 1, EntriesSkipped: 1, ReclaimFast: 0, ReclaimSlow: 0 });
      // A touch reaching a marker is refused whole before any access (the trace rule).
      expect(mm.touch(X + 1 * MiB, 4096, 'read')).toMatchObject({ ok: false, errno: 'EFAULT' });
      ok(mm.munmap(X, 2 * MiB));
      expect(vmPteKb(mm)).toBe(0);
      expectCleanExit(mm);
    });
    it('MADV_FREE drops swap entries but keeps markers', () => {
      const mm = setup(EntryKind.Swap);
      expect(mm.stats().RssSwapEnts).toBe(1);
      ok(mm.madvise(X, 2 * MiB, 'free'));
      expect(mm.stats().RssSwapEnts).toBe(0);
      expectCleanExit(mm);
    });
    it('touching a swap entry swaps it in', () => {
      const mm = setup(EntryKind.Swap);
      ok(mm.touch(X + 1 * MiB, 4096, 'write'));
      expect(mm.stats()).toMatchObject({ RssSwapEnts: 0, RssAnon: 257, FaultSwapIn: 1 });
      expectCleanExit(mm);
    });
  });

  it('syscall argument errors match the kernel', () => {
    const mm = newMm('pt-reclaim', { core });
    expect(mm.mmap(X + 1, 4096)).toMatchObject({ errno: 'EINVAL' });
    expect(mm.mmap(X, 0)).toMatchObject({ errno: 'EINVAL' });
    expect(mm.mmap(0x1000, 4096)).toMatchObject({ errno: 'EPERM' });
    expect(mm.mmap(2 ** 47 - 4096, 4096)).toMatchObject({ errno: 'ENOMEM' });
    ok(mm.mmap(X, 4096));
    expect(mm.mmap(X, 4096)).toMatchObject({ errno: 'EEXIST' });
    expect(mm.munmap(X + 1, 4096)).toMatchObject({ errno: 'EINVAL' });
    expect(mm.munmap(X, 0)).toMatchObject({ errno: 'EINVAL' });
    expect(mm.madvise(X + 1, 4096, 'dontneed')).toMatchObject({ errno: 'EINVAL' });
    ok(mm.madvise(X, 0, 'dontneed'));
    expect(mm.touch(X + 4096, 4096, 'write')).toMatchObject({ errno: 'EFAULT' });
    ok(mm.munmap(X + 8 * MiB, 4096)); // unmapping nothing succeeds
    expectCleanExit(mm);
  });

  it('exit returns every counter to zero after a mixed workload', () => {
    const mm = newMm('pt-reclaim', { core });
    ok(mm.mmap(X, 64 * MiB));
    ok(mm.mmap(X + 2 * GiB, 6 * MiB));
    ok(mm.touch(X, 10 * MiB, 'write'));
    ok(mm.touch(X + 2 * GiB, 6 * MiB, 'read'));
    ok(mm.madvise(X + 3 * MiB, 5 * MiB, 'dontneed'));
    ok(mm.madvise(X + 2 * GiB, 6 * MiB, 'free'));
    expect(mm.installEntry(X + 20 * MiB, EntryKind.GuardMarker)).toBe(0);
    expect(mm.installEntry(X + 21 * MiB, EntryKind.Swap)).toBe(0);
    expectCleanExit(mm);
  });
});

describe('top-down placement (Linux 6.12+)', () => {
  // Measured on the live kernel (native/oracle/MEASURED.md): a length that is a multiple of
  // 2 MiB gets the highest 2 MiB-aligned spot (the search is padded by 2 MiB); any other
  // length goes to the top of the highest gap that fits, which is directly below the
  // previous mapping only when no higher gap is left.
  it('follows the measured rule', () => {
    const mm = newMm();
    const lens = [2 * MiB, 0x1000, 0x3000, 4 * MiB, 0x5000];
    const [A, B, C, D, E] = lens.map((len) => {
      const r = mm.mmap(null, len);
      ok(r);
      return (r as { addr: number }).addr;
    }) as [number, number, number, number, number];
    expect(A % (2 * MiB)).toBe(0);
    expect(D % (2 * MiB)).toBe(0);
    expect(D + 4 * MiB).toBe(A); // the padded search lands right below A
    expect(B + 0x1000).toBe(DEFAULT_MMAP_BASE); // the gap above A (left by alignment) is higher
    expect(C + 0x3000).toBe(B);
    expect(E + 0x5000).toBe(C);
    expectCleanExit(mm);
  });
});
