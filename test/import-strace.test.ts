import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { UsageError } from '../src/errors.js';
import { importStrace } from '../src/import/strace.js';
import { runOps } from '../src/run.js';
import { STRATEGY_NAMES } from '../src/strategies.js';
import { formatTrace, parseTrace } from '../src/trace/parse.js';
import { RangeSet } from '../src/trace/ranges.js';
import { formatOutcome, validateTargets } from '../src/validate.js';
import { liveSkipReason, reportSkip } from './fixtures/live.js';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'strace', 'jemalloc-churn.strace');
const LOG = readFileSync(FIXTURE, 'utf8');

const lines = (ops: ReturnType<typeof importStrace>['ops']) =>
  formatTrace(ops)
    .split('\n')
    .filter((l) => l && !l.startsWith('version'));

describe('strace import: the log forms', () => {
  it('reads pids, -tt timestamps, [pid N] prefixes, and calls split across lines', () => {
    const log = [
      '100 12:00:00.000001 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000',
      '[pid   101] mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0 <unfinished ...>',
      '100 12:00:00.000002 madvise(0x7f0000000000, 8192, MADV_DONTNEED) = 0',
      '[pid   101] <... mmap resumed>) = 0x7f0000100000',
      '1700000000.000003 munmap(0x7f0000000000, 8192) = 0',
      '+++ exited with 0 +++',
    ].join('\n');
    const r = importStrace(log, { touch: 'none' });
    expect(lines(r.ops)).toEqual([
      'mmap 0x7f0000000000 0x2000',
      'madvise 0x7f0000000000 0x2000 dontneed',
      'mmap 0x7f0000100000 0x1000',
      'munmap 0x7f0000000000 0x2000',
    ]);
    expect(r.summary).toContain('pids: 2 (all treated as threads of one address space)');
  });

  it('--format 1 skips and counts failed calls, file-backed and shared mappings, and advice v1 lacks', () => {
    const log = [
      'mmap(NULL, 1099511627776000, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = -1 ENOMEM (Cannot allocate memory)',
      'mmap(NULL, 8192, PROT_READ, MAP_PRIVATE|MAP_DENYWRITE, 3, 0) = 0x7f0000200000',
      'mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS, -1, 0) = 0x7f0000300000',
      'mmap(NULL, 2097152, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0) = 0x7f0000400000',
      'madvise(0x7f0000400000, 2097152, MADV_HUGEPAGE) = 0',
      'madvise(0x7f0000200000, 8192, MADV_DONTNEED) = 0',
      'madvise(0x7f0000400000, 2097152, MADV_FREE) = 0',
    ].join('\n');
    const r = importStrace(log, { format: 1 });
    expect(lines(r.ops)).toEqual([
      'mmap 0x7f0000400000 0x200000',
      'touch 0x7f0000400000 0x200000 write',
      'madvise 0x7f0000400000 0x200000 free',
    ]);
    expect(r.counts).toMatchObject({
      'mmap failed (ENOMEM), skipped': 1,
      'file-backed mmap skipped': 1,
      'shared anonymous mmap skipped': 1,
      'PROT_NONE mmap mapped read-write (--format 1)': 1,
      'madvise MADV_HUGEPAGE skipped (not modelled)': 1,
      'madvise MADV_DONTNEED on unmodelled memory skipped': 1,
    });
  });

  it('MAP_FIXED replaces modelled memory; with --format 1 brk and mremap become mmap/munmap', () => {
    const log = [
      'brk(NULL) = 0x555555559000',
      'brk(0x55555557a000) = 0x55555557a000',
      'brk(0x555555569000) = 0x555555569000',
      'mmap(NULL, 16384, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000',
      'mmap(0x7f0000001000, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) = 0x7f0000001000',
      'mremap(0x7f0000000000, 16384, 32768, 0) = 0x7f0000000000',
      'mremap(0x7f0000000000, 32768, 65536, MREMAP_MAYMOVE) = 0x7f0000100000',
    ].join('\n');
    const r = importStrace(log, { touch: 'all-mapped', format: 1 });
    expect(lines(r.ops)).toEqual([
      'mmap 0x555555559000 0x21000',
      'touch 0x555555559000 0x21000 write',
      'munmap 0x555555569000 0x11000',
      'mmap 0x7f0000000000 0x4000',
      'touch 0x7f0000000000 0x4000 write',
      'munmap 0x7f0000001000 0x1000',
      'mmap 0x7f0000001000 0x1000',
      'touch 0x7f0000001000 0x1000 write',
      'mmap 0x7f0000004000 0x4000',
      'touch 0x7f0000004000 0x4000 write',
      'munmap 0x7f0000000000 0x8000',
      'mmap 0x7f0000100000 0x10000',
      'touch 0x7f0000100000 0x10000 write',
    ]);
  });

  it('rebases by whole 512 GiB spans only, and says what is wrong with bad input', () => {
    const log = 'mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000201000';
    expect(lines(importStrace(log, { touch: 'none', rebase: 0x100000000000 }).ops)).toEqual(['mmap 0x100000201000 0x2000']);
    expect(() => importStrace(log, { rebase: 0x100000001000 })).toThrow(/multiple of 512 GiB/);
    expect(() => importStrace('hello\nworld', { file: 'x.log' })).toThrow(UsageError);
    expect(() => importStrace('hello\nworld', { file: 'x.log' })).toThrow(
      /x.log: no mmap, munmap, mprotect, madvise, mremap or brk calls found; capture with: strace -f/,
    );
  });
});

