/**
 * The PT_RECLAIM paths in isolation: every MADV_DONTNEED covers one whole, just-written PMD
 * span, so each call frees exactly one PTE table (mm/pt_reclaim.c). The path (fast, slow,
 * contended) is chosen by run options, not by the operations.
 */
import type { Op } from '../trace/ops.js';
import type { Workload } from './types.js';

const PMD = 2 ** 21;
const BASE = 0x300000000000;

/** `reclaims` x (write 2 MiB, MADV_DONTNEED those 2 MiB) in one mapping, one reclaim per call. */
export function pathsReclaim(reclaims = 64): Workload {
  return {
    name: 'paths-reclaim',
    description: `${reclaims} x (write 2 MiB, MADV_DONTNEED it): one PTE-table reclaim per call`,
    *ops(): Iterable<Op> {
      yield { kind: 'mmap', addr: BASE, len: reclaims * PMD };
      for (let i = 0; i < reclaims; i++) {
        const a = BASE + i * PMD;
        yield { kind: 'touch', addr: a, len: PMD, access: 'write' };
        yield { kind: 'madvise', addr: a, len: PMD, advice: 'dontneed' };
      }
    },
  };
}
