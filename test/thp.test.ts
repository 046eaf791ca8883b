/**
 * Anonymous PMD-sized THP (assembly/huge_memory.ts, src/core/reference/huge_memory.ts,
 * src/mm/thp.ts): the measured corners (native/oracle/MEASURED.md section f) in both cores,
 * the --thp and --thp-zero-page settings, what each strategy does with huge PMDs and their
 * deposits (README "THP and the strategies"), the checker on THP paths, and the WASM core
 * against the TypeScript reference on random THP-heavy sequences.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Mm } from '../src/mm/mm.js';
import { WasmCore } from '../src/core/wasm.js';
import { ReferenceCore } from '../src/core/reference.js';
import { STAT_NAMES, type StatName } from '../src/core/types.js';
import { applyOp, runOps } from '../src/run.js';
import { resolveRunOptions, type ThpMode } from '../src/options.js';
import type { Op } from '../src/trace/ops.js';
import { parseTrace } from '../src/trace/parse.js';
import { MiB, ok, vmPteKb } from './helpers/mm.js';

const B = 0x300000000000;
const K4 = 0x1000;
const M2 = 2 * MiB;

function thpMm(core: 'wasm' | 'ts', opts: { strategy?: string; thp?: ThpMode; thpZeroPage?: boolean; check?: boolean } = {}): Mm {
  return new Mm(core === 'ts' ? new ReferenceCore() : new WasmCore('debug'), { strategy: 'pt-reclaim', ...opts });
}
const anonKb = (mm: Mm) => mm.stats().RssAnon * 4;
/** VmPTE and RssAnon in kB: what the live kernel's per-op deltas are measured in. */
const state = (mm: Mm) => [vmPteKb(mm), anonKb(mm)];

function expectCleanExit(mm: Mm): void {
  const r = mm.exit();
  expect(r.problems).toEqual([]);
  expect(mm.takeViolations()).toEqual([]);
}

