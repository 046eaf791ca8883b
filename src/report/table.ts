/** Terminal tables shared by `run`, `bench` and `compare` output. */
import { createRequire } from 'node:module';
import type TableClass from 'cli-table3';
import pc from 'picocolors';

/** A compact table: no rule between rows, uncoloured borders (colours follow NO_COLOR via picocolors). */
export function terminalTable(head: string[]): TableClass.Table {
  // Loaded on first use, not at start-up.
  const Table = createRequire(import.meta.url)('cli-table3') as typeof TableClass;
  return new Table({
    head,
    style: { head: [], border: [] },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
}

/** Colour the best cells of a row green, when the row has a best at all (values differ). */
export function highlightBest(cells: string[], scores: number[], best: 'min' | 'max' = 'min'): string[] {
  if (scores.length < 2) return cells;
  const target = best === 'max' ? Math.max(...scores) : Math.min(...scores);
  if (scores.every((s) => s === target)) return cells;
  return cells.map((c, i) => (scores[i] === target ? pc.green(c) : c));
}
