/**
 * The model's mremap against the live kernel, op by op: each corner trace is replayed by the
 * helper (`--per-op`) and by the model, and VmPTE, RssAnon and every errno must agree after
 * every op (native/oracle/MEASURED.md section f, plus the corners the driver has to get right:
 * PMD realignment, self-merge of an unwritten VMA, FIXED grow and shrink, a busy destination,
 * the PUD and PGD boundaries, several VMAs with gaps, every errno). A property test then
 * replays random mremap sequences the same way. Skipped (visibly) where the oracle cannot run.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseTraceBytes, opsOfBatches } from '../src/trace/reader.js';
import { formatTrace } from '../src/trace/parse.js';
import { Mm } from '../src/mm/mm.js';
import { WasmCore } from '../src/core/wasm.js';
import { applyOp } from '../src/run.js';
import { runLiveTrace } from '../src/oracle/live.js';
import { zeroPageFromCmdline } from '../src/oracle/host.js';
import type { Op } from '../src/trace/ops.js';
import { readFileSync } from 'node:fs';
import { liveSkipReason, reportSkip } from './fixtures/live.js';

/** The corner traces (`version 2` is added). B = 0x300000000000. */
export const MREMAP_TRACES: Record<string, string> = {
  // MEASURED.md section f, the mremap table, as measured.
  measured: `
mmap 0x300000000000 0x400000
touch 0x300000000000 0x400000 write
mremap 0x300000000000 0x400000 0x400000 0x300000a00000
mremap 0x300000a00000 0x200000 0x200000 0x300040000000
mremap 0x300000c00000 0x200000 0x200000 0x300000e01000
mremap 0x300000e01000 0x200000 0x300000
mremap 0x300040000000 0x200000 0x400000
mmap 0x300040400000 0x200000
mremap 0x300040000000 0x400000 0x600000
mremap 0x300040000000 0x400000 0x200000
mremap 0x300040000000 0x200000 0x200000 0x380000000000
mremap 0x380000000000 0x200000 0x200000 0x30003fe00000
`,
  // Every refusal, in the kernel's order of checks.
  errnos: `
mmap 0x300100000000 0x400000
mmap 0x300100600000 0x200000
touch 0x300100000000 0x200000 write
mremap 0x300100000001 0x1000 0x2000
mremap 0x300100000000 0x1000 0x0
mremap 0x300100000000 0x200000 0x200000 0x300100100000
mremap 0x300100000000 0x1000 0x1000 0x300180000001
mremap 0x300100000000 0x100000 0x100000 0x7ffffff00000
mremap 0x300100400000 0x1000 0x2000
mremap 0x300100400000 0x1000 0x1000
mremap 0x300100400000 0x2000 0x1000
mremap 0x300100000000 0x800000 0x900000
mremap 0x300100000000 0x800000 0x900000 0x300140000000
mremap 0x300100000000 0x200000 0x300000
mremap 0x300100000000 0x0 0x1000
mremap 0x300100000000 0x0 0x1000 0x300140000000
mremap 0x300100000000 0x400000 0x600000
mremap 0x300100400000 0x400000 0x400000 0x300140000000
mremap 0x300100000000 0x800000 0x800000
mremap 0x300100000000 0x800000 0x300000
mremap 0x300100000000 0x300000 0x300000 0x300100400000
mremap 0x300100400000 0x300000 0x300000 0x300100000000
`,
  // Unaligned but mutually aligned starts with nothing below them in their PMD: the move starts
  // at the PMD boundary (try_realign_addr), so the first PTE table moves whole. Then the same
  // with a neighbour below the destination, which forbids it.
  realign: `
mmap 0x300200100000 0x300000
touch 0x300200100000 0x300000 write
mremap 0x300200100000 0x300000 0x300000 0x300200900000
mmap 0x300201000000 0x100000
mremap 0x300200900000 0x300000 0x300000 0x300201100000
mremap 0x300201100000 0x300000 0x300000 0x300201a00000
`,
  // A VMA never written (read faults: zero page, no anon_vma) moved next to itself merges with
  // itself on the way (copy_vma takes the destination's pgoff), then written and moved back:
  // the pgoff it carries decides whether it merges, and so whether MADV_DONTNEED of the span
  // reclaims its table.
  'self-merge': `
mmap 0x300240000000 0x100000
touch 0x300240000000 0x100000 read
mremap 0x300240000000 0x100000 0x100000 0x300240100000
touch 0x300240100000 0x100000 read
mmap 0x300240000000 0x100000
madvise 0x300240000000 0x200000 dontneed
touch 0x300240000000 0x200000 write
mremap 0x300240100000 0x100000 0x100000 0x300240400000
mremap 0x300240400000 0x100000 0x100000 0x300240100000
madvise 0x300240000000 0x200000 dontneed
`,
  // MREMAP_FIXED with a new length: grow (tables move for the old length) and shrink (the tail
  // is unmapped first); the destination had touched pages, unmapped first.
  'fixed-resize': `
mmap 0x300280000000 0x400000
touch 0x300280000000 0x400000 write
mmap 0x300280800000 0x400000
touch 0x300280800000 0x400000 write
mremap 0x300280000000 0x200000 0x600000 0x300280700000
mremap 0x300280200000 0x200000 0x100000 0x300281000000
mremap 0x300280700000 0x600000 0x100000 0x300280001000
touch 0x300280700000 0x1000 read
`,
  // The destination PMD already has a table (a neighbour's): no whole move, PTE by PTE.
  'busy-destination': `
mmap 0x3002c0000000 0x200000
touch 0x3002c0000000 0x200000 write
mmap 0x3002c0400000 0x1000
touch 0x3002c0400000 0x1000 write
mremap 0x3002c0000000 0x200000 0x100000 0x3002c0600000
mremap 0x3002c0600000 0x100000 0x100000 0x3002c0401000
munmap 0x3002c0400000 0x1000
mremap 0x3002c0401000 0x100000 0x100000 0x3002c0800000
`,
  // A whole aligned 1 GiB moves its PMD table (move_normal_pud), also onto a slot that held a
  // table (the destination's munmap frees it first); 1 GiB not aligned moves PMD by PMD. Then
  // across a 512 GiB boundary (new PUD table) and back.
  pud: `
mmap 0x300300000000 0x40000000
touch 0x300300000000 0x1000 write
touch 0x300300a00000 0x1000 write
touch 0x30033fe00000 0x200000 write
mremap 0x300300000000 0x40000000 0x40000000 0x300380000000
mmap 0x300300000000 0x1000
touch 0x300300000000 0x1000 write
mremap 0x300380000000 0x40000000 0x40000000 0x300300000000
mremap 0x300300000000 0x40000000 0x40000000 0x300380200000
mmap 0x37ffffc00000 0x400000
touch 0x37ffffc00000 0x400000 write
mremap 0x37ffffc00000 0x400000 0x400000 0x3fffffe00000
mremap 0x3fffffe00000 0x400000 0x400000 0x37ffffd00000
`,
  // A pure move (FIXED, equal lengths) over several VMAs and gaps (6.17+): gaps kept, the
  // destination's gaps left mapped; a range starting in a gap is EFAULT.
  'multi-vma': `
mmap 0x300400000000 0x200000
mmap 0x300400400000 0x200000 prot=r
mmap 0x300400800000 0x100000
touch 0x300400000000 0x200000 write
touch 0x300400400000 0x200000 read
touch 0x300400800000 0x100000 write
mmap 0x300440300000 0x100000
touch 0x300440300000 0x100000 write
mremap 0x300400100000 0x900000 0x900000 0x300440100000
touch 0x300440300000 0x100000 read
mremap 0x300440000000 0xa00000 0xa00000 0x300480000000
mremap 0x300440100000 0x900000 0x900000 0x300480000000
mremap 0x300440700000 0x600000 0x600000 0x300480000000
madvise 0x300480000000 0x600000 dontneed
`,
};

