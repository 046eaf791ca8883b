/**
 * Property-based differential tests: the WebAssembly core and the TypeScript reference
 * (src/core/reference.ts) run the same random operation sequences and must agree on every
 * syscall result, every counter, every table and every entry.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Mm } from '../src/mm/mm.js';
import { WasmCore } from '../src/core/wasm.js';
import { ReferenceCore } from '../src/core/reference.js';
import { EntryKind, STAT_NAMES, VMA_ANON, ZAP_EVEN_COWS, ZAP_RECLAIM_PT, type RawStats, type StatName } from '../src/core/types.js';
import { BATCH_FAULT_READ, BATCH_FAULT_WRITE, BATCH_MADV_FREE, BATCH_STRIDE, BATCH_ZAP } from '../src/core/batch.js';
import { applyOp, runOps, type RunResult } from '../src/run.js';
import type { Op } from '../src/trace/ops.js';
import { COST_WEIGHTS } from '../src/generated/counters.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;
// Two windows: one inside a 1 GiB span, one straddling a 1 GiB (PMD table) boundary.
const WINDOWS = [0x300000000000, 0x300000000000 + 3 * GiB - 6 * MiB];
const WINDOW = 12 * MiB;
const PAGE = 4096;

/** Counters that depend on how memory is backed, not on the model (WASM grows geometrically). */
const BACKING_ONLY: ReadonlySet<StatName> = new Set(['ArenaFramesCapacity']);

const pageCount = fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 3 * 512 }), fc.constantFrom(512, 1024, 1536));
const addrArb = fc
  .tuple(fc.constantFrom(...WINDOWS), fc.integer({ min: 0, max: WINDOW / PAGE - 1 }), fc.boolean())
  .map(([w, page, pmdAligned]) => w + (pmdAligned ? Math.floor((page * PAGE) / (2 * MiB)) * 2 * MiB : page * PAGE));

type Step = Op | { kind: 'install'; addr: number; entry: EntryKind };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('mmap' as const), addr: addrArb, len: pageCount.map((n) => n * PAGE) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('munmap' as const), addr: addrArb, len: pageCount.map((n) => n * PAGE) }) },
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
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('madvise' as const),
      addr: addrArb,
      len: pageCount.map((n) => n * PAGE),
      advice: fc.constantFrom('dontneed' as const, 'free' as const),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('install' as const),
      addr: addrArb,
      entry: fc.constantFrom(
        EntryKind.Swap,
        EntryKind.GuardMarker,
        EntryKind.Migration,
        EntryKind.Hwpoison,
        EntryKind.UffdWpMarker,
        EntryKind.PoisonedMarker,
        EntryKind.DevicePrivate,
      ),
    }),
  },
);

/** Most sequences start with the windows mapped, so touches and madvises mostly land. */
const scenarioArb = fc
  .tuple(fc.boolean(), fc.array(stepArb, { minLength: 1, maxLength: 40 }))
  .map(([premap, steps]) => [...(premap ? WINDOWS.map((w): Step => ({ kind: 'mmap', addr: w, len: WINDOW })) : []), ...steps]);

function step(mm: Mm, s: Step): unknown {
  if (s.kind === 'install') {
    // Only where a mapping exists, as the kernel would only create such entries there.
    const v = mm.vmas.find(s.addr);
    return v !== undefined && v.start <= s.addr ? mm.installEntry(s.addr, s.entry) : 'unmapped';
  }
  return applyOp(mm, s) ?? 'ok';
}

function compareStats(a: Mm, b: Mm, where: string): void {
  const sa = a.stats();
  const sb = b.stats();
  for (const name of STAT_NAMES) {
    if (BACKING_ONLY.has(name)) continue;
    if (sa[name] !== sb[name]) throw new Error(`${where}: counter ${name}: wasm ${sa[name]} vs ts ${sb[name]}`);
  }
}

describe.each(['pt-reclaim', 'none'] as const)('WASM core == TypeScript reference (%s)', (strategy) => {
  it.each(['auto', 'slow'] as const)('on random operation sequences (path %s)', (path) => {
    fc.assert(
      fc.property(scenarioArb, (steps) => {
        const w = new Mm(new WasmCore('debug'), { strategy, path });
        const t = new Mm(new ReferenceCore(), { strategy, path });
        steps.forEach((s, i) => {
          expect(step(w, s), `step ${i} ${JSON.stringify(s)}`).toEqual(step(t, s));
          compareStats(w, t, `after step ${i} ${JSON.stringify(s)}`);
        });
        expect(w.vmas.all()).toEqual(t.vmas.all());
        expect(w.core.tableBases()).toEqual(t.core.tableBases());
        expect(w.core.leafEntries()).toEqual(t.core.leafEntries());
        for (const base of w.core.tableBases().pte) {
          for (const level of [1, 2, 3]) expect(w.core.entryAt(base, level)).toBe(t.core.entryAt(base, level));
        }
        const ew = w.exit();
        const et = t.exit();
        expect(ew.problems).toEqual(et.problems);
        expect(ew.problems).toEqual([]);
        compareStats(w, t, 'after exit');
      }),
      { numRuns: 80, seed: 0x5eed },
    );
  });
});

