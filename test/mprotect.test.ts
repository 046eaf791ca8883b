/**
 * The model's mmap `prot=` and mprotect (trace v2, issue 12), each corner against what the
 * live kernel did (native/oracle/MEASURED.md section f): VMA split and merge by protection,
 * ENOMEM across a hole after the part before it changed, touches refused before any access,
 * MADV_DONTNEED on read-only and PROT_NONE memory, and a 2 MiB span split by mprotect keeping
 * its emptied table. Both cores; the batched run path must agree with the one-op path.
 */
import { describe, expect, it } from 'vitest';
import { expectCleanExit, MiB, newMm, ok, vmPteKb } from './helpers/mm.js';
import { runOps } from '../src/run.js';
import type { Mm } from '../src/mm/mm.js';
import type { Op } from '../src/trace/ops.js';

const X = 0x300000000000;
const K4 = 0x1000;

/** The VMAs as [start offset from X, end offset, protection word]. */
const layout = (mm: Mm) => mm.vmas.all().map((v) => [v.start - X, v.end - X, v.flags & 2 ? 'rw' : v.flags & 1 ? 'r' : 'none'] as const);

describe.each(['wasm', 'ts'] as const)('mprotect and mmap prot= (%s core)', (core) => {
  it('mprotect splits a VMA in three and merging back restores one VMA', () => {
    const mm = newMm('pt-reclaim', { core });
    ok(mm.mmap(X, 4 * MiB));
    ok(mm.mprotect(X + MiB, MiB, 'r'));
    expect(layout(mm)).toEqual([
      [0, MiB, 'rw'],
      [MiB, 2 * MiB, 'r'],
      [2 * MiB, 4 * MiB, 'rw'],
    ]);
    ok(mm.mprotect(X + MiB, MiB, 'rw'));
    expect(layout(mm)).toEqual([[0, 4 * MiB, 'rw']]);
    expectCleanExit(mm);
  });

  it('adjacent mmaps merge only with equal protection', () => {
    const mm = newMm('pt-reclaim', { core });
    ok(mm.mmap(X, MiB, 'r'));
    ok(mm.mmap(X + MiB, MiB, 'rw'));
    ok(mm.mmap(X + 2 * MiB, MiB, 'r'));
    expect(layout(mm)).toHaveLength(3);
    ok(mm.mmap(X + 3 * MiB, MiB, 'r'));
    expect(layout(mm)).toEqual([
      [0, MiB, 'r'],
      [MiB, 2 * MiB, 'rw'],
      [2 * MiB, 4 * MiB, 'r'],
    ]);
    expectCleanExit(mm);
  });

  it('a touched VMA made read-only merges with a prot=r neighbour (MAP_NORESERVE: no VM_ACCOUNT)', () => {
    const mm = newMm('pt-reclaim', { core });
    ok(mm.mmap(X, MiB));
    ok(mm.touch(X, MiB, 'write'));
    ok(mm.mprotect(X, MiB, 'r'));
    ok(mm.mmap(X + MiB, MiB, 'r'));
    expect(layout(mm)).toEqual([[0, 2 * MiB, 'r']]);
    ok(mm.madvise(X, 2 * MiB, 'dontneed'));
    expect(vmPteKb(mm)).toBe(8); // one VMA covers the span: PT_RECLAIM frees its table
    expectCleanExit(mm);
  });

  it('mprotect over VMAs that merge on the way applies to the whole range', () => {
    const mm = newMm('pt-reclaim', { core });
    ok(mm.mmap(X, 4 * MiB, 'none'));
    ok(mm.mmap(X + 4 * MiB, 4 * MiB));
    ok(mm.mprotect(X + 4 * MiB, 2 * MiB, 'r'));
    ok(mm.mprotect(X, 8 * MiB, 'rw'));
    expect(layout(mm)).toEqual([[0, 8 * MiB, 'rw']]);
    expectCleanExit(mm);
  });

  it('mprotect across a hole changes the part before it, then fails with ENOMEM', () => {
    const mm = newMm('pt-reclaim', { core });
    ok(mm.mmap(X, 4 * MiB, 'r'));
    ok(mm.mmap(X + 6 * MiB, 2 * MiB, 'r'));
    expect(mm.mprotect(X, 8 * MiB, 'rw')).toMatchObject({ ok: false, errno: 'ENOMEM' });
    expect(layout(mm)).toEqual([
      [0, 4 * MiB, 'rw'],
      [6 * MiB, 8 * MiB, 'r'],
    ]);
    ok(mm.touch(X, 4 * MiB, 'write'));
    // Starting in a hole: nothing changes.
    expect(mm.mprotect(X + 5 * MiB, 2 * MiB, 'none')).toMatchObject({ ok: false, errno: 'ENOMEM' });
    expect(layout(mm)[1]).toEqual([6 * MiB, 8 * MiB, 'r']);
    expect(mm.mprotect(X + 1, K4, 'r')).toMatchObject({ ok: false, errno: 'EINVAL' });
    expectCleanExit(mm);
  });

  it('mprotect leaves present pages and tables alone', () => {
    const mm = newMm('pt-reclaim', { core });
    ok(mm.mmap(X, 4 * MiB));
    ok(mm.touch(X, 4 * MiB, 'write'));
    const before = mm.stats();
    ok(mm.mprotect(X + K4, 3 * MiB, 'none'));
    ok(mm.mprotect(X, 4 * MiB, 'r'));
    expect(mm.stats().RssAnon).toBe(before.RssAnon);
    expect(vmPteKb(mm)).toBe(16);
    expectCleanExit(mm);
  });

  it('touch is refused with EFAULT before any access on prot=none, on prot=r for a write', () => {
    const mm = newMm('pt-reclaim', { core });
    ok(mm.mmap(X, 4 * MiB, 'r'));
    ok(mm.mprotect(X, 2 * MiB, 'rw'));
    // A write reaching from rw into r: refused whole, nothing faulted.
    expect(mm.touch(X, 4 * MiB, 'write')).toMatchObject({ ok: false, errno: 'EFAULT' });
    expect(mm.stats().RssAnon).toBe(0);
    expect(vmPteKb(mm)).toBe(0);
    ok(mm.mprotect(X + MiB, K4, 'none'));
    expect(mm.touch(X, 2 * MiB, 'read')).toMatchObject({ ok: false, errno: 'EFAULT' });
    expect(vmPteKb(mm)).toBe(0);
    ok(mm.touch(X, MiB, 'write'));
    expect(mm.stats().RssAnon).toBe(256);
    expectCleanExit(mm);
  });

  it('read faults on prot=r map the zero page: a table, no anonymous page', () => {
    const mm = newMm('pt-reclaim', { core });
    ok(mm.mmap(X, 4 * MiB, 'r'));
    ok(mm.touch(X, K4, 'read'));
    expect(vmPteKb(mm)).toBe(12);
    expect(mm.stats().RssAnon).toBe(0);
    ok(mm.mprotect(X, 2 * MiB, 'rw'));
    ok(mm.touch(X, K4, 'write'));
    expect(mm.stats().RssAnon).toBe(1);
    expectCleanExit(mm);
  });

  it('DONTNEED works on prot=none and prot=r, and reclaims a span one VMA covers', () => {
    const mm = newMm('pt-reclaim', { core });
    ok(mm.mmap(X, 4 * MiB));
    ok(mm.touch(X, 4 * MiB, 'write'));
    ok(mm.mprotect(X, 2 * MiB, 'none'));
    ok(mm.mprotect(X + 2 * MiB, 2 * MiB, 'r'));
    ok(mm.madvise(X, 4 * MiB, 'dontneed'));
    expect(mm.stats().RssAnon).toBe(0);
    expect(vmPteKb(mm)).toBe(8); // both PTE tables reclaimed, PMD + PUD left
    expectCleanExit(mm);
  });

  it('a 2 MiB span split between two VMAs by mprotect keeps its emptied table (measured)', () => {
    const mm = newMm('pt-reclaim', { core });
    ok(mm.mmap(X, 8 * MiB));
    ok(mm.touch(X, 2 * MiB, 'write'));
    ok(mm.mprotect(X + MiB, MiB, 'r'));
    const pte = vmPteKb(mm);
    ok(mm.madvise(X, 2 * MiB, 'dontneed'));
    expect(mm.stats().RssAnon).toBe(0);
    expect(vmPteKb(mm)).toBe(pte);
    // Once merged back, one call over one VMA frees it.
    ok(mm.mprotect(X + MiB, MiB, 'rw'));
    ok(mm.madvise(X, 2 * MiB, 'dontneed'));
    expect(vmPteKb(mm)).toBe(pte - 4);
    expectCleanExit(mm);
  });

  it('MADV_FREE still works on read-only memory', () => {
    const mm = newMm('pt-reclaim', { core });
    ok(mm.mmap(X, 2 * MiB));
    ok(mm.touch(X, 2 * MiB, 'write'));
    ok(mm.mprotect(X, 2 * MiB, 'r'));
    ok(mm.madvise(X, 2 * MiB, 'free'));
    expectCleanExit(mm);
  });
});

