/**
 * The production snapshot that motivated PT_RECLAIM (cover letter of the series): one
 * process with VIRT 55 TiB, RES 590 GiB and VmPTE 110 GiB. 110 GiB of PTE tables map
 * 110 GiB / 4 KiB x 2 MiB = 55 TiB: nearly every 2 MiB of the address space once had a
 * page, and its table stayed after the page was released in pieces smaller than a PMD.
 * Resident memory sits in dense spans (RES / 2 MiB of them, fully written).
 *
 * At scale factor s the shape is built from s x those sizes: (1) history: every span gets
 * one page written and released with a 4 KiB MADV_DONTNEED (no strategy frees a table on
 * that); the dense spans are written whole; the checkpoint "before" is taken; (2) purge:
 * the allocator returns every free run between dense spans with one MADV_DONTNEED each,
 * which is where a reclaim strategy can free the empty tables. Extrapolate by dividing by s.
 */
import type { Op } from '../trace/ops.js';
import type { Workload } from './types.js';
import { Rng } from './rng.js';
import { UsageError } from '../errors.js';
import { ARENA_HARD_MAX_FRAMES } from '../core/types.js';

const PAGE = 4096;
const PMD = 2 ** 21;
const GiB = 2 ** 30;
const TiB = 2 ** 40;
const BASE = 0x100000000000;

/** The snapshot as reported (binary units, as /proc shows kB). */
export const SPARSE_SNAPSHOT = { virtBytes: 55 * TiB, resBytes: 590 * GiB, vmPteBytes: 110 * GiB } as const;
export const DEFAULT_SPARSE_SCALE = 1 / 4096;

export interface SparseWorkload extends Workload {
  readonly scale: number;
  /** Operation counts after which the harness records named snapshots. */
  readonly checkpoints: Record<string, number>;
}

/** Parse "1/1024", "0.001" or "1e-3" into a scale factor in (0, 1]. */
export function parseScale(spec: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*\/\s*(\d+(?:\.\d+)?)\s*$/.exec(spec);
  const v = m ? Number(m[1]) / Number(m[2]) : Number(spec);
  if (!(v > 0 && v <= 1)) throw new UsageError(`--scale must be a fraction in (0, 1] such as 1/1024 or 0.001, not "${spec}"`);
  return v;
}

/** PMD spans at a scale: one PTE table each at the peak (before the purge), for every strategy. */
const spansAt = (scale: number) => Math.max(1, Math.round((SPARSE_SNAPSHOT.virtBytes * scale) / PMD));

/** Page-table frames the arena holds at the peak: a PTE table per span, their PMD and PUD tables, the PGD. */
export function sparsePeakTables(scale: number): number {
  const spans = spansAt(scale);
  return spans + Math.ceil(spans / 512) + Math.ceil(spans / 512 / 512) + 1;
}

/**
 * Refuses, before anything runs, a scale whose peak page tables cannot fit the arena (at most
 * 4 GiB of wasm32 memory): --scale 1 needs 110 GiB of them. It would otherwise build tens of
 * millions of operations (gigabytes of JS heap) and fail much later.
 */
export function checkSparseScaleFits(scale: number): void {
  const need = sparsePeakTables(scale);
  if (need <= ARENA_HARD_MAX_FRAMES) return;
  let largest = 1;
  while (sparsePeakTables(1 / largest) > ARENA_HARD_MAX_FRAMES) largest *= 2;
  throw new UsageError(
    `sparse at scale ${formatScale(scale)} needs ${need.toLocaleString('en-US')} page tables (${((need * PAGE) / GiB).toFixed(1)} GiB) at its peak, ` +
      `but the arena holds at most ${ARENA_HARD_MAX_FRAMES.toLocaleString('en-US')} (${((ARENA_HARD_MAX_FRAMES * PAGE) / 2 ** 20).toFixed(2)} MiB of WebAssembly memory): ` +
      `use --scale 1/${largest} or smaller and multiply the memory figures by ${largest}`,
  );
}

export function sparseWorkload(scale = DEFAULT_SPARSE_SCALE, seed = 1): SparseWorkload {
  if (!(scale > 0 && scale <= 1)) throw new UsageError(`sparse scale must be in (0, 1], not ${scale}`);
  checkSparseScaleFits(scale);
  const spans = spansAt(scale);
  const dense = Math.min(spans, Math.max(1, Math.round((SPARSE_SNAPSHOT.resBytes * scale) / PMD)));
  if (spans * PMD > 100 * TiB) throw new UsageError(`sparse scale ${scale} maps more than fits below 128 TiB of user VA`);
  // Which spans are dense: a seeded choice, the same for every strategy.
  const isDense = new Uint8Array(spans);
  const rng = new Rng(seed);
  for (let placed = 0; placed < dense;) {
    const k = rng.int(spans);
    if (!isDense[k]) {
      isDense[k] = 1;
      placed++;
    }
  }
  const historyOps = 1 + 2 * (spans - dense) + dense;
  return {
    name: 'sparse',
    description: `production snapshot shape x ${formatScale(scale)}: ${spans.toLocaleString('en-US')} PMD spans (VIRT ${((spans * PMD) / GiB).toFixed(1)} GiB), ${dense} dense (RES ${((dense * PMD) / GiB).toFixed(1)} GiB)`,
    scale,
    checkpoints: { before: historyOps },
    *ops(): Iterable<Op> {
      yield { kind: 'mmap', addr: BASE, len: spans * PMD };
      // History: one page per sparse span written and released in a sub-PMD piece.
      for (let k = 0; k < spans; k++) {
        const a = BASE + k * PMD;
        if (isDense[k]) {
          yield { kind: 'touch', addr: a, len: PMD, access: 'write' };
        } else {
          yield { kind: 'touch', addr: a + PAGE * (k % 512), len: PAGE, access: 'write' };
          yield { kind: 'madvise', addr: a + PAGE * (k % 512), len: PAGE, advice: 'dontneed' };
        }
      }
      // Purge: each free run between dense spans back in one call.
      for (let k = 0; k < spans;) {
        if (isDense[k]) {
          k++;
          continue;
        }
        let j = k;
        while (j < spans && !isDense[j]) j++;
        yield { kind: 'madvise', addr: BASE + k * PMD, len: (j - k) * PMD, advice: 'dontneed' };
        k = j;
      }
    },
  };
}

export function formatScale(scale: number): string {
  const inv = 1 / scale;
  return Number.isInteger(Math.round(inv * 1e6) / 1e6) ? `1/${Math.round(inv)}` : String(scale);
}
