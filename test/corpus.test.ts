import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { corpusTraceText, generateCorpus, generateTrace, type CorpusManifest } from '../src/corpus/generate.js';
import { packageRoot } from '../src/paths.js';
import { runOps } from '../src/run.js';
import { parseTrace } from '../src/trace/parse.js';
import { formatOutcome, loadTargets, validateTargets } from '../src/validate.js';
import { liveSkipReason, reportSkip } from './fixtures/live.js';

const dir = join(packageRoot(), 'corpus', 'validation');
const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as CorpusManifest;

describe('validation corpus', () => {
  it('is deterministic in its seed', () => {
    expect(generateTrace(7, 3)).toEqual(generateTrace(7, 3));
    expect(generateTrace(7, 3).ops).not.toEqual(generateTrace(8, 3).ops);
  });

  it('the committed files are exactly what the generator writes for the manifest seed', () => {
    const traces = generateCorpus({ seed: manifest.seed, count: manifest.count });
    expect(traces.map((t) => t.name)).toEqual(manifest.files);
    traces.forEach((t, i) => {
      expect(readFileSync(join(dir, t.name), 'utf8'), t.name).toBe(corpusTraceText(t, manifest.seed, i));
    });
  });

  it('covers every move, table boundaries at each level, and stays small', () => {
    const traces = generateCorpus({ seed: manifest.seed, count: manifest.count });
    const moves = new Set(traces.flatMap((t) => t.moves));
    for (const m of [
      'map-adjacent',
      'map-boundary',
      'touch',
      'dontneed-pmd',
      'dontneed-part',
      'across-hole',
      'free-dontneed',
      'munmap-split',
      'munmap-whole',
      'remap',
    ]) {
      expect(moves.has(m), m).toBe(true);
    }
    const crosses = (size: number) =>
      traces.some((t) => t.ops.some((o) => o.kind === 'mmap' && Math.floor(o.addr / size) !== Math.floor((o.addr + o.len - 1) / size)));
    expect(crosses(2 ** 30)).toBe(true); // a mapping over a 1 GiB boundary (two PMD tables)
    expect(crosses(2 ** 39)).toBe(true); // and over a 512 GiB one (two PUD tables)
    const reads = traces.some((t) => t.ops.some((o) => o.kind === 'touch' && o.access === 'read'));
    expect(reads).toBe(true);
    // ~10 µs per touched page on the live kernel: keep the whole corpus replay in seconds.
    expect(traces.reduce((a, t) => a + t.touchedPages, 0)).toBeLessThan(250_000);
  });

  it('every trace runs cleanly through the model with both strategies', () => {
    for (const f of manifest.files) {
      const ops = parseTrace(readFileSync(join(dir, f), 'utf8'), f);
      for (const strategy of ['none', 'pt-reclaim']) {
        const r = runOps(ops, { strategy });
        expect(r.exit.problems, `${f} ${strategy}`).toEqual([]);
      }
    }
  });

  reportSkip('live validation of the corpus', liveSkipReason);
  it.skipIf(liveSkipReason !== undefined)(
    'agrees exactly with the live kernel, trace by trace',
    async () => {
      // --suite corpus is the v1 corpus, then the v2 corpus (random, corners): v2 traces the
      // model does not run yet are reported as unmodelled, every other trace agrees exactly.
      const targets = loadTargets({ suite: 'corpus' });
      const r = await validateTargets(targets);
      const bad = r.outcomes.filter((o) => !o.agree).map(formatOutcome);
      expect(bad, bad.join('\n')).toEqual([]);
      expect(r.refused).toEqual([]);
      expect(r.outcomes.length + r.unmodelled.length).toBe(targets.length);
      const v1 = manifest.files.map((f) => join(dir, f));
      expect(targets.slice(0, v1.length).map((t) => t.source)).toEqual(v1);
      expect(targets.length).toBeGreaterThan(v1.length + 48);
      for (const f of v1) expect(r.outcomes.some((o) => o.source === f)).toBe(true);
      for (const u of r.unmodelled) {
        expect(u.source).toMatch(/corpus\/v2\//);
        expect(u.reason).toContain(`trace v2: ${u.feature}`);
        expect(u.reason).toContain('is not modelled yet');
      }
      expect(r.outcomes.every((o) => o.sharedTables.length === 0)).toBe(true);
    },
    120_000,
  );
});
