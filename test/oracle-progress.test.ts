/**
 * The live replay's progress records (--progress-fd): they arrive while the kernel replays,
 * count up to the op count, and leave the measured page tables and RSS exactly as they are
 * without them.
 */
import { describe, expect, it } from 'vitest';

import { progressReader, runLiveTrace } from '../src/oracle/live.js';
import { parseTrace } from '../src/trace/parse.js';
import { liveSkipReason, reportSkip } from './fixtures/live.js';

// 48 rounds of map, fault in 2 MiB of 4 MiB, free half by DONTNEED (PT reclaim), unmap every
// other one: 176 ops, ~100 MiB touched in all, ~50 MiB at the peak.
function longTrace(): ReturnType<typeof parseTrace> {
  const lines: string[] = [];
  for (let i = 0; i < 48; i++) {
    const a = `0x${(0x300000000000 + i * 0x400000).toString(16)}`;
    lines.push(`mmap ${a} 0x400000`, `touch ${a} 0x200000 write`, `madvise ${a} 0x100000 dontneed`);
    if (i % 2) lines.push(`munmap ${a} 0x400000`);
  }
  return parseTrace(lines.join('\n'), 'progress.trace');
}

function record(done: number, total: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64LE(BigInt(done), 0);
  b.writeBigUInt64LE(BigInt(total), 8);
  return b;
}

describe('live replay progress', () => {
  it('reads records however the stream splits them', () => {
    const seen: [number, number][] = [];
    const feed = progressReader((d, t) => seen.push([d, t]));
    const bytes = Buffer.concat([record(0, 300), record(7, 300), record(300, 300)]);
    // 5 + 20 + 23 bytes: a record split in two, one whole with a head of the next.
    feed(bytes.subarray(0, 5));
    expect(seen).toEqual([]);
    feed(bytes.subarray(5, 25));
    expect(seen).toEqual([[0, 300]]);
    feed(bytes.subarray(25));
    expect(seen).toEqual([
      [0, 300],
      [7, 300],
      [300, 300],
    ]);
  });

  it('rejects a progress interval that is not a whole number of ms', async () => {
    await expect(runLiveTrace([], { onProgress: () => {}, progressIntervalMs: -1 })).rejects.toThrow(
      /progressIntervalMs must be a whole number/,
    );
    await expect(runLiveTrace([], { onProgress: () => {}, progressIntervalMs: 0.5 })).rejects.toThrow(RangeError);
  });

  reportSkip('live replay progress tests', liveSkipReason);
  const live = it.skipIf(liveSkipReason !== undefined);

  live('reports several monotonic records ending at the op count, with results equal to a replay without them', async () => {
    const ops = longTrace();
    const records: [number, number][] = [];
    // Interval 0: a record after every op (the reader may still miss some when it is late).
    const withProgress = await runLiveTrace(ops, { perOp: true, progressIntervalMs: 0, onProgress: (d, t) => records.push([d, t]) });
    const without = await runLiveTrace(ops, { perOp: true });

    expect(records.length).toBeGreaterThanOrEqual(10);
    expect(records.every(([, t]) => t === ops.length)).toBe(true);
    expect(records[0]).toEqual([0, ops.length]);
    expect(records.at(-1)).toEqual([ops.length, ops.length]);
    for (let i = 1; i < records.length; i++) expect(records[i]![0]).toBeGreaterThan(records[i - 1]![0]);
    // Some records come from inside the replay, not only its two ends.
    expect(records.filter(([d]) => d > 0 && d < ops.length).length).toBeGreaterThanOrEqual(8);

    expect(withProgress.errors).toEqual([]);
    expect(withProgress.vmPteDeltaKb).toBeGreaterThan(0);
    expect(withProgress.vmPteDeltaKb).toBe(without.vmPteDeltaKb);
    expect(withProgress.rssAnonDeltaKb).toBe(without.rssAnonDeltaKb);
    expect(withProgress.perOp).toEqual(without.perOp);
    expect(withProgress.counts).toEqual(without.counts);
  });

  live('at the default interval a short replay still reports its start and its end', async () => {
    const ops = longTrace().slice(0, 6);
    const records: [number, number][] = [];
    const r = await runLiveTrace(ops, { onProgress: (d, t) => records.push([d, t]) });
    expect(r.errors).toEqual([]);
    expect(records[0]).toEqual([0, 6]);
    expect(records.at(-1)).toEqual([6, 6]);
  });
});
