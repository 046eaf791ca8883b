/**
 * Cost profiles: the cost model's weights fitted to one host's kernel by `ptreclaim
 * calibrate`, written as JSON and read back by `run`, `bench` and `report`
 * (`--cost-profile FILE`). Without a profile the built-in default of src/mm/cost.ts holds;
 * every output that shows simulated time says which one it used (costModelLabel).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ValidateFunction } from 'ajv';
import { describeReadFailure, InputError } from '../errors.js';
import { STAT_NAMES, type StatName } from '../core/types.js';
import { type CostModel, DEFAULT_COST_MODEL } from './cost.js';

export const COST_PROFILE_KIND = 'ptreclaim-cost-profile';
export const COST_PROFILE_SCHEMA_VERSION = 1;

/**
 * The built-in weights. Profile code reads the default only through here, so the default's
 * source (today a literal in cost.ts) can change without touching profiles.
 */
export function builtinCostModel(): CostModel {
  return DEFAULT_COST_MODEL;
}

/** One fitted weight: the value, its uncertainty, and the default it replaces. */
export interface FittedWeight {
  /** Fit term: a counter name, or "syscall", or a group such as "tableAlloc". */
  term: string;
  /** The counters (or "syscallNs") this term sets. */
  sets: string[];
  ns: number;
  /** Bootstrap standard deviation of the weight. */
  sd: number;
  /** Bootstrap 95% percentile interval. */
  ci95: [number, number];
  defaultNs: number;
  /** false: the calibration set never moved this counter; the default was kept. */
  measured: boolean;
  note?: string;
}

export interface HeldOutTrace {
  source: string;
  ops: number;
  /** Oracle: time inside the ops, each op's median over the repeats, summed; ms. */
  measuredMs: number;
  /** Simulated time with the fitted profile and with the built-in default, ms. */
  predictedMs: number;
  defaultPredictedMs: number;
}

export interface CostProfile {
  kind: typeof COST_PROFILE_KIND;
  schemaVersion: number;
  host: { hostname: string; kernel: string; cpuModel: string; cores: number };
  date: string;
  /** The weights to use: a complete cost model (unmeasured counters keep the default). */
  costModel: CostModel;
  fit: {
    strategy: string;
    zeroPage: boolean;
    repeats: number;
    bootstrap: number;
    traces: string[];
    rows: number;
    weights: FittedWeight[];
    residuals: {
      rmsNs: number;
      medianAbsNs: number;
      r2: number;
      byKind: Record<string, { ops: number; medianNs: number; meanResidualNs: number }>;
    };
    /** Operations of the calibration traces left out of the regression, and why. */
    excluded?: { ops: number; reason: string }[];
    /** Whether the host ran other work during the calibration (load average per core). */
    loadPerCore: number;
  };
  heldOut: {
    traces: HeldOutTrace[];
    /** Median over traces of |predicted - measured| / measured, percent. */
    medianAbsErrPct: number;
    defaultMedianAbsErrPct: number;
    /** Sum over traces of predicted / sum of measured. */
    totalRatio: number;
    defaultTotalRatio: number;
  };
}

/** A loaded cost model and how to name it in outputs. */
export interface CostChoice {
  model: CostModel;
  /** "built-in default" or "profile FILE (host, date)". */
  label: string;
  profilePath?: string;
}

export const DEFAULT_COST_CHOICE: CostChoice = { model: builtinCostModel(), label: 'built-in default' };

const num = { type: 'number' } as const;
const nonNeg = { type: 'number', minimum: 0 } as const;
const str = { type: 'string' } as const;

