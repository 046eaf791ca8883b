// Which reclaim design this mm runs, and the knobs that perturb it. Set once per mm
// (index.ts set_strategy / set_knobs) before the first operation.
//
//   STRATEGY_NONE        no reclaim: MADV_DONTNEED never asks for it (zap flags)
//   STRATEGY_PT_RECLAIM  mainline 6.14+ (pt_reclaim.ts)
//   STRATEGY_V1          the series as posted (pt_reclaim_v1.ts)
//   STRATEGY_ASYNC_SCAN  the June 2024 RFC scanner (async_scan.ts), driven by the clock
//   STRATEGY_REFCOUNT    the 2021-22 RFC: per-table counts (pte_refcount.ts)

import {
  STRATEGY_NONE, STRATEGY_PT_RECLAIM, STRATEGY_V1, STRATEGY_ASYNC_SCAN, STRATEGY_REFCOUNT,
} from "./generated/vocab";
export { STRATEGY_NONE, STRATEGY_PT_RECLAIM, STRATEGY_V1, STRATEGY_ASYNC_SCAN, STRATEGY_REFCOUNT };

let strategy: u32 = STRATEGY_PT_RECLAIM;
// Probabilities as fractions of 2^32 (0 = never, 0xffffffff+1 handled as "always").
let trylockFail: u64 = 0;
let resched: u64 = 0;
let nowaitFail: u64 = 0;
let rngState: u64 = 0x9e3779b97f4a7c15;

export function set_strategy_id(id: u32): void {
  strategy = id;
}
@inline export function strategy_id(): u32 {
  return strategy;
}

/** Probabilities in [0, 1] scaled to 2^32; seed for the generator (splitmix64). */
export function set_knobs(trylockFailP: f64, reschedP: f64, nowaitFailP: f64, seed: u64): void {
  trylockFail = scale(trylockFailP);
  resched = scale(reschedP);
  nowaitFail = scale(nowaitFailP);
  rngState = seed ^ 0x9e3779b97f4a7c15;
}

function scale(p: f64): u64 {
  if (p <= 0) return 0;
  if (p >= 1) return <u64>1 << 32;
  return <u64>(p * 4294967296.0);
}

/** splitmix64: small, seedable, and the same sequence on every host. */
function next_u32(): u64 {
  rngState += 0x9e3779b97f4a7c15;
  let z = rngState;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  return (z ^ (z >> 31)) >> 32;
}

@inline function chance(p: u64): bool {
  return p != 0 && next_u32() < p;
}

/** spin_trylock(pmd_lock) fails: another CPU holds the PMD lock (--trylock-fail). */
export function contended_pmd_lock(): bool {
  return chance(trylockFail);
}
/** need_resched() is true at this point of the zap loop (--resched). */
@inline export function need_resched(): bool {
  return resched != 0 && chance(resched);
}
/** A GFP_NOWAIT page for a table batch cannot be had (--nowait-fail). */
export function nowait_alloc_fails(): bool {
  return chance(nowaitFail);
}
