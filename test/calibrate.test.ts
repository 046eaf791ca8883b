/**
 * `ptreclaim calibrate` and cost profiles: the regression recovers weights it is given
 * (deterministic synthetic data), profiles round-trip into `run`'s simulated time, bad
 * profile files are clear errors, and a small live calibration works where the kernel can.
 */
import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fitWeights, type FitRow } from '../src/calibrate/fit.js';
import { FIT_TERMS, costModelFromTerms, predictRow, traceFeatures } from '../src/calibrate/features.js';
import { calibrationTraces } from '../src/calibrate/traces.js';
import { calibrate } from '../src/calibrate/calibrate.js';
import {
  builtinCostModel,
  loadCostChoice,
  validateCostProfile,
  COST_PROFILE_KIND,
  COST_PROFILE_SCHEMA_VERSION,
  type CostProfile,
} from '../src/mm/cost-profile.js';
import { runOps } from '../src/run.js';
import { runLiveTrace } from '../src/oracle/live.js';
import { InputError } from '../src/errors.js';
import { Rng } from '../src/workloads/rng.js';
import { liveSkipReason, reportSkip } from './fixtures/live.js';

const cfg = { strategy: 'pt-reclaim', zeroPage: true };
const traces = calibrationTraces(1);
const rowsOf = (w: number[], noise: number, seed = 7): FitRow[] => {
  const rng = new Rng(seed);
  return traces.flatMap((t) =>
    traceFeatures(t.ops, cfg).map((x, i) => {
      const y = x.reduce((a, v, k) => a + v * w[k]!, 0);
      // Weighted as calibrate weights measured rows: 1/expected time.
      return { x, y: y * (1 + noise * (rng.next() - 0.5)), w: 1 / (1000 + y), kind: t.ops[i]!.kind };
    }),
  );
};
// Weights of a made-up host, unlike the defaults, per fit term (0 for terms the traces never move).
const TRUE = FIT_TERMS.map((t, i) => (t.unmeasurable ? 0 : 300 + 137 * i));

describe('the fit', () => {
  it('recovers known weights exactly from noiseless data, and flags terms nothing moved', () => {
    const fit = fitWeights(rowsOf(TRUE, 0), FIT_TERMS.length, { bootstrap: 0 });
    FIT_TERMS.forEach((t, i) => {
      const f = fit.terms[i]!;
      if (t.unmeasurable) {
        expect(f.measured, t.name).toBe(false);
        return;
      }
      expect(f.measured, t.name).toBe(true);
      expect(f.ns, t.name).toBeCloseTo(TRUE[i]!, 3);
    });
    expect(fit.residuals.r2).toBeCloseTo(1, 9);
  });

  it('recovers them within their bootstrap intervals from noisy data, deterministically', () => {
    const rows = rowsOf(TRUE, 0.2);
    const a = fitWeights(rows, FIT_TERMS.length, { bootstrap: 40, seed: 3 });
    const b = fitWeights(rows, FIT_TERMS.length, { bootstrap: 40, seed: 3 });
    expect(b).toEqual(a);
    for (const name of ['syscall', 'FaultAnon', 'FaultZeroPage', 'EntriesCleared', 'tableAlloc']) {
      const i = FIT_TERMS.findIndex((t) => t.name === name);
      const f = a.terms[i]!;
      expect(Math.abs(f.ns - TRUE[i]!) / TRUE[i]!, name).toBeLessThan(0.1);
      expect(f.sd, name).toBeGreaterThan(0);
      expect(f.ci95[0], name).toBeLessThanOrEqual(f.ns);
      expect(f.ci95[1], name).toBeGreaterThanOrEqual(f.ns);
    }
  });

  it('never fits a negative weight', () => {
    const w = TRUE.map((v, i) => (FIT_TERMS[i]!.name === 'EntriesReadZap' ? 0 : v));
    const rows = rowsOf(w, 0.3, 11);
    const fit = fitWeights(rows, FIT_TERMS.length, { bootstrap: 10 });
    for (const t of fit.terms) expect(t.ns).toBeGreaterThanOrEqual(0);
  });

  it('leaves out operations preempted by other work (trim), which would drag the weights', () => {
    const rows = rowsOf(TRUE, 0);
    const i = FIT_TERMS.findIndex((t) => t.name === 'syscall');
    // Ten bare syscalls that each lost a 4 ms time slice.
    const bare = rows.filter((r) => r.x.every((v, k) => (k === i ? v === 1 : v === 0))).slice(0, 10);
    expect(bare.length).toBe(10);
    const noisy = [...rows, ...bare.map((r) => ({ ...r, y: r.y + 4e6 }))];
    const raw = fitWeights(noisy, FIT_TERMS.length, { bootstrap: 0 });
    const trimmed = fitWeights(noisy, FIT_TERMS.length, { bootstrap: 0, trim: true });
    expect(Math.abs(raw.terms[i]!.ns - TRUE[i]!)).toBeGreaterThan(100);
    expect(trimmed.trimmed).toBe(10);
    expect(trimmed.terms[i]!.ns).toBeCloseTo(TRUE[i]!, 3);
  });
});

