/**
 * `ptreclaim report RESULTS.json -o report.html`: one self-contained page. ECharts (bundled
 * from node_modules into the page, SVG renderer) draws: VmPTE over the run per strategy,
 * throughput per strategy, the reclaim path breakdown, and memory incl. RCU-pending tables.
 * No network is needed to open it.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Exporter } from './exporter.js';
import { groupByWorkload } from './exporter.js';
import type { BenchResults } from '../bench/types.js';

/** Colours per strategy, in order; the HTML test looks for them in the rendered SVG. */
export const PALETTE = ['#5470c6', '#91cc75', '#fac858', '#ee6666', '#73c0de', '#3ba272', '#fc8452', '#9a60b4'];

let echartsSource: string | undefined;
function echartsJs(): string {
  if (!echartsSource) {
    const require = createRequire(import.meta.url);
    echartsSource = readFileSync(require.resolve('echarts/dist/echarts.min.js'), 'utf8');
  }
  return echartsSource;
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** The chart specifications, data only; the page's script turns them into ECharts options. */
export function chartSpecs(results: BenchResults) {
  const strategies = [...new Set(results.cells.map((c) => c.strategy))];
  const color = (s: string) => PALETTE[strategies.indexOf(s) % PALETTE.length]!;
  const groups = groupByWorkload(results.cells);
  const timelines = groups.map((g) => ({
    id: `timeline-${g.key.replace(/[^A-Za-z0-9]+/g, '-')}`,
    title: `VmPTE over the run: ${g.key}`,
    series: g.cells.map((c) => ({ name: c.strategy, color: color(c.strategy), points: c.timeline.map((p) => [p.op, p.vmPteKb]) })),
  }));
  const labels = results.cells.map((c) => `${c.workload}${c.variant ? `/${c.variant}` : ''} ${c.strategy}`);
  return {
    strategies: strategies.map((s) => ({ name: s, color: color(s) })),
    timelines,
    throughput: {
      id: 'throughput',
      categories: groups.map((g) => g.key),
      series: strategies.map((s) => ({
        name: s, color: color(s),
        values: groups.map((g) => g.cells.find((c) => c.strategy === s)?.throughput.opsPerSec ?? null),
      })),
    },
    paths: {
      id: 'paths',
      categories: labels,
      stacks: [
        { name: 'entries read by the zap loop', color: '#5470c6', values: results.cells.map((c) => c.counters['entries.readZap'] ?? 0) },
        { name: 'entries re-read by the slow-path scan', color: '#ee6666', values: results.cells.map((c) => c.counters['entries.readScan'] ?? 0) },
      ],
      latency: { name: 'median run time (ms)', color: '#3ba272', values: results.cells.map((c) => c.latency.median) },
    },
    memory: {
      id: 'memory',
      categories: labels,
      series: [
        { name: 'VmPTE peak (kB)', color: '#5470c6', values: results.cells.map((c) => c.memory.vmPtePeakKb) },
        { name: 'VmPTE final (kB)', color: '#91cc75', values: results.cells.map((c) => c.memory.vmPteFinalKb) },
        { name: 'page tables incl. RCU-pending, peak (kB)', color: '#fac858', values: results.cells.map((c) => c.memory.pgtablePeakKb) },
        { name: 'RCU-pending peak (kB)', color: '#ee6666', values: results.cells.map((c) => c.memory.rcuPendingPeakKb) },
      ],
    },
  };
}

const PAGE_SCRIPT = String.raw`
const spec = JSON.parse(document.getElementById('data').textContent);
const charts = [];
function make(id, option) {
  const el = document.getElementById(id);
  const chart = echarts.init(el, null, { renderer: 'svg' });
  chart.on('finished', () => { el.dataset.rendered = '1'; });
  chart.setOption(Object.assign({ animation: false, tooltip: { trigger: 'axis' }, legend: { top: 24 }, grid: { top: 70, left: 80, right: 60, bottom: 90 } }, option));
  charts.push(chart);
}
for (const t of spec.timelines) {
  make(t.id, {
    title: { text: t.title, left: 'center', textStyle: { fontSize: 14 } },
    xAxis: { type: 'value', name: 'operations' }, yAxis: { type: 'value', name: 'VmPTE kB' },
    series: t.series.map((s) => ({ name: s.name, type: 'line', showSymbol: false, color: s.color, data: s.points })),
  });
}
make(spec.throughput.id, {
  title: { text: 'Throughput: simulated operations per second', left: 'center', textStyle: { fontSize: 14 } },
  xAxis: { type: 'category', data: spec.throughput.categories, axisLabel: { rotate: 20 } }, yAxis: { type: 'log', name: 'ops/s' },
  series: spec.throughput.series.map((s) => ({ name: s.name, type: 'bar', color: s.color, data: s.values })),
});
make(spec.paths.id, {
  title: { text: 'Reclaim path cost: entries read, and run time', left: 'center', textStyle: { fontSize: 14 } },
  xAxis: { type: 'category', data: spec.paths.categories, axisLabel: { rotate: 30, fontSize: 10 } },
  yAxis: [{ type: 'value', name: 'entries' }, { type: 'value', name: 'ms' }],
  series: [
    ...spec.paths.stacks.map((s) => ({ name: s.name, type: 'bar', stack: 'entries', color: s.color, data: s.values })),
    { name: spec.paths.latency.name, type: 'line', yAxisIndex: 1, color: spec.paths.latency.color, data: spec.paths.latency.values },
  ],
});
make(spec.memory.id, {
  title: { text: 'Page-table memory (incl. tables waiting for the RCU grace period)', left: 'center', textStyle: { fontSize: 14 } },
  xAxis: { type: 'category', data: spec.memory.categories, axisLabel: { rotate: 30, fontSize: 10 } }, yAxis: { type: 'value', name: 'kB' },
  series: spec.memory.series.map((s) => ({ name: s.name, type: 'bar', color: s.color, data: s.values })),
});
document.body.dataset.charts = String(charts.length);
window.addEventListener('resize', () => charts.forEach((c) => c.resize()));
`;

export const htmlExporter: Exporter = {
  format: 'html',
  render(results) {
    const spec = chartSpecs(results);
    const ctx = results.context;
    const data = JSON.stringify(spec).replace(/</g, '\\u003c');
    const divs = [...spec.timelines.map((t) => t.id), spec.throughput.id, spec.paths.id, spec.memory.id]
      .map((id) => `<div class="chart" id="${esc(id)}"></div>`).join('\n');
    return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>ptreclaim bench report</title>
<style>body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}.chart{width:100%;max-width:1100px;height:420px;margin:1em 0}
p.ctx{color:#555;font-size:13px}</style></head>
<body>
<h1>ptreclaim bench: ${esc(ctx.options.suites.join(', '))}</h1>
<p class="ctx">ptreclaim ${esc(ctx.ptreclaimVersion)} (${esc(ctx.gitCommit ?? 'no git')}), Node ${esc(ctx.node)}, ${esc(ctx.cpuModel)} x ${ctx.cores},
WASM ${esc(ctx.wasmSha256.slice(0, 12))}, ${esc(ctx.date)}${results.partial ? `. <b>Partial</b>: ${esc(results.partialReason ?? '')}` : ''}</p>
${divs}
<script type="application/json" id="data">${data}</script>
<script>${echartsJs()}</script>
<script>${PAGE_SCRIPT}</script>
</body></html>
`;
  },
};
