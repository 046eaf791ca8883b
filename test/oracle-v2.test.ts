/**
 * The live-kernel helper replaying canonical trace v2 (issue 12), driven directly: one small
 * trace per case of the THP / file / shared / mprotect / mremap / guard lists, asserting
 * the facts measured on the live kernel (native/oracle/MEASURED.md, section "Trace v2").
 * Host settings are read, never assumed: a THP case is skipped when THP is `never`, the huge
 * zero page case follows `use_zero_page`.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describeThp, hostFacts, readThpSettings } from '../src/oracle/host.js';
import { liveOracleStatus, runLiveTrace } from '../src/oracle/live.js';
import { liveSkipReason, reportSkip } from './fixtures/live.js';

const st = liveOracleStatus();
const helper = st.available ? st.helperPath : '';

function sysText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}
const THP = '/sys/kernel/mm/transparent_hugepage/';
const thpMode = /\[(\w+)\]/.exec(sysText(THP + 'enabled') ?? '')?.[1] ?? 'unknown';
const hugeZeroPage = (sysText(THP + 'use_zero_page') ?? '').trim() === '1';
const shmemThp = /\[(\w+)\]/.exec(sysText(THP + 'shmem_enabled') ?? '')?.[1] ?? 'never';
/**
 * Cases about 4 KiB pages add MADV_NOHUGEPAGE where the host would otherwise give THPs without
 * being asked (THP `always`, shmem THP on); these lines are left out of the compared table.
 */
const thpUnasked = thpMode === 'always' || (shmemThp !== 'never' && shmemThp !== 'deny');
function noThp(addr: string, len: string): string {
  return thpUnasked ? `madvise ${addr} ${len} nohugepage\n` : '';
}
const thpSkip = liveSkipReason ?? (thpMode === 'always' || thpMode === 'madvise' ? undefined : `THP is "${thpMode}" on this host`);

/** Per op: [VmPTE, RssAnon, RssFile, RssShmem] change in kB, and the errno name (or ''). */
interface Step {
  line: string;
  pte: number;
  anon: number;
  file: number;
  shmem: number;
  err: string;
}

interface V2Result {
  steps: Step[];
  json: Record<string, unknown>;
}

function runHelper(text: string, env: NodeJS.ProcessEnv = process.env) {
  return spawnSync(helper, ['--per-op'], { input: text, encoding: 'utf8', env, timeout: 60_000 });
}

function replay(text: string): V2Result {
  const r = runHelper(text);
  if (r.status !== 0) throw new Error(`helper exited ${String(r.status)}: ${r.stderr}`);
  const json = JSON.parse(r.stdout) as {
    before: { vmPteKb: number; rssAnonKb: number; rssFileKb: number; rssShmemKb: number };
    perOp: [number, number][];
    perOpFileShmem: [number, number][];
    errors: { index: number; name: string }[];
  };
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#') && !l.startsWith('version'));
  let prev = [json.before.vmPteKb, json.before.rssAnonKb, json.before.rssFileKb, json.before.rssShmemKb];
  const steps = lines.map((line, i) => {
    const cur = [json.perOp[i]![0], json.perOp[i]![1], json.perOpFileShmem[i]![0], json.perOpFileShmem[i]![1]];
    const d = cur.map((c, k) => c - prev[k]!);
    prev = cur;
    return { line, pte: d[0]!, anon: d[1]!, file: d[2]!, shmem: d[3]!, err: json.errors.find((e) => e.index === i)?.name ?? '' };
  });
  return { steps, json: json };
}

/** Compact form for assertions: "pte anon file shmem err" per op. */
function kept(r: V2Result): Step[] {
  return r.steps.filter((s) => !s.line.endsWith(' nohugepage'));
}
function table(r: V2Result): string[] {
  return kept(r).map((s) => `${s.pte} ${s.anon} ${s.file} ${s.shmem}${s.err ? ' ' + s.err : ''}`);
}

reportSkip('trace v2 on the live kernel', liveSkipReason);
reportSkip('THP cases of trace v2 on the live kernel', liveSkipReason === undefined ? thpSkip : undefined);

