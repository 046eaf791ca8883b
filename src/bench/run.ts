/**
 * `ptreclaim bench` as a library call: plan the matrix, take this shard, run the cells,
 * and return the results record (partial when interrupted or sharded).
 */
import { benchContext } from './context.js';
import { planMatrix, runCells, selectShard, type HarnessEvents } from './harness.js';
import { BENCH_KIND, BENCH_SCHEMA_VERSION, type BenchOptions, type BenchResults } from './types.js';

export async function runBench(o: BenchOptions, events: HarnessEvents = {}, signal?: AbortSignal): Promise<BenchResults> {
  const matrix = planMatrix(o);
  const cells = selectShard(matrix, o.shard);
  const context = benchContext(o);
  const { results, interrupted } = await runCells(cells, o, events, signal);
  // "interrupted" is a keyword merge looks for; a shard says which slice it is.
  const reason = interrupted
    ? 'interrupted'
    : o.shard && o.shard.count > 1 ? `shard ${o.shard.index}/${o.shard.count}: ${cells.length} of ${matrix.length} cells` : undefined;
  return {
    kind: BENCH_KIND,
    schemaVersion: BENCH_SCHEMA_VERSION,
    partial: reason !== undefined,
    ...(reason ? { partialReason: reason } : {}),
    context,
    matrixSize: matrix.length,
    cells: results,
  };
}
