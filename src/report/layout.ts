/**
 * Fitting terminal tables to the terminal. `--format wide` keeps every strategy side by side
 * whatever the width; `long` uses the narrow form; `auto` (the default) is wide when it fits
 * the terminal, or when stdout is not a terminal (a pipe or a file has no width: like `ls`
 * and `git`, write the full form and let the reader's tools wrap), and the narrow form
 * otherwise. Pure over its inputs (width and format are passed in), so tests fix them.
 */
import { terminalTable } from './table.js';

export const TABLE_FORMATS = ['auto', 'wide', 'long'] as const;
export type TableFormat = (typeof TABLE_FORMATS)[number];

export interface Layout {
  format: TableFormat;
  /** Columns available; Infinity when output is not a terminal. */
  width: number;
}

/** The layout for stdout: its width when it is a TTY (80 if unknown), else unbounded. */
export function stdoutLayout(format: TableFormat = 'auto', stream: { isTTY?: boolean; columns?: number } = process.stdout): Layout {
  // eslint-disable-next-line @typescript-eslint/prefer-nullish-coalescing -- a TTY that reports 0 columns gets 80 too
  return { format, width: stream.isTTY ? stream.columns || 80 : Infinity };
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

/** Widest line of rendered text, colour codes not counted. */
export function textWidth(text: string): number {
  let w = 0;
  for (const line of text.split('\n')) w = Math.max(w, line.replace(ANSI, '').length);
  return w;
}

export interface Grid {
  /** Header of the label column. */
  corner: string;
  /** One header per value column (a strategy, usually). */
  head: string[];
  rows: { label: string; cells: string[] }[];
}

function render(g: Grid, cols: number[]): string {
  const t = terminalTable([g.corner, ...cols.map((i) => g.head[i]!)]);
  for (const r of g.rows) t.push([r.label, ...cols.map((i) => r.cells[i]!)]);
  return t.toString();
}

/**
 * The grid whole (wide); one table per value column (long); or (auto, when the whole does
 * not fit) the value columns split into consecutive groups, each repeating the label
 * column, with as many columns per group as fit `width` (at least one).
 */
export function fitGrid(g: Grid, layout: Layout): string[] {
  const all = g.head.map((_, i) => i);
  const whole = render(g, all);
  if (layout.format === 'wide' || (layout.format === 'auto' && textWidth(whole) <= layout.width)) return [whole];
  if (layout.format === 'long') return all.map((i) => render(g, [i]));
  const out: string[] = [];
  let start = 0;
  while (start < all.length) {
    let end = start + 1;
    let best = render(g, all.slice(start, end));
    while (end < all.length) {
      const next = render(g, all.slice(start, end + 1));
      if (textWidth(next) > layout.width) break;
      best = next;
      end++;
    }
    out.push(best);
    start = end;
  }
  return out;
}

/** Greedy word wrap at spaces to at most `width` columns (an unbounded width leaves the text as it is). */
export function wrapWords(text: string, width: number): string {
  if (!Number.isFinite(width)) return text;
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.join('\n');
}