describe.each(['wasm', 'ts'] as const)('THP corners as measured on the live kernel (%s core)', (core) => {
  it('the MEASURED.md THP table, op by op', () => {
    const mm = thpMm(core);
    const steps: [() => unknown, number, number][] = [
      [() => mm.mmap(B, 8 * MiB), 0, 0],
      [() => mm.madvise(B, 8 * MiB, 'hugepage'), 0, 0],
      [() => mm.touch(B, 1, 'write'), 12, 2048], // THP: PUD + PMD + the deposited table
      [() => mm.touch(B + M2, M2, 'write'), 16, 4096], // second THP: its deposit
      [() => mm.madvise(B + M2 + K4, K4, 'dontneed'), 16, 4092], // split: the deposit becomes the table
      [() => mm.madvise(B, M2, 'dontneed'), 12, 2044], // whole THP: the deposit is freed
      [() => mm.madvise(B + M2, M2, 'dontneed'), 8, 0], // split span: PT_RECLAIM frees its table
      [() => mm.touch(B + 2 * M2, 1, 'write'), 12, 2048],
      [() => mm.madvise(B + 2 * M2, M2, 'free'), 12, 2048], // MADV_FREE of a whole THP: still mapped
      [() => mm.touch(B + 3 * M2, 1, 'read'), 16, 2048], // huge zero page: its deposit counts
      [() => mm.touch(B + 3 * M2, 1, 'write'), 16, 4096], // a whole THP replaces it, no split
    ];
    for (const [i, [op, pte, anon]] of steps.entries()) {
      ok(op() as { ok: boolean });
      expect({ i, state: state(mm) }).toEqual({ i, state: [pte, anon] });
    }
    const s = mm.stats();
    expect([s.ThpFaultAlloc, s.ThpHugeZeroFaults, s.ThpDeposits, s.ThpSplitPmd, s.ThpZapPmd]).toEqual([4, 1, 4, 1, 1]);
    expect(mm.core.entryAt(B + 2 * M2, 1) & 0x80n).toBe(0x80n); // the lazyfree THP is still a huge PMD
    expectCleanExit(mm);
  });

  it('MADV_COLLAPSE: the PTE table becomes the deposit; EINVAL where there is no table', () => {
    const mm = thpMm(core);
    ok(mm.mmap(B, 4 * MiB));
    ok(mm.touch(B, K4, 'write'));
    expect(state(mm)).toEqual([12, 4]);
    ok(mm.madvise(B, M2, 'collapse')); // works without MADV_HUGEPAGE, ignores max_ptes_none
    expect(state(mm)).toEqual([12, 2048]);
    expect(mm.madvise(B + M2, M2, 'collapse')).toMatchObject({ ok: false, errno: 'EINVAL' });
    ok(mm.madvise(B, M2, 'collapse')); // already huge: counts as collapsed
    ok(mm.madvise(B + K4, M2, 'collapse')); // no whole aligned span in the range: nothing to do
    expect(mm.stats().ThpCollapse).toBe(1);
    ok(mm.madvise(B, 4 * MiB, 'nohugepage'));
    expect(mm.madvise(B, M2, 'collapse')).toMatchObject({ ok: false, errno: 'EINVAL' }); // VM_NOHUGEPAGE
    expectCleanExit(mm);
  });

  it('MADV_COLLAPSE stops at a span holding a guard marker (EINVAL, later spans untouched)', () => {
    const mm = thpMm(core);
    ok(mm.mmap(B, 6 * MiB));
    ok(mm.touch(B, 6 * MiB, 'write'));
    ok(mm.madvise(B + K4, K4, 'guard-install'));
    expect(mm.madvise(B, 6 * MiB, 'collapse')).toMatchObject({ ok: false, errno: 'EINVAL' });
    expect(mm.stats().ThpCollapse).toBe(0);
    ok(mm.madvise(B + M2, 4 * MiB, 'collapse'));
    expect(mm.stats().ThpCollapse).toBe(2);
    expectCleanExit(mm);
  });

  it('MADV_COLLAPSE needs an anon_vma, not writable pages (measured: zero-page and read-only tables collapse)', () => {
    const mm = thpMm(core);
    ok(mm.mmap(B + 4 * M2, M2));
    ok(mm.touch(B + 4 * M2, K4, 'read'));
    expect(mm.madvise(B + 4 * M2, M2, 'collapse')).toMatchObject({ ok: false, errno: 'EINVAL' }); // never written
    expect(mm.madvise(B + 4 * M2 + K4, K4, 'collapse')).toMatchObject({ ok: false, errno: 'EINVAL' }); // even with no whole span
    ok(mm.mmap(B, 4 * MiB));
    ok(mm.touch(B + M2, K4, 'write'));
    ok(mm.touch(B, 3 * K4, 'read'));
    ok(mm.madvise(B, M2, 'collapse')); // zero-page entries only: 512 new pages
    expect(anonKb(mm)).toBe(4 + 2048);
    ok(mm.mprotect(B + M2, M2, 'r'));
    ok(mm.madvise(B + M2, M2, 'collapse')); // read-only pages
    expect(anonKb(mm)).toBe(4096);
    expectCleanExit(mm);
  });

  it('a THP only where the aligned 2 MiB lies inside the VMA and the PMD is empty', () => {
    const mm = thpMm(core);
    ok(mm.mmap(B + MiB, 4 * MiB)); // aligned spans inside: only [B + 2 MiB, B + 4 MiB)
    ok(mm.madvise(B + MiB, 4 * MiB, 'hugepage'));
    ok(mm.touch(B + MiB, 4 * MiB, 'write'));
    expect(mm.stats().ThpFaultAlloc).toBe(1);
    expect(state(mm)).toEqual([20, 4096]); // 2 PTE tables + 1 deposit + PMD + PUD
    ok(mm.mmap(B + 6 * MiB, 4 * MiB));
    ok(mm.touch(B + 6 * MiB, K4, 'write')); // a PTE table before MADV_HUGEPAGE
    ok(mm.madvise(B + 6 * MiB, 4 * MiB, 'hugepage'));
    ok(mm.touch(B + 6 * MiB, M2, 'write')); // the span keeps getting 4 KiB pages
    expect(mm.stats().ThpFaultAlloc).toBe(1);
    ok(mm.touch(B + 8 * MiB, M2, 'write'));
    expect(mm.stats().ThpFaultAlloc).toBe(2);
    expectCleanExit(mm);
  });

  it('mprotect, munmap and MADV_NOHUGEPAGE inside a THP split it at the VMA boundary; whole ones keep it', () => {
    const mm = thpMm(core);
    ok(mm.mmap(B, 8 * MiB));
    ok(mm.madvise(B, 8 * MiB, 'hugepage'));
    ok(mm.touch(B, 8 * MiB, 'write'));
    expect(mm.stats().ThpFaultAlloc).toBe(4);
    ok(mm.mprotect(B + MiB, K4, 'r'));
    ok(mm.munmap(B + M2 + MiB, K4));
    ok(mm.madvise(B + 2 * M2 + MiB, K4, 'nohugepage'));
    ok(mm.mprotect(B + 3 * M2, M2, 'r')); // the whole THP: change_huge_pmd, no split
    expect(mm.stats().ThpSplitPmd).toBe(3);
    expect(state(mm)).toEqual([24, 8 * 1024 - 4]);
    ok(mm.madvise(B + 3 * M2 + K4, K4, 'free')); // part of a THP: split_folio
    expect(mm.stats().ThpSplitPmd).toBe(4);
    expect(anonKb(mm)).toBe(8 * 1024 - 4);
    expectCleanExit(mm);
  });

  it('MADV_FREE of part of a THP splits the folio: never-written subpages become the zero page (RSS drops)', () => {
    const mm = thpMm(core);
    const steps: [() => unknown, number, number][] = [
      [() => mm.mmap(B, 8 * MiB), 0, 0],
      [() => mm.madvise(B, 8 * MiB, 'hugepage'), 0, 0],
      [() => mm.touch(B, K4, 'write'), 12, 2048],
      [() => mm.madvise(B, K4, 'free'), 12, 4], // 511 never-written subpages remapped to the zero page
      [() => mm.touch(B + M2, K4, 'write'), 16, 2052],
      [() => mm.madvise(B + M2 + K4, K4, 'dontneed'), 16, 2048], // PMD split only: the folio stays large
      [() => mm.madvise(B + M2, K4, 'free'), 16, 8], // split_folio of the PTE-mapped THP
      [() => mm.touch(B + 2 * M2, 2 * K4, 'write'), 20, 2056],
      [() => mm.mprotect(B + 2 * M2 + MiB, K4, 'r'), 20, 2056],
      [() => mm.mprotect(B + 2 * M2 + MiB, K4, 'rw'), 20, 2056],
      [() => mm.madvise(B + 2 * M2, M2, 'free'), 20, 2056], // the whole PTE-mapped folio: no split
      [() => mm.touch(B + 3 * M2, K4, 'write'), 24, 4104],
      [() => mm.touch(B + 3 * M2 + 5 * K4, K4, 'write'), 24, 4104], // written through the huge PMD
      [() => mm.madvise(B + 3 * M2 + K4, K4, 'dontneed'), 24, 4100],
      [() => mm.madvise(B + 3 * M2, M2, 'free'), 24, 2064], // a hole: the 509 never-written subpages go
    ];
    for (const [i, [op, pte, anon]] of steps.entries()) {
      ok(op() as { ok: boolean });
      expect({ i, state: state(mm) }).toEqual({ i, state: [pte, anon] });
    }
    expect([mm.stats().ThpSplitFolio, mm.stats().ThpZeroRemapped]).toEqual([3, 511 + 510 + 509]);
    expectCleanExit(mm);
  });

  it('COLD, PAGEOUT, guard markers and POPULATE on THPs, op by op as measured', () => {
    const mm = thpMm(core);
    const steps: [() => { ok: boolean }, number, number][] = [
      [() => mm.mmap(B, 16 * MiB), 0, 0],
      [() => mm.madvise(B, 16 * MiB, 'hugepage'), 0, 0],
      [() => mm.touch(B, K4, 'write'), 12, 2048],
      [() => mm.madvise(B, M2, 'cold'), 12, 2048], // a whole THP stays
      [() => mm.touch(B + M2, K4, 'write'), 16, 4096],
      [() => mm.madvise(B + M2, M2, 'pageout'), 16, 2052], // no swap: split, 511 zero subpages go
      [() => mm.touch(B + 2 * M2, K4, 'write'), 20, 4100],
      [() => mm.madvise(B + 2 * M2, K4, 'cold'), 20, 2056], // part of one: split_folio
      [() => mm.touch(B + 3 * M2, K4, 'write'), 24, 4104],
      [() => mm.madvise(B + 3 * M2, M2, 'free'), 24, 4104],
      [() => mm.madvise(B + 3 * M2, M2, 'pageout'), 24, 2056], // lazyfree: discarded whole, table kept
      [() => mm.touch(B + 4 * M2, K4, 'write'), 28, 4104],
      [() => mm.madvise(B + 4 * M2 + K4, K4, 'guard-install'), 28, 4100], // splits it, zaps that page
      [() => mm.madvise(B + 4 * M2, M2, 'pageout'), 28, 2060], // the folio is split past the marker
      [() => mm.madvise(B + 5 * M2, M2, 'populate-read'), 32, 2060], // the huge zero page
      [() => mm.madvise(B + 5 * M2, M2, 'populate-write'), 32, 4108], // a THP, all zeros
      [() => mm.madvise(B + 5 * M2, K4, 'free'), 32, 2060], // so a folio split drops every page
    ];
    for (const [i, [op, pte, anon]] of steps.entries()) {
      ok(op());
      expect({ i, state: state(mm) }).toEqual({ i, state: [pte, anon] });
    }
    expect(mm.touch(B + 4 * M2 + K4, K4, 'write')).toMatchObject({ ok: false, errno: 'EFAULT' });
    expectCleanExit(mm);
  });

  it('a folio whose PTEs mremap scattered over tables is split in all of them (trace mremap-scattered-folio)', () => {
    const mm = thpMm(core);
    const steps: [() => unknown, number, number, number][] = [
      [() => mm.mmap(B, 8 * MiB), 0, 0, 0],
      [() => mm.madvise(B, 8 * MiB, 'hugepage'), 0, 0, 0],
      [() => mm.touch(B, 1, 'write'), 12, 2048, 0], // THP A: subpage 0 written
      [() => mm.touch(B + M2, M2, 'write'), 16, 4096, 0], // THP B: all written
      [() => mm.touch(B + 2 * M2, 1, 'write'), 20, 6144, 0], // THP C
      [() => mm.touch(B + 3 * M2, 1, 'write'), 24, 8192, 0], // THP D
      // A's second half moves to an unaligned address: A's PTEs now sit in two tables.
      [() => mm.mremap(B + MiB, MiB, MiB, B + 16 * MiB + K4), 28, 8192, 0],
      // MADV_FREE of A's first page splits the folio: 511 never-written subpages, in both tables.
      [() => mm.madvise(B, K4, 'free'), 28, 6148, 511],
      // All of C moves to an unaligned address (two tables): freeing it all still splits it.
      [() => mm.mremap(B + 2 * M2, M2, M2, B + 32 * MiB + K4), 32, 6148, 511],
      [() => mm.madvise(B + 32 * MiB + K4, M2, 'free'), 32, 4104, 1022],
      // D's second half and B's first half side by side in one table: 512 large PTEs, two folios.
      [() => mm.mremap(B + 7 * MiB, MiB, MiB, B + 48 * MiB), 36, 4104, 1022],
      [() => mm.mremap(B + M2, MiB, MiB, B + 49 * MiB), 36, 4104, 1022],
      [() => mm.madvise(B + 48 * MiB, M2, 'free'), 36, 2060, 1533],
    ];
    for (const [i, [op, pte, anon, remapped]] of steps.entries()) {
      ok(op() as { ok: boolean });
      expect({ i, state: [...state(mm), mm.stats().ThpZeroRemapped] }).toEqual({ i, state: [pte, anon, remapped] });
    }
    expect(mm.stats().ThpSplitFolio).toBe(4); // A, C, D, B: one split each
    expectCleanExit(mm);
  });

  it('the huge zero page: split by a partial zap, untouched by MADV_FREE, freed with its table', () => {
    const mm = thpMm(core);
    ok(mm.mmap(B, 4 * MiB));
    ok(mm.madvise(B, 4 * MiB, 'hugepage'));
    ok(mm.touch(B, M2, 'read'));
    expect(state(mm)).toEqual([12, 0]);
    ok(mm.madvise(B, M2, 'free'));
    ok(mm.madvise(B, K4, 'free'));
    expect(mm.stats().ThpSplitPmd).toBe(0);
    ok(mm.madvise(B + 0x10000, K4, 'dontneed')); // split into 512 zero-page entries
    expect(mm.stats().ThpSplitPmd).toBe(1);
    expect(mm.core.entryAt(B, 0)).not.toBe(0n);
    expect(state(mm)).toEqual([12, 0]);
    ok(mm.madvise(B, M2, 'dontneed'));
    expect(state(mm)).toEqual([8, 0]);
    expectCleanExit(mm);
  });
});

