/** Typed, validated options of `ptreclaim bench` (the CLI file only declares flags). */
import { UsageError } from '../errors.js';
import { parseStrategyList, STRATEGY_NAMES } from '../strategies.js';
import { parseIntegerArg, parseSeedArg, parseSizeArg } from '../args.js';
import { checkSparseScaleFits, parseScale } from '../workloads/sparse.js';
import { validateAllocParams } from '../workloads/alloc.js';
import { DEFAULT_SUITE_PARAMS, DEFAULT_SUITES, getSuite } from './suites.js';
import type { BenchOptions } from './types.js';
import { loadCostChoice } from '../mm/cost-profile.js';

export interface BenchFlags {
  strategy: string;
  time: string;
  iterations: string;
  warmup: string;
  seed: string;
  scale?: string;
  heap?: string;
  churn?: string;
  shard?: string;
  timelinePoints: string;
  cpuProf?: string | boolean;
  heapProf?: string | boolean;
  costProfile?: string;
}

const int = (v: string, flag: string, min: number) => parseIntegerArg(v, flag, min);

/** --scale: a fraction in (0, 1] whose sparse shape fits the arena (refused before any cell runs). */
function checkedScale(spec: string): number {
  const scale = parseScale(spec);
  checkSparseScaleFits(scale);
  return scale;
}

export function parseShard(spec: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(spec.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count) throw new UsageError(`--shard must be K/N with 1 <= K <= N (e.g. 2/4), not "${spec}"`);
  return { index, count };
}

export function benchOptions(suites: string[], f: BenchFlags): BenchOptions {
  const names = suites.length ? suites : DEFAULT_SUITES;
  for (const s of names) getSuite(s);
  const dir = (v: string | boolean | undefined, dflt: string) => (v === undefined || v === false ? undefined : v === true ? dflt : v);
  const o: BenchOptions = {
    suites: names,
    strategies: f.strategy === 'all' ? [...STRATEGY_NAMES] : parseStrategyList(f.strategy),
    timeMs: int(f.time, '--time', 1),
    iterations: int(f.iterations, '--iterations', 1),
    warmupIterations: int(f.warmup, '--warmup', 0),
    seed: parseSeedArg(f.seed),
    scale: f.scale ? checkedScale(f.scale) : DEFAULT_SUITE_PARAMS.scale,
    heapBytes: f.heap ? parseSizeArg(f.heap, '--heap') : DEFAULT_SUITE_PARAMS.heapBytes,
    churn: f.churn ? int(f.churn, '--churn', 1) : DEFAULT_SUITE_PARAMS.churn,
    timelinePoints: int(f.timelinePoints, '--timeline-points', 2),
    wasm: 'release',
  };
  // Read (and validated) here, so a bad profile fails before any cell runs.
  o.costModel = loadCostChoice(f.costProfile).label;
  if (f.costProfile) o.costProfile = f.costProfile;
  if (f.shard) o.shard = parseShard(f.shard);
  // Before any cell runs: a heap the address space or the arena cannot hold is refused now.
  if (names.includes('alloc')) validateAllocParams({ heapBytes: o.heapBytes, churn: o.churn, seed: o.seed });
  const cpu = dir(f.cpuProf, 'profiles');
  const heap = dir(f.heapProf, 'profiles');
  if (cpu) o.cpuProfDir = cpu;
  if (heap) o.heapProfDir = heap;
  return o;
}
