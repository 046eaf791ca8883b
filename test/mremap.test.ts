/**
 * mremap in the model (trace v2, issue 12): the cases of native/oracle/MEASURED.md section f
 * and the corners of test/fixtures/mremap-traces.ts on both cores, with the values the live
 * kernel gave (test/oracle-mremap.test.ts replays the same traces there); which tables move
 * whole and which entry by entry; entries of every kind travel; the TLB flushes move_ptes and
 * move_normal_pmd issue; the WASM core against the TypeScript reference on random sequences;
 * the checker clean under every strategy; refcount freeing a table move_ptes emptied.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Mm } from '../src/mm/mm.js';
import { WasmCore } from '../src/core/wasm.js';
import { ReferenceCore } from '../src/core/reference.js';
import { EntryKind, STAT_NAMES, type StatName } from '../src/core/types.js';
import { applyOp, runOps } from '../src/run.js';
import type { Op } from '../src/trace/ops.js';
import { expectCleanExit, GiB, MiB, newMm, ok, vmPteKb } from './helpers/mm.js';
import { MREMAP_TRACES, parseMremapTrace } from './fixtures/mremap-traces.js';

const B = 0x300000000000;
const K4 = 0x1000;

/** Run ops one by one: "VmPTE RssAnon [errno]" (kB) after each. */
function steps(mm: Mm, ops: readonly Op[]): string[] {
  return ops.map((op) => {
    const err = applyOp(mm, op);
    return `${vmPteKb(mm)} ${mm.stats().RssAnon * 4}${err ? ` ${err.errno}` : ''}`;
  });
}

/**
 * Per op of each corner trace, "VmPTE RssAnon [errno]" (kB) as the live kernel (6.18) gave them
 * (build/native/ptreclaim-oracle --per-op; test/oracle-mremap.test.ts checks them live).
 */
const LIVE: Record<string, string[]> = {
  measured: [
    '0 0',
    '16 4096',
    '16 4096',
    '20 4096',
    '24 4096',
    '24 4096',
    '24 4096',
    '24 4096',
    '24 4096 ENOMEM',
    '24 4096',
    '32 4096',
    '24 4096',
  ],
  errnos: [
    '0 0',
    '0 0',
    '12 2048',
    '12 2048 EINVAL',
    '12 2048 EINVAL',
    '12 2048 EINVAL',
    '12 2048 EINVAL',
    '12 2048 EINVAL',
    '12 2048 EFAULT',
    '12 2048 EFAULT',
    '12 2048 EFAULT',
    '12 2048 EFAULT',
    '12 2048 EFAULT',
    '12 2048 ENOMEM',
    '12 2048 EINVAL',
    '12 2048 EINVAL',
    '12 2048',
    '12 2048',
    '12 2048',
    '12 2048',
    '12 2048',
    '12 2048',
  ],
  realign: ['0 0', '16 3072', '16 3072', '16 3072', '16 3072', '20 3072'],
  'self-merge': ['0 0', '12 0', '12 0', '12 0', '12 0', '8 0', '12 2048', '16 2048', '12 2048', '8 0'],
  'fixed-resize': ['0 0', '16 4096', '16 4096', '24 8192', '20 4096', '20 3072', '16 2048', '16 2048 EFAULT'],
  'busy-destination': ['0 0', '12 2048', '12 2048', '16 2052', '16 1028', '12 1028', '12 1024', '12 1024'],
  pud: [
    '0 0',
    '12 4',
    '16 8',
    '20 2056',
    '20 2056',
    '20 2056',
    '28 2060',
    '20 2056',
    '24 2056',
    '24 2056',
    '40 6152',
    '48 6152',
    '52 6152',
  ],
  'multi-vma': [
    '0 0',
    '0 0',
    '0 0',
    '12 2048',
    '16 2048',
    '20 3072',
    '20 3072',
    '28 4096',
    '32 4096',
    '32 4096',
    '32 4096 EFAULT',
    '32 4096',
    '32 4096 EFAULT',
    '32 2048 ENOMEM',
  ],
  'huge-lengths': ['0 0', '16 4096', '16 4096', '12 4', '12 4', '12 4 EFAULT', '12 4 EFAULT', '12 4 EFAULT', '12 4 EINVAL'],
  'guard-markers': [
    '0 0',
    '16 4096',
    '16 4092',
    '16 4088',
    '16 4088',
    '16 4088 EFAULT',
    '16 2044',
    '24 2044',
    '24 2044 EFAULT',
    '24 0',
    '24 0',
    '24 0',
    '20 0',
    '16 0',
  ],
};

