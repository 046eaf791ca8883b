/**
 * The files of `bench --json/--csv/--md`: checked before the run, rewritten after every
 * finished cell, and written once more when the run ends, however it ends. The rules
 * (README "Partial results"):
 * - nothing is written until a cell has finished: a run stopped before that leaves every
 *   output path as it was;
 * - a new file, or an empty one, gets the snapshots itself;
 * - an existing non-empty file is left alone until the run is complete: the snapshots and
 *   the results of a stopped run go to NAME.partial.EXT beside it, and the complete run
 *   replaces NAME.EXT and removes NAME.partial.EXT;
 * - a device, FIFO or this process's standard output (/dev/stdout) is written once, when
 *   the run ends.
 */
import { existsSync, statSync, unlinkSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { checkOutputPaths, outputTarget, writeOutputFile, writesInPlace } from '../io.js';
import { EXPORTERS } from './exporters.js';
import type { BenchResults } from '../bench/types.js';

export type BenchOutputFormat = 'json' | 'csv' | 'md';
export type BenchOutputFiles = Partial<Record<BenchOutputFormat, string>>;

interface Target {
  format: BenchOutputFormat;
  path: string;
  /** Where snapshots and a stopped run's results go (the path itself, or NAME.partial.EXT beside it); none for devices. */
  partialPath?: string;
  wrotePartialBeside: boolean;
}

/** NAME.EXT -> NAME.partial.EXT, beside the link's target when the path is a symlink. */
export function partialPathFor(path: string): string {
  const target = outputTarget(path);
  const ext = extname(target);
  return join(dirname(target), `${basename(target, ext)}.partial${ext}`);
}

export class BenchOutputs {
  private readonly targets: Target[] = [];

  /** Checks every path (see checkOutputPaths) before any work; throws OutputError / UsageError. */
  constructor(
    files: BenchOutputFiles,
    private readonly log: (s: string) => void = () => {},
  ) {
    const formats = (['json', 'csv', 'md'] as const).filter((f) => files[f] !== undefined);
    checkOutputPaths(formats.map((f) => ({ flag: `--${f}`, path: files[f]! })));
    for (const format of formats) {
      const path = files[format]!;
      const st = existsSync(path) ? statSync(path) : undefined;
      const partialPath = writesInPlace(path) ? undefined : st && st.size > 0 ? partialPathFor(path) : path;
      this.targets.push({ format, path, partialPath, wrotePartialBeside: false });
    }
  }

  /** The record after a finished cell (partial): every file that takes snapshots is rewritten. */
  snapshot(results: BenchResults): void {
    for (const t of this.targets) {
      if (!t.partialPath) continue;
      writeOutputFile(t.partialPath, EXPORTERS[t.format].render(results));
      if (t.partialPath !== t.path) t.wrotePartialBeside = true;
    }
  }

  /**
   * The run ended: `finished` when every cell of this run is in `results` (it may still be
   * partial as a shard). Returns one line per file saying what happened to it.
   */
  finish(results: BenchResults, finished: boolean): string[] {
    const lines: string[] = [];
    for (const t of this.targets) {
      if (!finished && results.cells.length === 0) {
        lines.push(`${t.path}: no cell finished; left as it was`);
        continue;
      }
      const path = finished ? t.path : (t.partialPath ?? t.path);
      writeOutputFile(path, EXPORTERS[t.format].render(results));
      if (path !== t.path) {
        lines.push(`wrote ${path} (partial: ${String(results.partialReason)}); ${t.path} holds an earlier run and was kept`);
        continue;
      }
      if (finished && t.wrotePartialBeside && t.partialPath) {
        try {
          unlinkSync(t.partialPath);
        } catch {
          // already gone
        }
      }
      lines.push(`wrote ${path}${results.partial ? ` (partial: ${String(results.partialReason)})` : ''}`);
    }
    return lines;
  }
}
