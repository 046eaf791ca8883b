/**
 * `ptreclaim report RESULTS.json -o report.html` and `ptreclaim report --compare BASE NEW`:
 * one self-contained page. ECharts (read from node_modules only when a page is rendered,
 * bundled into it, SVG renderer) draws; no network is needed to open it.
 *
 * Sections: fast vs slow path (per-table cost with 95% CI whiskers, the slow path's
 * premium), timing distributions (box plots of the raw samples), VmPTE over each workload,
 * throughput, page-table memory; in compare mode a benchstat-style table and the changes.
 * Charts hold cells of comparable scale (groupByScale: at most a factor of 30 apart), so no
 * bar is invisible next to one 10^4 times larger; a chart with nothing to show is left out
 * with one line saying why. Category labels sit on the vertical axis, one row each, and
 * titles are HTML headings, so labels cannot collide at any width (the Chromium test
 * measures them at 1280 and 390 px).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Exporter } from './exporter.js';
import { groupByWorkload } from './exporter.js';
import type { BenchResults, CellResult } from '../bench/types.js';
import type { Comparison } from '../bench/compare.js';
import { median } from '../bench/stats.js';
import type { CostChoice } from '../mm/cost-profile.js';
import { bootstrapCI, fiveNumber, groupByScale, pathCosts, pathCostsFromComparison, simulatedMs } from './analysis.js';
import { fmtInt, fmtMs } from './format.js';

/** Colours per strategy, in order; the HTML test looks for them in the rendered SVG. */
export const PALETTE = ['#5470c6', '#91cc75', '#fac858', '#ee6666', '#73c0de', '#3ba272', '#fc8452', '#9a60b4'];
const RED = '#d9534f';
const GREEN = '#3ba272';
const GREY = '#9e9e9e';

let echartsSource: string | undefined;
function echartsJs(): string {
  if (!echartsSource) {
    const require = createRequire(import.meta.url);
    echartsSource = readFileSync(require.resolve('echarts/dist/echarts.min.js'), 'utf8');
  }
  return echartsSource;
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const slug = (s: string) => s.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '');

export interface LineChart {
  kind: 'line';
  id: string;
  title: string;
  caption: string;
  height: number;
  series: { name: string; color: string; points: [number, number][] }[];
}
export interface BarChart {
  kind: 'hbar';
  id: string;
  title: string;
  caption: string;
  height: number;
  unit: string;
  categories: string[];
  /** Each category has a value in one series only: bars share one slot, centred on the label. */
  stacked?: boolean;
  /** Value-axis extent; whiskers reaching past it are cut at the edge. */
  range?: [number, number];
  series: {
    name: string;
    color: string;
    values: (number | null)[];
    colors?: string[];
    low?: (number | null)[];
    high?: (number | null)[];
  }[];
}
export interface BoxChart {
  kind: 'box';
  id: string;
  title: string;
  caption: string;
  height: number;
  unit: string;
  categories: string[];
  series: { name: string; color: string; boxes: ([number, number, number, number, number] | null)[]; samples: [number, number][] }[];
}
export type Chart = LineChart | BarChart | BoxChart;

export interface Section {
  id: string;
  title: string;
  intro: string;
  /** Pre-rendered HTML (tables), placed after the intro. */
  html?: string;
  charts: Chart[];
  /** Charts left out, one line each saying why. */
  omitted: string[];
}

export interface ReportSpec {
  title: string;
  context: string;
  costModel: string;
  sections: Section[];
}

export interface ReportOptions {
  /** Recompute simulated kernel time from the counters with this cost model (`--cost-profile`). */
  cost?: CostChoice;
}

const ROW_PX = 34;
const heightFor = (rows: number, series = 1) => 70 + rows * Math.max(ROW_PX, 14 * series + 12);
const cellLabel = (c: CellResult) => `${c.workload}${c.variant ? ` ${c.variant}` : ''} · ${c.strategy}`;

/** Strategies present in `some`, in their order among `all` (legends keep one order). */
const strategiesIn = (all: readonly CellResult[], some: readonly CellResult[]) =>
  [...new Set(all.map((c) => c.strategy))].filter((s) => some.some((c) => c.strategy === s));

