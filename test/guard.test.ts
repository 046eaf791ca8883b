/**
 * Guard markers (MADV_GUARD_INSTALL / MADV_GUARD_REMOVE), MADV_POPULATE_READ/WRITE,
 * MADV_DONTNEED_LOCKED and MADV_WILLNEED / COLD / PAGEOUT on private anonymous memory: the
 * kernel's corners in both cores, every strategy, the checker, the batch path, and the WASM
 * core held against the TypeScript reference on random sequences. The live kernel's side of
 * the same facts is test/oracle-guard.test.ts.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Mm } from '../src/mm/mm.js';
import { VM_LOCKED } from '../src/mm/vma.js';
import { WasmCore } from '../src/core/wasm.js';
import { ReferenceCore } from '../src/core/reference.js';
import { EntryKind, STAT_NAMES, type StatName } from '../src/core/types.js';
import { applyOp, runOps } from '../src/run.js';
import type { Advice, Op } from '../src/trace/ops.js';
import { formatTrace, parseTrace } from '../src/trace/parse.js';
import { STRATEGY_NAMES } from '../src/strategies.js';
import { MiB, expectCleanExit, newMm, ok, vmPteKb } from './helpers/mm.js';

const B = 0x300000000000;
const PAGE = 4096;
const _PAGE_ACCESSED = 1n << 5n;
const _PAGE_DIRTY = 1n << 6n;

/** swp_entry(SWP_PTE_MARKER, PTE_MARKER_GUARD): type 31 in bits 63..59, the offset inverted in 58..9. */
const GUARD_MARKER = (31n << 59n) | ((((1n << 50n) - 1n) ^ 4n) << 9n);
/** What the PTE mapping addr is, among the kinds these tests meet. */
function kind(mm: Mm, addr: number): EntryKind {
  const e = mm.core.entryAt(addr, 0);
  if (e === 0n) return EntryKind.None;
  if (e === GUARD_MARKER) return EntryKind.GuardMarker;
  if ((e & 1n) !== 0n) return (e & (1n << 9n)) !== 0n ? EntryKind.ZeroPage : EntryKind.Page;
  throw new Error(`unexpected entry 0x${e.toString(16)} at 0x${addr.toString(16)}`);
}
const madv = (mm: Mm, addr: number, len: number, advice: Advice) => mm.madvise(addr, len, advice);
const err = (errno: string) => ({ ok: false, errno });