describe('runOps with prot= and mprotect', () => {
  const ops: Op[] = [
    { kind: 'mmap', addr: X, len: 4 * MiB, prot: 'r' },
    { kind: 'touch', addr: X, len: 4 * MiB, access: 'read' },
    { kind: 'touch', addr: X, len: K4, access: 'write' },
    { kind: 'mprotect', addr: X, len: 2 * MiB, prot: 'rw' },
    { kind: 'touch', addr: X, len: 2 * MiB, access: 'write' },
    { kind: 'mprotect', addr: X + MiB, len: 2 * MiB, prot: 'none' },
    { kind: 'touch', addr: X + MiB, len: K4, access: 'read' },
    { kind: 'madvise', addr: X, len: 4 * MiB, advice: 'dontneed' },
  ];

  it('counts mprotect, reports refused touches, and the batched path agrees with the one-op path', () => {
    const batched = runOps(ops, { strategy: 'pt-reclaim' });
    const oneByOne = runOps(ops, { strategy: 'pt-reclaim', check: true });
    for (const r of [batched, oneByOne]) {
      expect(r.opCounts).toEqual({ mmap: 1, munmap: 0, touch: 4, madvise: 1, mprotect: 2 });
      expect(r.errors.map((e) => [e.index, e.errno])).toEqual([
        [2, 'EFAULT'],
        [6, 'EFAULT'],
      ]);
      expect(r.exit.clean).toBe(true);
    }
    const { wallMs: _w1, opsPerSec: _o1, check: _c1, config: _g1, ...a } = batched;
    const { wallMs: _w2, opsPerSec: _o2, check: c2, config: _g2, ...b } = oneByOne;
    expect(a).toEqual(b);
    expect(c2.violationCount).toBe(0);
  });

  it('a v1 run has no mprotect count', () => {
    const r = runOps([{ kind: 'mmap', addr: X, len: K4 }]);
    expect(r.opCounts).toEqual({ mmap: 1, munmap: 0, touch: 0, madvise: 0 });
  });
});
