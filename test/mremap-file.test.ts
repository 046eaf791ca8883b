/**
 * mremap of file-backed and shmem VMAs in the model (trace v2, issue 12), on both cores: the
 * corner traces of test/fixtures/mremap-file-traces.ts must give, after every op, the VmPTE,
 * RssAnon, RssFile, RssShmem and errno the live kernel gave (test/oracle-mremap-file.test.ts
 * replays them there), the moved VMA keeps its object and offset, and every strategy exits
 * clean.
 */
import { describe, expect, it } from 'vitest';
import { Mm } from '../src/mm/mm.js';
import { WasmCore } from '../src/core/wasm.js';
import { ReferenceCore } from '../src/core/reference.js';
import { applyOp } from '../src/run.js';
import { parseTrace } from '../src/trace/parse.js';
import type { Op } from '../src/trace/ops.js';
import { MREMAP_FILE_TRACES } from './fixtures/mremap-file-traces.js';

/** The conditions the live rows were measured under (readahead and fault-around shape RssFile). */
const HOST = { faultAroundBytes: 65536, readaheadBytes: 8192 * 1024, zeroPage: true };

const parse = (body: string): Op[] => parseTrace(`version 2\n${body}`, 'mremap-file');

function newMm(core: 'wasm' | 'ts', strategy = 'pt-reclaim'): Mm {
  return new Mm(core === 'ts' ? new ReferenceCore() : new WasmCore('debug'), { strategy, ...HOST });
}

/** "VmPTE RssAnon RssFile RssShmem [errno]" (kB) after each op. */
function steps(mm: Mm, ops: readonly Op[]): string[] {
  return ops.map((op) => {
    const err = applyOp(mm, op);
    const s = mm.stats();
    return `${(s.NrPte + s.NrPmd + s.NrPud) * 4} ${s.RssAnon * 4} ${s.RssFile * 4} ${s.RssShmem * 4}${err ? ` ${err.errno}` : ''}`;
  });
}

describe('mremap of file and shmem VMAs (model)', () => {
  for (const core of ['wasm', 'ts'] as const) {
    it.each(Object.keys(MREMAP_FILE_TRACES))(`%s: the live kernel's counters and errno after every op (${core} core)`, (name) => {
      const { trace, live } = MREMAP_FILE_TRACES[name]!;
      const ops = parse(trace);
      const lines = trace.trim().split('\n');
      const mm = newMm(core);
      const got = steps(mm, ops);
      expect(got.map((g, i) => `${lines[i] ?? i} -> ${g}`)).toEqual(live.map((w, i) => `${lines[i] ?? i} -> ${w}`));
      expect(mm.exit().problems).toEqual([]);
    });
  }

  it.each(['none', 'pt-reclaim', 'pt-reclaim-v1', 'async-scan', 'refcount'])('%s: every corner trace runs and exits clean', (strategy) => {
    for (const { trace } of Object.values(MREMAP_FILE_TRACES)) {
      const mm = newMm('wasm', strategy);
      for (const op of parse(trace)) applyOp(mm, op);
      const r = mm.exit();
      expect(r.problems).toEqual([]);
      expect(r.stats.NrPte + r.stats.NrPmd + r.stats.NrPud).toBe(0);
    }
  });

  it('a moved file VMA keeps its file and offset; OLDLEN 0 of a shared one maps the object twice', () => {
    const mm = newMm('wasm');
    const B = 0x300000000000;
    for (const op of parse(`
mmap 0x300000000000 0x400000 shared file=k:0x100000
mremap 0x300000200000 0x100000 0x100000 0x300040000000
mremap 0x300000000000 0x0 0x100000 0x300080000000
`))
      expect(applyOp(mm, op)).toBeUndefined();
    const vmas = mm.vmas.all().map((v) => [v.start - B, v.end - B, v.file, v.pgoff]);
    expect(vmas).toEqual([
      [0, 0x200000, 'file:k', 0x100],
      [0x300000, 0x400000, 'file:k', 0x400],
      [0x40000000, 0x40100000, 'file:k', 0x300],
      [0x80000000, 0x80100000, 'file:k', 0x100],
    ]);
  });
});