describe.each(['wasm', 'ts'] as const)('guard markers (%s core)', (core) => {
  it('install on untouched memory allocates PUD, PMD and PTE tables and writes markers', () => {
    const mm = newMm('pt-reclaim', { core });
    ok(mm.mmap(B, 4 * MiB));
    ok(madv(mm, B, PAGE, 'guard-install'));
    expect(vmPteKb(mm)).toBe(12);
    expect(kind(mm, B)).toBe(EntryKind.GuardMarker);
    expect(kind(mm, B + PAGE)).toBe(EntryKind.None);
    expect(mm.stats()).toMatchObject({ GuardMarkers: 1, GuardInstalled: 1, GuardInstallZaps: 0, RssAnon: 0 });
    // Markers make the range non-empty for the page tables: the VMA gets an anon_vma.
    expect(mm.vmas.at(0)!.anonVma).not.toBe(0);
    expectCleanExit(mm);
  });

  it('a touch reaching a marker is refused whole with EFAULT before any access', () => {
    const mm = newMm('pt-reclaim', { core });
    ok(mm.mmap(B, 4 * MiB));
    ok(madv(mm, B + PAGE, PAGE, 'guard-install'));
    const r = mm.touch(B, 2 * PAGE, 'write');
    expect(r).toMatchObject({ ok: false, errno: 'EFAULT' });
    expect(r.ok ? '' : r.detail).toBe(`address 0x${(B + PAGE).toString(16)} is a guard marker (the access would raise SIGSEGV)`);
    expect(kind(mm, B)).toBe(EntryKind.None); // the page before the marker was not faulted
    expect(mm.stats()).toMatchObject({ RssAnon: 0, FaultAnon: 0, FaultZeroPage: 0 });
    expect(mm.touch(B, PAGE, 'read')).toEqual({ ok: true });
    expect(mm.touch(B + 2 * PAGE, 2 * MiB, 'write')).toEqual({ ok: true });
    expectCleanExit(mm);
  });

  it('install zaps touched pages (markers already there stay), DONTNEED keeps markers and their table', () => {
    const mm = newMm('pt-reclaim', { core });
    ok(mm.mmap(B, 4 * MiB));
    ok(madv(mm, B, PAGE, 'guard-install'));
    ok(mm.touch(B + PAGE, 2 * MiB - PAGE, 'write'));
    expect(mm.stats().RssAnon).toBe(511);
    ok(madv(mm, B, 2 * PAGE, 'guard-install'));
    expect(mm.stats()).toMatchObject({ RssAnon: 510, GuardMarkers: 2, GuardInstalled: 2, GuardInstallZaps: 1, NrPte: 1 });
    expect(kind(mm, B + PAGE)).toBe(EntryKind.GuardMarker);
    ok(madv(mm, B, 2 * MiB, 'dontneed'));
    expect(mm.stats()).toMatchObject({ RssAnon: 0, GuardMarkers: 2, NrPte: 1, ReclaimFast: 0, ReclaimSlow: 0 });
    expect(vmPteKb(mm)).toBe(12);
    // Remove frees no table; then DONTNEED of the whole span reclaims it.
    ok(madv(mm, B, 2 * MiB, 'guard-remove'));
    expect(mm.stats()).toMatchObject({ GuardMarkers: 0, GuardRemoved: 2, NrPte: 1 });
    ok(madv(mm, B, 2 * MiB, 'dontneed'));
    expect(vmPteKb(mm)).toBe(8);
    expectCleanExit(mm);
  });

  it('install over zero-page entries and a lazyfree range zaps them too', () => {
    const mm = newMm('pt-reclaim', { core });
    ok(mm.mmap(B, 2 * MiB));
    ok(mm.touch(B, MiB, 'read'));
    ok(mm.touch(B + MiB, MiB, 'write'));
    ok(madv(mm, B + MiB, MiB, 'free'));
    ok(madv(mm, B, 2 * MiB, 'guard-install'));
    expect(mm.stats()).toMatchObject({ RssAnon: 0, GuardMarkers: 512, GuardInstallZaps: 1, NrPte: 1 });
    for (const a of [B, B + MiB, B + 2 * MiB - PAGE]) expect(kind(mm, a)).toBe(EntryKind.GuardMarker);
    // Installing again finds only markers: nothing to write, no zap.
    ok(madv(mm, B, 2 * MiB, 'guard-install'));
    expect(mm.stats()).toMatchObject({ GuardInstalled: 512, GuardInstallZaps: 1 });
    expectCleanExit(mm);
  });

  it('remove walks only existing tables; munmap and exit drop markers', () => {
    const mm = newMm('pt-reclaim', { core });
    ok(mm.mmap(B, 8 * MiB));
    ok(madv(mm, B, 8 * MiB, 'guard-remove'));
    expect(vmPteKb(mm)).toBe(0);
    ok(madv(mm, B + 2 * MiB, 4 * MiB, 'guard-install'));
    expect(mm.stats()).toMatchObject({ NrPte: 2, GuardMarkers: 1024 });
    ok(mm.munmap(B + 2 * MiB, 2 * MiB));
    expect(mm.stats()).toMatchObject({ NrPte: 1, GuardMarkers: 512, GuardRemoved: 0 });
    expectCleanExit(mm);
  });

  it('across a hole: both mapped parts get markers, then ENOMEM; any protection will do', () => {
    const mm = newMm('pt-reclaim', { core });
    ok(mm.mmap(B, 4 * MiB, 'none'));
    ok(mm.mmap(B + 6 * MiB, 2 * MiB, 'r'));
    expect(madv(mm, B, 8 * MiB, 'guard-install')).toMatchObject(err('ENOMEM'));
    expect(mm.stats()).toMatchObject({ NrPte: 3, GuardMarkers: 1536 });
    expect(madv(mm, B, 8 * MiB, 'guard-remove')).toMatchObject(err('ENOMEM'));
    expect(mm.stats()).toMatchObject({ NrPte: 3, GuardMarkers: 0 });
    expect(madv(mm, B, 8 * MiB, 'dontneed')).toMatchObject(err('ENOMEM'));
    expect(vmPteKb(mm)).toBe(8);
    expectCleanExit(mm);
  });

  it('VM_LOCKED: install, DONTNEED, FREE, COLD and PAGEOUT refused (EINVAL); remove and DONTNEED_LOCKED allowed', () => {
    const mm = newMm('pt-reclaim', { core });
    ok(mm.mmap(B, 2 * MiB));
    ok(mm.mmap(B + 2 * MiB, 2 * MiB, 'r'));
    ok(mm.touch(B, 2 * MiB, 'write'));
    ok(madv(mm, B + 2 * MiB, PAGE, 'guard-install'));
    mm.vmas.at(1)!.flags |= VM_LOCKED; // no trace op locks memory: set the flag as mlock would
    for (const advice of ['dontneed', 'free', 'cold', 'pageout'] as const) {
      expect(madv(mm, B, 4 * MiB, advice), advice).toMatchObject(err('EINVAL'));
    }
    // The unlocked VMA before the locked one was processed: DONTNEED freed its table.
    expect(mm.stats()).toMatchObject({ RssAnon: 0, NrPte: 1, GuardMarkers: 1 });
    expect(madv(mm, B, 4 * MiB, 'guard-install')).toMatchObject(err('EINVAL'));
    expect(mm.stats()).toMatchObject({ NrPte: 2, GuardMarkers: 513 });
    ok(madv(mm, B + 2 * MiB, 2 * MiB, 'guard-remove'));
    expect(mm.stats().GuardMarkers).toBe(512);
    ok(madv(mm, B + 2 * MiB, 2 * MiB, 'dontneed-locked'));
    expect(vmPteKb(mm)).toBe(12);
    expect(madv(mm, B + 2 * MiB, 2 * MiB, 'willneed')).toEqual({ ok: true });
    expectCleanExit(mm);
  });
});

