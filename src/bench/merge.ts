/**
 * Joining results files: shards of one sweep (`--shard K/N`) back into the whole matrix.
 * Files must come from the same build and options (shard aside); a cell may appear once.
 */
import { checkMergeInputs } from '../api-schema.js';
import { UsageError } from '../errors.js';
import { validateResults } from './schema.js';
import type { BenchResults, CellResult } from './types.js';

/** The options that must agree for cells to be comparable (everything but the shard and profile dirs). */
function sweepKey(r: BenchResults): string {
  const { shard: _s, cpuProfDir: _c, heapProfDir: _h, ...rest } = r.context.options;
  return JSON.stringify({ wasm: r.context.wasmSha256, version: r.context.ptreclaimVersion, options: rest });
}

export function mergeResults(inputs: readonly { path: string; results: BenchResults }[]): BenchResults {
  checkMergeInputs(inputs);
  if (inputs.length === 0) throw new UsageError('merge: give at least one results file');
  for (const { path, results } of inputs) validateResults(results, path);
  const base = inputs[0]!;
  const key = sweepKey(base.results);
  const cells = new Map<string, { cell: CellResult; path: string }>();
  const shards = new Set<number>();
  let anyInterrupted = false;
  for (const { path, results } of inputs) {
    if (sweepKey(results) !== key) {
      throw new UsageError(
        `merge: ${path} comes from a different sweep than ${base.path} (WASM build, ptreclaim version or options other than --shard differ); only shards of one sweep can be merged`,
      );
    }
    // A run that stopped early (Ctrl-C or another signal, an error, or a snapshot of a run still going).
    if (/^(interrupted|unfinished|stopped by)/.test(results.partialReason ?? '')) anyInterrupted = true;
    const shard = results.context.options.shard;
    const first = inputs.find((i) => i.results.context.options.shard);
    const firstShard = first?.results.context.options.shard;
    if (shard && first && firstShard && shard.count !== firstShard.count) {
      throw new UsageError(
        `merge: ${path} is shard ${shard.index}/${shard.count} but ${first.path} is shard ${firstShard.index}/${firstShard.count}: shards of one sweep share the count N of --shard K/N; rerun with the same N`,
      );
    }
    if (shard) {
      if (shards.has(shard.index)) throw new UsageError(`merge: shard ${shard.index}/${shard.count} given twice (${path})`);
      shards.add(shard.index);
    }
    for (const cell of results.cells) {
      const prev = cells.get(cell.id);
      if (prev) throw new UsageError(`merge: cell ${cell.id} is in both ${prev.path} and ${path}`);
      cells.set(cell.id, { cell, path });
    }
  }
  const merged = [...cells.values()].map((c) => c.cell).sort((a, b) => a.index - b.index);
  const { shard: _drop, ...options } = base.results.context.options;
  const complete = merged.length === base.results.matrixSize && !anyInterrupted;
  return {
    ...base.results,
    partial: !complete,
    ...(complete ? { partialReason: undefined } : { partialReason: `merged ${merged.length} of ${base.results.matrixSize} cells` }),
    context: { ...base.results.context, options },
    cells: merged,
  };
}
