/**
 * The HTML report. Its figures (per-table path cost, premium CIs, scale groups) are checked
 * as data; then the pages are opened in a real browser, Debian's Chromium driven by
 * playwright-core, offline, at 1280 and 390 px: no errors, every section, every drawn chart
 * with marks in its series' colours, charts with nothing to show replaced by a line saying
 * why, and no two labels of a chart overlapping (their boxes are measured). Screenshots go to
 * test-output/ for a human to look at.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { runBench } from '../src/bench/run.js';
import { DEFAULT_SUITE_PARAMS } from '../src/bench/suites.js';
import { compareResults } from '../src/bench/compare.js';
import { median } from '../src/bench/stats.js';
import { chartSpecs, compareSpecs, renderReport, renderCompareReport, type Chart, type ReportSpec } from '../src/report/html.js';
import { groupByScale, pathCosts, simulatedMs } from '../src/report/analysis.js';
import { builtinCostModel } from '../src/mm/cost-profile.js';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { EXPORTERS } from '../src/report/exporters.js';
import type { BenchResults, CellResult } from '../src/bench/types.js';

const CHROMIUM = '/usr/bin/chromium';
const outDir = join(__dirname, '..', 'test-output');
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`report-html: browser tests skipped, ${CHROMIUM} is missing (apt-get install chromium)`);

let results: BenchResults;
beforeAll(async () => {
  results = await runBench({
    ...DEFAULT_SUITE_PARAMS,
    suites: ['paths', 'wis', 'sparse'],
    strategies: ['none', 'pt-reclaim'],
    timeMs: 5,
    iterations: 6,
    warmupIterations: 1,
    timelinePoints: 50,
    wasm: 'release',
    scale: 1 / 16384,
  });
}, 120_000);

/**
 * A "new" side: the slow paths' samples all above every old one (each + 2x the old maximum),
 * so the U test finds them slower whatever this host's noise did; everything else unchanged.
 */
function slowedDown(r: BenchResults): BenchResults {
  return {
    ...r,
    cells: r.cells.map((c) => (c.variant === 'slow' ? { ...c, samples: c.samples.map((s) => s + 2 * Math.max(...c.samples)) } : c)),
  };
}

const allCharts = (spec: ReportSpec) => spec.sections.flatMap((s) => s.charts);

describe('report figures', () => {
  it('groups cells so that no chart mixes scales more than 30x apart', () => {
    const g = groupByScale([1, 2, 25, 40, 900, 1e5, 0], (v) => v);
    expect(g).toEqual([[0], [1, 2, 25], [40, 900], [1e5]]);
    const spec = chartSpecs(results);
    const medians = new Map(results.cells.map((c) => [c.id, median(c.samples)]));
    const dist = spec.sections.find((s) => s.id === 'distributions')!.charts;
    expect(dist.length).toBeGreaterThan(1); // the wis and paths cells differ by far more than 30x
    for (const c of dist) {
      const ms = (c as Extract<Chart, { kind: 'box' }>).series.flatMap((s) => s.boxes.filter((b) => b).map((b) => b![2]));
      expect(Math.max(...ms) / Math.min(...ms), c.id).toBeLessThanOrEqual(30);
    }
    // Charts of differences (premiums) are left out: a bar near zero there is the finding.
    for (const c of allCharts(spec)) {
      if (c.kind !== 'hbar' || c.id === 'paths-premium') continue;
      const vs = c.series.flatMap((s) => s.values).filter((v): v is number => v !== null && v > 0);
      expect(vs.length, c.id).toBeGreaterThan(0);
      expect(Math.max(...vs) / Math.min(...vs), c.id).toBeLessThan(1e4);
    }
    expect(medians.size).toBe(results.cells.length);
  });

  it('per-table path cost: samples / tables reclaimed, a premium over fast with its interval', () => {
    const { costs, premiums, noTables } = pathCosts(results.cells);
    expect(noTables).toEqual(['none']);
    expect(costs.map((c) => c.variant).sort()).toEqual(['contended', 'fast', 'slow']);
    const fast = costs.find((c) => c.variant === 'fast')!;
    const slow = costs.find((c) => c.variant === 'slow')!;
    expect(fast.tables).toBe(64);
    expect(slow.entriesPerTable - fast.entriesPerTable).toBe(512); // the slow path rescans the table
    expect(fast.median).toBeCloseTo((median(results.cells.find((c) => c.id === fast.cellId)!.samples) * 1e6) / 64, 6);
    const p = premiums.find((x) => x.variant === 'slow')!;
    expect(p.premiumNs).toBeCloseTo(slow.median - fast.median, 6);
    expect(p.premiumCI[0]).toBeLessThanOrEqual(p.premiumCI[1]);
    expect(p.simulatedPremiumNs).toBeGreaterThan(0); // 512 more entries read, more locks
  });

  it('simulated time recomputed from the counters with the built-in model equals the recorded one', () => {
    for (const c of results.cells) {
      if (c.strategy === 'async-scan') continue;
      expect(simulatedMs(c, builtinCostModel()), c.id).toBeCloseTo(c.counters['simulatedMs']!, 6);
    }
  });

  it('charts with nothing to show become one line saying why', () => {
    const spec = chartSpecs(results);
    const timelines = spec.sections.find((s) => s.id === 'timelines')!;
    for (const w of ['wis-mmap1', 'wis-malloc1']) {
      expect(timelines.charts.some((c) => c.title.includes(w))).toBe(false);
      expect(timelines.omitted.filter((o) => o.includes(w))).toHaveLength(1);
    }
    for (const c of timelines.charts)
      expect(c.kind === 'line' && c.series.some((s) => s.points.some((p) => p[1] !== s.points[0]![1]))).toBe(true);
  });
});