describe('--thp and --thp-zero-page', () => {
  const trace = parseTrace(`version 2
mmap 0x300000000000 4M
touch 0x300000000000 4K read
touch 0x300000200000 4K write
mmap 0x300000400000 4M
madvise 0x300000400000 4M hugepage
touch 0x300000400000 4K read
`);
  const run = (thp: ThpMode, thpZeroPage = true) => {
    const r = runOps(trace, { thp, thpZeroPage });
    return { vmPteKb: r.vmPteKb, anon: r.rss.anonPages, thp: r.thp };
  };
  it('madvise (the default): THPs in MADV_HUGEPAGE areas only', () => {
    expect(run('madvise')).toMatchObject({ vmPteKb: 20, anon: 1, thp: { faultAlloc: 0, hugeZeroPage: 1 } });
  });
  it('always: every eligible area; never: none even after MADV_HUGEPAGE', () => {
    expect(run('always')).toMatchObject({ vmPteKb: 20, anon: 512, thp: { faultAlloc: 1, hugeZeroPage: 2 } });
    expect(run('never')).toMatchObject({ vmPteKb: 20, anon: 1, thp: { faultAlloc: 0, hugeZeroPage: 0 } });
  });
  it('without the huge zero page a read fault allocates a whole THP', () => {
    expect(run('madvise', false)).toMatchObject({ anon: 513, thp: { faultAlloc: 1, hugeZeroPage: 0 } });
  });
  it('MADV_NOHUGEPAGE keeps even `always` away', () => {
    const r = runOps(
      parseTrace('version 2\nmmap 0x300000000000 4M\nmadvise 0x300000000000 4M nohugepage\ntouch 0x300000000000 4M write\n'),
      {
        thp: 'always',
      },
    );
    expect(r.thp.faultAlloc).toBe(0);
  });
  it('a bad mode is a clear error', () => {
    expect(() => resolveRunOptions({ thp: 'sometimes' as ThpMode })).toThrow(/--thp sometimes: expected one of always, madvise, never/);
  });
  it('MADV_HUGEPAGE splits and merges VMAs by flags, like mprotect', () => {
    const mm = thpMm('wasm');
    ok(mm.mmap(B, 8 * MiB));
    ok(mm.madvise(B + M2, M2, 'hugepage'));
    expect(mm.vmas.size).toBe(3);
    ok(mm.madvise(B + M2, M2, 'nohugepage'));
    expect(mm.vmas.size).toBe(3);
    ok(mm.madvise(B, 8 * MiB, 'hugepage'));
    expect(mm.vmas.size).toBe(1);
    expect(mm.madvise(B, 16 * MiB, 'nohugepage')).toMatchObject({ ok: false, errno: 'ENOMEM' });
    expect(mm.vmas.size).toBe(1);
    expectCleanExit(mm);
  });
});