export const COST_PROFILE_JSON_SCHEMA = {
  $id: 'https://ptreclaim/cost-profile-v1.json',
  type: 'object',
  required: ['kind', 'schemaVersion', 'host', 'date', 'costModel'],
  properties: {
    kind: { const: COST_PROFILE_KIND },
    schemaVersion: { const: COST_PROFILE_SCHEMA_VERSION },
    host: { type: 'object', required: ['hostname', 'kernel'], properties: { hostname: str, kernel: str, cpuModel: str, cores: num } },
    date: str,
    costModel: {
      type: 'object',
      required: ['syscallNs', 'perEvent'],
      additionalProperties: false,
      properties: {
        syscallNs: nonNeg,
        perEvent: { type: 'object', propertyNames: { enum: [...STAT_NAMES] }, additionalProperties: nonNeg },
      },
    },
    fit: { type: 'object' },
    heldOut: { type: 'object' },
  },
} as const;

// Compiled, and ajv loaded, on first use: only runs given a --cost-profile (and calibrate) read one.
let validateFn: ValidateFunction | undefined;

/** Validate parsed JSON as a cost profile; `where` names it in errors. */
export function validateCostProfile(data: unknown, where: string): CostProfile {
  const o = data as { kind?: unknown; schemaVersion?: unknown } | null;
  if (o && typeof o === 'object' && o.kind === COST_PROFILE_KIND && o.schemaVersion !== COST_PROFILE_SCHEMA_VERSION) {
    throw new InputError(
      `${where}: cost profile schemaVersion ${String(o.schemaVersion)} is not supported (this ptreclaim reads version ${COST_PROFILE_SCHEMA_VERSION}); re-run \`ptreclaim calibrate\``,
    );
  }
  if (!validateFn) {
    const { Ajv } = createRequire(import.meta.url)('ajv') as typeof import('ajv');
    validateFn = new Ajv({ allErrors: false, strict: false }).compile(COST_PROFILE_JSON_SCHEMA);
  }
  if (!validateFn(data)) {
    const e = validateFn.errors?.[0];
    const at = e?.instancePath ? e.instancePath.replace(/^\//, '').replaceAll('/', '.') : '(top level)';
    const badName = (e as { propertyName?: string } | undefined)?.propertyName;
    const allowed = badName !== undefined ? ` ("${badName}" is not a counter; counters: ${STAT_NAMES.join(', ')})` : '';
    const hint = o?.kind !== COST_PROFILE_KIND ? ' (is it a `ptreclaim calibrate -o` file?)' : '';
    const what = badName !== undefined ? 'has an unknown key' : (e?.message ?? 'is invalid');
    throw new InputError(`${where}: not a valid cost profile: ${at} ${what}${allowed}${hint}`);
  }
  return data as CostProfile;
}

export function readCostProfile(path: string): CostProfile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new InputError(`cannot read cost profile ${path}: ${describeReadFailure(e)}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${path}: not JSON: ${(e as Error).message}`);
  }
  return validateCostProfile(data, path);
}

export function profileLabel(profile: CostProfile, path: string): string {
  return `profile ${path} (${profile.host.hostname}, ${profile.date.slice(0, 10)})`;
}

/** `--cost-profile FILE` or none: the model to run with, and its label for outputs. */
export function loadCostChoice(path: string | undefined): CostChoice {
  if (path === undefined) return DEFAULT_COST_CHOICE;
  const profile = readCostProfile(path);
  return { model: completeCostModel(profile.costModel), label: profileLabel(profile, path), profilePath: path };
}

/** A profile's model over the defaults: counters it does not name keep the built-in weight. */
export function completeCostModel(m: CostModel): CostModel {
  const base = builtinCostModel();
  return { syscallNs: m.syscallNs, perEvent: { ...base.perEvent, ...m.perEvent } };
}

/** The weights a cost model gives every counter that has one (for tables of defaults vs fitted). */
export function weightOf(m: CostModel, name: StatName | 'syscallNs'): number {
  return name === 'syscallNs' ? m.syscallNs : (m.perEvent[name] ?? 0);
}

export function costModelLine(choice: CostChoice): string {
  return `cost model: ${choice.label}`;
}