describe.each(['wasm', 'ts'] as const)('MADV_POPULATE_READ / WRITE (%s core)', (core) => {
  it('fault like a touch of the same kind', () => {
    for (const [advice, access] of [
      ['populate-write', 'write'],
      ['populate-read', 'read'],
    ] as const) {
      const a = newMm('pt-reclaim', { core });
      const b = newMm('pt-reclaim', { core });
      for (const mm of [a, b]) ok(mm.mmap(B, 4 * MiB));
      ok(madv(a, B + PAGE, 3 * MiB, advice));
      ok(b.touch(B + PAGE, 3 * MiB, access));
      expect(a.stats()).toEqual(b.stats());
      expect(a.core.leafEntries()).toEqual(b.core.leafEntries());
      expect(a.vmas.all()).toEqual(b.vmas.all()); // populate-write prepares the anon_vma too
      expectCleanExit(a);
      expectCleanExit(b);
    }
  });

  it('EINVAL where the access is not allowed, ENOMEM at a hole, EFAULT at a marker: the pages before are populated', () => {
    const mm = newMm('pt-reclaim', { core });
    ok(mm.mmap(B, 2 * MiB));
    ok(mm.mmap(B + 2 * MiB, 2 * MiB, 'r'));
    ok(mm.mmap(B + 4 * MiB, 2 * MiB, 'none'));
    expect(madv(mm, B + 2 * MiB, PAGE, 'populate-write')).toMatchObject(err('EINVAL'));
    expect(madv(mm, B + 4 * MiB, PAGE, 'populate-read')).toMatchObject(err('EINVAL'));
    expect(vmPteKb(mm)).toBe(0);
    expect(madv(mm, B + MiB, 2 * MiB, 'populate-write')).toMatchObject(err('EINVAL'));
    expect(mm.stats()).toMatchObject({ RssAnon: 256, NrPte: 1 });
    ok(madv(mm, B + 2 * MiB, 2 * MiB, 'populate-read'));
    expect(mm.stats()).toMatchObject({ FaultZeroPage: 512, NrPte: 2 });
    expect(madv(mm, B + 6 * MiB, PAGE, 'populate-read')).toMatchObject(err('ENOMEM'));
    expect(madv(mm, B + 5 * MiB, 2 * MiB, 'populate-read')).toMatchObject(err('EINVAL')); // prot=none comes first
    ok(mm.munmap(B + 4 * MiB, 2 * MiB));
    expect(madv(mm, B + 3 * MiB, 2 * MiB, 'populate-read')).toMatchObject(err('ENOMEM'));
    ok(madv(mm, B + 16 * PAGE, PAGE, 'guard-install'));
    expect(madv(mm, B, MiB, 'populate-write')).toMatchObject(err('EFAULT'));
    expect(mm.stats()).toMatchObject({ RssAnon: 256 + 16, FaultAnon: 256 + 16 }); // the 16 pages before the marker
    expect(kind(mm, B + 15 * PAGE)).toBe(EntryKind.Page);
    expect(kind(mm, B + 17 * PAGE)).toBe(EntryKind.None);
    expect(madv(mm, B, MiB, 'populate-read')).toMatchObject(err('EFAULT'));
    expectCleanExit(mm);
  });
});

