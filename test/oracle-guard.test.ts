/**
 * Guard markers, MADV_POPULATE_*, MADV_DONTNEED_LOCKED and WILLNEED / COLD / PAGEOUT: each
 * trace of native/oracle/MEASURED.md section f on these advices (and more corners) replayed
 * op by op through the model AND the live kernel; VmPTE, RssAnon and the errno must be equal
 * after every operation. Skipped (visibly) where the live oracle cannot run, where THP is
 * `always` (these traces are about 4 KiB pages and the model's THP is another branch's), and
 * for PAGEOUT where the host has swap (then reclaim could swap pages out).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { Mm } from '../src/mm/mm.js';
import { applyOp, makeCore } from '../src/run.js';
import { formatTrace, parseTrace } from '../src/trace/parse.js';
import type { Advice, Op } from '../src/trace/ops.js';
import { hostFacts } from '../src/oracle/host.js';
import { runLiveTrace } from '../src/oracle/live.js';
import { modelForHost } from '../src/validate.js';
import { liveSkipReason, reportSkip } from './fixtures/live.js';

function sysText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
const thpMode = /\[(\w+)\]/.exec(sysText('/sys/kernel/mm/transparent_hugepage/enabled'))?.[1] ?? 'never';
const skipReason =
  liveSkipReason ?? (thpMode === 'always' ? 'THP is "always" on this host (these traces are about 4 KiB pages)' : undefined);
const hasSwap = sysText('/proc/swaps').trim().split('\n').length > 1;

/** One op's state: VmPTE and RssAnon in kB since the start, then the errno ('' when it succeeded). */
type Row = string;

/** Replay the trace in the model and on the kernel; returns both row lists. */
async function both(text: string): Promise<{ model: Row[]; kernel: Row[]; lines: string[] }> {
  const ops = parseTrace(`version 2\n${text}`, 'trace');
  const live = await runLiveTrace(ops, { perOp: true });
  const kErr = new Map(live.errors.map((e) => [e.index, e.name]));
  const kernel = live.perOp!.map((p, i) => `${p.vmPteKb} ${p.rssAnonKb} ${kErr.get(i) ?? ''}`.trim());
  const choice = modelForHost(await hostFacts());
  const opts = { strategy: choice.strategy, zeroPage: choice.zeroPage };
  const mm = new Mm(makeCore(opts), opts);
  const model = ops.map((op) => {
    const err = applyOp(mm, op);
    const s = mm.stats();
    return `${(s.NrPte + s.NrPmd + s.NrPud) * 4} ${s.RssAnon * 4} ${err?.errno ?? ''}`.trim();
  });
  expect(mm.exit().problems).toEqual([]);
  const lines = text.trim().split('\n');
  return { model, kernel, lines };
}

/** Model and kernel agree after every op: compared with the op text, so a failure names it. */
async function expectAgree(text: string): Promise<Row[]> {
  const { model, kernel, lines } = await both(text);
  expect(lines.map((l, i) => `${l} -> ${model[i] ?? '?'}`)).toEqual(lines.map((l, i) => `${l} -> ${kernel[i] ?? '?'}`));
  return kernel;
}

/** Per-op changes of a row list (VmPTE, RssAnon) with the errno, as MEASURED.md writes them. */
function deltas(rows: Row[]): string[] {
  let prev = [0, 0];
  return rows.map((r) => {
    const [pte, anon, errno] = r.split(' ');
    const cur = [Number(pte), Number(anon)];
    const d = `${cur[0]! - prev[0]!} ${cur[1]! - prev[1]!}${errno ? ` ${errno}` : ''}`;
    prev = cur;
    return d;
  });
}

