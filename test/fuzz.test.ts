/**
 * Fuzz targets (fast-check, fixed seeds, a small fixed budget so they run in the normal suite):
 * the strace parser and the results-JSON reader with everything that consumes its output
 * (compare, merge, report exporters). Any input must give a result or a documented error
 * (PtreclaimError: exit 1/2 at the CLI), never another exception (the CLI's exit 70).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PtreclaimError } from '../src/errors.js';
import { importStrace } from '../src/import/strace.js';
import { formatTrace, parseTrace } from '../src/trace/parse.js';
import { runBench } from '../src/bench/run.js';
import { validateResults } from '../src/bench/schema.js';
import { compareResults } from '../src/bench/compare.js';
import { mergeResults } from '../src/bench/merge.js';
import { DEFAULT_SUITE_PARAMS } from '../src/bench/suites.js';
import { EXPORTERS } from '../src/report/exporters.js';
import { formatComparison } from '../src/report/terminal.js';
import type { BenchResults } from '../src/bench/types.js';

/** Runs f; a PtreclaimError is a documented outcome, anything else fails the property. */
function documented(f: () => void): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof PtreclaimError)) throw new Error(`undocumented ${(e as Error).name}: ${(e as Error).message}`, { cause: e });
  }
}

// ---- strace logs -------------------------------------------------------------------------
const hex = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((n) => `0x${n.toString(16)}`);
const dec = fc.oneof(fc.nat(), fc.bigInt({ min: 0n, max: 10n ** 30n }).map(String), fc.constant('-1'));
const numTok = fc.oneof(hex, dec, fc.constant('NULL'), fc.constant('?'));
const flagsTok = fc
  .subarray([
    'MAP_PRIVATE',
    'MAP_SHARED',
    'MAP_ANONYMOUS',
    'MAP_FIXED',
    'MAP_NORESERVE',
    'MAP_HUGETLB',
    'PROT_NONE',
    'PROT_READ',
    'PROT_WRITE',
  ])
  .map((f) => f.join('|') || '0');
const advice = fc.constantFrom('MADV_DONTNEED', 'MADV_FREE', 'MADV_HUGEPAGE', 'MADV_WILLNEED', 'MADV_BOGUS');
const syscall = fc.oneof(
  fc.tuple(numTok, numTok, flagsTok, flagsTok, numTok).map(([a, l, p, f, fd]) => `mmap(${a}, ${l}, ${p}, ${f}, ${fd}, 0)`),
  fc.tuple(numTok, numTok).map(([a, l]) => `munmap(${a}, ${l})`),
  fc.tuple(numTok, numTok, advice).map(([a, l, v]) => `madvise(${a}, ${l}, ${v})`),
  fc.tuple(numTok, numTok, numTok, flagsTok).map(([a, o, n, f]) => `mremap(${a}, ${o}, ${n}, ${f})`),
  numTok.map((a) => `brk(${a})`),
  fc.constantFrom('execve("/bin/x", ["x"], 0x7ffd /* 3 vars */)', 'exit_group(0)', 'read(3, "", 10)'),
);
const result = fc.oneof(numTok, fc.constantFrom('-1 ENOMEM (Cannot allocate memory)', '-1 EINVAL (Invalid argument)', '?'));
const prefix = fc.oneof(
  fc.constant(''),
  fc.nat(99999).map((p) => `${p} `),
  fc.nat(99999).map((p) => `[pid ${p}] `),
  fc.constant('12:00:00.000001 '),
  fc.constant('1700000000.5 '),
);
const straceLine = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(prefix, syscall, result).map(([p, s, r]) => `${p}${s} = ${r}`) },
  { weight: 1, arbitrary: fc.tuple(prefix, syscall).map(([p, s]) => `${p}${s.replace(/\)$/, '')} <unfinished ...>`) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(prefix, fc.constantFrom('mmap', 'munmap', 'madvise', 'brk', 'execve'), result)
      .map(([p, n, r]) => `${p}<... ${n} resumed>) = ${r}`),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('+++ exited with 0 +++', '--- SIGCHLD {si_signo=SIGCHLD} ---', 'strace: Process 5 attached', ''),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }) },
);
const straceLog = fc.tuple(fc.array(straceLine, { maxLength: 40 }), fc.constantFrom('\n', '\r\n', '\r')).map(([l, eol]) => l.join(eol));

