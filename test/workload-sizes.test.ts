/**
 * Workload sizes at the edges (issue 11 item 5). alloc: the documented minimum heap (4M), 6M,
 * 8M and 4100K crashed the tcmalloc policy (a hugepage index past its arrays, a fractional
 * hugepage count); every size runs every policy cleanly. sparse: a scale whose tables cannot
 * fit the arena is refused before anything is built.
 */
import { describe, expect, it } from 'vitest';
import { ALLOCATOR_KINDS, allocWorkload } from '../src/workloads/alloc.js';
import { runOps } from '../src/run.js';
import { sparsePeakTables, sparseWorkload } from '../src/workloads/sparse.js';
import { ARENA_HARD_MAX_FRAMES } from '../src/core/types.js';
import { UsageError } from '../src/errors.js';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

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
        expect(
          maps.some((m) => t.addr >= m.addr && t.addr + t.len <= m.addr + m.len),
          `${kind} touch 0x${t.addr.toString(16)}`,
        ).toBe(true);
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

describe('sparse at a scale the arena cannot hold (issue 11 item 5)', () => {
  it('is refused up front with the largest scale that fits, before any op is built', () => {
    expect(() => sparseWorkload(1)).toThrow(UsageError);
    expect(() => sparseWorkload(1)).toThrow(
      /sparse at scale 1\/1 needs 28,892,271 page tables \(110\.2 GiB\) at its peak, but the arena holds at most 1,048,256 .*: use --scale 1\/32 or smaller/,
    );
    expect(() => sparseWorkload(1 / 16)).toThrow(/use --scale 1\/32 or smaller/);
    expect(sparsePeakTables(1 / 32)).toBeLessThanOrEqual(ARENA_HARD_MAX_FRAMES);
    expect(() => sparseWorkload(1 / 32)).not.toThrow();
  });

  it('CLI: bench sparse --scale 1 exits 2 at once with the message (it was a V8 out-of-memory abort after 5.3 GB)', () => {
    const r = spawnSync(
      process.execPath,
      [
        join(import.meta.dirname, '..', 'bin', 'ptreclaim.js'),
        'bench',
        'sparse',
        '--scale',
        '1',
        '--strategy',
        'none',
        '--iterations',
        '1',
        '--warmup',
        '0',
        '--time',
        '1',
      ],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/sparse at scale 1\/1 needs .* page tables .*use --scale 1\/32 or smaller/);
  });
});
