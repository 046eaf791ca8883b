/**
 * The HTML report in a real browser: Debian's Chromium driven by playwright-core, offline.
 * The page must load without errors, every chart must have drawn marks in the series'
 * colours, and a screenshot is written to test-output/ for a human to look at.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { runBench } from '../src/bench/run.js';
import { DEFAULT_SUITE_PARAMS } from '../src/bench/suites.js';
import { EXPORTERS } from '../src/report/exporters.js';
import { chartSpecs } from '../src/report/html.js';
import type { BenchResults } from '../src/bench/types.js';

const CHROMIUM = '/usr/bin/chromium';
const outDir = join(__dirname, '..', 'test-output');
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`report-html: skipped, ${CHROMIUM} is missing (apt-get install chromium)`);

describe.skipIf(!haveChromium)('HTML report in Chromium', () => {
  let results: BenchResults;
  let context: BrowserContext;
  let userDataDir: string;

  beforeAll(async () => {
    results = await runBench({
      ...DEFAULT_SUITE_PARAMS, suites: ['paths', 'sparse'], strategies: ['none', 'pt-reclaim'], timeMs: 5, iterations: 3,
      warmupIterations: 1, timelinePoints: 50, wasm: 'release', scale: 1 / 16384,
    });
    userDataDir = mkdtempSync(join(tmpdir(), 'ptreclaim-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      offline: true,
      args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-component-update', '--disable-sync', '--no-first-run'],
      viewport: { width: 1200, height: 900 },
    });
  });

  afterAll(async () => {
    await context?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  it('loads offline without errors and every chart draws its series', async () => {
    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, 'report.html');
    writeFileSync(file, EXPORTERS.html.render(results));
    const page = await context.newPage();
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
    page.on('request', (r) => !r.url().startsWith('file:') && requests.push(r.url()));
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });

    const spec = chartSpecs(results);
    const ids = [...spec.timelines.map((t) => t.id), spec.throughput.id, spec.paths.id, spec.memory.id];
    for (const id of ids) await page.waitForSelector(`#${id}[data-rendered="1"]`, { timeout: 15_000 });
    expect(await page.evaluate(() => document.body.dataset.charts)).toBe(String(ids.length));

    const colourMarks = (id: string, colours: string[]) => page.evaluate(([id, colours]) => {
      const rgb = (hex: string) => `rgb(${[1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(',')})`;
      const norm = (v: string | null) => (v ?? '').replace(/\s+/g, '').toLowerCase();
      const marks = [...document.querySelectorAll(`#${id} svg path, #${id} svg rect`)];
      return colours.map((c) => marks.filter((m) => [norm(m.getAttribute('fill')), norm(m.getAttribute('stroke'))].some((v) => v === c.toLowerCase() || v === rgb(c))).length);
    }, [id, colours] as const);

    for (const t of spec.timelines) {
      const counts = await colourMarks(t.id, t.series.map((s) => s.color));
      expect(counts.every((n) => n > 0), `${t.id}: marks per series ${counts}`).toBe(true);
    }
    expect((await colourMarks(spec.throughput.id, spec.throughput.series.map((s) => s.color))).every((n) => n > 0)).toBe(true);
    const pathCounts = await colourMarks(spec.paths.id, [...spec.paths.stacks.map((s) => s.color), spec.paths.latency.color]);
    expect(pathCounts[0]).toBeGreaterThan(0); // zap-loop entries
    expect(pathCounts[1]).toBeGreaterThan(0); // slow-path scans (the paths/slow cells)
    expect(pathCounts[2]).toBeGreaterThan(0); // run-time line
    expect((await colourMarks(spec.memory.id, spec.memory.series.slice(0, 3).map((s) => s.color))).every((n) => n > 0)).toBe(true);

    const shot = join(outDir, 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    expect(problems).toEqual([]);
    expect(requests).toEqual([]);
  }, 60_000);
});