describe('WASM core == TypeScript reference under arena limits', () => {
  it('refuse the same faults with the same counters, changing nothing', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 12 }), scenarioArb, (limit, steps) => {
        const w = new Mm(new WasmCore('debug'), { limitFrames: limit });
        const t = new Mm(new ReferenceCore(), { limitFrames: limit });
        for (const s of steps) {
          let rw: unknown;
          let rt: unknown;
          try {
            rw = step(w, s);
          } catch (e) {
            rw = (e as Error).name;
          }
          try {
            rt = step(t, s);
          } catch (e) {
            rt = (e as Error).name;
          }
          expect(rw).toEqual(rt);
          compareStats(w, t, JSON.stringify(s));
        }
        expect(w.core.leafEntries()).toEqual(t.core.leafEntries());
        expect(w.exit().problems).toEqual([]);
      }),
      { numRuns: 40, seed: 42 },
    );
  });
});

// The batch path (Mm.applyBatch -> core.applyBatch, one crossing per run of ops in one VMA)
// must give exactly what one operation at a time gives: every counter, error and time.
describe('batched application == one operation at a time', () => {
  const opsOnly = scenarioArb.map((steps) => steps.filter((s): s is Op => s.kind !== 'install'));
  const strip = (r: RunResult) => {
    const { wallMs: _w, opsPerSec: _o, timeline: _t, ...rest } = r;
    return rest;
  };
  it.each([
    ['wasm', 'pt-reclaim'],
    ['wasm', 'none'],
    ['wasm', 'refcount'],
    ['wasm', 'pt-reclaim-v1'],
    ['ts', 'pt-reclaim'],
  ] as const)('%s core, %s', (core, strategy) => {
    fc.assert(
      fc.property(opsOnly, fc.constantFrom(...(core === 'ts' ? [0] : [0, 0.5])), (ops, nowaitFail) => {
        const opts = { core, wasm: 'debug' as const, strategy, nowaitFail, gracePeriodMs: 0.01 };
        // A timeline samples after every op, so it takes the one-op path.
        const single = runOps(ops, { ...opts, timeline: true });
        const batched = runOps(ops, opts);
        expect(single.timeline!.length).toBe(ops.length);
        expect(strip(batched)).toEqual(strip(single));
      }),
      { numRuns: 60, seed: 0xba7c4 },
    );
  });
  // The core's batch loop reuses one entry's closing weighted sum as the next one's opening
  // sum unless RCU invoked callbacks in between: weight the counters RCU changes, and free
  // tables through call_rcu between touches, so that grace periods end inside batches.
  it('wasm core: RCU callbacks inside a batch, their counters weighted', () => {
    const PMD = 2 ** 21;
    const base = 0x7f0000000000;
    const ops: Op[] = [{ kind: 'mmap', addr: base, len: 64 * PMD }];
    for (let round = 0; round < 4; round++) {
      for (let k = 0; k < 64; k++) {
        ops.push({ kind: 'touch', addr: base + k * PMD, len: 8 * 4096, access: 'write' });
        ops.push({ kind: 'madvise', addr: base + k * PMD, len: PMD, advice: 'dontneed' });
      }
    }
    const cost = { syscallNs: 1_000.5, perEvent: { ...COST_WEIGHTS, GracePeriods: 777.7, PgtablesPending: 33.3 } };
    const opts = { wasm: 'debug', strategy: 'pt-reclaim', tableFree: 'rcu', nowaitFail: 1, gracePeriodMs: 0.01, cost } as const;
    const single = runOps(ops, { ...opts, timeline: true });
    const batched = runOps(ops, opts);
    expect(single.rcu.gracePeriods).toBeGreaterThan(100);
    expect(strip(batched)).toEqual(strip(single));
  });
});

describe('core.applyBatch: WASM == TypeScript reference', () => {
  const entryArb = fc.record({
    code: fc.constantFrom(BATCH_FAULT_READ, BATCH_FAULT_WRITE, BATCH_ZAP, BATCH_MADV_FREE),
    start: addrArb,
    pages: pageCount,
    flags: fc.constantFrom(VMA_ANON | ZAP_EVEN_COWS, VMA_ANON | ZAP_EVEN_COWS | ZAP_RECLAIM_PT),
  });
  it('same entries applied, status, time and counters (special entries and arena limits included)', () => {
    fc.assert(
      fc.property(
        fc.array(entryArb, { minLength: 1, maxLength: 30 }),
        fc.array(fc.tuple(addrArb, fc.constantFrom(EntryKind.GuardMarker, EntryKind.Hwpoison, EntryKind.Swap)), { maxLength: 3 }),
        fc.constantFrom(0, 6, 40),
        (entries, installs, limitFrames) => {
          const cores = [new WasmCore('debug'), new ReferenceCore()];
          const out = cores.map((core) => {
            const mm = new Mm(core, { strategy: 'pt-reclaim', limitFrames });
            const installed = installs.map(([addr, kind]) => core.installEntry(addr, kind));
            const buf = core.batchBuffer();
            entries.forEach((e, i) => {
              buf[i * BATCH_STRIDE] = e.code;
              buf[i * BATCH_STRIDE + 1] = e.start;
              buf[i * BATCH_STRIDE + 2] = e.start + e.pages * PAGE;
              buf[i * BATCH_STRIDE + 3] = e.flags;
            });
            const done = core.applyBatch(entries.length, 5_000, 1_000);
            return {
              installed,
              done,
              status: core.batchStatus(),
              now: core.batchNowNs(),
              stats: mm.stats(),
              at: done < entries.length || core.batchStatus() ? core.faultAddress() : 0,
            };
          });
          for (const o of out) delete (o.stats as Partial<RawStats>).ArenaFramesCapacity;
          expect(out[0]).toEqual(out[1]);
        },
      ),
      { numRuns: 150, seed: 0xc0de },
    );
  });
});