describe('strace import: a real jemalloc log (test/fixtures/strace/jemalloc-churn.strace)', () => {
  const dontneeds = LOG.split('\n').filter((l) => /madvise\(.*MADV_DONTNEED\) = 0$/.test(l)).length;
  const files = LOG.split('\n').filter((l) => /mmap\(.*, \d+, 0x[0-9a-f]+\) = 0x|mmap\(.*, [3-9], 0\) = 0x/.test(l)).length;

  it("imports every purge, skips the loader's file mappings, and validates as a trace", () => {
    // --format 1 (private anonymous memory only) until the model runs file mappings (issue 12).
    const r = importStrace(LOG, { file: 'jemalloc-churn.strace', format: 1 });
    expect(dontneeds).toBeGreaterThan(100);
    expect(r.counts['madvise MADV_DONTNEED imported']).toBe(dontneeds);
    expect(r.counts['file-backed mmap skipped']).toBe(files);
    expect(r.counts['lines not understood']).toBeUndefined();
    // The written trace parses back to the same ops.
    const text = formatTrace(r.ops, r.header.join('\n'));
    expect(parseTrace(text, 'x').map(({ file: _f, line: _l, ...o }) => o)).toEqual(r.ops.map(({ file: _f, line: _l, ...o }) => o));
  });

  it('runs through every strategy with a clean exit; PT_RECLAIM keeps fewer tables than none', () => {
    const ops = importStrace(LOG, { format: 1 }).ops;
    const results = STRATEGY_NAMES.map((strategy) => runOps(ops, { strategy }));
    for (const r of results) {
      expect(r.exit.problems, r.strategy).toEqual([]);
      expect(r.errorCount, r.strategy).toBe(0);
    }
    const by = Object.fromEntries(results.map((r) => [r.strategy, r]));
    expect(by['pt-reclaim']!.vmPteKb).toBeLessThan(by['none']!.vmPteKb);
    expect(by['pt-reclaim']!.reclaim.fast + by['pt-reclaim']!.reclaim.slow).toBeGreaterThan(0);
  });

  reportSkip('live validation of the imported jemalloc trace', liveSkipReason);
  it.skipIf(liveSkipReason !== undefined)(
    'the imported trace (rebased away from the helper) agrees with the live kernel under each fault model',
    async () => {
      const targets = (['dontneed-ranges', 'all-mapped', 'none'] as const).map((touch) => ({
        source: `jemalloc-churn --touch ${touch}`,
        ops: importStrace(LOG, { touch, rebase: 0x100000000000, format: 1 }).ops,
      }));
      const r = await validateTargets(targets);
      const bad = r.outcomes.filter((o) => !o.agree || o.sharedTables.length).map(formatOutcome);
      expect(bad, bad.join('\n')).toEqual([]);
    },
    60_000,
  );
});