describe('live helper: trace v2 input', () => {
  const live = it.skipIf(liveSkipReason !== undefined);

  live('keeps v1 strict: mprotect without "version 2" is a parse error naming the line', () => {
    const r = runHelper('mmap 0x300000000000 0x1000\nmprotect 0x300000000000 0x1000 r\n');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/line 2: .*need 'version 2' first/);
  });

  live('rejects malformed v2 lines with the line and what was expected', () => {
    const bad: [string, RegExp][] = [
      ['mmap 0x300000000000 0x1000 file=a/b', /\[A-Za-z0-9._-\]/],
      ['mmap 0x300000000000 0x1000 file=a:0x800', /page aligned/],
      ['mmap 0x300000000000 0x1000 prot=wx', /prot= needs rw, r or none/],
      ['mmap 0x300000000000 0x1000 shared shared', /at most once/],
      ['madvise 0x300000000000 0x1000 hugepages', /madvise needs one of/],
      ['mremap 0x300000000000 0x1000', /NEWLEN/],
      ['mprotect 0x300000000000 0x1000 rwx', /mprotect needs rw, r or none/],
    ];
    for (const [line, msg] of bad) {
      const r = runHelper(`version 2\n${line}\n`);
      expect(r.status, line).toBe(2);
      expect(r.stderr, line).toMatch(/line 2: /);
      expect(r.stderr, line).toMatch(msg);
    }
  });

  live('refuses file= mappings when the temporary directory is tmpfs', () => {
    const shm = spawnSync('stat', ['-f', '-c', '%T', '/dev/shm'], { encoding: 'utf8' });
    if (shm.stdout.trim() !== 'tmpfs') return; // nothing to check without a tmpfs
    const r = runHelper('version 2\nmmap 0x300000000000 0x1000 file=x\n', { ...process.env, TMPDIR: '/dev/shm' });
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/tmpfs.*disk filesystem/);
  });

  live('reports the pinned CPU and the khugepaged counters around the replay', () => {
    const r = replay('version 2\nmmap 0x300000000000 0x200000\n');
    expect(r.json.traceVersion).toBe(2);
    expect(r.json.cpu).toBeGreaterThanOrEqual(0);
    const k = r.json.khugepaged as { pagesCollapsed: number[]; pagesCollapsedDuringReplay: number };
    expect(k.pagesCollapsed).toHaveLength(2);
    expect(k.pagesCollapsedDuringReplay).toBe(k.pagesCollapsed[1]! - k.pagesCollapsed[0]!);
  });
});

describe('live helper: THP (PMD-sized, anonymous)', () => {
  const live = it.skipIf(thpSkip !== undefined);

  live('fault, deposit, split on partial zap, zap of a whole THP, PT_RECLAIM after a split, MADV_FREE keeps it', () => {
    const r = replay(`version 2
mmap 0x300000000000 0x800000
madvise 0x300000000000 0x800000 hugepage
touch 0x300000000000 0x1 write
touch 0x300000200000 0x200000 write
madvise 0x300000201000 0x1000 dontneed
madvise 0x300000000000 0x200000 dontneed
madvise 0x300000200000 0x200000 dontneed
touch 0x300000400000 0x1 write
madvise 0x300000400000 0x200000 free
madvise 0x300000400000 0x1000 guard-install
`);
    expect(table(r)).toEqual([
      '0 0 0 0',
      '0 0 0 0',
      '12 2048 0 0', // PUD + PMD + deposited PTE table
      '4 2048 0 0', // second THP: its deposit
      '0 -4 0 0', // split: the deposit becomes the PTE table
      '-4 -2048 0 0', // zap of the huge PMD frees the deposit
      '-4 -2044 0 0', // PT_RECLAIM frees the split table
      '4 2048 0 0',
      '0 0 0 0', // MADV_FREE of a whole THP: no split, no counter moves
      '0 -4 0 0', // a guard marker inside it splits it
    ]);
  });

  live('a read fault maps the huge zero page when use_zero_page is 1; a write then allocates a whole THP', () => {
    const r = replay(`version 2
mmap 0x300000000000 0x200000
madvise 0x300000000000 0x200000 hugepage
touch 0x300000000000 0x1 read
touch 0x300000000000 0x1 write
`);
    expect(table(r).slice(2)).toEqual(hugeZeroPage ? ['12 0 0 0', '0 2048 0 0'] : ['12 2048 0 0', '0 0 0 0']);
  });

  live('in a hugepage area POPULATE_READ maps the huge zero page (when on), POPULATE_WRITE then allocates the THP', () => {
    const r = replay(`version 2
mmap 0x300000600000 0x200000
madvise 0x300000600000 0x200000 hugepage
madvise 0x300000600000 0x200000 populate-read
madvise 0x300000600000 0x200000 populate-write
`);
    expect(table(r).slice(2)).toEqual(hugeZeroPage ? ['12 0 0 0', '0 2048 0 0'] : ['12 2048 0 0', '0 0 0 0']);
  });

  it.skipIf(thpSkip !== undefined || thpMode === 'always')(
    'MADV_COLLAPSE turns the PTE table into the deposit; EINVAL on a span without a table',
    () => {
      const r = replay(`version 2
mmap 0x300000000000 0x400000
touch 0x300000000000 0x1000 write
madvise 0x300000000000 0x200000 collapse
madvise 0x300000200000 0x200000 collapse
`);
      expect(table(r)).toEqual(['0 0 0 0', '12 4 0 0', '0 2044 0 0', '0 0 0 0 EINVAL']);
    },
  );
});