describe.each(['wasm', 'ts'] as const)('MADV_COLD / PAGEOUT / WILLNEED, no swap (%s core)', (core) => {
  it('change no table and no counter on touched memory; COLD and PAGEOUT clear the accessed bit', () => {
    const mm = newMm('pt-reclaim', { core });
    ok(mm.mmap(B, 4 * MiB));
    ok(mm.touch(B, 2 * MiB, 'write'));
    ok(mm.touch(B + 2 * MiB, 2 * MiB, 'read'));
    const rss = mm.stats().RssAnon;
    for (const advice of ['willneed', 'cold', 'pageout'] as const) {
      ok(madv(mm, B, 4 * MiB, advice));
      expect(mm.stats()).toMatchObject({ RssAnon: rss, NrPte: 2, LazyfreeDiscarded: 0 });
    }
    expect(mm.core.entryAt(B, 0) & _PAGE_ACCESSED).toBe(0n);
    expect(mm.core.entryAt(B, 0) & _PAGE_DIRTY).toBe(_PAGE_DIRTY);
    expect(kind(mm, B + 2 * MiB)).toBe(EntryKind.ZeroPage); // the zero page has no folio: left alone
    expectCleanExit(mm);
  });

  it('PAGEOUT after FREE discards the pages still clean, keeps the rewritten ones and the emptied table', () => {
    const mm = newMm('pt-reclaim', { core });
    ok(mm.mmap(B, 8 * MiB));
    ok(mm.touch(B, 4 * MiB, 'write'));
    ok(madv(mm, B, 4 * MiB, 'free'));
    ok(mm.touch(B, PAGE, 'write')); // re-dirtied: kept
    ok(mm.touch(B + PAGE, PAGE, 'read')); // read only: still lazyfree
    ok(madv(mm, B + 2 * PAGE, PAGE, 'populate-write')); // re-dirtied
    ok(madv(mm, B + 3 * PAGE, PAGE, 'populate-read'));
    ok(madv(mm, B, 16 * PAGE, 'pageout'));
    expect(mm.stats()).toMatchObject({ RssAnon: 1024 - 14, LazyfreeDiscarded: 14 });
    expect(kind(mm, B)).toBe(EntryKind.Page);
    expect(kind(mm, B + PAGE)).toBe(EntryKind.None);
    expect(kind(mm, B + 2 * PAGE)).toBe(EntryKind.Page);
    ok(madv(mm, B, 2 * MiB, 'cold'));
    expect(mm.stats().RssAnon).toBe(1024 - 14); // COLD frees nothing
    ok(madv(mm, B, 2 * MiB, 'pageout'));
    expect(mm.stats().RssAnon).toBe(512 + 2);
    ok(madv(mm, B, 2 * MiB, 'free'));
    ok(madv(mm, B, 2 * MiB, 'pageout'));
    expect(mm.stats()).toMatchObject({ RssAnon: 512, NrPte: 2 }); // empty table kept: no PT_RECLAIM
    ok(madv(mm, B, 2 * MiB, 'dontneed'));
    expect(mm.stats().NrPte).toBe(1);
    // Over a hole: the mapped part is processed, then ENOMEM.
    expect(madv(mm, B, 16 * MiB, 'pageout')).toMatchObject(err('ENOMEM'));
    expect(madv(mm, B, 16 * MiB, 'willneed')).toMatchObject(err('ENOMEM'));
    expectCleanExit(mm);
  });

  it('DONTNEED_LOCKED zaps and reclaims exactly as DONTNEED', () => {
    const a = newMm('pt-reclaim', { core });
    const b = newMm('pt-reclaim', { core });
    for (const [mm, advice] of [
      [a, 'dontneed'],
      [b, 'dontneed-locked'],
    ] as const) {
      ok(mm.mmap(B, 8 * MiB));
      ok(mm.touch(B, 8 * MiB, 'write'));
      ok(madv(mm, B + MiB, 6 * MiB, advice));
    }
    expect(b.stats()).toEqual(a.stats());
    expect(vmPteKb(b)).toBe(16);
    expectCleanExit(a);
    expectCleanExit(b);
  });
});