function strategyColors(cells: readonly CellResult[]): (s: string) => string {
  const strategies = [...new Set(cells.map((c) => c.strategy))];
  return (s) => PALETTE[strategies.indexOf(s) % PALETTE.length]!;
}

function costLabel(results: BenchResults, opts: ReportOptions): string {
  if (opts.cost?.profilePath) return `${opts.cost.label}, recomputed from each cell's counters`;
  return results.context.options.costModel ?? 'built-in default';
}

const fmtNs = (ns: number) =>
  Number.isFinite(ns)
    ? Math.abs(ns) >= 1e6
      ? `${(ns / 1e6).toPrecision(3)} ms`
      : Math.abs(ns) >= 1e3
        ? `${(ns / 1e3).toPrecision(3)} µs`
        : `${ns.toPrecision(3)} ns`
    : '—';

function pathsSection(results: BenchResults, opts: ReportOptions): Section {
  // The paths suite's own per-reclaim samples when the results have them; else whole runs.
  const measured = Boolean(results.paths?.length);
  const { costs, premiums, noTables } = measured
    ? pathCostsFromComparison(results.paths!)
    : pathCosts(results.cells, opts.cost?.profilePath ? opts.cost.model : undefined);
  const what = measured
    ? "wall time of one table's reclaim (MADV_DONTNEED of a just-written 2 MiB span) with the fixed cost of a call that finds no table subtracted, as `bench paths` measures it"
    : "wall time of a whole run of the workload divided by the tables it reclaimed (the writes that refill each table are inside; the fixed costs are the same for every path, so differences are the paths' own)";
  const section: Section = {
    id: 'paths',
    title: 'Fast vs slow path',
    intro: `Per reclaimed PTE table: ${what}, with the median's 95% confidence interval; the premium of each path over the fast one with a bootstrap 95% interval and a Mann-Whitney p-value; and the premium the cost model charges in simulated kernel time.`,
    charts: [],
    omitted: [],
  };
  if (costs.length === 0) {
    section.omitted.push(
      results.cells.some((c) => c.suite === 'paths')
        ? 'no paths cell reclaimed a table (strategy none frees none): run `ptreclaim bench paths --strategy pt-reclaim`'
        : 'these results have no `paths` suite: run `ptreclaim bench paths` to compare the reclaim paths',
    );
    return section;
  }
  const color = strategyColors(results.cells);
  const strategies = [...new Set(costs.map((c) => c.strategy))];
  const variants = [...new Set(costs.map((c) => c.variant))];
  const pick = (s: string, v: string) => costs.find((c) => c.strategy === s && c.variant === v);
  section.charts.push({
    kind: 'hbar',
    id: 'paths-wall',
    title: 'Wall time per reclaimed table (median, 95% CI)',
    unit: 'ns',
    caption: 'each bar: one strategy on one path; whiskers: 95% confidence interval of the median',
    categories: variants,
    height: heightFor(variants.length, strategies.length),
    series: strategies.map((s) => ({
      name: s,
      color: color(s),
      values: variants.map((v) => pick(s, v)?.median ?? null),
      low: variants.map((v) => pick(s, v)?.ci.lo ?? null),
      high: variants.map((v) => pick(s, v)?.ci.hi ?? null),
    })),
  });
  if (measured) {
    const cats = costs.map((c) => `${c.variant} · ${c.strategy}`);
    section.charts.push({
      kind: 'box',
      id: 'paths-dist',
      title: 'Wall time per reclaimed table, every sample',
      unit: 'ns',
      caption: 'box: quartiles and median, whiskers to the extremes; dots are the samples',
      categories: cats,
      height: heightFor(cats.length),
      series: strategies.map((s) => ({
        name: s,
        color: color(s),
        boxes: costs.map((c) => (c.strategy === s ? fiveNumber(c.perTableNs) : null)),
        samples: costs.flatMap((c, i) => (c.strategy === s ? c.perTableNs.map((v) => [v, i] as [number, number]) : [])),
      })),
    });
  }
  if (premiums.length) {
    const cats = premiums.map((p) => `${p.variant} − fast · ${p.strategy}`);
    section.charts.push({
      kind: 'hbar',
      id: 'paths-premium',
      title: 'Premium over the fast path, per table (bootstrap 95% CI)',
      unit: 'ns',
      caption: 'median(path) − median(fast); red: significant (p < 0.05), grey: not',
      categories: cats,
      height: heightFor(cats.length),
      series: [
        {
          name: 'premium',
          color: RED,
          values: premiums.map((p) => p.premiumNs),
          colors: premiums.map((p) => (p.p < 0.05 ? RED : GREY)),
          low: premiums.map((p) => p.premiumCI[0]),
          high: premiums.map((p) => p.premiumCI[1]),
        },
      ],
    });
  }
  // Simulated time per table is dominated by the faults that refill it, the same on every
  // path: the chart shows what the model charges the path itself, the premium over fast.
  const simulated = premiums.filter((p) => p.simulatedPremiumNs !== undefined);
  if (simulated.length) {
    const cats = simulated.map((p) => `${p.variant} − fast · ${p.strategy}`);
    section.charts.push({
      kind: 'hbar',
      id: 'paths-simulated',
      title: 'Simulated kernel time: premium over the fast path, per table',
      unit: 'ns',
      caption: `cost model: ${measured ? `${results.context.options.costModel ?? 'built-in default'}, as bench paths recorded it` : costLabel(results, opts)}`,
      categories: cats,
      height: heightFor(cats.length),
      stacked: true,
      series: strategies
        .filter((s) => simulated.some((p) => p.strategy === s))
        .map((s) => ({
          name: s,
          color: color(s),
          values: simulated.map((p) => (p.strategy === s ? p.simulatedPremiumNs! : null)),
        })),
    });
  }
  const rows = costs.map((c) => {
    const p = premiums.find((x) => x.strategy === c.strategy && x.variant === c.variant);
    return (
      `<tr><td>${esc(c.strategy)}</td><td>${esc(c.variant)}</td><td>${fmtNs(c.median)} [${fmtNs(c.ci.lo)}, ${fmtNs(c.ci.hi)}]</td>` +
      `<td>${p ? `${fmtNs(p.premiumNs)} [${fmtNs(p.premiumCI[0])}, ${fmtNs(p.premiumCI[1])}]` : '—'}</td>` +
      `<td>${p ? `${p.ratio.toFixed(3)} [${p.ratioCI[0].toFixed(3)}, ${p.ratioCI[1].toFixed(3)}]` : '—'}</td><td>${p ? p.p.toFixed(3) : '—'}</td>` +
      `<td>${c.simulatedNsPerTable !== undefined ? fmtNs(c.simulatedNsPerTable) : '—'}</td><td>${c.entriesPerTable.toFixed(0)}</td><td>${c.locksPerTable.toFixed(1)}</td></tr>`
    );
  });
  section.html = `<div class="scroll"><table><thead><tr><th>strategy</th><th>path</th><th>wall / table [95% CI]</th><th>premium vs fast [95% CI]</th><th>ratio vs fast [95% CI]</th><th>p</th><th>simulated / table</th><th>entries read / table</th><th>locks / table</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
  if (noTables.length) section.omitted.push(`${noTables.join(', ')}: no tables reclaimed, so no per-table cost`);
  return section;
}

function distributionSection(cells: readonly CellResult[]): Section {
  const section: Section = {
    id: 'distributions',
    title: 'Timing distributions',
    intro:
      'Every raw sample of every cell (one sample = one whole run of the workload), with its box (quartiles, median; whiskers to the extremes). Cells are grouped so that no chart holds medians more than 30x apart.',
    charts: [],
    omitted: [],
  };
  const color = strategyColors(cells);
  const groups = groupByScale(cells, (c) => median(c.samples));
  groups.forEach((g, gi) => {
    const cats = g.map(cellLabel);
    const lo = Math.min(...g.map((c) => median(c.samples)));
    const hi = Math.max(...g.map((c) => median(c.samples)));
    section.charts.push({
      kind: 'box',
      id: `dist-${gi + 1}`,
      title: `Run time per sample: medians ${fmtMs(lo)} – ${fmtMs(hi)}${groups.length > 1 ? ` (part ${gi + 1})` : ''}`,
      unit: 'ms',
      caption: `${g.length} cells; dots are the raw samples`,
      categories: cats,
      height: heightFor(cats.length),
      series: strategiesIn(cells, g).map((s) => ({
        name: s,
        color: color(s),
        boxes: g.map((c) => (c.strategy === s ? fiveNumber(c.samples) : null)),
        samples: g.flatMap((c, i) => (c.strategy === s ? c.samples.map((v) => [v, i] as [number, number]) : [])),
      })),
    });
  });
  return section;
}

function timelineSection(results: BenchResults): Section {
  const section: Section = {
    id: 'timelines',
    title: 'VmPTE over each workload',
    intro: 'VmPTE (kB) against operations applied, sampled outside the timed runs.',
    charts: [],
    omitted: [],
  };
  const color = strategyColors(results.cells);
  for (const g of groupByWorkload(results.cells)) {
    const values = g.cells.flatMap((c) => c.timeline.map((p) => p.vmPteKb));
    const points = Math.min(...g.cells.map((c) => c.timeline.length));
    if (values.length === 0 || points < 2) {
      section.omitted.push(`${g.key}: fewer than two timeline samples, nothing to draw`);
      continue;
    }
    if (values.every((v) => v === values[0])) {
      const ops = g.cells[0]!.ops;
      const every = Math.max(1, Math.round(ops / Math.max(1, points - 1)));
      section.omitted.push(
        `${g.key}: VmPTE is ${fmtInt(values[0]!)} kB at every sample for every strategy (sampled every ~${fmtInt(every)} of ${fmtInt(ops)} operations): tables live shorter than a sampling interval, a flat line`,
      );
      continue;
    }
    section.charts.push({
      kind: 'line',
      id: `timeline-${slug(g.key)}`,
      title: g.key,
      caption: g.cells[0]!.description,
      height: 320,
      series: g.cells.map((c) => ({
        name: c.strategy,
        color: color(c.strategy),
        points: c.timeline.map((p) => [p.op, p.vmPteKb] as [number, number]),
      })),
    });
  }
  return section;
}

/** Bars per cell (one series per strategy), grouped by scale; all-zero groups become notes. */
function barsByScale(
  cells: readonly CellResult[],
  id: string,
  title: string,
  unit: string,
  value: (c: CellResult) => number | undefined,
  what: string,
): { charts: Chart[]; omitted: string[] } {
  const color = strategyColors(cells);
  const charts: Chart[] = [];
  const omitted: string[] = [];
  const groups = groupByScale(cells, value);
  let part = 0;
  const parts = groups.filter((g) => g.some((c) => (value(c) ?? 0) > 0)).length;
  for (const g of groups) {
    if (!g.some((c) => (value(c) ?? 0) > 0)) {
      omitted.push(`${title}: ${g.map(cellLabel).join(', ')}: ${what} is 0 or missing`);
      continue;
    }
    part++;
    const cats = g.map(cellLabel);
    const strategies = strategiesIn(cells, g);
    charts.push({
      kind: 'hbar',
      id: `${id}-${part}`,
      title: `${title}${parts > 1 ? ` (part ${part})` : ''}`,
      unit,
      caption: `${g.length} cells of comparable scale`,
      categories: cats,
      height: heightFor(cats.length),
      stacked: true,
      series: strategies.map((s) => ({ name: s, color: color(s), values: g.map((c) => (c.strategy === s ? (value(c) ?? null) : null)) })),
    });
  }
  return { charts, omitted };
}

function throughputSection(results: BenchResults, opts: ReportOptions): Section {
  const ops = barsByScale(
    results.cells,
    'throughput',
    'Simulated operations per second',
    'ops/s',
    (c) => c.throughput.opsPerSec,
    'throughput',
  );
  const model = opts.cost?.profilePath ? opts.cost.model : undefined;
  const sim = barsByScale(
    results.cells,
    'simulated',
    'Simulated kernel time per run',
    'ms',
    (c) => simulatedMs(c, model),
    'simulated time',
  );
  return {
    id: 'throughput',
    title: 'Throughput and simulated kernel time',
    intro: `Operations of the workload per second of wall time (at the median run), and the kernel time the cost model charges a run (cost model: ${esc(costLabel(results, opts))}).`,
    charts: [...ops.charts, ...sim.charts],
    omitted: [...ops.omitted, ...sim.omitted],
  };
}

function memorySection(results: BenchResults): Section {
  const peak = barsByScale(results.cells, 'memory', 'VmPTE peak', 'kB', (c) => c.memory.vmPtePeakKb, 'VmPTE peak');
  const pending = barsByScale(
    results.cells,
    'pending',
    'RCU-pending page tables, peak',
    'kB',
    (c) => c.memory.rcuPendingPeakKb,
    'RCU-pending peak',
  );
  return {
    id: 'memory',
    title: 'Page-table memory',
    intro: 'Peak VmPTE, and the peak of tables freed but waiting for the TLB flush and the RCU grace period.',
    charts: [...peak.charts, ...pending.charts],
    omitted: [...peak.omitted, ...pending.omitted],
  };
}

function contextLine(r: BenchResults): string {
  const ctx = r.context;
  return (
    `ptreclaim ${ctx.ptreclaimVersion} (${ctx.gitCommit ?? 'no git'}), Node ${ctx.node}, ${ctx.cpuModel} x ${ctx.cores}, WASM ${ctx.wasmSha256.slice(0, 12)}, ${ctx.date}` +
    (r.partial ? `. Partial: ${r.partialReason ?? ''}` : '')
  );
}

/** The report's content, data only; the page's script turns the charts into ECharts options. */
export function chartSpecs(results: BenchResults, opts: ReportOptions = {}): ReportSpec {
  return {
    title: `ptreclaim bench: ${results.context.options.suites.join(', ')}`,
    context: contextLine(results),
    costModel: costLabel(results, opts),
    sections: [
      pathsSection(results, opts),
      distributionSection(results.cells),
      timelineSection(results),
      throughputSection(results, opts),
      memorySection(results),
    ],
  };
}

/** The compare page: the benchstat table, the changes with bootstrap CIs, both distributions. */
export function compareSpecs(base: BenchResults, next: BenchResults, cmp: Comparison, alpha: number): ReportSpec {
  const baseById = new Map(base.cells.map((c) => [c.id, c]));
  const nextById = new Map(next.cells.map((c) => [c.id, c]));
  const pct = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(2)}%`;
  const ci = (x: { median: number; ci: { lo: number; hi: number; confidence: number } }) =>
    x.ci.confidence < 0.95
      ? `${fmtMs(x.median)} ±∞`
      : `${fmtMs(x.median)} ±${((100 * Math.max(x.median - x.ci.lo, x.ci.hi - x.median)) / x.median).toFixed(0)}%`;
  const rows = cmp.rows.map((r) => {
    const cls = !r.significant ? 'same' : r.regression ? 'worse' : r.delta < 0 ? 'better' : 'slower';
    return `<tr class="${cls}"><td>${esc(r.id)}</td><td>${ci(r.base)}</td><td>${ci(r.next)}</td><td>${r.significant ? pct(r.delta) : '~'}</td><td>p=${r.p.toFixed(3)} n=${r.base.n}+${r.next.n}</td></tr>`;
  });
  const g = cmp.geomeanRatio;
  const diffs = cmp.counterDiffs
    .slice(0, 50)
    .map((d) => `<li>${esc(d.id)} ${esc(d.counter)}: ${fmtInt(d.base)} → ${fmtInt(d.next)}</li>`)
    .join('');
  const table =
    `<div class="scroll"><table><thead><tr><th>cell</th><th>base (median ±95% CI)</th><th>new</th><th>delta</th><th></th></tr></thead><tbody>${rows.join('')}` +
    `<tr><td><b>geomean</b></td><td></td><td></td><td>${pct(g - 1)}</td><td></td></tr></tbody></table></div>` +
    `<p class="note">~: no significant difference (Mann-Whitney U, p ≥ ${alpha}).</p>` +
    (cmp.counterDiffs.length
      ? `<p>${cmp.counterDiffs.length} deterministic counter(s) differ:</p><ul>${diffs}</ul>`
      : '<p>memory and work counters: identical</p>') +
    (cmp.onlyInBase.length ? `<p class="note">only in base: ${esc(cmp.onlyInBase.join(', '))}</p>` : '') +
    (cmp.onlyInNew.length ? `<p class="note">only in new: ${esc(cmp.onlyInNew.join(', '))}</p>` : '');

  const changes = cmp.rows.map((r, i) => {
    const b = baseById.get(r.id)!.samples;
    const n = nextById.get(r.id)!.samples;
    return { r, ci: bootstrapCI(b, n, (x, y) => median(y) / median(x) - 1, 1000, i + 1) };
  });
  // Intervals of few noisy samples can span thousands of percent: the axis follows the changes.
  const edge = Math.ceil(Math.max(10, ...changes.map((c) => 2 * Math.abs(100 * c.r.delta))) / 10) * 10;
  const delta: Chart = {
    kind: 'hbar',
    id: 'compare-delta',
    title: 'Change of the median run time (bootstrap 95% CI)',
    unit: '%',
    range: [-Math.min(100, edge), edge],
    caption: `red: significantly slower, green: significantly faster, grey: no significant change (p ≥ ${alpha}); whiskers past the axis are cut at its edge`,
    categories: changes.map((c) => c.r.id),
    height: heightFor(changes.length),
    series: [
      {
        name: 'change',
        color: GREY,
        values: changes.map((c) => 100 * c.r.delta),
        colors: changes.map((c) => (!c.r.significant ? GREY : c.r.delta > 0 ? RED : GREEN)),
        low: changes.map((c) => 100 * c.ci[0]),
        high: changes.map((c) => 100 * c.ci[1]),
      },
    ],
  };
  const pairs = cmp.rows.map((r) => ({ r, b: baseById.get(r.id)!, n: nextById.get(r.id)! }));
  // Two rows per cell (base, then new), so each row has one box with its own dots.
  const boxes: Chart[] = groupByScale(pairs, (p) => Math.max(median(p.b.samples), median(p.n.samples))).map((grp, gi, all) => ({
    kind: 'box',
    id: `compare-dist-${gi + 1}`,
    title: `Run time per sample, base vs new${all.length > 1 ? ` (part ${gi + 1})` : ''}`,
    unit: 'ms',
    caption: 'dots are the raw samples',
    categories: grp.flatMap((p) => [`${p.r.id} base`, `${p.r.id} new`]),
    height: heightFor(2 * grp.length),
    series: [
      {
        name: 'base',
        color: PALETTE[0]!,
        boxes: grp.flatMap((p) => [fiveNumber(p.b.samples), null]),
        samples: grp.flatMap((p, i) => p.b.samples.map((v) => [v, 2 * i] as [number, number])),
      },
      {
        name: 'new',
        color: PALETTE[3]!,
        boxes: grp.flatMap((p) => [null, fiveNumber(p.n.samples)]),
        samples: grp.flatMap((p, i) => p.n.samples.map((v) => [v, 2 * i + 1] as [number, number])),
      },
    ],
  }));
  return {
    title: 'ptreclaim compare',
    context: `base: ${contextLine(base)}. New: ${contextLine(next)}`,
    costModel: `base ${base.context.options.costModel ?? 'built-in default'}; new ${next.context.options.costModel ?? 'built-in default'}`,
    sections: [
      {
        id: 'compare',
        title: 'Comparison (benchstat)',
        intro: 'Per cell: median run time ± its 95% confidence interval on both sides, the change, and a two-sided Mann-Whitney U p-value.',
        html: table,
        charts: [delta],
        omitted: [],
      },
      {
        id: 'compare-distributions',
        title: 'Distributions, base vs new',
        intro: 'Raw samples of both files, cells of comparable scale together.',
        charts: boxes,
        omitted: [],
      },
    ],
  };
}

