/**
 * Reclaim strategies: how (and whether) the kernel frees empty PTE tables. Each names the
 * upstream source its semantics follow; the README has one paragraph per strategy.
 */
import { ZAP_RECLAIM_PT, STRATEGY_IDS, type StrategyId } from './core/types.js';
import { UsageError } from './errors.js';

export interface Strategy {
  readonly name: string;
  readonly title: string;
  /** The upstream code or thread the model follows. */
  readonly upstream: string;
  /** zap_details bits MADV_DONTNEED passes for this strategy. */
  readonly dontneedZapFlags: number;
  /** How the core tells the designs apart (assembly/strategy.ts). */
  readonly coreId: StrategyId;
  /** Driven by simulated time (a scheduler-tick hook). */
  readonly usesScanner?: boolean;
}

export const STRATEGIES = {
  none: {
    name: 'none',
    title: 'no page-table reclaim',
    upstream: 'Linux before 6.14, or CONFIG_PT_RECLAIM=n: MADV_DONTNEED frees pages, never their tables',
    dontneedZapFlags: 0,
    coreId: STRATEGY_IDS.none,
  },
  'pt-reclaim': {
    name: 'pt-reclaim',
    title: 'synchronous reclaim in MADV_DONTNEED (mainline 6.14+)',
    upstream: 'mm/pt_reclaim.c and zap_pte_range() in mm/memory.c, with the Feb 2025 direct_reclaim fix',
    dontneedZapFlags: ZAP_RECLAIM_PT,
    coreId: STRATEGY_IDS['pt-reclaim'],
  },
  'pt-reclaim-v1': {
    name: 'pt-reclaim-v1',
    title: 'the PT_RECLAIM series as posted (v1), bugs included',
    upstream: '[PATCH v1 0/7] synchronously scan and reclaim empty user PTE pages (Oct 2024) and its review thread',
    dontneedZapFlags: ZAP_RECLAIM_PT,
    coreId: STRATEGY_IDS['pt-reclaim-v1'],
  },
  'async-scan': {
    name: 'async-scan',
    title: 'asynchronous scanner from the scheduler tick',
    upstream: 'RFC, June 2024: scan and reclaim empty PTE pages from task_work, 256 MiB per pass, every 100 ms',
    dontneedZapFlags: 0,
    coreId: STRATEGY_IDS['async-scan'],
    usesScanner: true,
  },
  refcount: {
    name: 'refcount',
    title: 'per-table reference counts, freed at zero',
    upstream: 'RFC 2021-22 "free user PTE page table pages" (pte_try_get/pte_put)',
    dontneedZapFlags: 0,
    coreId: STRATEGY_IDS.refcount,
  },
} as const satisfies Record<string, Strategy>;

export type StrategyName = keyof typeof STRATEGIES;
export const STRATEGY_NAMES = Object.keys(STRATEGIES) as StrategyName[];

export function getStrategy(name: string): Strategy {
  const s = (STRATEGIES as Record<string, Strategy>)[name];
  if (!s) throw new UsageError(`unknown strategy "${name}": expected one of ${STRATEGY_NAMES.join(', ')}`);
  return s;
}

/** Expand "all" and comma lists into strategy names, validated. */
export function parseStrategyList(spec: string): StrategyName[] {
  if (spec === 'all') return [...STRATEGY_NAMES];
  const names = spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0) throw new UsageError('empty strategy list: expected a name, a comma list, or "all"');
  return names.map((n) => getStrategy(n).name as StrategyName);
}