describe.each(['wasm', 'ts'] as const)('mremap (%s core)', (core) => {
  it.each(Object.keys(LIVE))('%s: VmPTE, RssAnon and errno after every op as the live kernel gave them', (name) => {
    const mm = newMm('pt-reclaim', { core });
    expect(steps(mm, parseMremapTrace(MREMAP_TRACES[name]!))).toEqual(LIVE[name]);
    expectCleanExit(mm);
  });

  it('covers every corner trace', () => expect(Object.keys(LIVE).sort()).toEqual(Object.keys(MREMAP_TRACES).sort()));

  it('the measured table: which tables moved whole, which entries one by one; pages move, none is copied', () => {
    const mm = newMm('pt-reclaim', { core });
    const ops = parseMremapTrace(MREMAP_TRACES.measured!);
    steps(mm, ops.slice(0, 2));
    const before = [...mm.core.leafEntries()];
    const pmdEntries = [0, 1].map((k) => mm.core.entryAt(B + k * 2 * MiB, 1));
    steps(mm, ops.slice(2, 3)); // B 4M -> B+10M: two PTE tables move whole
    expect(mm.stats().MremapPmdMoves).toBe(2);
    expect([0, 1].map((k) => mm.core.entryAt(B + 0xa00000 + k * 2 * MiB, 1))).toEqual(pmdEntries);
    expect([...mm.core.leafEntries()]).toEqual(before.map(([a, e]) => [a + 0xa00000, e]));
    steps(mm, ops.slice(3, 5)); // one more whole table, then one PTE by PTE into two tables
    const s = mm.stats();
    expect([s.MremapPmdMoves, s.MremapPudMoves, s.MremapPtesMoved]).toEqual([3, 0, 512]);
    expect(mm.core.leafEntries().size).toBe(1024);
    expectCleanExit(mm);
  });

  it('realignment: the move starts at the PMD boundary when nothing is mapped below either start', () => {
    const mm = newMm('pt-reclaim', { core });
    const ops = parseMremapTrace(MREMAP_TRACES.realign!);
    const moves = () => [mm.stats().MremapPmdMoves, mm.stats().MremapPtesMoved];
    steps(mm, ops.slice(0, 3)); // 3 MiB at +1M: the first table realigned and moved whole, then the next
    expect(moves()).toEqual([2, 0]);
    steps(mm, ops.slice(3, 5)); // a neighbour below the destination: the first 1 MiB entry by entry
    expect(moves()).toEqual([3, 256]);
    steps(mm, ops.slice(5, 6)); // offsets in the PMD differ (1 MiB, 0): every step entry by entry
    expect(moves()).toEqual([3, 1024]);
    expectCleanExit(mm);
  });

  it('a whole aligned GiB moves its PMD table (move_normal_pud)', () => {
    const mm = newMm('pt-reclaim', { core });
    ok(mm.mmap(B + GiB, GiB));
    ok(mm.touch(B + GiB + 3 * MiB, K4, 'write'));
    const pude = mm.core.entryAt(B + GiB, 2);
    ok(mm.mremap(B + GiB, GiB, GiB, B + 3 * GiB));
    expect(mm.stats().MremapPudMoves).toBe(1);
    expect(mm.stats().MremapPmdMoves).toBe(0);
    expect(mm.core.entryAt(B + 3 * GiB, 2)).toBe(pude);
    expect(mm.core.entryAt(B + GiB, 2)).toBe(0n);
    expect([...mm.core.leafEntries().keys()]).toEqual([B + 3 * GiB + 3 * MiB]);
    expectCleanExit(mm);
  });

  it('entries of every kind travel with the move, whole table or one by one, counters unchanged', () => {
    const kinds = [EntryKind.Swap, EntryKind.GuardMarker, EntryKind.Migration, EntryKind.UffdWpMarker, EntryKind.DevicePrivate];
    for (const [src, dst] of [
      [B, B + 0x40000000], // PMD-aligned: the PTE table moves whole
      [B + 0x3000, B + 0x40005000], // PTE by PTE
    ] as const) {
      const mm = newMm('pt-reclaim', { core });
      ok(mm.mmap(src, 2 * MiB));
      ok(mm.touch(src, 4 * K4, 'write'));
      ok(mm.touch(src + 4 * K4, K4, 'read')); // the zero page
      kinds.forEach((k, i) => expect(mm.installEntry(src + (8 + i) * K4, k)).toBe(0));
      const before = mm.stats();
      const entries = [...mm.core.leafEntries()].map(([a, e]) => [a - src, e]);
      ok(mm.mremap(src, 2 * MiB, 2 * MiB, dst));
      expect([...mm.core.leafEntries()].map(([a, e]) => [a - dst, e])).toEqual(entries);
      const after = mm.stats();
      for (const c of ['RssAnon', 'RssSwapEnts', 'RssFile'] as const) expect(after[c]).toBe(before[c]);
      expectCleanExit(mm);
    }
  });

  it('TLB: a whole-table move flushes the source 2 MiB (full); move_ptes a ranged flush over its extent', () => {
    const mm = newMm('pt-reclaim', { core });
    ok(mm.mmap(B, 4 * MiB));
    ok(mm.touch(B, 4 * MiB, 'write'));
    let s0 = mm.stats();
    ok(mm.mremap(B, 2 * MiB, 2 * MiB, B + 8 * MiB)); // the source PMD table stays: no table freed
    let s1 = mm.stats();
    expect([s1.TlbFlushFull - s0.TlbFlushFull, s1.TlbFlushRanged - s0.TlbFlushRanged]).toEqual([1, 0]);
    // 16 pages from an unaligned spot; the source table stays (the VMA keeps the rest).
    s0 = s1;
    ok(mm.mremap(B + 2 * MiB + 5 * K4, 16 * K4, 16 * K4, B + 16 * MiB + 7 * K4));
    s1 = mm.stats();
    expect([s1.TlbFlushFull - s0.TlbFlushFull, s1.TlbFlushRanged - s0.TlbFlushRanged, s1.TlbFlushStrides - s0.TlbFlushStrides]).toEqual([
      0, 1, 16,
    ]);
    expect(s1.MremapPtesMoved - s0.MremapPtesMoved).toBe(16);
    expectCleanExit(mm);
  });

  it('a shrink whose old range ends above TASK_SIZE is EINVAL from its munmap, nothing unmapped', () => {
    // Not measurable live (the range covers the helper's own mappings): do_vmi_munmap's check.
    const mm = newMm('pt-reclaim', { core });
    ok(mm.mmap(B, 2 * MiB));
    expect(mm.mremap(B, 0x500000000000, K4)).toMatchObject({ ok: false, errno: 'EINVAL' });
    expect(mm.vmas.all().map((v) => [v.start, v.end])).toEqual([[B, B + 2 * MiB]]);
    expectCleanExit(mm);
  });
});