describe('report CLI', () => {
  it('report --compare takes BASE NEW; a wrong count of files is a usage error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ptreclaim-report-'));
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    writeFileSync(a, EXPORTERS.json.render(results));
    writeFileSync(b, EXPORTERS.json.render(slowedDown(results)));
    const bin = join(__dirname, '..', 'bin', 'ptreclaim.js');
    const one = spawnSync(process.execPath, [bin, 'report', '--compare', a], { encoding: 'utf8' });
    expect(one.status).toBe(2);
    expect(one.stderr).toContain('report --compare needs two results files, BASE.json NEW.json (got 1)');
    const two = spawnSync(process.execPath, [bin, 'report', a, b], { encoding: 'utf8' });
    expect(two.status).toBe(2);
    expect(two.stderr).toContain('to compare two, add --compare');
    const out = join(dir, 'cmp.html');
    const ok = spawnSync(process.execPath, [bin, 'report', '--compare', a, b, '-o', out], { encoding: 'utf8' });
    expect(ok.status, ok.stderr).toBe(0);
    const html = readFileSync(out, 'utf8');
    expect(html).toContain('Comparison (benchstat)');
    expect(html).toContain('id="compare-delta"');
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);
});

interface LabelBox {
  text: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Text boxes of every chart's SVG labels, and the chart boxes, as the browser laid them out. */
async function labelBoxes(page: Page, id: string): Promise<{ labels: LabelBox[]; chart: { x: number; w: number } }> {
  return page.evaluate((id) => {
    const el = document.getElementById(id)!;
    const r = el.getBoundingClientRect();
    const labels = [...el.querySelectorAll('svg text')]
      .filter((t) => t.textContent.trim() !== '' && getComputedStyle(t).display !== 'none' && t.getAttribute('opacity') !== '0')
      .map((t) => {
        const b = t.getBoundingClientRect();
        return { text: t.textContent, x: b.x, y: b.y, w: b.width, h: b.height };
      })
      .filter((b) => b.w > 0 && b.h > 0);
    return { labels, chart: { x: r.x, w: r.width } };
  }, id);
}

function overlaps(labels: LabelBox[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < labels.length; i++) {
    for (let j = i + 1; j < labels.length; j++) {
      const a = labels[i]!;
      const b = labels[j]!;
      const dx = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
      const dy = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
      if (dx > 1 && dy > 1) out.push(`"${a.text}" and "${b.text}"`);
    }
  }
  return out;
}

describe.skipIf(!haveChromium)('HTML report in Chromium', () => {
  let context: BrowserContext | undefined; // undefined if beforeAll failed before the launch
  let userDataDir: string;

  beforeAll(async () => {
    userDataDir = mkdtempSync(join(tmpdir(), 'ptreclaim-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      offline: true,
      args: [
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-gpu',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  async function check(file: string, spec: ReportSpec, width: number, shot: string) {
    const page = await context!.newPage();
    await page.setViewportSize({ width, height: 900 });
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
    page.on('request', (r) => !r.url().startsWith('file:') && requests.push(r.url()));
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    const charts = allCharts(spec);
    for (const c of charts) await page.waitForSelector(`#${c.id}[data-rendered="1"]`, { timeout: 20_000 });
    expect(await page.evaluate(() => document.body.dataset.charts)).toBe(String(charts.length));
    for (const s of spec.sections) expect(await page.locator(`section#${s.id} h2`).textContent()).toBe(s.title);
    const omitted = await page.locator('p.omitted').allTextContents();
    expect(omitted).toEqual(spec.sections.flatMap((s) => s.omitted.map((o) => `Not drawn: ${o}`)));

    for (const c of charts) {
      const colours = c.kind === 'hbar' ? [...new Set(c.series.flatMap((s) => s.colors ?? [s.color]))] : c.series.map((s) => s.color);
      const counts = await page.evaluate(
        ([id, colours]) => {
          const rgb = (hex: string) => `rgb(${[1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(',')})`;
          const norm = (v: string | null) => (v ?? '').replace(/\s+/g, '').toLowerCase();
          const marks = [...document.querySelectorAll(`#${id} svg path, #${id} svg rect`)];
          return colours.map(
            (c) =>
              marks.filter((m) =>
                [norm(m.getAttribute('fill')), norm(m.getAttribute('stroke'))].some((v) => v === c.toLowerCase() || v === rgb(c)),
              ).length,
          );
        },
        [c.id, colours] as const,
      );
      expect(
        counts.every((n) => n > 0),
        `${c.id} @${width}px: marks per colour ${counts.join(',')}`,
      ).toBe(true);

      const { labels, chart } = await labelBoxes(page, c.id);
      expect(labels.length, `${c.id} has labels`).toBeGreaterThan(2);
      expect(overlaps(labels), `${c.id} @${width}px: overlapping labels`).toEqual([]);
      for (const l of labels) {
        expect(l.x, `${c.id} @${width}px: "${l.text}" starts left of its chart`).toBeGreaterThanOrEqual(chart.x - 1);
        expect(l.x + l.w, `${c.id} @${width}px: "${l.text}" ends right of its chart`).toBeLessThanOrEqual(chart.x + chart.w + 1);
      }
    }
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    expect(problems).toEqual([]);
    expect(requests).toEqual([]);
    await page.close();
  }

  for (const width of [1280, 390]) {
    it(`the report at ${width} px: every section, no errors, no overlapping labels`, async () => {
      mkdirSync(outDir, { recursive: true });
      const file = join(outDir, 'report.html');
      writeFileSync(file, renderReport(results));
      await check(file, chartSpecs(results), width, join(outDir, `report-${width}.png`));
    }, 120_000);

    it(`the compare report at ${width} px: the benchstat table and the changes`, async () => {
      mkdirSync(outDir, { recursive: true });
      const next = slowedDown(results);
      const cmp = compareResults(results, next, { alpha: 0.05, threshold: 0.05 });
      const file = join(outDir, 'compare.html');
      writeFileSync(file, renderCompareReport(results, next, cmp, 0.05));
      const spec = compareSpecs(results, next, cmp, 0.05);
      await check(file, spec, width, join(outDir, `compare-${width}.png`));
      const page = await context!.newPage();
      await page.goto(pathToFileURL(file).href);
      const rows = await page.locator('section#compare tbody tr').count();
      expect(rows).toBe(cmp.rows.length + 1); // + geomean
      expect(await page.locator('section#compare tbody tr.worse').count()).toBe(cmp.regressions.length);
      expect(cmp.regressions.map((r) => r.id).sort()).toEqual(
        results.cells
          .filter((c: CellResult) => c.variant === 'slow')
          .map((c) => c.id)
          .sort(),
      );
      await page.close();
    }, 120_000);
  }
});

describe("fast vs slow path from the paths suite's own measurement", () => {
  it('uses results.paths (per-reclaim samples, fixed cost subtracted) when present, else whole runs', () => {
    expect(results.paths?.length, 'runBench of the paths suite records results.paths').toBeGreaterThan(0);
    const spec = chartSpecs(results);
    const section = spec.sections.find((s) => s.id === 'paths')!;
    expect(section.intro).toContain('fixed cost of a call that finds no table subtracted');
    const wall = section.charts.find((c) => c.id === 'paths-wall') as Extract<Chart, { kind: 'hbar' }>;
    const pc = results.paths!.find((c) => c.strategy === 'pt-reclaim')!;
    const series = wall.series.find((s) => s.name === 'pt-reclaim')!;
    for (const v of pc.variants) expect(series.values[wall.categories.indexOf(v.variant)]).toBe(v.wallNs);
    expect(section.charts.some((c) => c.id === 'paths-dist')).toBe(true);
    const { paths: _drop, ...withoutPaths } = results;
    const old = chartSpecs(withoutPaths).sections.find((s) => s.id === 'paths')!;
    expect(old.intro).toContain('whole run');
    expect(old.charts.some((c) => c.id === 'paths-dist')).toBe(false);
  });
});
