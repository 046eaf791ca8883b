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
import { formatTrace } from '../src/trace/parse.js';
import { Mm } from '../src/mm/mm.js';
import { WasmCore } from '../src/core/wasm.js';
import { applyOp } from '../src/run.js';
import { runLiveTrace } from '../src/oracle/live.js';
import { zeroPageFromCmdline } from '../src/oracle/host.js';
import type { Op } from '../src/trace/ops.js';
import { readFileSync } from 'node:fs';
import { liveSkipReason, reportSkip } from './fixtures/live.js';
import { MREMAP_TRACES, parseMremapTrace as parse } from './fixtures/mremap-traces.js';

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
    fc.record({
      kind: fc.constant('madvise' as const),
      addr,
      len: pages.map((n) => n * 4096),
      advice: fc.constantFrom('dontneed' as const, 'guard-install' as const, 'dontneed' as const, 'guard-remove' as const),
    }),
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
