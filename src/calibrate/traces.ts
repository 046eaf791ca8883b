/**
 * Targeted calibration traces: each moves a few counters over a wide range while the
 * others stay still or vary independently, so the regression can tell the weights apart
 * (faults with and without a table allocation, zaps of 1..512 present pages with ranged and
 * full TLB flushes, table frees by reclaim and by munmap, syscalls that touch nothing).
 * Seeded: the same seed gives the same traces. Addresses stay in 0x100000000000-0x500000000000,
 * clear of the oracle helper's own mappings.
 */
import type { Op } from '../trace/ops.js';
import { Rng } from '../workloads/rng.js';

const PAGE = 4096;
const PMD = 2 ** 21;
const BASE = 0x100000000000;

export interface NamedTrace {
  source: string;
  ops: readonly Op[];
}

/** Touch spans sparsely or densely: one page (table allocation dominates) up to all 512. */
function faults(rng: Rng, base: number, spans: number, access: 'write' | 'read', ops: Op[]): void {
  for (let s = 0; s < spans; s++) {
    const span = base + s * PMD;
    const mode = rng.int(3);
    if (mode === 0) {
      ops.push({ kind: 'touch', addr: span + rng.int(512) * PAGE, len: PAGE, access });
    } else if (mode === 1) {
      const pages = rng.pow2(9);
      const first = rng.int(512 - pages + 1);
      ops.push({ kind: 'touch', addr: span + first * PAGE, len: pages * PAGE, access });
    } else {
      for (let p = 0; p < 512;) {
        const n = Math.min(512 - p, rng.pow2(8));
        ops.push({ kind: 'touch', addr: span + p * PAGE, len: n * PAGE, access });
        p += n;
      }
    }
  }
}

/** Zaps of 1..512 present pages inside spans (no table freed) and of whole spans (reclaim). */
function zaps(rng: Rng, base: number, spans: number, ops: Op[]): void {
  for (let s = 0; s < spans; s++) {
    const span = base + s * PMD;
    if (rng.int(4) === 0) {
      ops.push({ kind: 'madvise', addr: span, len: PMD, advice: 'dontneed' });
      continue;
    }
    for (let k = rng.int(4) + 1; k > 0; k--) {
      const pages = Math.min(511, rng.pow2(9));
      const first = rng.int(512 - pages + 1);
      ops.push({ kind: 'madvise', addr: span + first * PAGE, len: pages * PAGE, advice: 'dontneed' });
    }
  }
}

export function calibrationTraces(seed = 1): NamedTrace[] {
  const rng = new Rng(seed);
  const out: NamedTrace[] = [];
  const spans = 64;
  const len = spans * PMD;

  {
    const ops: Op[] = [{ kind: 'mmap', addr: BASE, len }];
    faults(rng, BASE, spans, 'write', ops);
    faults(rng, BASE, spans, 'write', ops); // second pass: faults into existing tables, accesses to mapped pages
    ops.push({ kind: 'munmap', addr: BASE, len });
    out.push({ source: 'calibrate:write-faults', ops });
  }
  {
    const ops: Op[] = [{ kind: 'mmap', addr: BASE, len }];
    faults(rng, BASE, spans, 'read', ops); // zero page
    faults(rng, BASE, spans, 'write', ops); // copy-on-write of zero-page entries, and fresh faults
    faults(rng, BASE, spans / 2, 'read', ops); // mostly accesses to mapped pages
    for (let s = 0; s < spans; s += 8) ops.push({ kind: 'munmap', addr: BASE + s * PMD, len: 8 * PMD });
    out.push({ source: 'calibrate:read-faults', ops });
  }
  {
    const ops: Op[] = [{ kind: 'mmap', addr: BASE, len }];
    for (let round = 0; round < 2; round++) {
      faults(rng, BASE, spans, 'write', ops);
      zaps(rng, BASE, spans, ops);
    }
    for (let s = 0; s < spans; s++) ops.push({ kind: 'madvise', addr: BASE + s * PMD, len: PMD, advice: 'dontneed' });
    ops.push({ kind: 'munmap', addr: BASE, len });
    out.push({ source: 'calibrate:zap', ops });
  }
  {
    // munmap of pieces with 0..512 present pages and 0..n tables; mmap/munmap of untouched VA.
    const ops: Op[] = [];
    for (let i = 0; i < 32; i++) {
      const a = BASE + i * 64 * PMD;
      const n = 1 + rng.int(16);
      ops.push({ kind: 'mmap', addr: a, len: n * PMD });
      const touched = rng.int(n + 1);
      if (touched > 0) faults(rng, a, touched, 'write', ops);
      let p = 0;
      while (p < n * 512) {
        const pages = Math.min(n * 512 - p, rng.pow2(10));
        ops.push({ kind: 'munmap', addr: a + p * PAGE, len: pages * PAGE });
        p += pages;
      }
    }
    out.push({ source: 'calibrate:munmap', ops });
  }
  {
    // reclaim: write a whole span then DONTNEED it (one table freed per call), and MADV_FREE.
    const ops: Op[] = [{ kind: 'mmap', addr: BASE, len }];
    for (let s = 0; s < spans; s++) {
      const span = BASE + s * PMD;
      const pages = rng.int(2) ? 512 : rng.pow2(9);
      ops.push({ kind: 'touch', addr: span, len: pages * PAGE, access: 'write' });
      if (rng.int(3) === 0) ops.push({ kind: 'madvise', addr: span, len: pages * PAGE, advice: 'free' });
      ops.push({ kind: 'madvise', addr: span, len: PMD, advice: 'dontneed' });
    }
    ops.push({ kind: 'munmap', addr: BASE, len });
    out.push({ source: 'calibrate:reclaim', ops });
  }
  return out;
}

/** Held-out traces of the shapes users run (never fitted on): the paths workload and a mix. */
export function heldOutTraces(seed = 2): NamedTrace[] {
  const rng = new Rng(seed);
  const paths: Op[] = [{ kind: 'mmap', addr: BASE, len: 64 * PMD }];
  for (let i = 0; i < 64; i++) {
    paths.push({ kind: 'touch', addr: BASE + i * PMD, len: PMD, access: 'write' });
    paths.push({ kind: 'madvise', addr: BASE + i * PMD, len: PMD, advice: 'dontneed' });
  }
  paths.push({ kind: 'munmap', addr: BASE, len: 64 * PMD });
  const mixed: Op[] = [{ kind: 'mmap', addr: BASE, len: 32 * PMD }];
  faults(rng, BASE, 32, rng.int(2) ? 'write' : 'read', mixed);
  faults(rng, BASE, 32, 'write', mixed);
  zaps(rng, BASE, 32, mixed);
  mixed.push({ kind: 'munmap', addr: BASE, len: 32 * PMD });
  return [
    { source: 'held-out:paths-reclaim', ops: paths },
    { source: 'held-out:mixed', ops: mixed },
  ];
}
