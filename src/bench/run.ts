/**
 * `ptreclaim bench` as a library call: plan the matrix, take this shard, run the cells,
 * and return the results record (partial when interrupted or sharded). Finished cells are
 * never lost: `snapshot` gets the record after each cell, and an error in a cell throws a
 * BenchCellError that carries every cell finished before it.
 */
import { checkBenchOptions } from '../api-schema.js';
import { benchContext } from './context.js';
import { planMatrix, runCells, selectShard, type HarnessEvents, type PlannedCell } from './harness.js';
import { BENCH_KIND, BENCH_SCHEMA_VERSION, type BenchOptions, type BenchResults, type CellResult, type PathsComparison } from './types.js';
import { comparePaths, strategiesWithPaths } from './paths.js';
import { PtreclaimError, exitCodeFor } from '../errors.js';

export interface BenchEvents extends HarnessEvents {
  /** After each finished cell but the last: the record so far, marked partial ("unfinished: K of N cells"). */
  snapshot?(results: BenchResults): void;
  /** The paths comparison of one strategy starts (after the cells). */
  pathsStart?(strategy: string, position: number, total: number): void;
}

/** A cell failed; `partial` holds the cells that finished before it (partialReason says which cell stopped the run). */
export class BenchCellError extends PtreclaimError {
  override name = 'BenchCellError';
  constructor(
    readonly cell: string,
    readonly partial: BenchResults,
    override readonly cause: unknown,
  ) {
    super(`bench cell ${cell}: ${String((cause as { message?: unknown } | null | undefined)?.message ?? cause)}`);
  }
  /** A user-facing error in the cell (arena full, ...) is exit 1; a crash stays a bug (70). */
  override get exitCode(): number {
    return exitCodeFor(this.cause);
  }
}

export async function runBench(o: BenchOptions, events: BenchEvents = {}, signal?: AbortSignal): Promise<BenchResults> {
  checkBenchOptions(o);
  const matrix = planMatrix(o);
  const cells = selectShard(matrix, o.shard);
  const context = benchContext(o);
  const record = (done: CellResult[], reason: string | undefined): BenchResults => ({
    kind: BENCH_KIND,
    schemaVersion: BENCH_SCHEMA_VERSION,
    partial: reason !== undefined,
    ...(reason ? { partialReason: reason } : {}),
    context,
    matrixSize: matrix.length,
    cells: [...done],
  });
  const done: CellResult[] = [];
  let current: PlannedCell | undefined;
  let outcome: { results: CellResult[]; interrupted: boolean };
  try {
    outcome = await runCells(
      cells,
      o,
      {
        ...events,
        cellStart: (cell, i, total) => {
          current = cell;
          events.cellStart?.(cell, i, total);
        },
        cellDone: (r, i, total) => {
          done.push(r);
          events.cellDone?.(r, i, total);
          if (i + 1 < total) events.snapshot?.(record(done, `unfinished: ${done.length} of ${total} cells`));
        },
      },
      signal,
    );
  } catch (e) {
    const id = current?.id ?? '(before the first cell)';
    throw new BenchCellError(id, record(done, `stopped by an error in cell ${id}`), e);
  }
  // The paths suite's answer: fast | slow | contended per reclaimed table, timed apart from
  // the harness (src/bench/paths.ts). Once per sweep: in the first shard when sharded.
  let paths: PathsComparison[] | undefined;
  if (!outcome.interrupted && o.suites.includes('paths') && (!o.shard || o.shard.index === 1)) {
    paths = [];
    const strategies = strategiesWithPaths(o.strategies);
    for (let i = 0; i < strategies.length; i++) {
      await new Promise<void>((resolve) => setImmediate(resolve)); // let a pending Ctrl-C land
      if (signal?.aborted) break;
      events.pathsStart?.(strategies[i]!, i, strategies.length);
      paths.push(comparePaths(strategies[i]!, { seed: o.seed }));
    }
  }
  // "interrupted" is a keyword merge looks for; a shard says which slice it is.
  const reason = outcome.interrupted
    ? 'interrupted'
    : o.shard && o.shard.count > 1
      ? `shard ${o.shard.index}/${o.shard.count}: ${cells.length} of ${matrix.length} cells`
      : undefined;
  return { ...record(outcome.results, reason), ...(paths?.length ? { paths } : {}) };
}
