/**
 * What `ptreclaim calibrate` regresses on: the cost model's terms, and per operation of a
 * trace the model's counter deltas for each term. The model steps the trace configured like
 * the live replay (the host's strategy and zero-page behaviour; one CPU: the helper is
 * single-threaded, so its TLB flushes send no IPIs).
 */
import type { StatName } from '../core/types.js';
import { WasmCore } from '../core/wasm.js';
import { Mm } from '../mm/mm.js';
import type { CostModel } from '../mm/cost.js';
import { applyOp } from '../run.js';
import type { Op } from '../trace/ops.js';

/** One weight the fit estimates; `sets` are the cost-model fields it gives that weight to. */
export interface FitTerm {
  name: string;
  sets: (StatName | 'syscallNs')[];
  /** Why the live replay cannot move it, when it cannot. */
  unmeasurable?: string;
}

/**
 * Counters that always move together in one op of this model are one term (table
 * allocations of any level; both lock kinds): they could not be told apart.
 */
export const FIT_TERMS: readonly FitTerm[] = [
  { name: 'syscall', sets: ['syscallNs'] },
  { name: 'FaultAnon', sets: ['FaultAnon'] },
  { name: 'FaultZeroPage', sets: ['FaultZeroPage'] },
  { name: 'FaultWpCopy', sets: ['FaultWpCopy'] },
  { name: 'FaultAccessOnly', sets: ['FaultAccessOnly'] },
  { name: 'EntriesReadZap', sets: ['EntriesReadZap'] },
  { name: 'EntriesCleared', sets: ['EntriesCleared'] },
  { name: 'TlbFlushRanged', sets: ['TlbFlushRanged'] },
  { name: 'TlbFlushFull', sets: ['TlbFlushFull'] },
  { name: 'tableAlloc', sets: ['AllocPte', 'AllocPmd', 'AllocPud'] },
  { name: 'TablesGathered', sets: ['TablesGathered'] },
  { name: 'RcuCallbacks', sets: ['RcuCallbacks'] },
  { name: 'locks', sets: ['PtlLocks', 'PmdLocks'] },
  { name: 'FaultSwapIn', sets: ['FaultSwapIn'], unmeasurable: 'the replay has no swap' },
  { name: 'FaultOther', sets: ['FaultOther'], unmeasurable: 'the replay has no file or device mappings' },
  {
    name: 'EntriesReadScan',
    sets: ['EntriesReadScan'],
    unmeasurable: 'the slow path needs a contended PMD lock; the replay is single-threaded',
  },
  { name: 'Ipis', sets: ['Ipis'], unmeasurable: 'a single-threaded replay sends no TLB-shootdown IPIs' },
  { name: 'EntriesReadAsyncScan', sets: ['EntriesReadAsyncScan'], unmeasurable: 'async-scan is not in this kernel' },
  { name: 'RefcountAtomics', sets: ['RefcountAtomics'], unmeasurable: 'refcount is not in this kernel' },
];

export interface ModelConfig {
  strategy: string;
  zeroPage: boolean;
}

/** The cost model's prediction for a feature row (ns). */
export function predictRow(x: readonly number[], model: CostModel): number {
  let t = 0;
  FIT_TERMS.forEach((term, i) => {
    const s = term.sets[0]!;
    t += x[i]! * (s === 'syscallNs' ? model.syscallNs : (model.perEvent[s] ?? 0));
  });
  return t;
}

/** Feature rows of a trace: per op, the term deltas the model counts (syscall = 0 or 1). */
export function traceFeatures(ops: readonly Op[], cfg: ModelConfig): number[][] {
  const mm = new Mm(new WasmCore('release'), { strategy: cfg.strategy, zeroPage: cfg.zeroPage, cpus: 1 });
  const rows: number[][] = [];
  let before = mm.stats();
  for (const op of ops) {
    applyOp(mm, op);
    const after = mm.stats();
    rows.push(
      FIT_TERMS.map((term) => {
        if (term.sets[0] === 'syscallNs') return op.kind === 'touch' ? 0 : 1;
        let d = 0;
        for (const s of term.sets) d += after[s as StatName] - before[s as StatName];
        return d;
      }),
    );
    before = after;
  }
  mm.exit();
  return rows;
}

/** A cost model from fitted term weights; terms not measured keep `base`'s weights. */
export function costModelFromTerms(weights: readonly number[], measured: readonly boolean[], base: CostModel): CostModel {
  const perEvent: CostModel['perEvent'] = { ...base.perEvent };
  let syscallNs = base.syscallNs;
  FIT_TERMS.forEach((term, i) => {
    if (!measured[i]) return;
    for (const s of term.sets) {
      if (s === 'syscallNs') syscallNs = weights[i]!;
      else perEvent[s] = weights[i]!;
    }
  });
  return { syscallNs, perEvent };
}