describe('every strategy handles markers and the new advices', () => {
  // One line per strategy where upstream designs did not say what they do:
  // - refcount: a marker is a non-none entry (pte_get on install, pte_put on remove); a
  //   table whose count reaches zero is freed from whatever cleared its last entry: a zap,
  //   MADV_GUARD_REMOVE, or PAGEOUT discarding lazyfree pages.
  // - async-scan: a table holding a marker is not empty, so the scanner keeps it.
  // - pt-reclaim-v1: a marker is an entry left in place, which disables the reclaim.
  const scenario = (strategy: string) => {
    const mm = new Mm(new WasmCore('debug'), { strategy, check: true });
    ok(mm.mmap(B, 4 * MiB));
    ok(mm.touch(B, 2 * MiB, 'write'));
    ok(madv(mm, B + PAGE, PAGE, 'guard-install'));
    ok(madv(mm, B, 2 * MiB, 'dontneed'));
    const kept = mm.stats().NrPte;
    ok(madv(mm, B, 2 * MiB, 'guard-remove'));
    const afterRemove = mm.stats().NrPte;
    ok(madv(mm, B, 2 * MiB, 'dontneed'));
    const afterDontneed = mm.stats().NrPte;
    return { mm, kept, afterRemove, afterDontneed };
  };

  it.each(STRATEGY_NAMES)('%s: the marker keeps its table through DONTNEED; after removal each design does its own', (strategy) => {
    const { mm, kept, afterRemove, afterDontneed } = scenario(strategy);
    expect(kept).toBe(1);
    const expected: Record<string, [number, number]> = {
      none: [1, 1],
      'pt-reclaim': [1, 0],
      'pt-reclaim-v1': [1, 0],
      'async-scan': [1, 1], // freed by a later scan pass, not by the syscalls
      refcount: [0, 0], // the last cleared marker drops the count to zero
    };
    expect([afterRemove, afterDontneed]).toEqual(expected[strategy]);
    expect(mm.takeViolations()).toEqual([]);
    expectCleanExit(mm);
  });

  it('async-scan frees the table once the marker is gone, never while it is there', () => {
    const mm = new Mm(new WasmCore('debug'), { strategy: 'async-scan', check: true });
    ok(mm.mmap(B, 2 * MiB));
    ok(madv(mm, B, PAGE, 'guard-install'));
    ok(mm.mmap(B + 4 * MiB, 2 * MiB));
    const spin = () => {
      for (let i = 0; i < 40; i++) {
        ok(mm.touch(B + 4 * MiB, 2 * MiB, 'write'));
        ok(madv(mm, B + 4 * MiB, 2 * MiB, 'dontneed'));
      }
    };
    spin();
    expect(mm.stats().ScanPasses).toBeGreaterThan(1);
    expect(mm.core.entryAt(B, 1)).not.toBe(0n);
    ok(madv(mm, B, PAGE, 'guard-remove'));
    spin();
    expect(mm.core.entryAt(B, 1)).toBe(0n);
    expect(mm.takeViolations()).toEqual([]);
    expectCleanExit(mm);
  });

  it('refcount frees a table PAGEOUT emptied; pt-reclaim keeps it', () => {
    const mms = ['pt-reclaim', 'refcount'].map((s) => new Mm(new WasmCore('debug'), { strategy: s, check: true }));
    for (const mm of mms) {
      ok(mm.mmap(B, 2 * MiB));
      ok(mm.touch(B, 2 * MiB, 'write'));
      ok(madv(mm, B, 2 * MiB, 'free'));
      ok(madv(mm, B, 2 * MiB, 'pageout'));
      expect(mm.stats().RssAnon).toBe(0);
    }
    expect(mms.map((mm) => mm.stats().NrPte)).toEqual([1, 0]);
    expect(mms[1]!.stats().RefcountAtomics).toBeGreaterThan(mms[0]!.stats().RefcountAtomics);
    for (const mm of mms) {
      expect(mm.takeViolations()).toEqual([]);
      expectCleanExit(mm);
    }
  });
});