describe('THP under every strategy (checker on)', () => {
  /** A whole THP, a split one emptied by partial zaps, a lazyfree one, a huge zero page. */
  const scenario = (mm: Mm) => {
    ok(mm.mmap(B, 8 * MiB));
    ok(mm.madvise(B, 8 * MiB, 'hugepage'));
    ok(mm.touch(B, 6 * MiB, 'write'));
    ok(mm.touch(B + 6 * MiB, K4, 'read'));
    ok(mm.madvise(B, M2, 'dontneed')); // zap_huge_pmd
    ok(mm.madvise(B + M2, MiB, 'dontneed')); // split, then sub-PMD zaps
    ok(mm.madvise(B + M2 + MiB, MiB, 'dontneed'));
    ok(mm.madvise(B + 2 * M2, M2, 'free'));
  };

  it.each([
    // [strategy, VmPTE after the scenario, PTE tables freed other than deposits]
    ['none', 20, 0], // the emptied split table stays
    ['pt-reclaim', 20, 0], // each zap covers half the span: no reclaim either
    ['refcount', 16, 1], // the split table's count reaches zero on the second zap
    ['async-scan', 20, 0], // VM_HUGEPAGE VMAs are never scanned
  ] as const)('%s', (strategy, pte, freedTables) => {
    const mm = thpMm('wasm', { strategy, check: true });
    scenario(mm);
    expect(vmPteKb(mm)).toBe(pte);
    const s = mm.stats();
    expect(s.FreedPte - s.ThpZapPmd).toBe(freedTables);
    expect(mm.takeViolations()).toEqual([]);
    expectCleanExit(mm);
  });

  it('pt-reclaim frees a split table emptied by one whole-span MADV_DONTNEED; none keeps it', () => {
    for (const [strategy, pte] of [
      ['pt-reclaim', 8],
      ['none', 12],
    ] as const) {
      const mm = thpMm('wasm', { strategy, check: true });
      ok(mm.mmap(B, 4 * MiB));
      ok(mm.madvise(B, 4 * MiB, 'hugepage'));
      ok(mm.touch(B, M2, 'write'));
      ok(mm.madvise(B + K4, K4, 'dontneed'));
      ok(mm.madvise(B, M2, 'dontneed'));
      expect({ strategy, pte: vmPteKb(mm) }).toEqual({ strategy, pte });
      expect(mm.takeViolations()).toEqual([]);
      expectCleanExit(mm);
    }
  });

  it('pt-reclaim-v1: a split THP is an ordinary table, so its sub-PMD wrap-around bug drops the other 510 pages', () => {
    const mm = thpMm('wasm', { strategy: 'pt-reclaim-v1', check: true });
    ok(mm.mmap(B, 4 * MiB));
    ok(mm.madvise(B, 4 * MiB, 'hugepage'));
    ok(mm.touch(B, M2, 'write'));
    ok(mm.madvise(B + K4, K4, 'dontneed')); // split, then the v1 range check wraps
    expect(mm.takeViolations().map((v) => v.check)).toContain('pages-dropped');
  });

  it('async-scan skips huge PMDs (`always`, no VM_HUGEPAGE) and frees a split table emptied by sub-PMD zaps', () => {
    const mm = thpMm('wasm', { strategy: 'async-scan', thp: 'always', check: true });
    ok(mm.mmap(B, 4 * MiB));
    ok(mm.touch(B, 4 * MiB, 'write'));
    ok(mm.madvise(B, MiB, 'dontneed'));
    ok(mm.madvise(B + MiB, MiB, 'dontneed'));
    const scanner = mm.scanner!;
    scanner.tick(1e15);
    scanner.runIfQueued(mm.vmas, 1e15);
    expect(vmPteKb(mm)).toBe(12); // PUD + PMD + the second THP's deposit
    expect(mm.stats().ReclaimScan).toBe(1);
    expect(mm.core.entryAt(B + M2, 1) & 0x80n).toBe(0x80n);
    expect(mm.takeViolations()).toEqual([]);
    expectCleanExit(mm);
  });
});