// ---- the WASM core against the TypeScript reference ------------------------------------

const WINDOWS = [B, B + 3 * GiB - 6 * MiB, 0x380000000000 - 6 * MiB];
const WINDOW = 12 * MiB;
const pages = fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 1536 }), fc.constantFrom(512, 1024, 1536));
const addrArb = fc
  .tuple(fc.constantFrom(...WINDOWS), fc.integer({ min: 0, max: WINDOW / K4 - 1 }), fc.boolean())
  .map(([w, page, aligned]) => w + (aligned ? Math.floor((page * K4) / (2 * MiB)) * 2 * MiB : page * K4));
const lenArb = pages.map((n) => n * K4);
/** Where a move may go: inside the windows, or into untouched 1 GiB slots (whole-table moves). */
const newAddrArb = fc.oneof(
  addrArb,
  fc
    .tuple(fc.constantFrom(B + 8 * GiB, B + 9 * GiB + 6 * MiB, 0x400000000000 - 2 * MiB), fc.integer({ min: 0, max: 8 }), fc.boolean())
    .map(([base, k, aligned]) => base + k * (aligned ? 2 * MiB : 3 * K4)),
);
type Step = Op | { kind: 'install'; addr: number; entry: EntryKind };
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('mmap' as const), addr: addrArb, len: lenArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('munmap' as const), addr: addrArb, len: lenArb }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('touch' as const),
      addr: addrArb,
      len: lenArb,
      access: fc.constantFrom('write' as const, 'read' as const),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('madvise' as const),
      addr: addrArb,
      len: lenArb,
      advice: fc.constantFrom('dontneed' as const, 'free' as const, 'guard-install' as const, 'guard-remove' as const),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('mremap' as const), addr: addrArb, len: lenArb, newLen: lenArb }) },
  {
    weight: 4,
    arbitrary: fc
      .record({ kind: fc.constant('mremap' as const), addr: addrArb, len: lenArb, newLen: lenArb, newAddr: newAddrArb, same: fc.boolean() })
      .map(({ same, ...op }): Op => (same ? { ...op, newLen: op.len } : op)),
  },
  {
    // PMD-aligned moves of whole 2 MiB spans into untouched slots: whole PTE tables move.
    weight: 3,
    arbitrary: fc
      .tuple(fc.constantFrom(...WINDOWS), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 4 }))
      .map(([w, k, n, d]): Op => ({
        kind: 'mremap',
        addr: w + k * 2 * MiB,
        len: n * 2 * MiB,
        newLen: n * 2 * MiB,
        newAddr: B + 8 * GiB + d * 2 * MiB,
      })),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('install' as const),
      addr: addrArb,
      entry: fc.constantFrom(EntryKind.Swap, EntryKind.GuardMarker, EntryKind.Migration, EntryKind.UffdWpMarker),
    }),
  },
);
const scenarioArb = fc
  .array(stepArb, { minLength: 1, maxLength: 40 })
  .map((s): Step[] => [
    ...WINDOWS.map((w): Step => ({ kind: 'mmap', addr: w, len: WINDOW })),
    ...WINDOWS.map((w): Step => ({ kind: 'touch', addr: w + 2 * MiB, len: 4 * MiB, access: 'write' })),
    ...s,
  ]);