describe('fuzz: strace parser', () => {
  it('strace-like logs: a trace that parses back, or a documented error', () => {
    fc.assert(
      fc.property(
        straceLog,
        fc.constantFrom<'dontneed-ranges' | 'all-mapped' | 'none'>('dontneed-ranges', 'all-mapped', 'none'),
        fc.option(fc.constantFrom<number | 'last'>(1, 2, 'last'), { nil: undefined }),
        (log, touch, exec) => {
          documented(() => {
            const r = importStrace(log, { file: 'fuzz.strace', touch, exec });
            parseTrace(formatTrace(r.ops, r.header.join('\n')), 'fuzz.trace');
          });
        },
      ),
      { seed: 1101, numRuns: 1500 },
    );
  });

  it('arbitrary text and binary: a documented error or a result, never another exception', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 400 }), fc.string({ unit: 'grapheme', maxLength: 400 })), (text) => {
        documented(() => importStrace(text, { file: 'fuzz.bin' }));
      }),
      { seed: 1102, numRuns: 1500 },
    );
  });
});

// ---- results JSON -----------------------------------------------------------------------
let base: BenchResults;
beforeAll(async () => {
  base = await runBench({
    ...DEFAULT_SUITE_PARAMS,
    suites: ['paths'],
    strategies: ['none', 'pt-reclaim'],
    timeMs: 1,
    iterations: 3,
    warmupIterations: 0,
    timelinePoints: 5,
    wasm: 'release',
  });
});

/** A JSON value to put somewhere it does not belong. */
const jsonValue = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1e308, -0.5, '', 'x', [], {}, [0], { id: 'x' }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 8 }),
);

/** Replaces or deletes the field at a random path of a JSON object (paths chosen among those present). */
function mutate(obj: unknown, picks: number[], value: unknown, del: boolean): unknown {
  const root = structuredClone(obj) as Record<string, unknown>;
  let node: Record<string, unknown> = root;
  for (const [depth, pick] of picks.entries()) {
    const keys = Object.keys(node);
    if (keys.length === 0) break;
    const k = keys[pick % keys.length]!;
    const child = node[k];
    const last = depth === picks.length - 1 || child === null || typeof child !== 'object';
    if (last) {
      if (del) Reflect.deleteProperty(node, k);
      else node[k] = value;
      break;
    }
    node = child as Record<string, unknown>;
  }
  return root;
}

describe('fuzz: results JSON reader and its consumers (compare, merge, report)', () => {
  it('mutated results files: read, compared, merged and rendered, or a documented error', () => {
    const json = () => JSON.parse(EXPORTERS.json.render(base)) as unknown;
    fc.assert(
      fc.property(fc.array(fc.nat(), { minLength: 1, maxLength: 6 }), jsonValue, fc.boolean(), (picks, value, del) => {
        const mutated = mutate(json(), picks, value, del);
        documented(() => {
          const r = validateResults(mutated, 'fuzz.json');
          const cmp = compareResults(base, r, { alpha: 0.05, threshold: 0.05 });
          formatComparison(cmp, 0.05);
          expect(cmp.rows.every((row) => Number.isFinite(row.delta))).toBe(true);
          mergeResults([{ path: 'fuzz.json', results: r }]);
          for (const format of ['csv', 'md', 'html'] as const) EXPORTERS[format].render(r);
        });
      }),
      { seed: 1103, numRuns: 600 },
    );
  });

  it('crafted samples and ids in a cell: compared with finite figures, or a documented error', () => {
    fc.assert(
      fc.property(
        fc.nat(),
        fc.array(fc.double(), { minLength: 1, maxLength: 6 }),
        fc.option(fc.nat(), { nil: undefined }),
        (cell, samples, dupOf) => {
          const r = structuredClone(base);
          const k = cell % r.cells.length;
          r.cells[k]!.samples = samples;
          if (dupOf !== undefined) r.cells[k]!.id = r.cells[dupOf % r.cells.length]!.id;
          documented(() => {
            const cmp = compareResults(base, validateResults(r, 'fuzz.json'), { alpha: 0.05, threshold: 0.05 });
            expect(cmp.rows.every((row) => Number.isFinite(row.delta) && Number.isFinite(row.p))).toBe(true);
            expect(formatComparison(cmp, 0.05)).not.toMatch(/NaN|Infinity/);
          });
        },
      ),
      { seed: 1105, numRuns: 600 },
    );
  });

  it('arbitrary JSON values: a documented error', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
        documented(() => validateResults(value, 'fuzz.json'));
      }),
      { seed: 1104, numRuns: 1000 },
    );
  });
});