function profileWith(
  model = costModelFromTerms(
    TRUE,
    FIT_TERMS.map((t) => !t.unmeasurable),
    builtinCostModel(),
  ),
): CostProfile {
  return {
    kind: COST_PROFILE_KIND,
    schemaVersion: COST_PROFILE_SCHEMA_VERSION,
    host: { hostname: 'testhost', kernel: '6.18.0', cpuModel: 'test', cores: 2 },
    date: '2026-01-02T03:04:05.000Z',
    costModel: model,
    fit: {
      strategy: 'pt-reclaim',
      zeroPage: true,
      repeats: 1,
      bootstrap: 0,
      traces: [],
      rows: 0,
      weights: [],
      residuals: { rmsNs: 0, medianAbsNs: 0, r2: 1, byKind: {} },
      loadPerCore: 0,
    },
    heldOut: { traces: [], medianAbsErrPct: 0, defaultMedianAbsErrPct: 0, totalRatio: 1, defaultTotalRatio: 1 },
  };
}

describe('cost profiles', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ptreclaim-profile-'));
  const write = (name: string, data: unknown) => {
    const f = join(dir, name);
    writeFileSync(f, typeof data === 'string' ? data : JSON.stringify(data));
    return f;
  };

  it('round-trip: a written profile gives run exactly the simulated time its weights predict, labelled', () => {
    const p = profileWith();
    const f = write('good.json', p);
    const choice = loadCostChoice(f);
    expect(choice.model).toEqual(p.costModel);
    expect(choice.label).toBe(`profile ${f} (testhost, 2026-01-02)`);
    const t = traces[2]!;
    const r = runOps(t.ops, { ...cfg, cpus: 1, cost: choice });
    const expected = traceFeatures(t.ops, cfg).reduce((a, x) => a + predictRow(x, p.costModel), 0);
    expect(r.simulatedMs * 1e6).toBeCloseTo(expected, 0);
    expect(r.costModel).toBe(choice.label);
    const d = runOps(t.ops, { ...cfg, cpus: 1 });
    expect(d.costModel).toBe('built-in default');
    expect(d.simulatedMs).not.toBeCloseTo(r.simulatedMs, 0);
  });

  it('a profile naming only some counters keeps the default for the others', () => {
    const f = write('partial.json', { ...profileWith(), costModel: { syscallNs: 7, perEvent: { FaultAnon: 3 } } });
    const m = loadCostChoice(f).model;
    expect(m.syscallNs).toBe(7);
    expect(m.perEvent.FaultAnon).toBe(3);
    expect(m.perEvent.EntriesCleared).toBe(builtinCostModel().perEvent.EntriesCleared);
  });

  it('bad profile files are clear errors naming the file and what is wrong', () => {
    const cases: [string, unknown, RegExp][] = [
      ['notjson.json', '{ nope', /notjson\.json: not JSON/],
      [
        'results.json',
        { kind: 'ptreclaim-bench', schemaVersion: 1 },
        /results\.json: not a valid cost profile: .*is it a `ptreclaim calibrate -o` file\?/,
      ],
      [
        'negative.json',
        { ...profileWith(), costModel: { syscallNs: 1000, perEvent: { FaultAnon: -5 } } },
        /negative\.json: not a valid cost profile: costModel\.perEvent\.FaultAnon must be >= 0/,
      ],
      [
        'unknown.json',
        { ...profileWith(), costModel: { syscallNs: 1000, perEvent: { PageFaults: 5 } } },
        /unknown\.json: not a valid cost profile: costModel\.perEvent has an unknown key \("PageFaults" is not a counter; counters: RssFile, /,
      ],
      [
        'version.json',
        { ...profileWith(), schemaVersion: 99 },
        /version\.json: cost profile schemaVersion 99 is not supported .*re-run `ptreclaim calibrate`/,
      ],
    ];
    for (const [name, data, re] of cases) {
      const f = write(name, data);
      expect(() => loadCostChoice(f), name).toThrow(InputError);
      expect(() => loadCostChoice(f), name).toThrow(re);
    }
    expect(() => loadCostChoice(join(dir, 'missing.json'))).toThrow(/cannot read cost profile .*missing\.json: ENOENT/);
  });

  it('the CLI reports a bad profile in one line (exit 1) and labels simulated time with a good one', () => {
    const bin = join(__dirname, '..', 'bin', 'ptreclaim.js');
    const bad = spawnSync(process.execPath, [bin, 'run', 'seed-5g', '--cost-profile', write('cli-bad.json', { kind: 'x' })], {
      encoding: 'utf8',
    });
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/cli-bad\.json: not a valid cost profile/);
    const f = write('cli-good.json', profileWith());
    const good = spawnSync(process.execPath, [bin, 'run', 'paths-reclaim', '--cost-profile', f], { encoding: 'utf8' });
    expect(good.status).toBe(0);
    expect(good.stdout).toContain(`simulated time: cost model: profile ${f} (testhost, 2026-01-02)`);
    const dflt = spawnSync(process.execPath, [bin, 'run', 'paths-reclaim'], { encoding: 'utf8' });
    expect(dflt.stdout).toContain('simulated time: cost model: built-in default');
  });
});