const PAGE_SCRIPT = String.raw`
const spec = JSON.parse(document.getElementById('data').textContent);
const charts = [];
const compact = (v) => {
  const a = Math.abs(v);
  const num = (x) => String(+x.toPrecision(3));
  if (a >= 1e9) return num(v / 1e9) + 'G';
  if (a >= 1e6) return num(v / 1e6) + 'M';
  if (a >= 1e3) return num(v / 1e3) + 'k';
  return num(v);
};
const narrow = () => window.innerWidth < 640;
function base(c) {
  const labelWidth = narrow() ? 130 : 300;
  return {
    animation: false,
    legend: { type: 'scroll', top: 0, left: 0, right: 0, textStyle: { fontSize: 11 } },
    tooltip: { trigger: c.kind === 'line' ? 'axis' : 'item', confine: true },
    grid: { top: 34, left: 8, right: 18, bottom: 8, containLabel: true },
    xAxis: { type: 'value', axisLabel: { hideOverlap: true, fontSize: 10, formatter: compact }, splitNumber: narrow() ? 3 : 6 },
    yAxis: c.kind === 'line'
      ? { type: 'value', axisLabel: { hideOverlap: true, fontSize: 10, formatter: compact } }
      : { type: 'category', inverse: true, data: c.categories, axisTick: { alignWithLabel: true },
          axisLabel: { interval: 0, fontSize: 10, lineHeight: 12, width: labelWidth, overflow: 'break' } },
  };
}
function whiskers(s, n, offset) {
  return {
    type: 'custom', name: s.name, color: s.color, silent: true, z: 5, clip: true, encode: { x: [0, 1], y: 2 },
    data: s.values.map((v, i) => (v === null || s.low == null || s.low[i] == null ? null : [s.low[i], s.high[i], i])).filter((d) => d),
    renderItem: (params, api) => {
      const lo = api.coord([api.value(0), api.value(2)]);
      const hi = api.coord([api.value(1), api.value(2)]);
      const band = api.size([0, 1])[1];
      const y = lo[1] + offset * band;
      const h = Math.max(3, band * 0.12);
      const style = { stroke: '#333', lineWidth: 1.2 };
      return { type: 'group', children: [
        { type: 'line', shape: { x1: lo[0], y1: y, x2: hi[0], y2: y }, style },
        { type: 'line', shape: { x1: lo[0], y1: y - h, x2: lo[0], y2: y + h }, style },
        { type: 'line', shape: { x1: hi[0], y1: y - h, x2: hi[0], y2: y + h }, style },
      ] };
    },
  };
}
function option(c) {
  const o = base(c);
  if (c.kind === 'line') {
    o.xAxis.name = ''; o.series = c.series.map((s) => ({ name: s.name, type: 'line', showSymbol: false, color: s.color, data: s.points }));
  } else if (c.kind === 'hbar') {
    const n = c.series.length;
    o.series = [];
    c.series.forEach((s, k) => {
      o.series.push({ name: s.name, type: 'bar', color: s.color, barGap: c.stacked ? '-100%' : '10%', barMaxWidth: 22,
        data: s.values.map((v, i) => (v === null ? null : s.colors ? { value: v, itemStyle: { color: s.colors[i] } } : v)) });
      // bar k of n sits at offset (k - (n-1)/2) * (bar + gap) from the band centre
      const w = 0.8 / (n + 0.1 * (n - 1));
      o.series.push(whiskers(s, n, c.stacked ? 0 : (k - (n - 1) / 2) * w * 1.1));
    });
    if (c.series.every((s) => !s.low)) o.series = o.series.filter((s) => s.type === 'bar');
    if (c.range) { o.xAxis.min = c.range[0]; o.xAxis.max = c.range[1]; }
    o.legend.data = c.series.map((s) => s.name);
  } else if (c.kind === 'box') {
    o.xAxis.scale = true;
    o.series = [];
    // One box per row (rows never share a box), coloured as the legend entry that owns it.
    o.series.push({ name: 'box', type: 'boxplot', boxWidth: [6, 16], itemStyle: { color: 'rgba(0,0,0,0)', borderWidth: 1.5 },
      data: c.categories.map((_, i) => {
        const s = c.series.find((x) => x.boxes[i]);
        return s ? { value: s.boxes[i], itemStyle: { borderColor: s.color } } : '-';
      }) });
    c.series.forEach((s) => {
      o.series.push({ name: s.name, type: 'scatter', color: s.color, symbolSize: 4, itemStyle: { opacity: 0.6 }, data: s.samples });
    });
    o.legend.data = c.series.map((s) => s.name);
  }
  return o;
}
// Narrow screens break long category labels over up to three lines: give each row room for them.
function fit(c, el) {
  if (c.kind === 'line') return;
  const perRow = narrow() ? Math.max(46, 14 * (c.kind === 'box' || c.stacked ? 1 : c.series.length) + 12) : 0;
  el.style.height = perRow ? (70 + c.categories.length * perRow) + 'px' : c.height + 'px';
}
function make(c) {
  const el = document.getElementById(c.id);
  fit(c, el);
  const chart = echarts.init(el, null, { renderer: 'svg' });
  chart.on('finished', () => { el.dataset.rendered = '1'; });
  chart.setOption(option(c));
  charts.push({ chart, c });
}
for (const s of spec.sections) for (const c of s.charts) make(c);
document.body.dataset.charts = String(charts.length);
let resizeTimer;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => charts.forEach(({ chart, c }) => { fit(c, chart.getDom()); chart.setOption(option(c), true); chart.resize(); }), 50);
});
`;