describe('live kernel == model: guard markers, populate, dontneed-locked, cold/pageout/willneed', () => {
  reportSkip('live guard/populate/advice comparison', skipReason);
  const live = it.skipIf(skipReason !== undefined);
  const liveNoSwap = it.skipIf(skipReason !== undefined || hasSwap);

  live('MEASURED.md f "Guard markers": install, refused touch, kept by DONTNEED, zap on install, munmap', async () => {
    const rows = await expectAgree(`
mmap 0x300000000000 0x400000
madvise 0x300000000000 0x1000 guard-install
touch 0x300000000000 0x2000 write
touch 0x300000001000 0x1ff000 write
madvise 0x300000000000 0x200000 dontneed
madvise 0x300000000000 0x1000 guard-remove
madvise 0x300000000000 0x200000 dontneed
touch 0x300000200000 0x200000 write
madvise 0x300000200000 0x1000 guard-install
madvise 0x300000200000 0x200000 dontneed
munmap 0x300000200000 0x200000
`);
    expect(deltas(rows)).toEqual(['0 0', '12 0', '0 0 EFAULT', '0 2044', '0 -2044', '0 0', '-4 0', '4 2048', '0 -4', '0 -2044', '-4 0']);
  });

  live('guard markers on prot=none and prot=r, across holes, over zero-page entries', async () => {
    const rows = await expectAgree(`
mmap 0x300000000000 0x400000 prot=none
madvise 0x300000000000 0x1000 guard-install
mmap 0x300000600000 0x200000 prot=r
madvise 0x300000000000 0x800000 guard-install
touch 0x300000600000 0x1000 read
madvise 0x300000000000 0x800000 guard-remove
touch 0x300000600000 0x1000 read
madvise 0x300000000000 0x800000 dontneed
mprotect 0x300000000000 0x400000 rw
touch 0x300000000000 0x200000 read
madvise 0x300000000000 0x1000 guard-install
touch 0x300000000000 0x200000 read
touch 0x300000001000 0x1ff000 write
madvise 0x300000000000 0x200000 guard-install
madvise 0x300000000000 0x200000 guard-install
madvise 0x300000000000 0x200000 dontneed
madvise 0x300000100000 0x200000 guard-remove
madvise 0x300000000000 0x200000 dontneed
munmap 0x300000000000 0x400000
`);
    expect(deltas(rows).filter((d) => d.includes('E'))).toEqual(['8 0 ENOMEM', '0 0 EFAULT', '0 0 ENOMEM', '-12 0 ENOMEM', '0 0 EFAULT']);
  });

  live('populate: faults like a touch, EINVAL on protections, ENOMEM at a hole, EFAULT at a marker (the pages before kept)', async () => {
    const rows = await expectAgree(`
mmap 0x300000000000 0x400000 prot=r
madvise 0x300000000000 0x1000 populate-write
madvise 0x300000000000 0x1000 populate-read
mprotect 0x300000100000 0x1000 none
madvise 0x300000100000 0x1000 populate-read
madvise 0x300000100000 0x1000 populate-write
mprotect 0x300000000000 0x400000 rw
madvise 0x300000000000 0x4000 populate-write
madvise 0x300000000000 0x800000 populate-read
mmap 0x300000600000 0x200000 prot=r
madvise 0x300000300000 0x400000 populate-write
madvise 0x300000000000 0x800000 populate-read
madvise 0x300000011000 0x1000 guard-install
madvise 0x300000000000 0x100000 populate-write
madvise 0x300000000000 0x100000 populate-read
madvise 0x300000012000 0x1000 populate-read
madvise 0x300000011000 0x1000 guard-remove
madvise 0x300000000000 0x100000 populate-write
madvise 0x300000000000 0x200000 dontneed
`);
    expect(deltas(rows)).toEqual([
      '0 0',
      '0 0 EINVAL', // populate-write on prot=r
      '12 0', // populate-read on prot=r maps (the zero page: no RssAnon)
      '0 0',
      '0 0 EINVAL', // populate-read on prot=none
      '0 0 EINVAL',
      '0 0',
      '0 16', // writes replace the zero page and fault new pages
      '4 0 ENOMEM', // populate-read up to the hole at 4 MiB, then ENOMEM
      '0 0',
      '0 1024 ENOMEM', // [3M, 4M) written, then the hole (before the prot=r VMA)
      '0 0 ENOMEM',
      '0 0',
      '0 52 EFAULT', // pages 0..16 written (13 of them new), then the marker at page 17
      '0 0 EFAULT',
      '0 0',
      '0 0',
      '0 956',
      '-4 -1024',
    ]);
  });

  liveNoSwap(
    'MEASURED.md f: DONTNEED_LOCKED frees like DONTNEED; COLD, PAGEOUT, WILLNEED change nothing; PAGEOUT discards lazyfree pages',
    async () => {
      const rows = await expectAgree(`
mmap 0x300000000000 0x800000
touch 0x300000000000 0x200000 write
mprotect 0x300000100000 0x100000 r
madvise 0x300000000000 0x200000 dontneed
touch 0x300000200000 0x200000 write
madvise 0x300000200000 0x200000 dontneed-locked
touch 0x300000400000 0x200000 write
madvise 0x300000400000 0x200000 cold
madvise 0x300000400000 0x200000 pageout
madvise 0x300000400000 0x200000 willneed
madvise 0x300000400000 0x200000 free
madvise 0x300000400000 0x200000 pageout
`);
      expect(deltas(rows)).toEqual([
        '0 0',
        '12 2048',
        '0 0',
        '0 -2048',
        '4 2048',
        '-4 -2048',
        '4 2048',
        '0 0',
        '0 0',
        '0 0',
        '0 0',
        '0 -2048',
      ]);
    },
  );

  liveNoSwap(
    'PAGEOUT after FREE: pages written since stay, pages only read go; guard-install and DONTNEED_LOCKED on lazyfree pages',
    async () => {
      const rows = await expectAgree(`
mmap 0x300000000000 0x800000
touch 0x300000000000 0x400000 write
madvise 0x300000000000 0x400000 free
touch 0x300000000000 0x1000 write
touch 0x300000001000 0x1000 read
madvise 0x300000002000 0x1000 populate-write
madvise 0x300000003000 0x1000 populate-read
madvise 0x300000000000 0x10000 pageout
madvise 0x300000000000 0x200000 cold
madvise 0x300000000000 0x200000 pageout
madvise 0x300000000000 0x200000 free
madvise 0x300000000000 0x200000 pageout
madvise 0x300000000000 0x200000 dontneed
madvise 0x300000200000 0x200000 pageout
madvise 0x300000200000 0x200000 dontneed
touch 0x300000400000 0x200000 read
madvise 0x300000400000 0x200000 free
madvise 0x300000400000 0x200000 pageout
madvise 0x300000400000 0x200000 populate-write
madvise 0x300000400000 0x200000 free
madvise 0x300000400000 0x1000 guard-install
madvise 0x300000400000 0x1000 populate-read
madvise 0x300000400000 0x200000 pageout
madvise 0x300000400000 0x200000 dontneed-locked
madvise 0x300000400000 0x200000 guard-remove
madvise 0x300000400000 0x200000 dontneed-locked
madvise 0x300000000000 0x1000000 pageout
madvise 0x300000000000 0x1000000 cold
madvise 0x300000000000 0x1000000 willneed
madvise 0x300000000000 0x1000000 populate-read
madvise 0x300000000000 0x1000000 dontneed-locked
madvise 0x300000700000 0x1000000 populate-write
`);
      const d = deltas(rows);
      expect(d[7]).toBe('0 -56'); // 16 pages: the two written since FREE stay, 14 go
      expect(d[11]).toBe('0 -8'); // FREE again made those two lazyfree
      expect(d[13]).toBe('0 -2048'); // the emptied table stays (no PT_RECLAIM)...
      expect(d[14]).toBe('-4 0'); // ...until DONTNEED frees it
    },
  );

  // Random traces over one 12 MiB window mixing every advice modelled here with touches,
  // mmap, munmap and mprotect: seeded, so a failure names a trace that can be replayed.
  const B = 0x300000000000;
  const PAGE = 4096;
  const MiB = 2 ** 20;
  const ADVICES: Advice[] = [
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
  const len = fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 1536 }), fc.constantFrom(512, 1024)).map((n) => n * PAGE);
  const addr = fc
    .tuple(fc.integer({ min: 0, max: (12 * MiB) / PAGE - 1 }), fc.boolean())
    .map(([page, aligned]) => B + (aligned ? Math.floor((page * PAGE) / (2 * MiB)) * 2 * MiB : page * PAGE));
  const op: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('mmap' as const), addr, len, prot: fc.constantFrom('rw' as const, 'r' as const) }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('munmap' as const), addr, len }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('mprotect' as const),
        addr,
        len,
        prot: fc.constantFrom('rw' as const, 'r' as const, 'none' as const),
      }),
    },
    {
      weight: 6,
      arbitrary: fc.record({ kind: fc.constant('touch' as const), addr, len, access: fc.constantFrom('write' as const, 'read' as const) }),
    },
    { weight: 11, arbitrary: fc.record({ kind: fc.constant('madvise' as const), addr, len, advice: fc.constantFrom(...ADVICES) }) },
  );
  const traces = fc.sample(fc.array(op, { minLength: 10, maxLength: 50 }), { numRuns: 30, seed: 0x6a4d });

  liveNoSwap('random traces: model and kernel agree after every op', async () => {
    let errors = 0;
    for (const ops of traces) {
      const text = formatTrace([{ kind: 'mmap', addr: B, len: 12 * MiB }, ...ops]).replace(/^version \d\n/, '');
      const rows = await expectAgree(text);
      errors += rows.filter((r) => r.includes(' E')).length;
    }
    expect(errors).toBeGreaterThan(30); // refused calls are exercised, not only successes
  });
});
