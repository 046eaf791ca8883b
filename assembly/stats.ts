// Counters of the simulated mm and of the work the hot loops did.
//
// The first group is the kernel's own accounting (mm->rss_stat, mm->pgtables_bytes split
// by level); the rest counts events so strategies can be compared. All live in one
// static block of u64 slots that the driver reads in place (stats_ptr / Stat.Count).

// The slots are generated from the counter table (schema/counters.js): one row there per
// counter, then its increments here in assembly/.
import { Stat } from "./generated/stat";
export { Stat };

const STATS: usize = memory.data(<i32>Stat.Count * 8, 16);

export function stats_ptr(): usize {
  return STATS;
}

/** Per-counter weights (f64) of the driver's cost model, written by the driver. */
const WEIGHTS: usize = memory.data(<i32>Stat.Count * 8, 16);

export function cost_weights_ptr(): usize {
  return WEIGHTS;
}

/** Counters with a non-zero weight, in slot order (cost_weights_commit); -1 = not committed. */
const WEIGHTED: usize = memory.data(<i32>Stat.Count * 4, 16);
let weightedCount: i32 = -1;

/**
 * The counters of trace v2's paths (guard markers onwards in slot order: THP, files, mremap)
 * stay zero in v1 work. stats_weighted visits their weighted slots only once one of them was
 * written, so that v1 work pays nothing per operation for counters it never moves.
 */
const FIRST_V2_SLOT: i32 = <i32>Stat.GuardMarkers;
let weightedV1Count: i32 = 0;
let v2Written: bool = false;

/** Note which weights are non-zero; call after writing them. */
export function cost_weights_commit(): void {
  weightedCount = 0;
  weightedV1Count = 0;
  for (let i: i32 = 0; i < <i32>Stat.Count; i++) {
    if (load<f64>(WEIGHTS + (<usize>i << 3)) != 0) {
      store<i32>(WEIGHTED + (<usize>weightedCount << 2), i);
      weightedCount++;
      if (i < FIRST_V2_SLOT) weightedV1Count++;
    }
  }
}

/**
 * Sum over counters of value x weight. The cost of an operation is the difference of this
 * sum after and before it: one call instead of reading every counter twice per operation.
 * Only the weighted counters are visited, in slot order: skipped terms are exact zeros, so
 * the sum is the same double as over every counter.
 */
export function stats_weighted(): f64 {
  let acc: f64 = 0;
  if (weightedCount < 0) {
    for (let i: usize = 0; i < <usize>Stat.Count; i++) {
      acc += <f64>load<u64>(STATS + (i << 3)) * load<f64>(WEIGHTS + (i << 3));
    }
    return acc;
  }
  // Slot order: the v1 slots come first, so the v2 ones are a tail skipped while all zero.
  const n = v2Written ? weightedCount : weightedV1Count;
  for (let k: i32 = 0; k < n; k++) {
    const i = <usize>load<i32>(WEIGHTED + (<usize>k << 2));
    acc += <f64>load<u64>(STATS + (i << 3)) * load<f64>(WEIGHTS + (i << 3));
  }
  return acc;
}

@inline export function stat_get(s: Stat): u64 {
  return load<u64>(STATS + (<usize>s << 3));
}
@inline export function stat_set(s: Stat, v: u64): void {
  if (<i32>s >= FIRST_V2_SLOT) v2Written = true; // folds away for a constant v1 slot
  store<u64>(STATS + (<usize>s << 3), v);
}
@inline export function stat_add(s: Stat, v: u64): void {
  if (<i32>s >= FIRST_V2_SLOT) v2Written = true;
  const p = STATS + (<usize>s << 3);
  store<u64>(p, load<u64>(p) + v);
}
@inline export function stat_inc(s: Stat): void {
  stat_add(s, 1);
}

/** Track the high-water mark of live page tables (VmPTE peak). */
@inline export function note_pgtables_peak(): void {
  const live = stat_get(Stat.NrPte) + stat_get(Stat.NrPmd) + stat_get(Stat.NrPud);
  if (live > stat_get(Stat.PeakPgtables)) stat_set(Stat.PeakPgtables, live);
}

export function stats_reset(): void {
  v2Written = false;
  memory.fill(STATS, 0, <usize>Stat.Count << 3);
}