export function renderSpec(spec: ReportSpec): string {
  const data = JSON.stringify(spec).replace(/</g, '\\u003c');
  const nav = spec.sections.map((s) => `<a href="#${esc(s.id)}">${esc(s.title)}</a>`).join(' · ');
  const body = spec.sections
    .map((s) => {
      const charts = s.charts
        .map(
          (c) =>
            `<figure><h3>${esc(c.title)}</h3><div class="chart" id="${esc(c.id)}" style="height:${c.height}px"></div><figcaption>${esc(c.caption)}${c.kind !== 'line' ? ` · unit: ${esc(c.unit)}` : ' · x: operations, y: VmPTE kB'}</figcaption></figure>`,
        )
        .join('\n');
      const omitted = s.omitted.map((o) => `<p class="omitted">Not drawn: ${esc(o)}</p>`).join('\n');
      return `<section id="${esc(s.id)}"><h2>${esc(s.title)}</h2><p>${esc(s.intro)}</p>${s.html ?? ''}\n${charts}\n${omitted}</section>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(spec.title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:1em;color:#222;max-width:1100px}
.chart{width:100%}figure{margin:1.2em 0}figure h3{font-size:15px;margin:0 0 .3em}figcaption{color:#555;font-size:12px}
p.ctx,p.note,p.omitted{color:#555;font-size:13px}p.omitted{font-style:italic}nav{font-size:13px;margin:.5em 0}
.scroll{overflow-x:auto}table{border-collapse:collapse;font-size:12px}td,th{border-bottom:1px solid #ddd;padding:3px 6px;text-align:right;white-space:nowrap}
td:first-child,th:first-child{text-align:left}tr.worse td{color:#b52b27}tr.better td{color:#2a7d50}tr.same td{color:#777}</style></head>
<body>
<h1>${esc(spec.title)}</h1>
<p class="ctx">${esc(spec.context)}</p>
<p class="ctx" id="cost-model">Simulated kernel time: cost model: ${esc(spec.costModel)}</p>
<nav>${nav}</nav>
${body}
<script type="application/json" id="data">${data}</script>
<script>${echartsJs()}</script>
<script>${PAGE_SCRIPT}</script>
</body></html>
`;
}

export function renderReport(results: BenchResults, opts: ReportOptions = {}): string {
  return renderSpec(chartSpecs(results, opts));
}

export function renderCompareReport(base: BenchResults, next: BenchResults, cmp: Comparison, alpha: number): string {
  return renderSpec(compareSpecs(base, next, cmp, alpha));
}

export const htmlExporter: Exporter = {
  format: 'html',
  render(results) {
    return renderReport(results);
  },
};
