/**
 * The built-in benchmark suites: each is a list of cases (a workload plus run options);
 * the harness crosses them with the chosen strategies. Every suite says where its shape
 * comes from; the README lists them.
 */
import type { RunOptions } from '../run.js';
import { type Workload, seedWorkload } from '../workloads/index.js';
import { pageFault1, mmap1, tlbFlush2, malloc1 } from '../workloads/wis.js';
import { allocWorkload, ALLOCATOR_KINDS, DEFAULT_ALLOC_PARAMS, type AllocParams } from '../workloads/alloc.js';
import { pathsReclaim } from '../workloads/paths.js';
import { sparseWorkload, DEFAULT_SPARSE_SCALE, type SparseWorkload } from '../workloads/sparse.js';
import { UsageError } from '../errors.js';

const GiB = 2 ** 30;

/** Parameters the suites take from the command line. */
export interface SuiteParams {
  seed: number;
  /** sparse: fraction of the production snapshot. */
  scale: number;
  /** alloc: heap size and events. */
  heapBytes: number;
  churn: number;
}

export const DEFAULT_SUITE_PARAMS: SuiteParams = {
  seed: 1,
  scale: DEFAULT_SPARSE_SCALE,
  heapBytes: DEFAULT_ALLOC_PARAMS.heapBytes,
  churn: DEFAULT_ALLOC_PARAMS.churn,
};

/** One row of the cell matrix before strategies: what runs and how. */
export interface BenchCase {
  /** Workload name, unique within its suite. */
  workload: string;
  /** Variant label ("" for the default run options). */
  variant: string;
  make(): Workload | SparseWorkload;
  /** Run options besides strategy (path, contention, ...). */
  options: RunOptions;
}

export interface Suite {
  name: string;
  title: string;
  /** Where the shape comes from. */
  source: string;
  cases(p: SuiteParams): BenchCase[];
}

const plain = (make: () => Workload): BenchCase => ({ workload: make().name, variant: '', make, options: {} });

export const SUITES: Record<string, Suite> = {
  seed: {
    name: 'seed',
    title: 'PT_RECLAIM series microbenchmark',
    source:
      'cover letter of "[PATCH v1 0/7] synchronously scan and reclaim empty user PTE pages" (Oct 2024): mmap 50 GiB, then per 2 MiB: write, MADV_DONTNEED',
    cases: () => [plain(() => seedWorkload(5 * GiB)), plain(() => seedWorkload())],
  },
  wis: {
    name: 'wis',
    title: 'will-it-scale shapes',
    source: 'github.com/antonblanchard/will-it-scale tests/page_fault1.c, mmap1.c, tlb_flush2.c, malloc1.c (one process)',
    cases: () => [plain(() => pageFault1()), plain(() => mmap1()), plain(() => tlbFlush2()), plain(() => malloc1())],
  },
  alloc: {
    name: 'alloc',
    title: 'allocator release patterns',
    source:
      'jemalloc (extent decay: dirty -> MADV_FREE -> MADV_DONTNEED, retained VA), tcmalloc Temeraire (hugepage-aware release, subrelease as a last resort), mimalloc (4 MiB segments, delayed purge)',
    cases: (p) =>
      ALLOCATOR_KINDS.map((kind) => {
        const params: AllocParams = { heapBytes: p.heapBytes, churn: p.churn, seed: p.seed };
        return { workload: `alloc-${kind}`, variant: '', make: () => allocWorkload(kind, params), options: {} };
      }),
  },
  paths: {
    name: 'paths',
    title: 'PT_RECLAIM fast path, slow path, contention',
    source:
      'mm/pt_reclaim.c: try_get_and_clear_pmd (fast, PMD trylock under the PTE lock) and try_to_free_pte (slow: retake locks, rescan 512 entries)',
    cases: () => [
      { workload: 'paths-reclaim', variant: 'fast', make: () => pathsReclaim(), options: { path: 'fast' } },
      { workload: 'paths-reclaim', variant: 'slow', make: () => pathsReclaim(), options: { path: 'slow' } },
      // Injected contention: the PMD trylock fails half the time and the zap loop is asked to
      // reschedule (options of the contention model; ignored by cores that do not have it).
      {
        workload: 'paths-reclaim',
        variant: 'contended',
        make: () => pathsReclaim(),
        options: { path: 'auto', trylockFail: 0.5, resched: 0.5 },
      },
    ],
  },
  sparse: {
    name: 'sparse',
    title: "the series' production snapshot, scaled",
    source:
      'PT_RECLAIM cover letter: one process with VIRT 55 TiB, RES 590 GiB, VmPTE 110 GiB; built at --scale (default 1/4096), figures extrapolated by 1/scale',
    cases: (p) => [{ workload: 'sparse', variant: '', make: () => sparseWorkload(p.scale, p.seed), options: {} }],
  },
};

export const DEFAULT_SUITES = ['seed'];
/** Suites that another module runs (ptreclaim bench kernels). */
export const DELEGATED_SUITES = ['kernels'];

export function getSuite(name: string): Suite {
  const s = SUITES[name];
  if (!s) {
    throw new UsageError(`unknown suite "${name}": expected one of ${[...Object.keys(SUITES), ...DELEGATED_SUITES].join(', ')}`);
  }
  return s;
}
