/**
 * Anonymous PMD-sized THP against the live kernel: `ptreclaim validate` must agree exactly
 * (VmPTE, RssAnon, every failed call's errno) on the THP corner traces of
 * native/oracle/MEASURED.md section f and on traces around them (splits at VMA boundaries,
 * eligibility, the huge zero page, MADV_COLLAPSE), and on every prefix of each, so every
 * operation's effect is compared, not only the end state. The model follows the host's THP
 * settings (validate reads /sys/kernel/mm/transparent_hugepage): the test needs THP
 * `madvise` or `always` with the huge zero page on, as measured, and is skipped (visibly)
 * otherwise or where the live oracle cannot run.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { liveSkipReason, reportSkip } from './fixtures/live.js';
import { validateEveryPrefix } from './helpers/validate-prefixes.js';
import { readThpSettings } from '../src/oracle/host.js';
import { runLiveTrace } from '../src/oracle/live.js';
import { parseTrace } from '../src/trace/parse.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'ptreclaim.js');

const TRACES: Record<string, string> = {
  'measured-table': `
mmap 0x300000000000 0x800000
madvise 0x300000000000 0x800000 hugepage
touch 0x300000000000 0x1 write
touch 0x300000200000 0x200000 write
madvise 0x300000201000 0x1000 dontneed
madvise 0x300000000000 0x200000 dontneed
madvise 0x300000200000 0x200000 dontneed
touch 0x300000400000 0x1 write
madvise 0x300000400000 0x200000 free
touch 0x300000600000 0x1 read
touch 0x300000600000 0x1 write
`,
  collapse: `
mmap 0x300000000000 0x400000
touch 0x300000000000 0x1000 write
madvise 0x300000000000 0x200000 collapse
madvise 0x300000200000 0x200000 collapse
madvise 0x300000000000 0x200000 collapse
madvise 0x300000001000 0x300000 collapse
touch 0x300000200000 0x3000 read
madvise 0x300000200000 0x200000 collapse
touch 0x300000300000 0x1000 write
madvise 0x300000000000 0x400000 collapse
mmap 0x300000800000 0x400000
touch 0x300000800000 0x400000 write
madvise 0x300000800000 0x400000 nohugepage
madvise 0x300000800000 0x400000 collapse
madvise 0x300000800000 0x400000 hugepage
madvise 0x300000800000 0x400000 collapse
madvise 0x300000800000 0x400000 dontneed
`,
  'splits-at-vma-boundaries': `
mmap 0x300040000000 0x800000
madvise 0x300040000000 0x800000 hugepage
touch 0x300040000000 0x800000 write
mprotect 0x300040100000 0x1000 r
munmap 0x300040300000 0x1000
madvise 0x300040400000 0x1000 nohugepage
madvise 0x300040600000 0x1000 free
madvise 0x300040000000 0x800000 dontneed
touch 0x300040000000 0x100000 write
mprotect 0x300040100000 0x1000 rw
touch 0x300040000000 0x200000 write
madvise 0x300040400000 0x200000 hugepage
touch 0x300040400000 0x200000 write
munmap 0x300040000000 0x800000
`,
  eligibility: `
mmap 0x300080100000 0x400000
madvise 0x300080100000 0x400000 hugepage
touch 0x300080100000 0x400000 write
mmap 0x300080600000 0x400000
touch 0x300080600000 0x1000 write
madvise 0x300080600000 0x400000 hugepage
touch 0x300080600000 0x200000 write
touch 0x300080800000 0x200000 read
touch 0x300080800000 0x1000 write
mprotect 0x300080600000 0x400000 r
touch 0x300080600000 0x400000 read
madvise 0x300080600000 0x400000 dontneed
munmap 0x300080100000 0x900000
`,
  'huge-zero-page': `
mmap 0x3000c0000000 0x600000
madvise 0x3000c0000000 0x600000 hugepage
touch 0x3000c0000000 0x200000 read
madvise 0x3000c0010000 0x1000 dontneed
madvise 0x3000c0000000 0x200000 dontneed
touch 0x3000c0000000 0x1000 read
madvise 0x3000c0000000 0x200000 free
madvise 0x3000c0000000 0x1000 free
touch 0x3000c0200000 0x1000 read
mprotect 0x3000c0210000 0x1000 r
touch 0x3000c0400000 0x1000 read
madvise 0x3000c0400000 0x200000 collapse
munmap 0x3000c0200000 0x400000
touch 0x3000c0000000 0x1000 write
`,
  'collapse-anon-vma': `
mmap 0x300000000000 0x600000
touch 0x300000000000 0x1000 write
madvise 0x300000000000 0x1000 dontneed
madvise 0x300000000000 0x200000 collapse
touch 0x300000200000 0x1000 write
mprotect 0x300000200000 0x200000 r
madvise 0x300000200000 0x200000 collapse
mmap 0x300000800000 0x200000
touch 0x300000800000 0x1000 read
madvise 0x300000800000 0x200000 collapse
madvise 0x300000801000 0x1000 collapse
`,
  // MADV_FREE of part of a THP splits the folio: never-written subpages are mapped to the
  // shared zero page (RSS drops); a whole PTE-mapped folio is not split.
  'free-splits-folio': `
mmap 0x300000000000 0x800000
madvise 0x300000000000 0x800000 hugepage
touch 0x300000000000 0x1000 write
madvise 0x300000000000 0x1000 free
touch 0x300000200000 0x1000 write
madvise 0x300000201000 0x1000 dontneed
madvise 0x300000200000 0x1000 free
touch 0x300000400000 0x2000 write
mprotect 0x300000500000 0x1000 r
mprotect 0x300000500000 0x1000 rw
madvise 0x300000400000 0x200000 free
touch 0x300000600000 0x1000 write
madvise 0x300000601000 0x1000 dontneed
madvise 0x300000600000 0x200000 free
madvise 0x300000000000 0x200000 dontneed
`,
  // COLD and PAGEOUT on THPs: COLD of a whole THP keeps it; PAGEOUT of a whole one splits it
  // (no swap: the folio is split, never-written subpages become the zero page); a lazyfree
  // one is discarded whole; part of one splits the folio; the huge zero page is left alone.
  'cold-pageout': `
mmap 0x300000000000 0x1000000
madvise 0x300000000000 0x1000000 hugepage
touch 0x300000000000 0x1000 write
madvise 0x300000000000 0x200000 cold
touch 0x300000200000 0x1000 write
madvise 0x300000200000 0x200000 pageout
touch 0x300000400000 0x1000 write
madvise 0x300000400000 0x1000 pageout
touch 0x300000600000 0x1000 write
madvise 0x300000600000 0x1000 cold
touch 0x300000800000 0x1000 write
madvise 0x300000801000 0x1000 dontneed
madvise 0x300000800000 0x200000 pageout
touch 0x300000a00000 0x1000 write
madvise 0x300000a00000 0x200000 free
madvise 0x300000a00000 0x200000 pageout
touch 0x300000c00000 0x200000 read
madvise 0x300000c00000 0x200000 pageout
madvise 0x300000c00000 0x1000 cold
`,
  // guard-install inside a lazyfree THP splits it; POPULATE_READ maps the huge zero page and
  // POPULATE_WRITE a THP whose subpages stay zeros (a later MADV_FREE of part of it drops them all).
  'guard-populate': `
mmap 0x300000000000 0x800000
madvise 0x300000000000 0x800000 hugepage
touch 0x300000000000 0x1000 write
madvise 0x300000000000 0x200000 free
madvise 0x300000000000 0x1000 guard-install
madvise 0x300000000000 0x200000 pageout
madvise 0x300000000000 0x1000 guard-remove
madvise 0x300000200000 0x200000 populate-read
madvise 0x300000200000 0x200000 populate-write
madvise 0x300000200000 0x1000 free
madvise 0x300000400000 0x200000 populate-write
touch 0x300000400000 0x1000 write
madvise 0x300000401000 0x1000 guard-install
madvise 0x300000400000 0x200000 cold
madvise 0x300000600000 0x200000 guard-install
touch 0x300000600000 0x1000 write
`,
  // mremap: PMD-aligned moves carry a THP whole with its deposit; an unaligned one splits it.
  mremap: `
mmap 0x300000000000 0x800000
madvise 0x300000000000 0x800000 hugepage
touch 0x300000000000 0x800000 write
mremap 0x300000000000 0x400000 0x400000 0x300000a00000
mremap 0x300000a00000 0x200000 0x200000 0x300040000000
mremap 0x300000c00000 0x200000 0x200000 0x300000e01000
mremap 0x300000400000 0x100000 0x100000 0x300001400000
madvise 0x300000500000 0x1000 free
madvise 0x300000e01000 0x1000 free
touch 0x300001400000 0x1000 read
munmap 0x300000000000 0x2000000
`,
  // mremap of part of a THP leaves its folio's PTEs in two tables (or a whole THP moved to an
  // unaligned address, two tables; or halves of two folios side by side in one table): a later
  // folio split (MADV_FREE of part, PAGEOUT) remaps the never-written subpages to the zero page
  // in every table that maps the folio, and a table full of large PTEs is not one folio.
  'mremap-scattered-folio': `
mmap 0x300000000000 0x800000
madvise 0x300000000000 0x800000 hugepage
touch 0x300000000000 0x1 write
touch 0x300000200000 0x200000 write
touch 0x300000400000 0x1 write
touch 0x300000600000 0x1 write
mremap 0x300000100000 0x100000 0x100000 0x300001001000
madvise 0x300000000000 0x1000 free
mremap 0x300000400000 0x200000 0x200000 0x300002001000
madvise 0x300002001000 0x200000 free
mremap 0x300000700000 0x100000 0x100000 0x300003000000
mremap 0x300000200000 0x100000 0x100000 0x300003100000
madvise 0x300003000000 0x200000 free
madvise 0x300000300000 0x1000 pageout
munmap 0x300000000000 0x4000000
`,
  // A guard marker fails MADV_COLLAPSE for its span and stops the walk there.
  'collapse-guard': `
mmap 0x300000000000 0x600000
touch 0x300000000000 0x600000 write
madvise 0x300000001000 0x1000 guard-install
madvise 0x300000000000 0x600000 collapse
madvise 0x300000200000 0x400000 collapse
`,
};

const thp = readThpSettings();
const skipReason =
  liveSkipReason ??
  (thp.enabled !== 'madvise' || thp.useZeroPage !== true
    ? `these traces were measured with THP madvise and use_zero_page 1; this host has THP ${thp.enabled}, use_zero_page ${String(thp.useZeroPage)}`
    : undefined);

describe('live kernel: anonymous THP', () => {
  reportSkip('live THP validation', skipReason);
  const live = it.skipIf(skipReason !== undefined);

  live('validate agrees exactly with the kernel on every trace and every prefix', () => {
    const { outcomes, status } = validateEveryPrefix(TRACES, 300_000);
    // The traces exercise refused calls too (EINVAL from MADV_COLLAPSE, ENOMEM across a hole).
    const collapse = outcomes.find((o) => o.source.endsWith(`collapse-${String(TRACES.collapse!.trim().split('\n').length)}.trace`))!;
    expect(collapse.model.errors.length).toBe(2);
    expect(status).toBe(0);
  });

  live("`run --trace T --strategy pt-reclaim --thp madvise --json` gives the kernel's vmPteKb and rss.anonPages", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ptreclaim-thp-run-'));
    for (const name of ['measured-table', 'splits-at-vma-boundaries', 'collapse']) {
      const text = `version 2\n${TRACES[name]!.trim()}\n`;
      const path = join(dir, `${name}.trace`);
      writeFileSync(path, text);
      const r = spawnSync(process.execPath, [BIN, 'run', '--trace', path, '--strategy', 'pt-reclaim', '--thp', 'madvise', '--json'], {
        encoding: 'utf8',
      });
      expect(r.status).toBe(0);
      const model = JSON.parse(r.stdout) as { vmPteKb: number; rss: { anonPages: number } };
      const kernel = await runLiveTrace(parseTrace(text, path));
      expect({ name, vmPteKb: model.vmPteKb, anonKb: model.rss.anonPages * 4 }).toEqual({
        name,
        vmPteKb: kernel.after.vmPteKb - kernel.before.vmPteKb,
        anonKb: kernel.after.rssAnonKb - kernel.before.rssAnonKb,
      });
    }
  });
});
