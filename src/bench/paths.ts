/**
 * `bench paths` as one answer: what a PT_RECLAIM table free costs by the fast path, the slow
 * path and under contention, per reclaimed table, side by side, with slow/fast and
 * contended/fast as ratios with 95% confidence intervals and p-values.
 *
 * The suite's cells time whole workload runs (mmap, 64 x (write 2 MiB, MADV_DONTNEED), exit
 * on a fresh core): there the reclaim is a few percent of the sample, under core set-up,
 * faults, exit and the harness. Here only the reclaims are timed:
 *   - the writes that rebuild the 64 tables are outside the timed region;
 *   - the timed region is the 64 MADV_DONTNEED calls, each freeing one table;
 *   - the fixed cost of a call (the driver's dispatch, the VMA lookup, crossing into the
 *     core, the walk and the mmu_gather set-up that find nothing) is measured right after, by
 *     the same 64 calls on the now empty spans, and subtracted.
 * So a sample is (64 reclaiming calls - 64 empty calls) / tables freed: the zap of 512
 * present entries plus the path's own work (trylock, or relock + rescan), the TLB flush and
 * the table free. The three paths are sampled round-robin on one core each, so they share
 * the machine's weather; counters per table come from the core over the timed calls.
 */
import { Mm } from '../mm/mm.js';
import { makeCore } from '../run.js';
import { STRATEGIES, type StrategyName } from '../strategies.js';
import { ZAP_RECLAIM_PT, type RawStats } from '../core/types.js';
import { PtreclaimError } from '../errors.js';
import { bootstrapMedians, median } from './stats.js';
import type { PathsComparison, PathVariantResult } from './types.js';

const PMD = 2 ** 21;
const BASE = 0x300000000000;

/** The three paths, with the suite's run options (src/bench/suites.ts `paths`). */
export const PATH_VARIANTS = [
  { variant: 'fast', options: { path: 'fast' as const } },
  { variant: 'slow', options: { path: 'slow' as const } },
  // Injected contention: the PMD trylock fails half the time, the zap loop is asked to
  // reschedule half the time (an early break sends even a won trylock to the slow path).
  { variant: 'contended', options: { path: 'auto' as const, trylockFail: 0.5, resched: 0.5 } },
] as const;

export type PathVariant = (typeof PATH_VARIANTS)[number]['variant'];

/** Strategies whose MADV_DONTNEED asks for table reclaim: they have fast and slow paths. */
export function strategiesWithPaths(strategies: readonly string[]): StrategyName[] {
  return strategies.filter(
    (s): s is StrategyName => s in STRATEGIES && (STRATEGIES[s as StrategyName].dontneedZapFlags & ZAP_RECLAIM_PT) !== 0,
  );
}

export interface PathsOptions {
  /** Tables reclaimed per sample (default 64, as the suite's workload). */
  reclaims?: number;
  /** Samples per path (default 51). */
  samples?: number;
  /** Untimed rounds per path before the samples (JIT tier-up; default 60). */
  warmup?: number;
  seed?: number;
  /** Clock in ns (tests inject a fake one). */
  now?: () => number;
}

const hrNow = () => Number(process.hrtime.bigint());

/** Counter deltas over the timed calls, summed across samples. */
interface Sums {
  tables: number;
  entriesReadZap: number;
  entriesReadScan: number;
  ptl: number;
  pmd: number;
  trylockOk: number;
  trylockFail: number;
  tlbFlushes: number;
  simNs: number;
  fast: number;
  slow: number;
  slowFailed: number;
}

const freedOf = (s: RawStats) => s.ReclaimFast + s.ReclaimSlow;

class PathRunner {
  private readonly mm: Mm;
  readonly sums: Sums = {
    tables: 0,
    entriesReadZap: 0,
    entriesReadScan: 0,
    ptl: 0,
    pmd: 0,
    trylockOk: 0,
    trylockFail: 0,
    tlbFlushes: 0,
    simNs: 0,
    fast: 0,
    slow: 0,
    slowFailed: 0,
  };
  readonly samples: number[] = [];
  readonly fixed: number[] = [];

  constructor(
    strategy: StrategyName,
    private readonly v: (typeof PATH_VARIANTS)[number],
    private readonly n: number,
    seed: number,
    private readonly now: () => number,
  ) {
    this.mm = new Mm(makeCore({ wasm: 'release' }), { strategy, seed, ...v.options });
    const r = this.mm.mmap(BASE, n * PMD);
    if (!r.ok) throw new PtreclaimError(`bench paths: mmap failed (${r.errno} ${r.detail})`);
  }