const parse = (body: string): Op[] => opsOfBatches(parseTraceBytes(Buffer.from(`version 2\n${body.trim()}\n`), 'mremap.trace'));

/** Per op: [VmPTE kB, RssAnon kB, errno or ''] in the model (pt-reclaim, this host's zero page). */
function modelSteps(ops: readonly Op[], zeroPage: boolean): [number, number, string][] {
  const mm = new Mm(new WasmCore('debug'), { strategy: 'pt-reclaim', zeroPage });
  const out = ops.map((op): [number, number, string] => {
    const err = applyOp(mm, op);
    const s = mm.stats();
    return [(s.NrPte + s.NrPmd + s.NrPud) * 4, s.RssAnon * 4, err?.errno ?? ''];
  });
  expect(mm.exit().problems).toEqual([]);
  return out;
}

/** The same from the live kernel, relative to the helper's own state before the replay. */
async function liveSteps(ops: readonly Op[]): Promise<[number, number, string][]> {
  const r = await runLiveTrace(ops, { perOp: true });
  const errs = new Map(r.errors.map((e) => [e.index, e.name]));
  return r.perOp!.map((p, i) => [p.vmPteKb, p.rssAnonKb, errs.get(i) ?? '']);
}

const zeroPage = (() => {
  try {
    return zeroPageFromCmdline(readFileSync('/proc/cmdline', 'utf8')).zeroPage;
  } catch {
    return true;
  }
})();

