/**
 * will-it-scale shapes (github.com/antonblanchard/will-it-scale, tests/*.c), one process,
 * each test's loop body repeated a fixed number of times. Addresses are fixed (traces have no
 * placement), 2 MiB-aligned like Linux places these sizes.
 */
import type { Op } from '../trace/ops.js';
import type { Workload } from './types.js';

const MiB = 2 ** 20;
const PAGE = 4096;
const BASE = 0x7f0000000000;

/** page_fault1.c: mmap 128 MiB, write one byte per page, munmap. */
export function pageFault1(rounds = 4, size = 128 * MiB): Workload {
  return {
    name: 'wis-page_fault1',
    description: `will-it-scale page_fault1: ${rounds} x (mmap ${size / MiB} MiB, write every page, munmap)`,
    *ops(): Iterable<Op> {
      for (let i = 0; i < rounds; i++) {
        yield { kind: 'mmap', addr: BASE, len: size };
        yield { kind: 'touch', addr: BASE, len: size, access: 'write' };
        yield { kind: 'munmap', addr: BASE, len: size };
      }
    },
  };
}

/** mmap1.c: mmap 128 MiB and munmap it, never touched. */
export function mmap1(rounds = 2000, size = 128 * MiB): Workload {
  return {
    name: 'wis-mmap1',
    description: `will-it-scale mmap1: ${rounds} x (mmap ${size / MiB} MiB, munmap)`,
    *ops(): Iterable<Op> {
      for (let i = 0; i < rounds; i++) {
        yield { kind: 'mmap', addr: BASE, len: size };
        yield { kind: 'munmap', addr: BASE, len: size };
      }
    },
  };
}

/** tlb_flush2.c: mmap 1 MiB; per page: write it, MADV_DONTNEED that page; munmap. */
export function tlbFlush2(rounds = 16, size = 1 * MiB): Workload {
  return {
    name: 'wis-tlb_flush2',
    description: `will-it-scale tlb_flush2: ${rounds} x (mmap ${size / MiB} MiB, per page: write, MADV_DONTNEED 4 KiB; munmap)`,
    *ops(): Iterable<Op> {
      for (let i = 0; i < rounds; i++) {
        yield { kind: 'mmap', addr: BASE, len: size };
        for (let a = BASE; a < BASE + size; a += PAGE) {
          yield { kind: 'touch', addr: a, len: PAGE, access: 'write' };
          yield { kind: 'madvise', addr: a, len: PAGE, advice: 'dontneed' };
        }
        yield { kind: 'munmap', addr: BASE, len: size };
      }
    },
  };
}

/**
 * malloc1.c: malloc(128 MiB) + free. glibc serves it with mmap (above M_MMAP_THRESHOLD):
 * 128 MiB plus a page for the chunk header, which malloc writes; free munmaps it.
 */
export function malloc1(rounds = 2000, size = 128 * MiB): Workload {
  const len = size + PAGE;
  return {
    name: 'wis-malloc1',
    description: `will-it-scale malloc1 (glibc): ${rounds} x (mmap ${size / MiB} MiB + 4 KiB, write the chunk header, munmap)`,
    *ops(): Iterable<Op> {
      for (let i = 0; i < rounds; i++) {
        yield { kind: 'mmap', addr: BASE, len };
        yield { kind: 'touch', addr: BASE, len: PAGE, access: 'write' };
        yield { kind: 'munmap', addr: BASE, len };
      }
    },
  };
}
