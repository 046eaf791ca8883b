/**
 * `bench alloc` on huge heaps: the allocator models follow the pages they use, not the VA
 * they reserve, so a 4 TiB heap runs like any heap the events never fill; what cannot fit
 * (the address space, the arena) is refused before any work, with the numbers.
 */
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { allocWorkload, estimateAlloc, describeAllocEstimate, ALLOCATOR_KINDS } from '../src/workloads/alloc.js';
import type { Op } from '../src/trace/ops.js';

const TiB = 2 ** 40;
const bin = join(__dirname, '..', 'bin', 'ptreclaim.js');
const opsOf = (kind: (typeof ALLOCATOR_KINDS)[number], heapBytes: number) => [...allocWorkload(kind, { heapBytes, churn: 3000 }).ops()];

describe('alloc on huge heaps', () => {
  it.each(ALLOCATOR_KINDS)('%s: a 4 TiB heap gives the same operations as a 1 TiB one (only the reservation differs)', (kind) => {
    const a = opsOf(kind, 1 * TiB);
    const b = opsOf(kind, 4 * TiB);
    const body = (ops: Op[]) => ops.slice(1);
    expect(b[0]).toMatchObject({ kind: 'mmap' });
    expect((b[0] as { len: number }).len).toBe(4 * (a[0] as { len: number }).len);
    expect(body(b)).toEqual(body(a));
    expect(b.length).toBeGreaterThan(3000 / 2);
  });

  it('estimates what a run reserves, writes and holds in tables', () => {
    const e = estimateAlloc({ heapBytes: 4 * TiB, churn: 20_000 });
    expect(e.reserveBytes).toBe(8 * TiB + 4 * 2 ** 20);
    expect(e.maxTouchedBytes).toBe(20_000 * 2 ** 20); // every event allocating 1 MiB
    expect(e.expectedTouchedBytes).toBeLessThan(e.maxTouchedBytes);
    expect(e.expectedTableFrames).toBeGreaterThan(e.expectedTouchedBytes / 2 ** 21);
    expect(describeAllocEstimate({ heapBytes: 4 * TiB, churn: 20_000 })).toMatch(
      /^alloc: heap 4 TiB reserves 8 TiB of VA; 20000 events write about [\d.]+ GiB \(at most 19\.5 GiB\)/,
    );
  });

  it('refuses, before any work, a heap the address space cannot reserve and a run the arena cannot hold', () => {
    const va = spawnSync(process.execPath, [bin, 'bench', 'alloc', '--heap', '64T'], { encoding: 'utf8' });
    expect(va.status).toBe(2);
    expect(va.stderr).toMatch(/alloc heap 64 TiB is too large: .* the largest heap is 32 TiB/);
    const arena = spawnSync(process.execPath, [bin, 'bench', 'alloc', '--heap', '4T', '--churn', '100000000'], { encoding: 'utf8' });
    expect(arena.status).toBe(2);
    expect(arena.stderr).toMatch(/would write about 8 TiB, needing about 16 GiB of page tables; the simulated arena holds 4 GiB/);
    expect(arena.stdout).toBe('');
  });
});
