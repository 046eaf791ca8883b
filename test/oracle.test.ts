import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { release } from 'node:os';

import { configValue, hostFacts, readKernelConfig, thpMode, zeroPageFromCmdline } from '../src/oracle/host.js';
import { AddressInUseError, OracleUnavailableError, runLiveTrace } from '../src/oracle/live.js';
import { estimatePeakResidentKb, runOracle, sharedTableRanges } from '../src/oracle/oracle.js';
import { runOps } from '../src/run.js';
import { parseTrace } from '../src/trace/parse.js';
import { liveSkipReason, reportSkip } from './fixtures/live.js';

const MiB = 2 ** 20;

// Partial and whole PMDs, a read, MADV_FREE then DONTNEED, a split munmap: ~8 MiB touched.
const SMALL = parseTrace(
  `
mmap    0x300000000000 0x800000
touch   0x300000000000 0x600000 write
touch   0x300000600000 0x200000 read
madvise 0x300000000000 0x200000 dontneed
madvise 0x300000201000 0x1ff000 dontneed
madvise 0x300000400000 0x200000 free
madvise 0x300000400000 0x200000 dontneed
munmap  0x300000100000 0x100000
touch   0x300000000000 0x1000 write
`,
  'small.trace',
);

describe('host facts from their sources', () => {
  it('reads CONFIG_ options, set or not', () => {
    expect(configValue('CONFIG_PT_RECLAIM=y\nCONFIG_X=m\n', 'PT_RECLAIM')).toBe('y');
    expect(configValue('# CONFIG_PT_RECLAIM is not set\n', 'PT_RECLAIM')).toBe('n');
    expect(configValue('CONFIG_PT_RECLAIM_X=y\n', 'PT_RECLAIM')).toBe('n');
  });
  it('reads the zero-page flag from the kernel command line', () => {
    expect(zeroPageFromCmdline('quiet pvm_no_zero_page=1 tsc=reliable').zeroPage).toBe(false);
    expect(zeroPageFromCmdline('quiet pvm_no_zero_page=0').zeroPage).toBe(true);
    expect(zeroPageFromCmdline('root=/dev/vda quiet').zeroPage).toBe(true);
  });
  it('reads the selected THP mode', () => {
    expect(thpMode('always [madvise] never\n')).toBe('madvise');
    expect(thpMode(null)).toBe('unknown');
  });
});

describe('safety checks before a replay', () => {
  it('estimates resident memory from the model: MADV_FREE pages stay resident, DONTNEED ones do not', () => {
    const host = { zeroPage: true, ptReclaim: { enabled: true } } as Parameters<typeof estimatePeakResidentKb>[1];
    const ops = (advice: string) =>
      parseTrace(`mmap 0x300000000000 64M\ntouch 0x300000000000 32M\nmadvise 0x300000000000 32M ${advice}\ntouch 0x300002000000 32M`, 't');
    // free: all 64 MiB resident + 32 PTE + 1 PMD + 1 PUD tables; dontneed (pt-reclaim): 32 MiB + 16 + 2.
    expect(estimatePeakResidentKb(ops('free'), host)).toBe(64 * 1024 + 34 * 4);
    expect(estimatePeakResidentKb(ops('dontneed'), host)).toBe(32 * 1024 + 18 * 4);
  });
  it('flags trace ranges that share a PUD table with the helper', () => {
    const ops = parseTrace('mmap 0x7f0000000000 0x1000\nmmap 0x300000000000 0x1000', 't');
    const shared = sharedTableRanges(ops, [[0x7f1234560000, 0x7f1234570000]]);
    expect(shared).toHaveLength(1);
    expect(shared[0]).toContain('t:1');
  });
});

describe('live kernel oracle', () => {
  reportSkip('live-kernel oracle tests', liveSkipReason);
  const live = it.skipIf(liveSkipReason !== undefined);

  live('reports the host as its sources say', async () => {
    const h = await hostFacts();
    expect(h.kernel).toBe(release());
    expect(h.pageSize).toBe(4096);
    const cfg = readKernelConfig();
    if (cfg) expect(h.ptReclaim.config).toBe(configValue(cfg.text, 'PT_RECLAIM'));
    expect(h.zeroPage).toBe(zeroPageFromCmdline(readFileSync('/proc/cmdline', 'utf8')).zeroPage);
    expect(h.thp).toBe(thpMode(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8')));
    // The probe (a real MADV_DONTNEED) and the config must tell the same story.
    if (h.ptReclaim.config !== 'unknown') expect(h.ptReclaim.probe).toBe(h.ptReclaim.config === 'y');
  });

  live('uses the field names of `ptreclaim run --json`', async () => {
    const o = await runOracle(SMALL, { source: 'small.trace' });
    const m = runOps(SMALL, { source: 'small.trace' });
    for (const k of [
      'schemaVersion',
      'source',
      'ops',
      'opCounts',
      'errorCount',
      'errors',
      'vmPteKb',
      'rss',
      'wallMs',
      'opsPerSec',
    ] as const) {
      expect(typeof o[k], k).toBe(typeof m[k]);
    }
    expect(Object.keys(o.rss).sort()).toEqual(Object.keys(m.rss).sort());
    expect(o.opCounts).toEqual(m.opCounts);
    expect(o.ops).toBe(SMALL.length);
    expect(o.errorCount).toBe(0);
    expect(o.sharedTables).toEqual([]);
  });

  live('repeated replays give identical deltas (the helper does not perturb them)', async () => {
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await runLiveTrace(SMALL, { perOp: true }));
    for (const r of runs.slice(1)) {
      expect(r.vmPteDeltaKb).toBe(runs[0]!.vmPteDeltaKb);
      expect(r.rssAnonDeltaKb).toBe(runs[0]!.rssAnonDeltaKb);
      expect(r.perOp).toEqual(runs[0]!.perOp);
    }
    expect(runs[0]!.perOp).toHaveLength(SMALL.length);
  });

  live('reports each failed call with its errno', async () => {
    const ops = parseTrace(
      'mmap 0x300000000000 2M\nmmap 0x300000100000 2M\nmadvise 0x300000000000 4M dontneed\nmmap 0x300000000001 4K\ntouch 0x300000400000 4K',
      'e',
    );
    const o = await runOracle(ops, { source: 'e' });
    expect(o.errors.map((e) => [e.index, e.errno])).toEqual([
      [1, 'EEXIST'],
      [2, 'ENOMEM'],
      [3, 'EINVAL'],
      [4, 'EFAULT'],
    ]);
    expect(o.errors[0]!.line).toBe(2);
  });

  live('refuses a trace that uses an address the helper occupies', async () => {
    const ops = parseTrace('munmap 0x10000 0x7fffffff0000', 'inuse.trace');
    await expect(runLiveTrace(ops)).rejects.toThrow(AddressInUseError);
    await expect(runLiveTrace(ops)).rejects.toThrow(/address in use: op #0 .* overlaps the helper's own mapping/);
  });

  live('refuses a trace that would keep too much memory resident, unless forced', async () => {
    const h = await hostFacts();
    const bytes = Math.ceil((h.memAvailableKb * 1024 * 0.6) / (2 * MiB)) * 2 * MiB;
    const ops = parseTrace(
      `mmap 0x300000000000 ${bytes}\ntouch 0x300000000000 ${bytes}\nmadvise 0x300000000000 ${bytes} free`,
      'big.trace',
    );
    await expect(runOracle(ops)).rejects.toThrow(OracleUnavailableError);
    await expect(runOracle(ops)).rejects.toThrow(/more than 50% of MemAvailable .* pass --force/);
  });
});
