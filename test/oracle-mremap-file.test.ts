/**
 * mremap of file-backed and shmem VMAs against the live kernel, op by op: each corner trace of
 * test/fixtures/mremap-file-traces.ts is replayed by the helper (`--per-op`) and by the model
 * (configured with this host's fault_around_bytes, read_ahead_kb and zero page, as validate
 * does), and VmPTE, RssAnon, RssFile, RssShmem and every errno must agree after every op.
 * Skipped (visibly) where the oracle cannot run.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { liveSkipReason, reportSkip } from './fixtures/live.js';
import { Mm } from '../src/mm/mm.js';
import { WasmCore } from '../src/core/wasm.js';
import { applyOp } from '../src/run.js';
import { parseTrace } from '../src/trace/parse.js';
import { runLiveTrace } from '../src/oracle/live.js';
import { zeroPageFromCmdline } from '../src/oracle/host.js';
import { hostFaultAroundBytes, hostReadaheadBytes } from '../src/oracle/filemap-host.js';
import { DEFAULTS } from '../src/options.js';
import type { Op } from '../src/trace/ops.js';
import { MREMAP_FILE_TRACES } from './fixtures/mremap-file-traces.js';

const zeroPage = (() => {
  try {
    return zeroPageFromCmdline(readFileSync('/proc/cmdline', 'utf8')).zeroPage;
  } catch {
    return true;
  }
})();

function modelSteps(ops: readonly Op[]): string[] {
  const mm = new Mm(new WasmCore('debug'), {
    strategy: 'pt-reclaim',
    zeroPage,
    faultAroundBytes: hostFaultAroundBytes() ?? DEFAULTS.faultAroundBytes,
    readaheadBytes: hostReadaheadBytes() ?? DEFAULTS.readaheadBytes,
  });
  const out = ops.map((op) => {
    const err = applyOp(mm, op);
    const s = mm.stats();
    return `${(s.NrPte + s.NrPmd + s.NrPud) * 4} ${s.RssAnon * 4} ${s.RssFile * 4} ${s.RssShmem * 4}${err ? ` ${err.errno}` : ''}`;
  });
  expect(mm.exit().problems).toEqual([]);
  return out;
}

async function liveSteps(ops: readonly Op[]): Promise<string[]> {
  const r = await runLiveTrace(ops, { perOp: true });
  const errs = new Map(r.errors.map((e) => [e.index, e.name]));
  return r.perOp!.map(
    (p, i) => `${p.vmPteKb} ${p.rssAnonKb} ${p.rssFileKb ?? NaN} ${p.rssShmemKb ?? NaN}${errs.has(i) ? ` ${errs.get(i)!}` : ''}`,
  );
}

describe('live kernel: mremap of file and shmem VMAs, op by op', () => {
  reportSkip('live mremap-file validation', liveSkipReason);
  const live = it.skipIf(liveSkipReason !== undefined);

  live.each(Object.keys(MREMAP_FILE_TRACES))('%s: VmPTE, RssAnon, RssFile, RssShmem and errno agree after every op', async (name) => {
    const { trace } = MREMAP_FILE_TRACES[name]!;
    const ops = parseTrace(`version 2\n${trace}`, name);
    const lines = trace.trim().split('\n');
    const want = await liveSteps(ops);
    const got = modelSteps(ops);
    expect(got.map((g, i) => `${lines[i] ?? i} -> ${g}`)).toEqual(want.map((w, i) => `${lines[i] ?? i} -> ${w}`));
  });
});