// Differential: the WASM core against the TypeScript reference on random THP-heavy sequences.
const WINDOW = 16 * MiB;
const PAGE = 4096;
const pageCount = fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 4 * 512 }), fc.constantFrom(512, 1024));
const addrArb = fc
  .tuple(fc.integer({ min: 0, max: WINDOW / PAGE - 1 }), fc.boolean())
  .map(([page, aligned]) => B + (aligned ? Math.floor((page * PAGE) / M2) * M2 : page * PAGE));
const lenArb = pageCount.map((n) => n * PAGE);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('mmap' as const), addr: addrArb, len: lenArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('munmap' as const), addr: addrArb, len: lenArb }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(addrArb, lenArb, addrArb, fc.boolean())
      .map(([addr, len, to, move]): Op =>
        move ? { kind: 'mremap', addr, len, newLen: len, newAddr: to + WINDOW } : { kind: 'mremap', addr, len, newLen: len * 2 },
      ),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('mprotect' as const),
      addr: addrArb,
      len: lenArb,
      prot: fc.constantFrom('rw' as const, 'r' as const),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('touch' as const),
      addr: addrArb,
      len: lenArb,
      access: fc.constantFrom('write' as const, 'read' as const),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('madvise' as const),
      addr: addrArb,
      len: lenArb,
      advice: fc.constantFrom(
        'dontneed' as const,
        'free' as const,
        'hugepage' as const,
        'nohugepage' as const,
        'collapse' as const,
        'guard-install' as const,
        'guard-remove' as const,
        'cold' as const,
        'pageout' as const,
        'populate-read' as const,
        'populate-write' as const,
      ),
    }),
  },
);
const scenarioArb = fc
  .tuple(fc.boolean(), fc.array(opArb, { minLength: 1, maxLength: 40 }))
  .map(([hugepage, ops]): Op[] => [
    { kind: 'mmap', addr: B, len: WINDOW },
    ...(hugepage ? [{ kind: 'madvise' as const, addr: B, len: WINDOW, advice: 'hugepage' as const }] : []),
    ...ops,
  ]);