function step(mm: Mm, s: Step): unknown {
  if (s.kind === 'install') {
    const v = mm.vmas.find(s.addr);
    return v !== undefined && v.start <= s.addr ? mm.installEntry(s.addr, s.entry) : 'unmapped';
  }
  return applyOp(mm, s) ?? 'ok';
}

const BACKING_ONLY: ReadonlySet<StatName> = new Set(['ArenaFramesCapacity']);

describe.each(['pt-reclaim', 'none'] as const)('mremap: WASM core == TypeScript reference (%s)', (strategy) => {
  it('on random sequences with mremap in place and moving', () => {
    let moved = 0;
    let wholePmd = 0;
    let ptes = 0;
    fc.assert(
      fc.property(scenarioArb, (ss) => {
        const w = new Mm(new WasmCore('debug'), { strategy });
        const t = new Mm(new ReferenceCore(), { strategy });
        ss.forEach((s, i) => {
          const rw = step(w, s);
          expect(rw, `step ${i} ${JSON.stringify(s)}`).toEqual(step(t, s));
          if (s.kind === 'mremap' && rw === 'ok') moved++;
          const sw = w.stats();
          const st = t.stats();
          for (const n of STAT_NAMES) if (!BACKING_ONLY.has(n)) expect(sw[n], `${n} after step ${i} ${JSON.stringify(s)}`).toBe(st[n]);
        });
        expect(w.vmas.all()).toEqual(t.vmas.all());
        expect(w.core.tableBases()).toEqual(t.core.tableBases());
        expect(w.core.leafEntries()).toEqual(t.core.leafEntries());
        if (w.stats().MremapPmdMoves > 0) wholePmd++;
        if (w.stats().MremapPtesMoved > 0) ptes++;
        const ew = w.exit();
        expect(ew.problems).toEqual([]);
        expect(t.exit().problems).toEqual([]);
      }),
      { numRuns: 120, seed: 0x3e3a9 },
    );
    expect(moved).toBeGreaterThan(100); // the sequences do move and resize, not only fail
    expect(wholePmd).toBeGreaterThan(20); // and move whole tables
    expect(ptes).toBeGreaterThan(20);
  });
});

