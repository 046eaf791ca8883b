/**
 * The model's mmap `prot=` and mprotect against the live kernel: `ptreclaim validate` must
 * agree exactly (VmPTE, RssAnon, every failed call's errno) on v2 traces with split spans,
 * holes, refused touches and MADV_DONTNEED across a split, and on every prefix of them (so a
 * state in the middle that only cancels out at the end is compared too). Skipped (visibly)
 * where the live oracle cannot run.
 */
import { describe, expect, it } from 'vitest';
import { liveSkipReason, reportSkip } from './fixtures/live.js';
import { validateEveryPrefix } from './helpers/validate-prefixes.js';

const TRACES: Record<string, string> = {
  'split-span': `
mmap 0x300000000000 8M
touch 0x300000000000 2M write
mprotect 0x300000100000 1M r
madvise 0x300000000000 2M dontneed
touch 0x300000100000 4K read
mprotect 0x300000100000 1M rw
touch 0x300000000000 2M write
madvise 0x300000000000 2M dontneed
`,
  'hole-and-refusals': `
mmap 0x300040000000 4M prot=r
touch 0x300040000000 4M write
touch 0x300040000000 4K read
mprotect 0x300040000000 2M rw
touch 0x300040000000 4M write
touch 0x300040000000 2M write
mmap 0x300040600000 2M prot=none
mprotect 0x300040000000 8M rw
touch 0x300040000000 4M write
mprotect 0x300040500000 2M r
mprotect 0x300040100000 4K none
touch 0x300040100000 4K read
touch 0x300040600000 4K read
mprotect 0x300040000001 4K r
`,
  'dontneed-none-and-merge': `
mmap 0x300080000000 4M prot=none
mmap 0x300080400000 4M
touch 0x300080400000 4M write
mprotect 0x300080400000 2M none
madvise 0x300080000000 8M dontneed
mprotect 0x300080000000 8M rw
touch 0x300080000000 8M read
touch 0x300080000000 8M write
mprotect 0x300080200000 3M r
madvise 0x300080000000 8M dontneed
madvise 0x300080000000 8M free
munmap 0x300080300000 1M
mprotect 0x300080000000 8M rw
`,
  // Traces map with MAP_NORESERVE: no VM_ACCOUNT keeps a touched VMA made read-only apart
  // from a prot=r neighbour. Seen through PT_RECLAIM, which frees a span's table only when
  // one VMA covers it.
  'noreserve-merge': `
mmap 0x3000c0000000 1M
touch 0x3000c0000000 1M write
mprotect 0x3000c0000000 1M r
mmap 0x3000c0100000 1M prot=r
touch 0x3000c0100000 1M read
madvise 0x3000c0000000 2M dontneed
mmap 0x3000c0200000 1M
mprotect 0x3000c0200000 1M r
mmap 0x3000c0300000 1M prot=r
touch 0x3000c0200000 2M read
madvise 0x3000c0200000 2M dontneed
`,
};

describe('live kernel: mmap prot= and mprotect', () => {
  reportSkip('live mprotect validation', liveSkipReason);
  const live = it.skipIf(liveSkipReason !== undefined);

  live('validate agrees exactly with the kernel on every trace and every prefix', () => {
    const { outcomes, status } = validateEveryPrefix(TRACES, 120_000);
    // The traces do exercise refused calls (EFAULT, ENOMEM, EINVAL), not only successes.
    const last = outcomes.find((o) => o.source.endsWith('hole-and-refusals-14.trace'))!;
    expect(last.model.errors.length).toBeGreaterThanOrEqual(6);
    expect(status).toBe(0);
  });
});
