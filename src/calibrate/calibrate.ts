/**
 * `ptreclaim calibrate`: fit the cost model's weights to this host's kernel.
 *
 * Pipeline: replay each calibration trace on the live kernel `repeats` times with the time
 * of every operation recorded (the oracle helper's --op-times), keep the per-operation
 * median (robust to preemption by other work), step the model through the same trace for
 * its per-operation counter deltas, regress time on them (fit.ts), then predict the traces
 * held out of the fit with the fitted weights and with the built-in default.
 */
import { hostname, cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../paths.js';
import { runOps } from '../run.js';
import { runLiveTrace } from '../oracle/live.js';
import { checkReplayable } from '../oracle/oracle.js';
import { modelForHost, loadTargets } from '../validate.js';
import { hostFacts } from '../oracle/host.js';
import type { Op } from '../trace/ops.js';
import {
  type CostProfile,
  type FittedWeight,
  type HeldOutTrace,
  COST_PROFILE_KIND,
  COST_PROFILE_SCHEMA_VERSION,
  builtinCostModel,
  weightOf,
} from '../mm/cost-profile.js';
import { FIT_TERMS, costModelFromTerms, predictRow, traceFeatures, type ModelConfig } from './features.js';
import { fitWeights, type FitRow } from './fit.js';
import { calibrationTraces, heldOutTraces, type NamedTrace } from './traces.js';

/** Why MADV_FREE operations are not fitted (they still count in the held-out traces). */
export const LAZYFREE_REASON = 'MADV_FREE: the cost model has no counter for pages marked lazy-free, so their time has no term to go to';

export interface CalibrateOptions {
  /** Live replays per trace; the per-operation median is fitted. */
  repeats?: number;
  bootstrap?: number;
  seed?: number;
  /** Directory of corpus traces (default corpus/validation): even-numbered ones are fitted, odd ones held out. */
  corpusDir?: string | null;
  /** Use only the first n targeted traces and n corpus traces per side (tests, quick runs). */
  limit?: number;
  progress?: (message: string) => void;
}

interface Measured {
  source: string;
  ops: readonly Op[];
  /** Per-operation median ns over the repeats. */
  opNs: number[];
  /** Sum of the per-operation medians, ns (the same treatment of interference as the fit's). */
  totalNs: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function measure(t: NamedTrace, repeats: number): Promise<Measured> {
  const runs: number[][] = [];
  for (let r = 0; r < repeats; r++) {
    const live = await runLiveTrace(t.ops, { opTimes: true });
    runs.push(live.opNs!);
  }
  const opNs = t.ops.map((_, i) => median(runs.map((r) => r[i]!)));
  return { source: t.source, ops: t.ops, opNs, totalNs: opNs.reduce((a, v) => a + v, 0) };
}

/** The calibration set: targeted traces plus even-numbered corpus traces; held out: the rest. */
export function calibrationSets(opts: Pick<CalibrateOptions, 'seed' | 'corpusDir' | 'limit'> = {}): {
  fit: NamedTrace[];
  heldOut: NamedTrace[];
} {
  const seed = opts.seed ?? 1;
  const corpusDir = opts.corpusDir === undefined ? join(packageRoot(), 'corpus', 'validation') : opts.corpusDir;
  const corpus: NamedTrace[] = corpusDir === null ? [] : loadTargets({ dir: corpusDir }).map((t) => ({ source: t.source, ops: t.ops }));
  const lim = <T>(xs: T[]) => (opts.limit === undefined ? xs : xs.slice(0, opts.limit));
  return {
    fit: [...lim(calibrationTraces(seed)), ...lim(corpus.filter((_, i) => i % 2 === 0))],
    heldOut: [...lim(heldOutTraces(seed + 1)), ...lim(corpus.filter((_, i) => i % 2 === 1))],
  };
}

/** Runs the calibration on the live kernel; throws OracleUnavailableError when it cannot run here. */
export async function calibrate(opts: CalibrateOptions = {}): Promise<CostProfile> {
  const repeats = opts.repeats ?? 5;
  const bootstrap = opts.bootstrap ?? 200;
  const seed = opts.seed ?? 1;
  const say = opts.progress ?? (() => {});
  const host = await hostFacts();
  const choice = modelForHost(host);
  const cfg: ModelConfig = { strategy: choice.strategy, zeroPage: choice.zeroPage };
  const loadPerCore = loadavg()[0]! / Math.max(1, cpus().length);
  const sets = calibrationSets(opts);
  for (const t of [...sets.fit, ...sets.heldOut]) await checkReplayable(t.ops);

  const base = builtinCostModel();
  const rows: FitRow[] = [];
  let lazyfreeOps = 0;
  for (const [i, t] of sets.fit.entries()) {
    say(`fit ${i + 1}/${sets.fit.length}: ${t.source} (${t.ops.length} ops x ${repeats})`);
    const m = await measure(t, repeats);
    const xs = traceFeatures(t.ops, cfg);
    xs.forEach((x, k) => {
      const op = t.ops[k]!;
      if (op.kind === 'madvise' && op.advice === 'free') {
        lazyfreeOps++;
        return;
      }
      // Operation times vary roughly in proportion to their size: weight rows by 1/expected
      // time (the default's prediction, which does not depend on the measurement).
      rows.push({ x, y: m.opNs[k]!, w: 1 / (1000 + predictRow(x, base)), kind: t.ops[k]!.kind });
    });
  }
  say(`fitting ${FIT_TERMS.length} terms on ${rows.length} operations (${bootstrap} bootstrap replicates)`);
  const fit = fitWeights(rows, FIT_TERMS.length, { bootstrap, seed, trim: true });
  const model = costModelFromTerms(
    fit.terms.map((t) => t.ns),
    fit.terms.map((t) => t.measured),
    base,
  );
  const weights: FittedWeight[] = FIT_TERMS.map((term, i) => {
    const f = fit.terms[i]!;
    const defaultNs = weightOf(base, term.sets[0]!);
    const note = f.measured ? undefined : (term.unmeasurable ?? 'the calibration set never moved this counter');
    return {
      term: term.name,
      sets: [...term.sets],
      ns: f.measured ? f.ns : defaultNs,
      sd: f.sd,
      ci95: f.measured ? f.ci95 : [defaultNs, defaultNs],
      defaultNs,
      measured: f.measured,
      ...(note ? { note } : {}),
    };
  });

  const held: HeldOutTrace[] = [];
  const fitted = { model, label: 'calibration' };
  for (const [i, t] of sets.heldOut.entries()) {
    say(`held out ${i + 1}/${sets.heldOut.length}: ${t.source}`);
    const m = await measure(t, repeats);
    const run = (cost?: typeof fitted) =>
      runOps(t.ops, { strategy: cfg.strategy, zeroPage: cfg.zeroPage, cpus: 1, cost, source: t.source }).simulatedMs;
    held.push({ source: t.source, ops: t.ops.length, measuredMs: m.totalNs / 1e6, predictedMs: run(fitted), defaultPredictedMs: run() });
  }
  const pctErr = (p: number, m: number) => (100 * Math.abs(p - m)) / m;
  const sum = (f: (h: HeldOutTrace) => number) => held.reduce((a, h) => a + f(h), 0);

  return {
    kind: COST_PROFILE_KIND,
    schemaVersion: COST_PROFILE_SCHEMA_VERSION,
    host: { hostname: hostname(), kernel: release(), cpuModel: cpus()[0]?.model.trim() ?? 'unknown', cores: cpus().length },
    date: new Date().toISOString(),
    costModel: model,
    fit: {
      strategy: cfg.strategy,
      zeroPage: cfg.zeroPage,
      repeats,
      bootstrap,
      traces: sets.fit.map((t) => t.source),
      rows: fit.rows,
      weights,
      residuals: fit.residuals,
      loadPerCore,
      excluded: [
        ...(lazyfreeOps ? [{ ops: lazyfreeOps, reason: LAZYFREE_REASON }] : []),
        ...(fit.trimmed
          ? [{ ops: fit.trimmed, reason: "interference: measured above 3x the first fit's prediction + 20 us (preempted by other work)" }]
          : []),
      ],
    },
    heldOut: {
      traces: held,
      medianAbsErrPct: median(held.map((h) => pctErr(h.predictedMs, h.measuredMs))),
      defaultMedianAbsErrPct: median(held.map((h) => pctErr(h.defaultPredictedMs, h.measuredMs))),
      totalRatio: sum((h) => h.predictedMs) / sum((h) => h.measuredMs),
      defaultTotalRatio: sum((h) => h.defaultPredictedMs) / sum((h) => h.measuredMs),
    },
  };
}

/** The profile as a human-readable report: weights next to the defaults, residuals, held-out error. */
export function formatCalibration(p: CostProfile): string {
  const ns = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
  const lines = [
    `ptreclaim calibrate: ${p.host.hostname}, Linux ${p.host.kernel}, ${p.host.cpuModel} x ${p.host.cores}, ${p.date}`,
    `model: ${p.fit.strategy}, zeroPage ${String(p.fit.zeroPage)}, 1 CPU; ${p.fit.traces.length} traces fitted, ${p.fit.rows} operations, median of ${p.fit.repeats} replays each`,
    ...(p.fit.excluded ?? []).map((e) => `not fitted: ${e.ops} operations (${e.reason})`),
    p.fit.loadPerCore > 0.5
      ? `note: the host was busy (load ${p.fit.loadPerCore.toFixed(2)} per core): times include interference`
      : `host load ${p.fit.loadPerCore.toFixed(2)} per core`,
    '',
    `${'weight (ns)'.padEnd(22)}${'default'.padStart(9)}${'fitted'.padStart(11)}${'± sd'.padStart(10)}   95% CI (bootstrap, ${p.fit.bootstrap})`,
  ];
  for (const w of p.fit.weights) {
    const name = `${w.term}${w.sets.length > 1 ? ` (${w.sets.join('+')})` : ''}`;
    if (!w.measured) {
      lines.push(
        `${name.padEnd(22)}${ns(w.defaultNs).padStart(9)}${'(default)'.padStart(11)}${''.padStart(10)}   not measured: ${String(w.note)}`,
      );
      continue;
    }
    lines.push(
      `${name.padEnd(22)}${ns(w.defaultNs).padStart(9)}${ns(w.ns).padStart(11)}${('±' + ns(w.sd)).padStart(10)}   [${ns(w.ci95[0])}, ${ns(w.ci95[1])}]`,
    );
  }
  const r = p.fit.residuals;
  lines.push('', `residuals per operation: rms ${ns(r.rmsNs)} ns, median |residual| ${ns(r.medianAbsNs)} ns, R² ${r.r2.toFixed(4)}`);
  for (const [k, v] of Object.entries(r.byKind))
    lines.push(
      `  ${k.padEnd(8)} ${String(v.ops).padStart(6)} ops: median |residual| ${ns(v.medianNs)} ns, mean residual ${ns(v.meanResidualNs)} ns`,
    );
  lines.push('', 'held-out traces (not fitted on): oracle time vs simulated time');
  lines.push(
    `  ${'trace'.padEnd(44)}${'ops'.padStart(6)}${'oracle ms'.padStart(11)}${'fitted ms'.padStart(11)}${'default ms'.padStart(12)}`,
  );
  for (const h of p.heldOut.traces) {
    const src = h.source.length > 43 ? '…' + h.source.slice(-42) : h.source;
    lines.push(
      `  ${src.padEnd(44)}${String(h.ops).padStart(6)}${h.measuredMs.toFixed(3).padStart(11)}${h.predictedMs.toFixed(3).padStart(11)}${h.defaultPredictedMs.toFixed(3).padStart(12)}`,
    );
  }
  const h = p.heldOut;
  lines.push(
    `  median |error|: fitted ${h.medianAbsErrPct.toFixed(1)}%, built-in default ${h.defaultMedianAbsErrPct.toFixed(1)}%; total predicted / measured: fitted ${h.totalRatio.toFixed(3)}, default ${h.defaultTotalRatio.toFixed(3)}`,
  );
  return lines.join('\n');
}
