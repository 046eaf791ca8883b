/**
 * The model against the live kernel for the core corners: each trace is replayed for real
 * by the C helper (MAP_FIXED_NOREPLACE, pages really touched) and its VmPTE and RssAnon
 * deltas must equal the model's. Skipped, with the reason printed, where the host cannot.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { liveOracleStatus, runLiveTrace, probePtReclaim } from '../src/oracle/live.js';
import { parseTrace } from '../src/trace/parse.js';
import { runOps } from '../src/run.js';
import { getWorkload } from '../src/workloads/index.js';
import type { Op } from '../src/trace/ops.js';

const status = liveOracleStatus();
if (!status.available) console.warn(`[live-core] SKIPPED: the live-kernel oracle cannot run here: ${status.reason}`);
// The full 50 GiB seed replay lives in test/validate.test.ts (`validate --suite seed`).

/** Hosts may forbid the zero page (a hypervisor's pvm_no_zero_page=1): read faults then allocate. */
const hostZeroPage = (): boolean => {
  try {
    return !/\bpvm_no_zero_page=1\b/.test(readFileSync('/proc/cmdline', 'utf8'));
  } catch {
    return true;
  }
};

let strategy = 'pt-reclaim';
beforeAll(async () => {
  if (status.available) strategy = (await probePtReclaim()).ptReclaim ? 'pt-reclaim' : 'none';
});

async function expectModelMatchesKernel(ops: Op[]): Promise<{ vmPteKb: number }> {
  const live = await runLiveTrace(ops);
  const model = runOps(ops, { strategy, zeroPage: hostZeroPage() });
  expect(model.errors.map((e) => [e.index, e.errno])).toEqual(live.errors.map((e) => [e.index, e.name]));
  expect(model.vmPteKb).toBe(live.vmPteDeltaKb);
  expect(model.rss.anonPages * 4).toBe(live.rssAnonDeltaKb);
  return model;
}

const B = '0x300000000000';
const CORNERS: Record<string, string> = {
  'DONTNEED of part of a PMD span': `mmap ${B} 4M\ntouch ${B} 4M\nmadvise 0x300000001000 0x1ff000 dontneed`,
  'two calls each covering half a PMD': `mmap ${B} 4M\ntouch ${B} 4M\nmadvise ${B} 1M dontneed\nmadvise 0x300000100000 1M dontneed`,
  'unaligned range covering whole PMDs in its middle': `mmap ${B} 8M\ntouch ${B} 8M\nmadvise 0x300000100000 6M dontneed`,
  'range crossing a VMA boundary (unmerged neighbours)': `mmap ${B} 1M\ntouch ${B} 1M\nmmap 0x300000300000 1M\ntouch 0x300000300000 1M\nmmap 0x300000100000 2M\ntouch ${B} 4M\nmadvise ${B} 4M dontneed`,
  'adjacent mappings that merge': `mmap ${B} 1M\nmmap 0x300000100000 3M\ntouch ${B} 4M\nmadvise ${B} 4M dontneed`,
  'holes: ENOMEM plus partial effect': `mmap ${B} 2M\nmmap 0x300000400000 2M\ntouch ${B} 2M\ntouch 0x300000400000 2M\nmadvise ${B} 6M dontneed`,
  'munmap floor/ceiling: a shared table survives': `mmap ${B} 1M\nmmap 0x300000110000 512K\ntouch ${B} 1M\ntouch 0x300000110000 512K\nmunmap ${B} 1M`,
  'munmap with the floor exactly at a 1 GiB boundary': `mmap 0x30003fe00000 2M\nmmap 0x300040200000 2M\ntouch 0x30003fe00000 2M\ntouch 0x300040200000 2M\nmunmap 0x300040200000 2M`,
  'munmap of the last user frees every level': `mmap ${B} 1M\ntouch ${B} 1M\nmunmap ${B} 1M`,
  'MADV_FREE then DONTNEED': `mmap ${B} 4M\ntouch ${B} 4M\nmadvise ${B} 4M free\nmadvise ${B} 4M dontneed`,
  'MADV_FREE keeps tables': `mmap ${B} 4M\ntouch ${B} 4M\nmadvise ${B} 4M free`,
  'read faults': `mmap ${B} 4M\ntouch ${B} 4M read`,
  'read faults then DONTNEED': `mmap ${B} 4M\ntouch ${B} 4M read\nmadvise ${B} 4M dontneed`,
  'range crossing a 1 GiB boundary': `mmap 0x30003fe00000 4M\ntouch 0x30003fe00000 4M\nmadvise 0x30003fe00000 4M dontneed`,
  'munmap across a 1 GiB boundary': `mmap 0x30003fe00000 4M\ntouch 0x30003fe00000 4M\nmunmap 0x30003fe00000 4M`,
  'syscall errors': `mmap ${B} 4K\nmmap ${B} 4K\nmunmap 0x300000000001 4K\nmadvise 0x300000000001 4K dontneed`,
  'DONTNEED larger than the mmu_gather batches': `mmap ${B} 64M\ntouch ${B} 64M\nmadvise ${B} 64M dontneed`,
};

describe.skipIf(!status.available)('model == live kernel (core corners)', () => {
  it.each(Object.entries(CORNERS))('%s', async (_name, text) => {
    await expectModelMatchesKernel(parseTrace(text, 'corner'));
  });

  it('seed at 5 GiB with MADV_FREE: 10,264 kB on both', async () => {
    const model = await expectModelMatchesKernel([...getWorkload('seed-5g-free').ops()]);
    expect(model.vmPteKb).toBe(10_264);
  }, 120_000);
});