describe('strace import: address spaces (execve, brk(NULL))', () => {
  const REPRO = 'brk(NULL) = 0x555555554000\nbrk(0x555555575000) = 0x555555575000\nbrk(NULL) = 0x600000000000\n';
  const largest = (ops: ReturnType<typeof importStrace>['ops']) => Math.max(0, ...ops.filter((o) => o.kind === 'mmap').map((o) => o.len));

  it('a brk(NULL) answer is the current break, never heap growth (issue 11 repro: no 10.7 TiB mapping)', () => {
    const last = importStrace(REPRO, { file: 'r.strace' });
    expect(largest(last.ops)).toBeLessThan(2 ** 30);
    expect(lines(last.ops)).toEqual([]);
    expect(last.summary.join('\n')).toMatch(
      /address spaces: 2 .*#2 from line 3, brk\(NULL\) answered 0x600000000000, not the break 0x555555575000.*imported #2 \(the last\), 1 before it/,
    );
    const first = importStrace(REPRO, { file: 'r.strace', exec: 1 });
    expect(lines(first.ops)).toEqual(['mmap 0x555555554000 0x21000']);
    // brk(NULL) in the same address space confirming the break changes nothing.
    expect(
      lines(importStrace('brk(NULL) = 0x555555554000\nbrk(0x555555575000) = 0x555555575000\nbrk(NULL) = 0x555555575000\n').ops),
    ).toEqual(['mmap 0x555555554000 0x21000']);
  });

  it('each successful execve starts a new address space for its pid; the last is imported unless --exec says', () => {
    const anon = (len: number, at: string) => `mmap(NULL, ${len}, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = ${at}`;
    const log = [
      '100 execve("/usr/bin/env", ["env", "python3"], 0x7ffd8 /* 20 vars */) = 0',
      '100 brk(NULL) = 0x555555554000',
      `100 ${anon(8192, '0x7f0000000000')}`,
      '100 execve("/nonexistent", ["x"], 0x7ffd8 /* 20 vars */) = -1 ENOENT (No such file or directory)',
      '100 execve("/usr/bin/python3", ["python3"], 0x7ffd8 /* 20 vars */) = 0',
      '100 brk(NULL) = 0x600000000000',
      '100 brk(0x600000021000) = 0x600000021000',
      `101 ${anon(4096, '0x7f1000000000')}`,
    ].join('\n');
    const r = importStrace(log, { touch: 'none' });
    expect(lines(r.ops)).toEqual(['mmap 0x600000000000 0x21000', 'mmap 0x7f1000000000 0x1000']);
    expect(r.summary.join('\n')).toMatch(
      /address spaces: 2 \(#1 from line 1, execve, 2 calls; #2 from line 5, execve, 3 calls\); imported #2 \(the last\), 1 before it/,
    );
    expect(lines(importStrace(log, { touch: 'none', exec: 1 }).ops)).toEqual(['mmap 0x7f0000000000 0x2000']);
    expect(() => importStrace(log, { file: 'x.log', exec: 3 })).toThrow(
      /x.log: --exec 3: the log has 2 address spaces .*give 1 to 2 or "last"/,
    );
  });
});

describe('strace import: lines that are not strace output', () => {
  const MMAP = 'mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000';

  it('a lone CR, binary garbage and NULs are skipped and counted with the first line number', () => {
    const log = `${MMAP}\nfoo\rbar\n\u0000\u0001garbage\n\ufffd\ufffd\n${MMAP.replace('0x7f0000000000', '0x7f0000100000')}\r\n`;
    const r = importStrace(log, { file: 'b.strace', touch: 'none' });
    expect(lines(r.ops)).toEqual(['mmap 0x7f0000000000 0x2000', 'mmap 0x7f0000100000 0x2000']);
    expect(r.summary).toContain('lines with binary data or control characters skipped: 3 (first at b.strace:2)');
  });

  it('a binary file is a UsageError that says so', () => {
    expect(() => importStrace('\u0000\u0000\u0007ELF\n\u0001\u0002', { file: 'a.out' })).toThrow(
      /a.out: no mmap.*2 lines hold binary data or control characters, the first at line 1: is it an strace log\?/,
    );
    expect(() => importStrace('\u0000\u0001ELF', { file: 'b.out' })).toThrow(
      /b.out: no mmap.*\(1 line holds binary data or control characters, the first at line 1/,
    );
  });

  it('a call left <unfinished ...> and never resumed is counted and reported', () => {
    const log = [
      MMAP,
      '[pid 7] munmap(0x7f0000000000, 8192 <unfinished ...>',
      '[pid 8] madvise(0x7f0000000000, 4096, MADV_DONTNEED <unfinished ...>',
      '+++ exited with 0 +++',
    ].join('\n');
    const r = importStrace(log, { file: 'u.strace', touch: 'none' });
    expect(r.counts['calls left <unfinished ...> and never resumed, skipped']).toBe(2);
    expect(r.summary).toContain('calls left <unfinished ...> and never resumed, skipped: 2 (first at u.strace:2)');
  });
});

describe('strace import: guessed faults are labelled', () => {
  it('the summary and the written trace say the touch ops are guesses of the --touch model', () => {
    const log =
      'mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000\nmadvise(0x7f0000000000, 8192, MADV_DONTNEED) = 0';
    const r = importStrace(log);
    expect(r.summary).toContain(
      'fault model: --touch dontneed-ranges: the 1 touch ops are GUESSES (strace cannot see page faults), not faults the program took',
    );
    const text = formatTrace(r.ops, r.header.join('\n'));
    expect(text).toMatch(/^# GUESSED page faults: every touch op below comes from the fault model --touch dontneed-ranges/m);
  });
});

describe("RangeSet (the importer's interval set) agrees with a page bitmap", () => {
  it('add/remove/clip/intersects over random ranges', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('add', 'remove', 'clip', 'intersects'), fc.nat(64), fc.nat(16)), { maxLength: 60 }),
        (steps) => {
          const set = new RangeSet();
          const bits = new Array<boolean>(96).fill(false);
          for (const [op, s, n] of steps) {
            const e = s + n;
            if (op === 'add') for (let i = s; i < e; i++) bits[i] = true;
            if (op === 'remove') for (let i = s; i < e; i++) bits[i] = false;
            if (op === 'add') set.add(s, e);
            else if (op === 'remove') set.remove(s, e);
            else if (op === 'clip') {
              const want: number[] = [];
              for (let i = s; i < e; i++) if (bits[i]) want.push(i);
              expect(set.clip(s, e).flatMap(([a, b]) => Array.from({ length: b - a }, (_, k) => a + k))).toEqual(want);
            } else if (n > 0) expect(set.intersects(s, e)).toBe(bits.slice(s, e).some(Boolean));
          }
          // Sorted, merged, non-empty ranges covering exactly the set pages.
          const list = set.list;
          for (let i = 0; i < list.length; i++) {
            expect(list[i]![0]).toBeLessThan(list[i]![1]);
            if (i) expect(list[i - 1]![1]).toBeLessThan(list[i]![0]);
          }
          expect(list.flatMap(([a, b]) => Array.from({ length: b - a }, (_, k) => a + k))).toEqual(bits.flatMap((b, i) => (b ? [i] : [])));
        },
      ),
      { seed: 11, numRuns: 300 },
    );
  });
});