// ---- random sequences -------------------------------------------------------------------

const WINDOW = 12 * MiB;
const ADVICES: readonly Advice[] = [
  'dontneed',
  'free',
  'guard-install',
  'guard-remove',
  'populate-read',
  'populate-write',
  'dontneed-locked',
  'willneed',
  'cold',
  'pageout',
];
const pageCount = fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 3 * 512 }), fc.constantFrom(512, 1024));
const addrArb = fc
  .tuple(fc.integer({ min: 0, max: WINDOW / PAGE - 1 }), fc.boolean())
  .map(([page, aligned]) => B + (aligned ? Math.floor((page * PAGE) / (2 * MiB)) * 2 * MiB : page * PAGE));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('mmap' as const), addr: addrArb, len: pageCount.map((n) => n * PAGE) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('munmap' as const), addr: addrArb, len: pageCount.map((n) => n * PAGE) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('mprotect' as const),
      addr: addrArb,
      len: pageCount.map((n) => n * PAGE),
      prot: fc.constantFrom('rw' as const, 'r' as const, 'none' as const),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('touch' as const),
      addr: addrArb,
      len: pageCount.map((n) => n * PAGE),
      access: fc.constantFrom('write' as const, 'read' as const),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('madvise' as const),
      addr: addrArb,
      len: pageCount.map((n) => n * PAGE),
      advice: fc.constantFrom(...ADVICES),
    }),
  },
);
const opsArb = fc.array(opArb, { minLength: 1, maxLength: 40 }).map((ops): Op[] => [{ kind: 'mmap', addr: B, len: WINDOW }, ...ops]);