describe('live helper: file and shared mappings', () => {
  const live = it.skipIf(liveSkipReason !== undefined);

  live('private file: read faults map an aligned fault-around window of page-cache pages, writes copy into anonymous pages', () => {
    const r = replay(`version 2
mmap 0x300000000000 0x400000 file=a
${noThp('0x300000000000', '0x400000')}touch 0x300000000000 0x1000 read
touch 0x300000200000 0x1000 write
touch 0x300000000000 0x1000 write
madvise 0x300000000000 0x200000 dontneed
madvise 0x300000000000 0x1000 remove
`);
    const s = kept(r);
    const window = s[1]!.file; // fault-around (64 KiB by default: 16 pages)
    expect(s[1]!.pte).toBe(12);
    expect(s[1]!.anon).toBe(0);
    expect(window).toBeGreaterThanOrEqual(4);
    expect(Number.isInteger(Math.log2(window / 4))).toBe(true);
    // the last page of that window is already mapped: a second read there changes nothing
    const again = replay(`version 2
mmap 0x300000000000 0x200000 file=a
${noThp('0x300000000000', '0x200000')}touch 0x300000000000 0x1000 read
touch 0x${(0x300000000000 + window * 1024 - 4096).toString(16)} 0x1000 read
`);
    expect(table(again).slice(1)).toEqual([`12 0 ${window} 0`, '0 0 0 0']);
    expect(table(r).slice(2)).toEqual([
      '4 4 0 0', // write fault on an unmapped file page: straight to an anonymous copy, no fault-around
      '0 4 -4 0', // write on a mapped file page: COW
      `-4 -4 ${-(window - 4)} 0`, // DONTNEED of the whole 2 MiB frees the table, file and COW pages alike
      '0 0 0 0 EACCES', // MADV_REMOVE on a private file mapping
    ]);
  });

  live('shared file and shmem: RssFile / RssShmem, MADV_REMOVE, MADV_FREE refused on shmem, DONTNEED frees the table', () => {
    const r = replay(`version 2
mmap 0x300040000000 0x200000 shared file=b:0x200000
${noThp('0x300040000000', '0x200000')}touch 0x300040000000 0x1000 read
madvise 0x300040000000 0x200000 dontneed
mmap 0x300080000000 0x200000 shared
${noThp('0x300080000000', '0x200000')}touch 0x300080000000 0x1000 read
touch 0x300080000000 0x4000 write
madvise 0x300080000000 0x1000 remove
madvise 0x300080000000 0x1000 free
madvise 0x300080000000 0x200000 dontneed
`);
    const s = kept(r);
    expect(s[1]!.pte).toBe(12);
    expect(s[1]!.file).toBeGreaterThanOrEqual(4);
    expect(table(r).slice(2)).toEqual([
      `-4 0 ${-s[1]!.file} 0`,
      '0 0 0 0',
      '8 0 0 4', // shmem read fault: one page (nothing cached to fault around)
      '0 0 0 12',
      '0 0 0 -4', // hole punch: the page goes, the table stays
      '0 0 0 0 EINVAL',
      '-4 0 0 -12',
    ]);
  });
});

describe('live helper: pages past the end of the object', () => {
  const live = it.skipIf(liveSkipReason !== undefined);

  live(
    'a touch reaching past EOF of a file, or past the shmem size after mremap grew the mapping, is refused whole (EFAULT, not SIGBUS)',
    () => {
      const r = replay(`version 2
mmap 0x300000000000 0x2000 file=c
${noThp('0x300000000000', '0x2000')}mremap 0x300000000000 0x2000 0x4000
touch 0x300000000000 0x2000 read
touch 0x300000000000 0x4000 write
mmap 0x300000100000 0x1000 shared
mremap 0x300000100000 0x1000 0x2000
touch 0x300000100000 0x2000 write
`);
      expect(table(r)).toEqual([
        '0 0 0 0',
        '0 0 0 0',
        '12 0 8 0', // fault-around stops at EOF: two pages
        '0 0 0 0 EFAULT',
        '0 0 0 0',
        '0 0 0 0',
        '0 0 0 0 EFAULT',
      ]);
      expect(r.json.touchTrapped).toBe(0);
    },
  );
});

