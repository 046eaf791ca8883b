/**
 * The alloc suite's allocator workloads at small and odd heap sizes (issue 11 item 5): the
 * documented minimum (4M), 6M, 8M and 4100K crashed the tcmalloc policy (a hugepage index
 * past its arrays, a fractional hugepage count). Every size runs every policy cleanly.
 */
import { describe, expect, it } from 'vitest';
import { ALLOCATOR_KINDS, allocWorkload } from '../src/workloads/alloc.js';
import { runOps } from '../src/run.js';

const MiB = 2 ** 20;

describe('alloc workloads at small heaps', () => {
  it.each([4 * MiB, 6 * MiB, 8 * MiB, 4100 * 1024])('heap %d: every policy runs, maps only what it touches, exits cleanly', (heapBytes) => {
    for (const kind of ALLOCATOR_KINDS) {
      // The CLI's default churn: 8M crashed only after ~5,000 events.
      const ops = [...allocWorkload(kind, { heapBytes, churn: 20_000, seed: 1 }).ops()];
      const r = runOps(ops, { strategy: 'pt-reclaim' });
      expect(r.errorCount, `${kind}: ${JSON.stringify(r.errors[0])}`).toBe(0);
      expect(r.exit.problems, kind).toEqual([]);
      // Every touch lies inside a mapping the workload made (the policy never writes past its reserve).
      const maps = ops.filter((o) => o.kind === 'mmap');
      for (const t of ops.filter((o) => o.kind === 'touch')) {
        expect(maps.some((m) => t.addr >= m.addr && t.addr + t.len <= m.addr + m.len), `${kind} touch 0x${t.addr.toString(16)}`).toBe(true);
      }
    }
  });

  it('tcmalloc takes another hugepage when none has room, aligned after the reserve', () => {
    const ops = [...allocWorkload('tcmalloc', { heapBytes: 4 * MiB, churn: 4000, seed: 1 }).ops()];
    const maps = ops.filter((o) => o.kind === 'mmap');
    expect(maps[0]!.len).toBe(8 * MiB);
    for (const [i, m] of maps.slice(1).entries()) expect(m).toMatchObject({ addr: maps[0]!.addr + 8 * MiB + i * 2 * MiB, len: 2 * MiB });
  });
});