  /** One round: refill the tables (untimed), time the reclaims, then the same calls on empty spans. */
  round(keep: boolean): void {
    const mm = this.mm;
    const n = this.n;
    const t = mm.touch(BASE, n * PMD, 'write');
    if (!t.ok) throw new PtreclaimError(`bench paths: refilling the tables failed (${t.errno} ${t.detail})`);
    const before = mm.stats();
    const sim0 = mm.nowNs;
    const t0 = this.now();
    for (let i = 0; i < n; i++) mm.madvise(BASE + i * PMD, PMD, 'dontneed');
    const t1 = this.now();
    const sim1 = mm.nowNs;
    const after = mm.stats();
    // The fixed cost: the same calls again, on spans that no longer have a table.
    const t2 = this.now();
    for (let i = 0; i < n; i++) mm.madvise(BASE + i * PMD, PMD, 'dontneed');
    const t3 = this.now();
    const freed = freedOf(after) - freedOf(before);
    if (freed !== n) {
      throw new PtreclaimError(
        `bench paths: ${this.v.variant} freed ${freed} of ${n} tables in a round (the paths workload must free every table)`,
      );
    }
    if (!keep) return;
    this.samples.push((t1 - t0 - (t3 - t2)) / freed);
    this.fixed.push((t3 - t2) / n);
    const d = (k: keyof RawStats) => after[k] - before[k];
    const s = this.sums;
    s.tables += freed;
    s.entriesReadZap += d('EntriesReadZap');
    s.entriesReadScan += d('EntriesReadScan');
    s.ptl += d('PtlLocks');
    s.pmd += d('PmdLocks');
    s.trylockOk += d('PmdTrylockOk');
    s.trylockFail += d('PmdTrylockFail');
    s.tlbFlushes += d('TlbFlushes');
    s.simNs += sim1 - sim0;
    s.fast += d('ReclaimFast');
    s.slow += d('ReclaimSlow');
    s.slowFailed += d('ReclaimSlowFailed');
  }

  result(): PathVariantResult {
    const s = this.sums;
    const per = (x: number) => x / s.tables;
    return {
      variant: this.v.variant,
      runOptions: { ...this.v.options },
      wallNs: median(this.samples),
      samplesNs: this.samples,
      fixedNsPerCall: median(this.fixed),
      perTable: {
        entriesRead: per(s.entriesReadZap + s.entriesReadScan),
        entriesReadZap: per(s.entriesReadZap),
        entriesReadScan: per(s.entriesReadScan),
        // Locks taken: PTE locks, the slow path's PMD lock, and won PMD trylocks.
        locks: per(s.ptl + s.pmd + s.trylockOk),
        pmdTrylockFails: per(s.trylockFail),
        tlbFlushes: per(s.tlbFlushes),
        simulatedNs: per(s.simNs),
        fastShare: per(s.fast),
      },
    };
  }
}

/** Fast, slow and contended for one strategy: per-table figures and the two ratios. */
export function comparePaths(strategy: StrategyName, opts: PathsOptions = {}): PathsComparison {
  const n = opts.reclaims ?? 64;
  const samples = opts.samples ?? 51;
  const warmup = opts.warmup ?? 60;
  const now = opts.now ?? hrNow;
  const runners = PATH_VARIANTS.map((v) => new PathRunner(strategy, v, n, opts.seed ?? 1, now));
  for (let r = 0; r < warmup; r++) for (const p of runners) p.round(false);
  for (let r = 0; r < samples; r++) {
    for (let i = 0; i < runners.length; i++) runners[(r + i) % runners.length]!.round(true);
  }
  const variants = runners.map((p) => p.result());
  const fast = variants[0]!;
  const ratios = variants.slice(1).map((v) => {
    const c = bootstrapMedians(fast.samplesNs, v.samplesNs);
    return {
      of: v.variant as Exclude<PathVariant, 'fast'>,
      to: 'fast' as const,
      ratio: c.ratio,
      ci: c.ratioCi,
      diffNs: c.diff,
      diffCi: c.diffCi,
      p: c.p,
    };
  });
  return { strategy, reclaimsPerSample: n, samples, warmupRounds: warmup, variants, ratios };
}