// ---- every strategy, checker on -------------------------------------------------------

const STRATEGIES = ['none', 'pt-reclaim', 'pt-reclaim-v1', 'async-scan', 'refcount'] as const;

describe.each(STRATEGIES)('mremap with the checker on (%s)', (strategy) => {
  it('every corner trace: no violation, clean exit', () => {
    for (const [name, body] of Object.entries(MREMAP_TRACES)) {
      const r = runOps(parseMremapTrace(body), { strategy, check: true });
      expect({ name, violations: r.check.violations, problems: r.exit.problems }).toEqual({ name, violations: [], problems: [] });
    }
  });

  it('random sequences: no violation, clean exit', () => {
    fc.assert(
      fc.property(scenarioArb, (ss) => {
        const mm = new Mm(new WasmCore('debug'), { strategy, check: true });
        // pt-reclaim-v1 frees tables that still map pages on a sub-PMD MADV_DONTNEED: the
        // checker's purpose there (test/checker.test.ts). Only what mremap adds is checked.
        const own = strategy === 'pt-reclaim-v1' ? ss.filter((s) => !(s.kind === 'madvise' && s.advice === 'dontneed')) : ss;
        own.forEach((s, i) => {
          step(mm, s);
          expect(mm.takeViolations(), `step ${i} ${JSON.stringify(s)}`).toEqual([]);
        });
        expect(mm.exit().problems).toEqual([]);
        expect(mm.takeViolations()).toEqual([]);
      }),
      { numRuns: 40, seed: 0x51ab },
    );
  });
});

describe('refcount and move_ptes', () => {
  // The source span keeps a VMA ([B, B+1M)) but all its entries moved: mainline keeps the empty
  // table until the span is unmapped; refcount frees it (its count reached zero).
  const ops = (): Op[] => [
    { kind: 'mmap', addr: B, len: 2 * MiB },
    { kind: 'touch', addr: B + MiB, len: MiB, access: 'write' },
    { kind: 'mremap', addr: B + MiB, len: MiB, newLen: MiB, newAddr: B + GiB + K4 },
  ];

  it('frees the source table move_ptes emptied; mainline keeps it', () => {
    const main = runOps(ops(), { strategy: 'pt-reclaim', check: true });
    const rc = runOps(ops(), { strategy: 'refcount', check: true });
    expect(main.vmPteKb - rc.vmPteKb).toBe(4);
    expect(rc.reclaim.refcount).toBe(1);
    expect(main.reclaim.refcount).toBe(0);
    expect(rc.mremap.ptesMoved).toBe(256);
    // Charged: a walker get/put on each side, one per entry cleared, one per entry installed.
    expect(rc.refcountAtomics - runOps(ops().slice(0, 2), { strategy: 'refcount' }).refcountAtomics).toBe(4 + 2 * 256);
    expect([main.check.violationCount, rc.check.violationCount, rc.exit.clean]).toEqual([0, 0, true]);
  });

  it('a whole-table move carries the count with the table: nothing freed', () => {
    const whole: Op[] = [...ops().slice(0, 2), { kind: 'mremap', addr: B, len: 2 * MiB, newLen: 2 * MiB, newAddr: B + GiB }];
    const rc = runOps(whole, { strategy: 'refcount', check: true });
    expect([rc.reclaim.refcount, rc.mremap.pmdMoves, rc.check.violationCount]).toEqual([0, 1, 0]);
  });
});