const BACKING_ONLY: ReadonlySet<StatName> = new Set(['ArenaFramesCapacity']);
function sameStats(a: Mm, b: Mm, where: string): void {
  const sa = a.stats();
  const sb = b.stats();
  for (const name of STAT_NAMES) {
    if (!BACKING_ONLY.has(name) && sa[name] !== sb[name]) throw new Error(`${where}: ${name}: wasm ${sa[name]} vs ts ${sb[name]}`);
  }
}

describe.each(['pt-reclaim', 'none'] as const)('WASM core == TypeScript reference with the new advices (%s)', (strategy) => {
  it('on random sequences: same results, counters, tables and entries', () => {
    fc.assert(
      fc.property(opsArb, (ops) => {
        const w = new Mm(new WasmCore('debug'), { strategy });
        const t = new Mm(new ReferenceCore(), { strategy });
        ops.forEach((op, i) => {
          expect(applyOp(w, op), `op ${i} ${JSON.stringify(op)}`).toEqual(applyOp(t, op));
          sameStats(w, t, `after op ${i} ${JSON.stringify(op)}`);
        });
        expect(w.vmas.all()).toEqual(t.vmas.all());
        expect(w.core.tableBases()).toEqual(t.core.tableBases());
        expect(w.core.leafEntries()).toEqual(t.core.leafEntries());
        const ew = w.exit();
        expect(ew.problems).toEqual([]);
        expect(t.exit().problems).toEqual([]);
        sameStats(w, t, 'after exit');
        expect(ew.stats.GuardMarkers).toBe(0);
      }),
      { numRuns: 120, seed: 0x9a4d },
    );
  });
});

describe('checker and exit stay clean on random sequences, every strategy', () => {
  it.each(STRATEGY_NAMES)('%s', (strategy) => {
    fc.assert(
      fc.property(opsArb, (ops) => {
        const r = runOps(ops, { strategy, check: true });
        expect(r.check.violations).toEqual([]);
        expect(r.exit.problems).toEqual([]);
      }),
      { numRuns: 40, seed: 0x6a7d },
    );
  });
});

describe('the batch path refuses a touch at a marker exactly as the one-op path', () => {
  it('same errors, counters and time batched and one by one (timeline forces one by one)', () => {
    const ops: Op[] = [{ kind: 'mmap', addr: B, len: 8 * MiB }];
    for (let i = 0; i < 300; i++) ops.push({ kind: 'touch', addr: B + (i % 64) * 32 * PAGE, len: 40 * PAGE, access: 'write' });
    ops.push({ kind: 'madvise', addr: B + 7 * MiB, len: PAGE, advice: 'guard-install' });
    ops.push({ kind: 'madvise', addr: B + 20 * PAGE, len: 2 * PAGE, advice: 'guard-install' });
    for (let i = 0; i < 3000; i++) {
      ops.push({ kind: 'touch', addr: B + (i % 200) * 8 * PAGE, len: 8 * PAGE, access: i % 3 ? 'write' : 'read' });
      if (i % 50 === 0) ops.push({ kind: 'madvise', addr: B + 2 * MiB, len: 2 * MiB, advice: 'dontneed' });
      if (i % 70 === 0) ops.push({ kind: 'madvise', addr: B + 4 * MiB, len: 2 * MiB, advice: 'dontneed-locked' });
    }
    const batched = runOps(ops, { strategy: 'pt-reclaim' });
    const single = runOps(ops, { strategy: 'pt-reclaim', timeline: true });
    expect(batched.errorCount).toBeGreaterThan(0);
    expect(batched.errors.every((e) => e.errno === 'EFAULT')).toBe(true);
    expect(batched.errors).toEqual(single.errors);
    expect(batched.errorCount).toBe(single.errorCount);
    const { wallMs: _w1, opsPerSec: _o1, arena: _a1, ...b } = batched;
    const { wallMs: _w2, opsPerSec: _o2, arena: _a2, timeline: _t, ...s } = single;
    expect(b).toEqual(s);
    // The trace file path agrees too (written and read back).
    expect(parseTrace(formatTrace(ops)).length).toBe(ops.length);
  });
});
