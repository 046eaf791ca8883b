/**
 * The simulated clock and its per-operation cost model. Simulated time matters where a
 * design depends on it (async-scan runs from the scheduler tick; RCU frees tables after
 * grace periods); it is not a prediction of wall time on any machine.
 *
 * An operation costs a fixed system-call overhead plus, for each counter the core moved,
 * the counter's delta times a weight. The core keeps the weighted sum of its counters
 * (PageTableCore.weightedStats), so an operation's cost is that sum's change across it. Page faults dominate and are calibrated on this
 * host (native/oracle/MEASURED.md: 9.6-11.5 us per 4 KiB write fault); the other weights
 * are order-of-magnitude figures for x86-64 and are documented in the README.
 */
import type { StatName } from '../core/types.js';
import { COST_WEIGHTS } from '../generated/counters.js';

export interface CostModel {
  /** mmap, munmap, madvise: entry, VMA work, exit. */
  syscallNs: number;
  /** Per weighted counter: ns per unit of its delta. */
  perEvent: Partial<Record<StatName, number>>;
}

/** Per-counter weights are the `weight` column of the counter table (schema/counters.js). */
export const DEFAULT_COST_MODEL: CostModel = {
  syscallNs: 1_000,
  perEvent: COST_WEIGHTS,
};

export class SimClock {
  nowNs = 0;
  readonly tickNs: number;

  constructor(tickMs: number) {
    this.tickNs = tickMs * 1e6;
  }

  /** Advance by ns; returns how many scheduler ticks fired meanwhile. */
  advance(ns: number): number {
    const before = Math.floor(this.nowNs / this.tickNs);
    this.nowNs += ns;
    return Math.floor(this.nowNs / this.tickNs) - before;
  }
}
