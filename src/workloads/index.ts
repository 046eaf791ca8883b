/**
 * Built-in workloads: named generators of trace operations. Each documents where its
 * shape comes from.
 */
import type { Advice } from '../trace/ops.js';
import type { Workload } from './types.js';
import { ACCESS_WORDS, ADVICE_WORDS, OP_MADVISE, OP_MMAP, OP_TOUCH, OpBatch, streamOpsOfBatches } from '../trace/reader.js';
import { UsageError } from '../errors.js';
import { pageFault1, mmap1, tlbFlush2, malloc1 } from './wis.js';
import { allocWorkload } from './alloc.js';
import { pathsReclaim } from './paths.js';
import { sparseWorkload } from './sparse.js';
import { v1RobotWorkload, forceBreakWorkload, partialDontneedWorkload, tableChurnWorkload } from './designs.js';

export type { Workload } from './types.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;

/**
 * The PT_RECLAIM series' own microbenchmark (cover letter of v1, Oct 2024): one anonymous
 * mapping in an otherwise empty address space, then for each 2 MiB chunk in order: write
 * every page, then MADV_DONTNEED the chunk.
 */
export function seedWorkload(
  sizeBytes = 50 * GiB,
  { base = 0x200000000000, chunk = 2 * MiB, advice = 'dontneed' }: { base?: number; chunk?: number; advice?: Advice } = {},
): Workload {
  const suffix = `${sizeBytes === 50 * GiB ? '' : `-${sizeBytes / GiB}g`}${advice === 'free' ? '-free' : ''}`;
  const writeArg = ACCESS_WORDS.indexOf('write');
  const adviceArg = ADVICE_WORDS.indexOf(advice);
  // Written as columns: `run seed` is short enough that building 51,201 op objects and
  // packing them again (cold, interpreted JS) cost ~40 ms, more than half of the run.
  function* batches(): Generator<OpBatch> {
    const batch = new OpBatch();
    batch.push(OP_MMAP, base, sizeBytes, 0, 0);
    for (let a = base; a < base + sizeBytes; a += chunk) {
      // Full batches are handed over exactly where batchesOfOps would hand them over.
      if (batch.full) {
        yield batch;
        batch.count = 0;
      }
      batch.push(OP_TOUCH, a, chunk, writeArg, 0);
      if (batch.full) {
        yield batch;
        batch.count = 0;
      }
      batch.push(OP_MADVISE, a, chunk, adviceArg, 0);
    }
    yield batch;
  }
  return {
    name: `seed${suffix}`,
    description: `PT_RECLAIM series microbenchmark: mmap ${sizeBytes / GiB} GiB at 0x${base.toString(16)}, then ${sizeBytes / chunk} x (touch ${chunk / MiB} MiB, MADV_${advice.toUpperCase()} it)`,
    batches,
    ops: () => streamOpsOfBatches(batches()),
  };
}

export const WORKLOADS: Record<string, () => Workload> = {
  seed: () => seedWorkload(),
  'seed-5g': () => seedWorkload(5 * GiB),
  'seed-5g-free': () => seedWorkload(5 * GiB, { advice: 'free' }),
  // Benchmark suites' shapes (src/bench/suites.ts), at their default parameters.
  'wis-page_fault1': () => pageFault1(),
  'wis-mmap1': () => mmap1(),
  'wis-tlb_flush2': () => tlbFlush2(),
  'wis-malloc1': () => malloc1(),
  'alloc-jemalloc': () => allocWorkload('jemalloc'),
  'alloc-tcmalloc': () => allocWorkload('tcmalloc'),
  'alloc-mimalloc': () => allocWorkload('mimalloc'),
  'paths-reclaim': () => pathsReclaim(),
  sparse: () => sparseWorkload(),
  // Reclaim designs side by side (src/workloads/designs.ts).
  'v1-robot': () => v1RobotWorkload(),
  'force-break': () => forceBreakWorkload(),
  'partial-dontneed': () => partialDontneedWorkload(),
  'table-churn': () => tableChurnWorkload(),
};

export function getWorkload(name: string): Workload {
  const make = WORKLOADS[name];
  if (!make) throw new UsageError(`unknown workload "${name}": expected one of ${Object.keys(WORKLOADS).join(', ')} (or --trace FILE)`);
  return make();
}
