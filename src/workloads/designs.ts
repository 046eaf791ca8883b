/**
 * Workloads that tell the reclaim designs apart (issue 3): each reproduces one behaviour a
 * design is known for, so tests and `ptreclaim run NAME --strategy all` can show it.
 */
import type { Op } from '../trace/ops.js';
import type { Workload } from './types.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

/**
 * The kernel test robot's report on v1 (Oct 2024, "BUG: Bad rss-counter state"), reduced
 * to its cause: a process frees one page inside a 2 MiB span it keeps using (what malloc
 * implementations do with small frees). v1's range check wraps for that sub-PMD range,
 * its fast path frees the table with the rest of the span still mapped, and the pages the
 * process wrote vanish; the next read faults in a fresh zero-filled page.
 */
export function v1RobotWorkload(base = 0x7f0000000000): Workload {
  return {
    name: 'v1-robot',
    description: 'kernel test robot vs PT_RECLAIM v1: write 4 MiB, MADV_DONTNEED one page inside a 2 MiB span, read the span again',
    *ops(): Iterable<Op> {
      yield { kind: 'mmap', addr: base, len: 4 * MiB };
      yield { kind: 'touch', addr: base, len: 4 * MiB, access: 'write' };
      yield { kind: 'madvise', addr: base + 0x1000, len: 0x1000, advice: 'dontneed' };
      yield { kind: 'touch', addr: base, len: 2 * MiB, access: 'read' };
      yield { kind: 'munmap', addr: base, len: 4 * MiB };
    },
  };
}

/**
 * One MADV_DONTNEED larger than the mmu_gather can batch (8 + 19 x 509 pages, ~38 MiB):
 * the zap loop runs out of batches, forces a flush and breaks (force_break), then retries.
 */
export function forceBreakWorkload(base = 0x7e0000000000, size = 64 * MiB, rounds = 4): Workload {
  return {
    name: 'force-break',
    description: `${rounds} x (write ${size / MiB} MiB, MADV_DONTNEED all of it in one call): exhausts the mmu_gather page batches`,
    *ops(): Iterable<Op> {
      yield { kind: 'mmap', addr: base, len: size };
      for (let r = 0; r < rounds; r++) {
        yield { kind: 'touch', addr: base, len: size, access: 'write' };
        yield { kind: 'madvise', addr: base, len: size, advice: 'dontneed' };
      }
    },
  };
}

/**
 * Tables emptied piecemeal: each 2 MiB span is released by four 512 KiB MADV_DONTNEED calls,
 * so no single call covers a whole PMD (mainline keeps the tables; refcount frees them at
 * once; async-scan later). Then the process keeps working in a small buffer, which lets
 * simulated time pass for the scanner.
 */
export function partialDontneedWorkload(base = 0x7d0000000000, size = 64 * MiB, busyRounds = 100): Workload {
  return {
    name: 'partial-dontneed',
    description: `write ${size / MiB} MiB, release it in 512 KiB MADV_DONTNEED calls, then ${busyRounds} x (write, MADV_DONTNEED) of a 2 MiB buffer`,
    *ops(): Iterable<Op> {
      yield { kind: 'mmap', addr: base, len: size };
      yield { kind: 'touch', addr: base, len: size, access: 'write' };
      for (let a = base; a < base + size; a += 512 * 1024) yield { kind: 'madvise', addr: a, len: 512 * 1024, advice: 'dontneed' };
      const busy = base + size + 2 * MiB;
      yield { kind: 'mmap', addr: busy, len: 2 * MiB };
      for (let r = 0; r < busyRounds; r++) {
        yield { kind: 'touch', addr: busy, len: 2 * MiB, access: 'write' };
        yield { kind: 'madvise', addr: busy, len: 2 * MiB, advice: 'dontneed' };
      }
    },
  };
}

/**
 * Page-table churn: map 2 GiB, write one page per 2 MiB, unmap it in one call, a few times.
 * Each munmap frees over a thousand tables in one mmu_gather, more than a table batch page
 * holds (509); with --nowait-fail the single-table fallback (semi-RCU or RCU) takes over.
 */
export function tableChurnWorkload(base = 0x7c0000000000, size = 2 * GiB, rounds = 3): Workload {
  return {
    name: 'table-churn',
    description: `${rounds} x (mmap ${size / GiB} GiB, write one page per 2 MiB, munmap it): ${size / (2 * MiB)} PTE tables freed per munmap`,
    *ops(): Iterable<Op> {
      for (let r = 0; r < rounds; r++) {
        yield { kind: 'mmap', addr: base, len: size };
        for (let a = base; a < base + size; a += 2 * MiB) yield { kind: 'touch', addr: a, len: 4096, access: 'write' };
        yield { kind: 'munmap', addr: base, len: size };
      }
    },
  };
}
