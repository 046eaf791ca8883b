/** `--md FILE`: one Markdown table per workload, strategies side by side. */
import type { Exporter } from './exporter.js';
import { groupByWorkload, COUNTER_ROWS, counterKey } from './exporter.js';
import type { CellResult } from '../bench/types.js';
import { fmtMs, fmtInt, fmtRate } from './format.js';

export const mdExporter: Exporter = {
  format: 'md',
  render(results) {
    const ctx = results.context;
    const out = [
      `# ptreclaim bench: ${ctx.options.suites.join(', ')}`,
      '',
      `ptreclaim ${ctx.ptreclaimVersion} (${ctx.gitCommit ?? 'no git'}), Node ${ctx.node}, ${ctx.cpuModel} x ${ctx.cores}, ${ctx.date}` +
        (results.partial ? `. **Partial**: ${results.partialReason ?? ''}` : ''),
    ];
    for (const g of groupByWorkload(results.cells)) {
      const rows: [string, (c: CellResult) => string][] = [
        ['median (±rme of mean)', (c) => `${fmtMs(c.latency.median)} (±${c.latency.rme.toFixed(1)}%)`],
        ['p99 / min / max', (c) => `${fmtMs(c.latency.p99)} / ${fmtMs(c.latency.min)} / ${fmtMs(c.latency.max)}`],
        ['samples', (c) => String(c.latency.samples)],
        ['simulated ops/s', (c) => fmtRate(c.throughput.opsPerSec)],
        ['VA zapped GiB/s', (c) => c.throughput.zapGiBPerSec.toFixed(1)],
        ['VmPTE final / peak', (c) => `${fmtInt(c.memory.vmPteFinalKb)} / ${fmtInt(c.memory.vmPtePeakKb)} kB`],
        ['page tables incl. RCU-pending, peak', (c) => `${fmtInt(c.memory.pgtablePeakKb)} kB`],
      ];
      for (const r of COUNTER_ROWS) {
        const k = counterKey(g.cells, r.match);
        if (k) rows.push([r.label, (c) => fmtInt(c.counters[k] ?? NaN)]);
      }
      out.push('', `## ${g.key}`, '', g.cells[0]!.description, '');
      out.push(`| | ${g.cells.map((c) => c.strategy).join(' | ')} |`, `|---|${g.cells.map(() => '---').join('|')}|`);
      for (const [label, f] of rows) out.push(`| ${label} | ${g.cells.map(f).join(' | ')} |`);
    }
    return out.join('\n') + '\n';
  },
};