describe('live calibration', () => {
  reportSkip('live calibration', liveSkipReason);
  it.skipIf(liveSkipReason !== undefined)('the oracle times every operation', async () => {
    const ops = traces[4]!.ops;
    const r = await runLiveTrace(ops, { opTimes: true });
    expect(r.opNs).toHaveLength(ops.length);
    expect(r.opNs!.every((t) => t >= 0)).toBe(true);
    const sum = r.opNs!.reduce((a, v) => a + v, 0);
    expect(sum).toBe(Object.values(r.timeNs).reduce((a, v) => a + v, 0));
    expect(sum).toBeLessThanOrEqual(r.wallNs);
  });

  it.skipIf(liveSkipReason !== undefined)(
    'a small calibration fits the measured terms and predicts held-out traces',
    async () => {
      const p = await calibrate({ repeats: 1, bootstrap: 5, limit: 1 });
      expect(validateCostProfile(JSON.parse(JSON.stringify(p)), 'live')).toEqual(p);
      const anon = p.fit.weights.find((w) => w.term === 'FaultAnon')!;
      expect(anon.measured).toBe(true);
      expect(anon.ns).toBeGreaterThan(0);
      expect(p.fit.weights.find((w) => w.term === 'Ipis')!.measured).toBe(false);
      expect(p.heldOut.traces.length).toBe(2);
      for (const h of p.heldOut.traces) {
        expect(h.measuredMs).toBeGreaterThan(0);
        expect(h.predictedMs).toBeGreaterThan(0);
      }
      expect(p.fit.traces).not.toContain(p.heldOut.traces[0]!.source);
    },
    120_000,
  );
});

describe('bench with a cost profile', () => {
  it("a bad profile stops bench before any cell runs; a good one sets every cell's simulated time and the label", async () => {
    const { benchOptions } = await import('../src/bench/options.js');
    const { runBench } = await import('../src/bench/run.js');
    const { simulatedMs } = await import('../src/report/analysis.js');
    const dir = mkdtempSync(join(tmpdir(), 'ptreclaim-bench-profile-'));
    const flags = { strategy: 'pt-reclaim', time: '1', iterations: '2', warmup: '0', seed: '1', timelinePoints: '5' };
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '[]');
    expect(() => benchOptions(['paths'], { ...flags, costProfile: bad })).toThrow(/bad\.json: not a valid cost profile/);
    const good = join(dir, 'good.json');
    const p = profileWith();
    writeFileSync(good, JSON.stringify(p));
    const o = benchOptions(['paths'], { ...flags, costProfile: good });
    expect(o.costModel).toBe(`profile ${good} (testhost, 2026-01-02)`);
    const r = await runBench(o);
    expect(r.context.options.costModel).toBe(o.costModel);
    for (const c of r.cells) expect(c.counters['simulatedMs'], c.id).toBeCloseTo(simulatedMs(c, p.costModel)!, 6);
    expect(benchOptions(['paths'], flags).costModel).toBe('built-in default');
    // compare names both models when they differ: the simulated times differ for that reason.
    const { compareResults } = await import('../src/bench/compare.js');
    const { formatComparison } = await import('../src/report/terminal.js');
    const d = await runBench(benchOptions(['paths'], flags));
    const cmp = compareResults(d, r, { alpha: 0.05, threshold: 0.05 });
    expect(cmp.costModels).toEqual({ base: 'built-in default', next: o.costModel });
    expect(cmp.counterDiffs.some((x) => x.counter === 'simulatedMs')).toBe(true);
    expect(formatComparison(cmp, 0.05)).toContain(`cost model: base built-in default; new ${String(o.costModel)}`);
    expect(compareResults(d, d, { alpha: 0.05, threshold: 0.05 }).costModels).toBeUndefined();
  }, 60_000);
});

describe('the fit, edge cases', () => {
  it('a term that a bootstrap resample misses gets weight 0 there, not NaN', () => {
    // Term 1 moves in one row of 200: most resamples miss it.
    const rows: FitRow[] = Array.from({ length: 200 }, (_, i) => ({
      x: [1, i === 0 ? 5 : 0, i % 7],
      y: 1000 + (i === 0 ? 500 : 0) + 30 * (i % 7),
      kind: 'mmap',
    }));
    const fit = fitWeights(rows, 3, { bootstrap: 50, seed: 2 });
    for (const t of fit.terms) {
      expect(Number.isFinite(t.ns) && Number.isFinite(t.sd) && t.ci95.every(Number.isFinite)).toBe(true);
    }
    expect(fit.terms[1]!.ns).toBeCloseTo(100, 6);
    expect(fit.terms[1]!.ci95[0]).toBe(0);
  });
});
