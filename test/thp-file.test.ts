/**
 * MADV_HUGEPAGE, MADV_NOHUGEPAGE and MADV_COLLAPSE on file and shmem VMAs (trace v2, issue
 * 12): the measured corner trace of test/fixtures/file-thp-traces.ts in the model on both
 * cores (the live kernel's values after every op) and, where the oracle runs, replayed live op
 * by op; what stays refused (a fault that could map a PMD-sized page-cache or shmem folio,
 * MADV_COLLAPSE of shmem) is refused with the op named.
 */
import { describe, expect, it } from 'vitest';
import { Mm } from '../src/mm/mm.js';
import { WasmCore } from '../src/core/wasm.js';
import { ReferenceCore } from '../src/core/reference.js';
import { applyOp, runOps } from '../src/run.js';
import { parseTrace } from '../src/trace/parse.js';
import { runLiveTrace } from '../src/oracle/live.js';
import { readThpSettings, zeroPageFromCmdline } from '../src/oracle/host.js';
import { hostFaultAroundBytes, hostReadaheadBytes } from '../src/oracle/filemap-host.js';
import { readFileSync } from 'node:fs';
import { UnmodelledTraceError } from '../src/errors.js';
import { DEFAULTS, type ShmemThpMode } from '../src/options.js';
import type { Op } from '../src/trace/ops.js';
import { liveSkipReason, reportSkip } from './fixtures/live.js';
import {
  FILE_HUGE_PMD_MPROTECT_TRACE,
  FILE_HUGE_PMD_MREMAP_TRACE,
  FILE_HUGE_PMD_POPULATE_TRACE,
  FILE_HUGE_PMD_TRACE,
  FILE_THP_SHMEM_ENABLED,
  FILE_THP_TRACE,
} from './fixtures/file-thp-traces.js';

const HOST = { faultAroundBytes: 65536, readaheadBytes: 8192 * 1024, zeroPage: true, thp: 'madvise' as const };
const ops = parseTrace(`version 2\n${FILE_THP_TRACE.trace}`, 'file-thp');
const lines = FILE_THP_TRACE.trace.trim().split('\n');
const HUGE = [FILE_HUGE_PMD_TRACE, FILE_HUGE_PMD_MPROTECT_TRACE, FILE_HUGE_PMD_MREMAP_TRACE, FILE_HUGE_PMD_POPULATE_TRACE].map((t) => ({
  what: t.what,
  ops: parseTrace(`version 2\n${t.trace}`, 'file-huge-pmd'),
  lines: t.trace.trim().split('\n'),
  live: t.live,
}));

function steps(mm: Mm, list: readonly Op[]): string[] {
  return list.map((op) => {
    const err = applyOp(mm, op);
    const s = mm.stats();
    return `${(s.NrPte + s.NrPmd + s.NrPud) * 4} ${s.RssAnon * 4} ${s.RssFile * 4} ${s.RssShmem * 4}${err ? ` ${err.errno}` : ''}`;
  });
}
const labelled = (rows: readonly string[], names = lines) => rows.map((r, i) => `${names[i] ?? i} -> ${r}`);