const BACKING_ONLY: ReadonlySet<StatName> = new Set(['ArenaFramesCapacity']);

describe.each([
  ['pt-reclaim', 'madvise', true, true],
  ['pt-reclaim', 'always', false, true],
  ['none', 'always', true, false],
] as const)(
  'WASM core == TypeScript reference on THP paths (%s, --thp %s, huge zero page %s, zero page %s)',
  (strategy, thp, thpZeroPage, zeroPage) => {
    it('on random sequences: every counter, entry, table and VMA after every op; checker clean', () => {
      fc.assert(
        fc.property(scenarioArb, (ops) => {
          const w = new Mm(new WasmCore('debug'), { strategy, thp, thpZeroPage, zeroPage, check: true });
          const t = new Mm(new ReferenceCore(), { strategy, thp, thpZeroPage, zeroPage });
          ops.forEach((op, i) => {
            const where = `op ${i} ${JSON.stringify(op)}`;
            expect(applyOp(w, op), where).toEqual(applyOp(t, op));
            const sw = w.stats();
            const st = t.stats();
            for (const name of STAT_NAMES) if (!BACKING_ONLY.has(name)) expect(sw[name], `${where}: ${name}`).toBe(st[name]);
            expect(w.takeViolations(), where).toEqual([]);
          });
          expect(w.vmas.all()).toEqual(t.vmas.all());
          expect(w.core.tableBases()).toEqual(t.core.tableBases());
          expect(w.core.leafEntries()).toEqual(t.core.leafEntries());
          const ew = w.exit();
          expect(ew.problems).toEqual(t.exit().problems);
          expect(ew.problems).toEqual([]);
          expect(w.takeViolations()).toEqual([]);
        }),
        { numRuns: 60, seed: 0x7e9 },
      );
    });
  },
);
