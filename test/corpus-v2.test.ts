/**
 * The trace v2 corpus (issue 12 item 4): the seeded generator (deterministic, grammar-valid,
 * covering every op, option and advice at the shapes it promises), the hand-written corner
 * traces, and, on a live kernel, that every trace replays to the same per-op result twice
 * (VmPTE, RssAnon, RssFile, RssShmem, errno): the corpus holds no shape whose kernel answer is
 * not a function of the trace.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  CORPUS_V2_CORNERS_DIR,
  CORPUS_V2_RANDOM_DIR,
  MOVES_V2,
  corpusTraceTextV2,
  generateCorpusV2,
  generateTraceV2,
  type CorpusManifestV2,
} from '../src/corpus/generate-v2.js';
import { PMD_SIZE, PUD_SIZE, PGDIR_SIZE } from '../src/core/types.js';
import { runLiveTrace } from '../src/oracle/live.js';
import { packageRoot } from '../src/paths.js';
import { ADVICES_V2, type Op } from '../src/trace/ops.js';
import { formatTrace, parseTrace } from '../src/trace/parse.js';
import { liveSkipReason, reportSkip } from './fixtures/live.js';

const randomDir = join(packageRoot(), ...CORPUS_V2_RANDOM_DIR);
const cornersDir = join(packageRoot(), ...CORPUS_V2_CORNERS_DIR);
const manifest = JSON.parse(readFileSync(join(randomDir, 'manifest.json'), 'utf8')) as CorpusManifestV2;
const cornerFiles = readdirSync(cornersDir)
  .filter((f) => f.endsWith('.trace'))
  .sort();

const strip = (ops: readonly Op[]) => ops.map(({ file: _f, line: _l, ...rest }) => rest);

describe('trace v2 corpus generator', () => {
  it('is deterministic in its seed and index', () => {
    expect(generateTraceV2(7, 3)).toEqual(generateTraceV2(7, 3));
    expect(generateTraceV2(7, 3).ops).not.toEqual(generateTraceV2(8, 3).ops);
    expect(generateTraceV2(7, 3).ops).not.toEqual(generateTraceV2(7, 4).ops);
  });

  it('the committed files are exactly what the generator writes for the manifest seed', () => {
    expect(manifest.traceFormat).toBe(2);
    const traces = generateCorpusV2({ seed: manifest.seed, count: manifest.count });
    expect(traces.map((t) => t.name)).toEqual(manifest.files);
    const onDisk = readdirSync(randomDir).filter((f) => f.endsWith('.trace'));
    expect(onDisk.sort()).toEqual([...manifest.files].sort());
    traces.forEach((t, i) => {
      expect(readFileSync(join(randomDir, t.name), 'utf8'), t.name).toBe(corpusTraceTextV2(t, manifest.seed, i));
    });
  });

  it('every generated trace is valid trace v2 and reads back as the ops written (several seeds)', () => {
    for (const seed of [manifest.seed, 1, 0xdeadbeef]) {
      for (const t of generateCorpusV2({ seed, count: 24 })) {
        const text = corpusTraceTextV2(t, seed, 0);
        expect(text, t.name).toMatch(/^version 2$/m);
        const back = parseTrace(text, t.name);
        expect(strip(back), `${seed} ${t.name}`).toEqual(strip(t.ops));
        // Canonical: formatting the parsed ops again gives the same lines.
        expect(formatTrace(back).split('\n').slice(1)).toEqual(
          text
            .split('\n')
            .filter((l) => !l.startsWith('#'))
            .slice(1),
        );
        for (const op of t.ops) {
          expect(op.addr % 4096, `${t.name} ${op.kind}`).toBe(0);
          expect(op.len % 4096).toBe(0);
          expect(op.len).toBeGreaterThan(0);
          expect(op.addr).toBeGreaterThanOrEqual(0x100000000000);
          expect(op.addr + op.len).toBeLessThanOrEqual(0x500000000000);
        }
      }
    }
  });

  it('mixes every operation, option and advice of trace v2 at the promised shapes', () => {
    const traces = generateCorpusV2({ seed: manifest.seed, count: manifest.count });
    const ops = traces.flatMap((t) => t.ops);
    const seen = new Set<string>();
    for (const o of ops) {
      seen.add(o.kind);
      if (o.kind === 'madvise') seen.add(`madvise ${o.advice}`);
      if (o.kind === 'touch') seen.add(`touch ${o.access}`);
      if (o.kind === 'mprotect') seen.add(`mprotect ${o.prot}`);
      if (o.kind === 'mremap') seen.add(o.newAddr === undefined ? (o.newLen > o.len ? 'mremap grow' : 'mremap shrink') : 'mremap move');
      if (o.kind === 'mmap') {
        seen.add(`mmap prot=${o.prot ?? 'rw'}`);
        seen.add(`mmap ${o.shared ? 'shared' : 'private'} ${o.mapFile === undefined ? 'anon' : 'file'}`);
        if (o.offset) seen.add('mmap file offset');
      }
    }
    const want = [
      'mmap',
      'munmap',
      'mprotect',
      'mremap',
      'touch',
      'madvise',
      ...ADVICES_V2.map((a) => `madvise ${a}`),
      'touch read',
      'touch write',
      'mprotect rw',
      'mprotect r',
      'mprotect none',
      'mremap grow',
      'mremap shrink',
      'mremap move',
      'mmap prot=rw',
      'mmap prot=r',
      'mmap prot=none',
      'mmap private anon',
      'mmap shared anon',
      'mmap private file',
      'mmap shared file',
      'mmap file offset',
    ];
    expect(want.filter((w) => !seen.has(w))).toEqual([]);
    expect(new Set(traces.flatMap((t) => t.moves))).toEqual(new Set(MOVES_V2));
    const crosses = (size: number) =>
      ops.some((o) => (o.kind === 'mmap' || o.kind === 'touch') && Math.floor(o.addr / size) !== Math.floor((o.addr + o.len - 1) / size));
    expect(crosses(PMD_SIZE)).toBe(true);
    expect(crosses(PUD_SIZE)).toBe(true);
    expect(crosses(PGDIR_SIZE)).toBe(true);
    // Aligned and unaligned mappings; moves into another PUD and another PGD.
    expect(ops.some((o) => o.kind === 'mmap' && o.addr % PMD_SIZE === 0)).toBe(true);
    expect(ops.some((o) => o.kind === 'mmap' && o.addr % PMD_SIZE !== 0)).toBe(true);
    const moves = ops.filter((o) => o.kind === 'mremap' && o.newAddr !== undefined) as Extract<Op, { kind: 'mremap' }>[];
    expect(moves.some((o) => Math.floor(o.addr / PUD_SIZE) !== Math.floor(o.newAddr! / PUD_SIZE))).toBe(true);
    expect(moves.some((o) => Math.floor(o.addr / PGDIR_SIZE) !== Math.floor(o.newAddr! / PGDIR_SIZE))).toBe(true);
    expect(moves.some((o) => o.addr % PMD_SIZE === o.newAddr! % PMD_SIZE)).toBe(true);
    expect(moves.some((o) => o.addr % PMD_SIZE !== o.newAddr! % PMD_SIZE)).toBe(true);
    // A replay stays short: bounded resident pages per trace (a THP counted whole).
    for (const t of traces) expect(t.residentPages, t.name).toBeLessThanOrEqual(8192);
  });

  it("`corpus generate --format 2` writes the generator's traces and a manifest; a bad format is refused", () => {
    const bin = join(import.meta.dirname, '..', 'bin', 'ptreclaim.js');
    const out = mkdtempSync(join(tmpdir(), 'ptreclaim-corpus-v2-'));
    try {
      const r = spawnSync(process.execPath, [bin, 'corpus', 'generate', '--format', '2', '--seed', '5', '--count', '3', '-o', out], {
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      const traces = generateCorpusV2({ seed: 5, count: 3 });
      for (const [i, t] of traces.entries()) expect(readFileSync(join(out, t.name), 'utf8')).toBe(corpusTraceTextV2(t, 5, i));
      const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as CorpusManifestV2;
      expect(m).toMatchObject({ traceFormat: 2, seed: 5, count: 3, generator: 'ptreclaim corpus generate --format 2 --seed 5 --count 3' });
      const bad = spawnSync(process.execPath, [bin, 'corpus', 'generate', '--format', '3', '-o', out], { encoding: 'utf8' });
      expect(bad.status).not.toBe(0);
      expect(bad.stderr).toMatch(/--format.*3.*(1, 2|choices)/s);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('refuses a bad seed or count with a clear message', () => {
    expect(() => generateCorpusV2({ seed: -1 })).toThrow(/seed must be an integer in 0\.\.4294967295/);
    expect(() => generateCorpusV2({ count: 1.5 })).toThrow(/count must be an integer/);
  });
});

describe('trace v2 corner traces', () => {
  it('there is one per case and each parses as trace v2 with a comment saying what it checks', () => {
    expect(cornerFiles.length).toBeGreaterThanOrEqual(40);
    for (const f of cornerFiles) {
      const text = readFileSync(join(cornersDir, f), 'utf8');
      const first = text.split('\n')[0]!;
      expect(first, f).toMatch(new RegExp(`^# ${f.replace(/\.trace$/, '')}: \\S.{20,}`));
      expect(text.split('\n').find((l) => !l.startsWith('#'))).toBe('version 2');
      expect(parseTrace(text, f).length, f).toBeGreaterThan(1);
    }
  });

  it('cover every area of the issue: THP, files, shmem, mprotect, mremap, guard markers, populate', () => {
    for (const prefix of ['thp-', 'file-', 'shmem', 'mprotect-', 'mremap-', 'guard-', 'populate-', 'dontneed-locked', 'madv-remove']) {
      expect(
        cornerFiles.some((f) => f.startsWith(prefix)),
        prefix,
      ).toBe(true);
    }
    const advices = new Set(
      cornerFiles.flatMap((f) =>
        parseTrace(readFileSync(join(cornersDir, f), 'utf8'), f).flatMap((o) => (o.kind === 'madvise' ? [o.advice] : [])),
      ),
    );
    expect(ADVICES_V2.filter((a) => !advices.has(a))).toEqual([]);
  });
});

/** Per op: VmPTE, RssAnon, RssFile, RssShmem deltas and the errno, as one string each. */
async function perOpResult(ops: readonly Op[]): Promise<string[]> {
  const r = await runLiveTrace(ops, { perOp: true });
  const err = new Map(r.errors.map((e) => [e.index, e.name]));
  return r.perOp!.map((p, i) => `${p.vmPteKb}/${p.rssAnonKb}/${p.rssFileKb ?? '?'}/${p.rssShmemKb ?? '?'}/${err.get(i) ?? ''}`);
}

describe('trace v2 corpus on the live kernel', () => {
  reportSkip('live replay of the v2 corpus', liveSkipReason);
  it.skipIf(liveSkipReason !== undefined)(
    'every trace replays, and twice to the same per-op counters and errnos',
    async () => {
      const files = [...manifest.files.map((f) => join(randomDir, f)), ...cornerFiles.map((f) => join(cornersDir, f))];
      const unstable: string[] = [];
      for (const path of files) {
        const ops = parseTrace(readFileSync(path, 'utf8'), path);
        const a = await perOpResult(ops);
        const b = await perOpResult(ops);
        expect(a).toHaveLength(ops.length);
        const i = a.findIndex((s, k) => s !== b[k]);
        if (i >= 0) unstable.push(`${path}:${String(ops[i]!.line)}: ${a[i]!} then ${b[i]!}`);
      }
      expect(unstable, unstable.join('\n')).toEqual([]);
    },
    180_000,
  );
});