describe('THP advice on file and shmem VMAs (model)', () => {
  it.each(['wasm', 'ts'] as const)("the live kernel's counters and errno after every op (%s core)", (core) => {
    const mm = new Mm(core === 'ts' ? new ReferenceCore() : new WasmCore('debug'), {
      strategy: 'pt-reclaim',
      shmemThp: FILE_THP_SHMEM_ENABLED,
      ...HOST,
    });
    expect(labelled(steps(mm, ops))).toEqual(labelled(FILE_THP_TRACE.live));
    expect(mm.exit().problems).toEqual([]);
  });

  it.each(HUGE.flatMap((t) => (['wasm', 'ts'] as const).map((core) => [t.what, core, t] as const)))(
    '%s: the live counters after every op (%s core)',
    (_what, core, { ops: hugeOps, lines: hugeLines, live }) => {
      const mm = new Mm(core === 'ts' ? new ReferenceCore() : new WasmCore('debug'), {
        strategy: 'pt-reclaim',
        shmemThp: FILE_THP_SHMEM_ENABLED,
        ...HOST,
      });
      expect(labelled(steps(mm, hugeOps), hugeLines)).toEqual(labelled(live, hugeLines));
      expect(mm.stats().ThpSplitPmd).toBeGreaterThan(0);
      expect(mm.exit().problems).toEqual([]);
    },
  );

  it.each(
    HUGE.flatMap((t) => (['none', 'pt-reclaim', 'pt-reclaim-v1', 'async-scan', 'refcount'] as const).map((st) => [t.what, st, t] as const)),
  )('%s under %s: WASM and reference cores agree, checker clean', (_what, strategy, { ops: hugeOps, lines: hugeLines, live }) => {
    const run = (core: WasmCore | ReferenceCore, check: boolean) => {
      const mm = new Mm(core, { strategy, shmemThp: FILE_THP_SHMEM_ENABLED, ...HOST, check });
      const rows = steps(mm, hugeOps);
      const problems = mm.exit().problems;
      return { rows, problems, violations: check ? mm.takeViolations() : [] };
    };
    const wasm = run(new WasmCore('debug'), true);
    if (strategy === 'none' || strategy === 'pt-reclaim') expect(wasm).toEqual(run(new ReferenceCore(), false));
    // RSS does not depend on the strategy: the live kernel's after every op.
    const rss = (rows: readonly string[]) => rows.map((r) => r.split(' ').slice(1).join(' '));
    expect(labelled(rss(wasm.rows), hugeLines)).toEqual(labelled(rss(live), hugeLines));
    expect(wasm.problems).toEqual([]);
    expect(wasm.violations).toEqual([]);
  });

  it('hugepage and nohugepage split and merge file and shmem VMAs like anonymous ones', () => {
    const mm = new Mm(new WasmCore('debug'), { strategy: 'pt-reclaim' });
    for (const op of parseTrace(
      'version 2\nmmap 0x300000000000 4M file=h\nmmap 0x300040000000 4M shared\nmadvise 0x300000000000 1M hugepage\nmadvise 0x300040100000 1M hugepage\n',
    ))
      expect(applyOp(mm, op)).toBeUndefined();
    expect(mm.vmas.size).toBe(5);
    for (const op of parseTrace(
      'version 2\nmadvise 0x300000000000 1M nohugepage\nmadvise 0x300000000000 4M hugepage\nmadvise 0x300040000000 4M hugepage\n',
    ))
      expect(applyOp(mm, op)).toBeUndefined();
    expect(mm.vmas.size).toBe(2);
  });

  const refused =
    (trace: string, shmemThp: ShmemThpMode = 'never') =>
    () =>
      runOps(parseTrace(`version 2\n${trace}`, 'r.trace'), { shmemThp });
  it.each([
    [
      'mmap 0x300000000000 4M shared file=h\nmadvise 0x300000000000 4M hugepage\nmadvise 0x300000000000 4M willneed',
      'never',
      'r.trace:4: trace v2: madvise willneed with MADV_HUGEPAGE',
    ],
    [
      'mmap 0x300000000000 4M shared\ntouch 0x300000000000 4K write',
      'always',
      'r.trace:3: trace v2: a fault with shmem_enabled always (PMD-mapped shmem folios) of a shared anonymous (shmem) mapping',
    ],
    [
      'mmap 0x300000000000 4M shared\nmadvise 0x300000000000 4M hugepage\ntouch 0x300000000000 4K write',
      'advise',
      'r.trace:4: trace v2: a fault with shmem_enabled advise',
    ],
    [
      'mmap 0x300000000000 4M shared\ntouch 0x300000000000 4K write\nmadvise 0x300000000000 4M collapse',
      'never',
      'r.trace:4: trace v2: madvise collapse of a shared anonymous (shmem) mapping ([0x300000000000, 0x300000400000)) is not modelled yet',
    ],
    [
      'mmap 0x300000000000 4M file=h\nmadvise 0x300000000000 4M hugepage\ntouch 0x300000200000 4K read\nmadvise 0x300000000000 4M pageout',
      'never',
      'r.trace:5: trace v2: madvise pageout over a PMD-mapped page-cache folio ([0x300000200000, 0x300000400000))',
    ],
    [
      'mmap 0x300000000000 4M shared file=h\nmadvise 0x300000000000 4M hugepage\ntouch 0x300000000000 4K read\ntouch 0x300000000000 4K write',
      'never',
      'r.trace:5: trace v2: a shared write into a PMD-mapped page-cache folio (0x300000000000) is not modelled yet',
    ],
    [
      'mmap 0x300000000000 4M shared file=h\nmadvise 0x300000000000 4M hugepage\ntouch 0x300000000000 4K write',
      'never',
      'r.trace:4: trace v2: a shared write fault mapping a PMD-sized page-cache folio by its PMD',
    ],
    [
      'mmap 0x300000000000 4M shared file=h\nmadvise 0x300000000000 4M hugepage\ntouch 0x300000000000 4K read\nmmap 0x300040000000 4M shared file=h\nmadvise 0x300040000000 4K remove',
      'never',
      'r.trace:6: trace v2: madvise remove over a PMD-mapped page-cache folio ([0x300000000000, 0x300000200000))',
    ],
  ] as const)('refuses %j under shmem_enabled %s', (trace, mode, message) => {
    expect(refused(trace, mode)).toThrow(UnmodelledTraceError);
    expect(refused(trace, mode)).toThrow(message);
  });

  it('runs shmem faults under shmem_enabled advise without VM_HUGEPAGE, and under deny with it', () => {
    expect(refused('mmap 0x300000000000 4M shared\ntouch 0x300000000000 4K write', 'advise')().rss).toMatchObject({ shmemPages: 1 });
    expect(
      refused('mmap 0x300000000000 4M shared\nmadvise 0x300000000000 4M hugepage\ntouch 0x300000000000 4K write', 'deny')().rss,
    ).toMatchObject({
      shmemPages: 1,
    });
  });
});

