/**
 * The paths comparison in the terminal: fast | slow | contended per reclaimed table, with
 * slow/fast and contended/fast as ratios with 95% CIs and p-values (src/bench/paths.ts).
 * Wide: one table, a row per strategy and path. Long (or auto when wide does not fit): one
 * table per strategy, the paths as columns, every figure a row.
 */
import pc from 'picocolors';
import type { CellResult, PathsComparison, PathVariantResult } from '../bench/types.js';
import { fmtInt, fmtMs } from './format.js';
import { terminalTable } from './table.js';
import { textWidth, wrapWords, type Layout } from './layout.js';

/** The footnote every output of the comparison carries: how the wall time was isolated. */
export const PATHS_METHOD =
  'wall ns per reclaimed table: median over samples of (64 MADV_DONTNEED calls that each free a table - the same 64 calls on the emptied spans) / 64; ' +
  "the writes that rebuild the tables are outside the timed region, and the empty calls measure the driver's fixed per-call cost (dispatch, VMA lookup, walk, mmu_gather set-up), which is subtracted. " +
  'Paths sampled round-robin; ratios: median / median of fast, 95% percentile-bootstrap CI; p: Mann-Whitney U. Counters: per table over the timed calls; simulated ns: the cost model (src/mm/cost.ts, built-in weights).';

const fmtCount = (x: number) => (Number.isInteger(x) ? fmtInt(x) : x.toFixed(2));
const fmtP = (p: number) => (!Number.isFinite(p) ? '—' : p < 0.001 ? '<0.001' : p.toFixed(3));
const fmtRatio = (r: number) => (Number.isFinite(r) ? `${r.toFixed(2)}x` : '—');
const fmtCi = (ci: { lo: number; hi: number }) => (Number.isFinite(ci.lo) ? `[${ci.lo.toFixed(2)}, ${ci.hi.toFixed(2)}]` : '[—]');
const fmtDiff = (d: number, ci: { lo: number; hi: number }) =>
  `${d >= 0 ? '+' : ''}${d.toFixed(0)} [${ci.lo.toFixed(0)}, ${ci.hi.toFixed(0)}]`;

function ratioOf(c: PathsComparison, v: PathVariantResult) {
  return v.variant === 'fast' ? undefined : c.ratios.find((r) => r.of === v.variant);
}

/** The whole-workload cell of this strategy and path, if the suite's cells are at hand. */
function cellOf(cells: readonly CellResult[], strategy: string, variant: string): CellResult | undefined {
  return cells.find((x) => x.strategy === strategy && x.variant === variant);
}

/** A figure: its row label (long form), its column header (wide form), its value. */
interface Figure {
  label: string;
  head: string;
  value: (c: PathsComparison, v: PathVariantResult) => string;
}

function figures(cells: readonly CellResult[]): Figure[] {
  const out: Figure[] = [
    { label: 'wall ns (net)', head: 'wall ns', value: (_c, v) => fmtInt(v.wallNs) },
    { label: '÷ fast', head: '÷ fast', value: (c, v) => (ratioOf(c, v) ? fmtRatio(ratioOf(c, v)!.ratio) : '1') },
    { label: '  95% CI', head: '95% CI', value: (c, v) => (ratioOf(c, v) ? fmtCi(ratioOf(c, v)!.ci) : '') },
    { label: '  p', head: 'p', value: (c, v) => (ratioOf(c, v) ? fmtP(ratioOf(c, v)!.p) : '') },
    {
      label: '- fast, ns [95% CI]',
      head: '- fast ns [CI]',
      value: (c, v) => (ratioOf(c, v) ? fmtDiff(ratioOf(c, v)!.diffNs, ratioOf(c, v)!.diffCi) : ''),
    },
    { label: 'entries read', head: 'entries', value: (_c, v) => fmtCount(v.perTable.entriesRead) },
    { label: 'locks taken', head: 'locks', value: (_c, v) => fmtCount(v.perTable.locks) },
    { label: 'PMD trylock fails', head: 'trylock fails', value: (_c, v) => fmtCount(v.perTable.pmdTrylockFails) },
    { label: 'TLB flushes', head: 'TLB flushes', value: (_c, v) => fmtCount(v.perTable.tlbFlushes) },
    { label: 'simulated kernel ns', head: 'sim. kernel ns', value: (_c, v) => fmtInt(v.perTable.simulatedNs) },
    { label: 'freed by fast path', head: 'fast-path share', value: (_c, v) => `${(100 * v.perTable.fastShare).toFixed(0)}%` },
    { label: 'fixed cost / call, ns', head: 'fixed ns/call', value: (_c, v) => fmtInt(v.fixedNsPerCall) },
  ];
  if (cells.length) {
    out.push({
      label: 'whole-run cell median',
      head: 'whole run',
      value: (c, v) => {
        const x = cellOf(cells, c.strategy, v.variant);
        return x ? fmtMs(x.latency.median) : '—';
      },
    });
  }
  return out;
}

function wide(paths: readonly PathsComparison[], figs: Figure[]): string {
  const t = terminalTable(['strategy', 'path', ...figs.map((f) => f.head)]);
  for (const c of paths) for (const v of c.variants) t.push([c.strategy, v.variant, ...figs.map((f) => f.value(c, v))]);
  return t.toString();
}

function long(c: PathsComparison, figs: Figure[]): string {
  const t = terminalTable([pc.bold(c.strategy), ...c.variants.map((v) => v.variant)]);
  for (const f of figs) t.push([f.label, ...c.variants.map((v) => f.value(c, v))]);
  return t.toString();
}

export function formatPathsComparison(paths: readonly PathsComparison[], cells: readonly CellResult[], layout: Layout): string {
  const figs = figures(cells);
  const title = pc.bold('paths') + pc.dim('  PT_RECLAIM fast path | slow path | contended, per reclaimed table');
  const w = wide(paths, figs);
  const useWide = layout.format === 'wide' || (layout.format === 'auto' && textWidth(w) <= layout.width);
  const body = useWide ? [w] : paths.map((c) => long(c, figs));
  const n = paths[0]!;
  const note =
    `${n.samples} samples of ${n.reclaimsPerSample} reclaims per path after ${n.warmupRounds} warm-up rounds. ${PATHS_METHOD}` +
    (cells.length ? " whole-run cell median: the suite's cells (set-up, faults, 64 reclaims, exit), for reference." : '');
  return [title, ...body, pc.dim(wrapWords(note, Math.min(layout.width, 100)))].join('\n');
}