describe('live helper: mprotect', () => {
  const live = it.skipIf(liveSkipReason !== undefined);

  live(
    'touch is refused (EFAULT, nothing accessed) on prot=r for writes, prot=none, holes; populate refuses EINVAL; ENOMEM across a hole',
    () => {
      const r = replay(`version 2
mmap 0x300000000000 0x400000 prot=r
${noThp('0x300000000000', '0x400000')}touch 0x300000000000 0x1000 write
mprotect 0x300000000000 0x200000 rw
touch 0x300000000000 0x1000 write
touch 0x300000000000 0x400000 write
mprotect 0x300000100000 0x1000 none
touch 0x300000100000 0x1000 read
madvise 0x300000100000 0x1000 populate-read
madvise 0x300000200000 0x1000 populate-write
madvise 0x300000300000 0x1000 populate-read
mprotect 0x300000000000 0x800000 rw
touch 0x300000200000 0x1000 write
madvise 0x300000000000 0x800000 populate-read
`);
      const t = table(r);
      expect(t[1]).toBe('0 0 0 0 EFAULT');
      expect(t[3]!.startsWith('12 4 ')).toBe(true);
      expect(t[4]).toBe('0 0 0 0 EFAULT'); // a write touch reaching into prot=r is refused whole
      expect(t[6]).toBe('0 0 0 0 EFAULT');
      expect(t[7]).toBe('0 0 0 0 EINVAL');
      expect(t[8]).toBe('0 0 0 0 EINVAL');
      expect(t[9]!.startsWith('4 ')).toBe(true); // POPULATE_READ on prot=r maps it (new table)
      expect(t[10]).toBe('0 0 0 0 ENOMEM');
      expect(t[11]).toBe('0 4 0 0'); // ...but the mapped part became writable first
      expect(t[12]).toBe('0 0 0 0 ENOMEM');
    },
  );
});