describe('live kernel: THP advice on file and shmem VMAs, op by op', () => {
  reportSkip('live file THP validation', liveSkipReason);
  const t = liveSkipReason === undefined ? readThpSettings() : undefined;
  const shmemThp = t?.shmemEnabledPmd !== 'inherit' ? t?.shmemEnabledPmd : t.shmemEnabled;
  // Only where the host's shmem THP is modelled (never, deny) and THP is madvise, as the trace assumes.
  const live = it.skipIf(liveSkipReason !== undefined || (shmemThp !== 'never' && shmemThp !== 'deny') || t?.enabled !== 'madvise');

  live('VmPTE, RssAnon, RssFile, RssShmem and errno agree with the model (host settings) after every op', async () => {
    const r = await runLiveTrace(ops, { perOp: true });
    const errs = new Map(r.errors.map((e) => [e.index, e.name]));
    const got = r.perOp!.map(
      (p, i) => `${p.vmPteKb} ${p.rssAnonKb} ${p.rssFileKb ?? NaN} ${p.rssShmemKb ?? NaN}${errs.has(i) ? ` ${errs.get(i)!}` : ''}`,
    );
    const mm = new Mm(new WasmCore('debug'), {
      strategy: 'pt-reclaim',
      shmemThp: shmemThp as ShmemThpMode,
      thp: 'madvise',
      zeroPage: zeroPageFromCmdline(readFileSync('/proc/cmdline', 'utf8')).zeroPage,
      faultAroundBytes: hostFaultAroundBytes() ?? DEFAULTS.faultAroundBytes,
      readaheadBytes: hostReadaheadBytes() ?? DEFAULTS.readaheadBytes,
    });
    expect(labelled(steps(mm, ops))).toEqual(labelled(got));
    expect(mm.exit().problems).toEqual([]);
  });

  live.each(HUGE.map((t) => [t.what, t] as const))(
    '%s: the model (host settings) agrees after every op',
    async (_what, { ops: hugeOps, lines: hugeLines }) => {
      const r = await runLiveTrace(hugeOps, { perOp: true });
      const errs = new Map(r.errors.map((e) => [e.index, e.name]));
      const got = r.perOp!.map(
        (p, i) => `${p.vmPteKb} ${p.rssAnonKb} ${p.rssFileKb ?? NaN} ${p.rssShmemKb ?? NaN}${errs.has(i) ? ` ${errs.get(i)!}` : ''}`,
      );
      const mm = new Mm(new WasmCore('debug'), {
        strategy: 'pt-reclaim',
        shmemThp: shmemThp as ShmemThpMode,
        thp: 'madvise',
        zeroPage: zeroPageFromCmdline(readFileSync('/proc/cmdline', 'utf8')).zeroPage,
        faultAroundBytes: hostFaultAroundBytes() ?? DEFAULTS.faultAroundBytes,
        readaheadBytes: hostReadaheadBytes() ?? DEFAULTS.readaheadBytes,
      });
      expect(labelled(steps(mm, hugeOps), hugeLines)).toEqual(labelled(got, hugeLines));
      expect(mm.exit().problems).toEqual([]);
    },
  );
});