describe('live kernel: mremap, op by op', () => {
  reportSkip('live mremap validation', liveSkipReason);
  const live = it.skipIf(liveSkipReason !== undefined);

  live.each(Object.keys(MREMAP_TRACES))('%s: VmPTE, RssAnon and errno agree after every op', async (name) => {
    const ops = parse(MREMAP_TRACES[name]!);
    const want = await liveSteps(ops);
    const got = modelSteps(ops, zeroPage);
    const lines = formatTrace(ops).split('\n').slice(1);
    expect(got.map((g, i) => `${lines[i] ?? String(i)} -> ${g.join(' ')}`)).toEqual(
      want.map((w, i) => `${lines[i] ?? String(i)} -> ${w.join(' ')}`),
    );
  });

  live('the measured table: every move and refusal listed in MEASURED.md section f', async () => {
    const want = await liveSteps(parse(MREMAP_TRACES.measured!));
    // VmPTE after each op (kB, relative), as the table states it.
    expect(want.map((w) => w[0])).toEqual([0, 16, 16, 20, 24, 24, 24, 24, 24, 24, 32, 24]);
    expect(want.map((w) => w[2]).filter(Boolean)).toEqual(['ENOMEM']);
  });

  // Random sequences over three windows (one straddling a 1 GiB boundary): mmap, touch, munmap,
  // MADV_DONTNEED and mremap in place and moving, PMD-aligned half the time.
  const MiB = 2 ** 20;
  const WINDOWS = [0x300500000000, 0x300540000000 - 4 * MiB, 0x300580000000];
  const pages = fc.oneof(fc.integer({ min: 1, max: 600 }), fc.constantFrom(256, 512, 1024, 1536));
  const addr = fc
    .tuple(fc.constantFrom(...WINDOWS), fc.integer({ min: 0, max: (8 * MiB) / 4096 - 1 }), fc.boolean())
    .map(([w, p, aligned]) => w + (aligned ? Math.floor(p / 512) * 2 * MiB : p * 4096));
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('mmap' as const), addr, len: pages.map((n) => n * 4096) }),
    fc.record({ kind: fc.constant('munmap' as const), addr, len: pages.map((n) => n * 4096) }),
    fc.record({
      kind: fc.constant('touch' as const),
      addr,
      len: pages.map((n) => n * 4096),
      access: fc.constantFrom('write' as const, 'read' as const),
    }),
    fc.record({ kind: fc.constant('madvise' as const), addr, len: pages.map((n) => n * 4096), advice: fc.constant('dontneed' as const) }),
    fc.record({ kind: fc.constant('mremap' as const), addr, len: pages.map((n) => n * 4096), newLen: pages.map((n) => n * 4096) }),
    fc
      .record({
        kind: fc.constant('mremap' as const),
        addr,
        len: pages.map((n) => n * 4096),
        newLen: pages.map((n) => n * 4096),
        newAddr: addr,
      })
      .chain((op) => fc.boolean().map((same) => (same ? { ...op, newLen: op.len } : op))),
  );

  live(
    'random mremap sequences agree with the kernel after every op',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 4, maxLength: 30 }), async (body) => {
          const ops: Op[] = [...WINDOWS.map((w): Op => ({ kind: 'mmap', addr: w, len: 8 * MiB })), ...body];
          const want = await liveSteps(ops);
          const got = modelSteps(ops, zeroPage);
          const lines = formatTrace(ops).split('\n').slice(1);
          expect(got.map((g, i) => `${lines[i] ?? String(i)} -> ${g.join(' ')}`)).toEqual(
            want.map((w, i) => `${lines[i] ?? String(i)} -> ${w.join(' ')}`),
          );
        }),
        { numRuns: 120, seed: 0x12e3a9 },
      );
    },
    300_000,
  );
});