describe('live helper: VMA boundaries and the other advices', () => {
  const live = it.skipIf(liveSkipReason !== undefined);

  live(
    'a 2 MiB span split by mprotect keeps its emptied table; DONTNEED_LOCKED frees; COLD/PAGEOUT/WILLNEED change nothing without swap; PAGEOUT discards lazyfree pages',
    () => {
      const r = replay(`version 2
mmap 0x300000000000 0x800000
${noThp('0x300000000000', '0x800000')}touch 0x300000000000 0x200000 write
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
      const swap = (sysText('/proc/swaps') ?? '').trim().split('\n').length > 1;
      const t = table(r);
      expect(t.slice(0, 7)).toEqual(['0 0 0 0', '12 2048 0 0', '0 0 0 0', '0 -2048 0 0', '4 2048 0 0', '-4 -2048 0 0', '4 2048 0 0']);
      if (!swap) expect(t.slice(7)).toEqual(['0 0 0 0', '0 0 0 0', '0 0 0 0', '0 0 0 0', '0 -2048 0 0']);
    },
  );
});

describe('live helper: mremap', () => {
  const live = it.skipIf(liveSkipReason !== undefined);

  live('moves carry PTE tables, in place grow/shrink, ENOMEM when blocked, across PMD, PUD and PGD boundaries', () => {
    const r = replay(`version 2
mmap 0x300000000000 0x400000
${noThp('0x300000000000', '0x400000')}touch 0x300000000000 0x400000 write
mremap 0x300000000000 0x400000 0x400000 0x300000a00000
mremap 0x300000a00000 0x200000 0x200000 0x300040000000
mremap 0x300000c00000 0x200000 0x200000 0x300000e01000
mremap 0x300000e01000 0x200000 0x300000
mremap 0x300040000000 0x200000 0x400000
mmap 0x300040400000 0x200000
${noThp('0x300040400000', '0x200000')}mremap 0x300040000000 0x400000 0x600000
mremap 0x300040000000 0x400000 0x200000
mremap 0x300040000000 0x200000 0x200000 0x380000000000
mremap 0x380000000000 0x200000 0x200000 0x30003fe00000
`);
    expect(table(r)).toEqual([
      '0 0 0 0',
      '16 4096 0 0',
      '0 0 0 0', // PMD-aligned move inside one PMD table: tables move whole
      '4 0 0 0', // into the next 1 GiB: a new PMD table, the PTE table moves
      '4 0 0 0', // unaligned destination: PTE by PTE into two tables, the source table freed
      '0 0 0 0', // grow in place
      '0 0 0 0',
      '0 0 0 0',
      '0 0 0 0 ENOMEM', // growth blocked by the next mapping
      '0 0 0 0', // shrink in place
      '8 0 0 0', // into another 512 GiB: new PUD + PMD tables; the source PMD table stays (a VMA still uses it)
      '-8 0 0 0', // and back: the emptied PUD and PMD tables are freed
    ]);
  });
});

describe('live helper: guard markers', () => {
  const live = it.skipIf(liveSkipReason !== undefined);

  live('install allocates tables, refuses touches, survives DONTNEED (table kept), zaps touched pages, munmap removes', () => {
    const r = replay(`version 2
mmap 0x300000000000 0x400000
${noThp('0x300000000000', '0x400000')}madvise 0x300000000000 0x1000 guard-install
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
    if (kept(r)[1]!.err === 'EINVAL') return; // kernel without MADV_GUARD_INSTALL (< 6.13)
    expect(table(r)).toEqual([
      '0 0 0 0',
      '12 0 0 0',
      '0 0 0 0 EFAULT', // refused before touching the first, unguarded page
      '0 2044 0 0',
      '0 -2044 0 0', // the marker keeps the table
      '0 0 0 0',
      '-4 0 0 0', // without it PT_RECLAIM frees the table
      '4 2048 0 0',
      '0 -4 0 0', // installing on a touched page zaps it
      '0 -2044 0 0',
      '-4 0 0 0',
    ]);
    expect(r.json.touchTrapped).toBe(0);
  });
});

describe('host facts: THP settings', () => {
  it('reads enabled, defrag, use_zero_page, shmem_enabled and khugepaged from a sysfs directory', () => {
    const root = mkdtempSync(join(tmpdir(), 'thp-'));
    try {
      mkdirSync(join(root, 'khugepaged'));
      writeFileSync(join(root, 'enabled'), 'always madvise [never]\n');
      writeFileSync(join(root, 'defrag'), 'always defer [defer+madvise] madvise never\n');
      writeFileSync(join(root, 'use_zero_page'), '0\n');
      writeFileSync(join(root, 'shmem_enabled'), 'always within_size advise [never] deny force\n');
      writeFileSync(join(root, 'khugepaged', 'max_ptes_none'), '511\n');
      writeFileSync(join(root, 'khugepaged', 'scan_sleep_millisecs'), '10000\n');
      writeFileSync(join(root, 'khugepaged', 'pages_collapsed'), '7\n');
      const t = readThpSettings(root);
      expect(t.enabled).toBe('never');
      expect(t.defrag).toBe('defer+madvise');
      expect(t.useZeroPage).toBe(false);
      expect(t.shmemEnabled).toBe('never');
      expect(t.khugepaged.maxPtesNone).toBe(511);
      expect(t.khugepaged.scanSleepMillisecs).toBe(10000);
      expect(t.khugepaged.pagesCollapsed).toBe(7);
      expect(t.khugepaged.pagesToScan).toBeNull(); // missing file
      expect(describeThp(t)).toMatch(/^THP never \(defrag defer\+madvise, huge zero page off, shmem never; khugepaged every 10000 ms/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it.skipIf(liveSkipReason !== undefined)(
    "host facts carry this host's THP settings; a replay carries khugepaged's counters and the pinned CPU",
    async () => {
      const h = await hostFacts();
      expect(h.thpSettings.enabled).toBe(thpMode);
      expect(h.thpSettings.useZeroPage).toBe(hugeZeroPage);
      const r = await runLiveTrace([{ kind: 'mmap', addr: 0x300000000000, len: 0x200000 }]);
      expect(r.khugepaged).toBeDefined();
      expect(r.khugepaged!.pagesCollapsedDuringReplay).toBe(r.khugepaged!.pagesCollapsed[1] - r.khugepaged!.pagesCollapsed[0]);
      expect(r.cpu).toBeGreaterThanOrEqual(0);
    },
  );
});
