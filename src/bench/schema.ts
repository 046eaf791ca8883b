/**
 * JSON schema of results files (schemaVersion 1) and the one reader every command uses:
 * a malformed or incompatible file is a UsageError that names the file and the field.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Ajv as AjvClass, ValidateFunction } from 'ajv';
import { describeReadFailure, UsageError } from '../errors.js';
import { BENCH_KIND, BENCH_SCHEMA_VERSION, type BenchResults } from './types.js';

const num = { type: 'number' } as const;
const str = { type: 'string' } as const;
const numMap = { type: 'object', additionalProperties: num } as const;

export const BENCH_JSON_SCHEMA = {
  $id: 'https://ptreclaim/bench-results-v1.json',
  type: 'object',
  required: ['kind', 'schemaVersion', 'partial', 'context', 'matrixSize', 'cells'],
  properties: {
    kind: { const: BENCH_KIND },
    schemaVersion: { const: BENCH_SCHEMA_VERSION },
    partial: { type: 'boolean' },
    partialReason: str,
    matrixSize: { type: 'integer', minimum: 0 },
    context: {
      type: 'object',
      required: ['ptreclaimVersion', 'gitCommit', 'node', 'cpuModel', 'cores', 'wasmSha256', 'date', 'options'],
      properties: {
        ptreclaimVersion: str,
        gitCommit: { type: ['string', 'null'] },
        node: str,
        platform: str,
        cpuModel: str,
        cores: { type: 'integer' },
        wasmSha256: str,
        date: str,
        options: {
          type: 'object',
          required: ['suites', 'strategies', 'timeMs', 'iterations', 'seed'],
          properties: {
            suites: { type: 'array', items: str },
            strategies: { type: 'array', items: str },
            timeMs: num,
            iterations: num,
            seed: num,
          },
        },
      },
    },
    cells: {
      type: 'array',
      items: {
        type: 'object',
        required: [
          'id',
          'index',
          'suite',
          'workload',
          'variant',
          'description',
          'strategy',
          'ops',
          'latency',
          'samples',
          'throughput',
          'memory',
          'counters',
          'timeline',
        ],
        properties: {
          id: str,
          index: { type: 'integer', minimum: 0 },
          suite: str,
          workload: str,
          variant: str,
          description: str,
          strategy: str,
          ops: num,
          latency: { type: 'object', required: ['mean', 'median', 'p99', 'min', 'max', 'rme', 'samples'], additionalProperties: num },
          // Latencies of one workload run in ms: 1 ns to 11.6 days. Zero, negative or absurd
          // samples are not measurements (they gave NaN% / +Infinity% in compare).
          samples: { type: 'array', items: { type: 'number', minimum: 1e-6, maximum: 1e9 }, minItems: 1 },
          throughput: { type: 'object', required: ['opsPerSec', 'zapGiBPerSec', 'entriesPerSec'], additionalProperties: num },
          memory: {
            type: 'object',
            required: [
              'vmPteFinalKb',
              'vmPtePeakKb',
              'pgtableFinalKb',
              'pgtablePeakKb',
              'rcuPendingPeakKb',
              'wasmMemoryBytes',
              'jsHeapUsedBytes',
            ],
            additionalProperties: num,
          },
          counters: numMap,
          checkpoints: { type: 'object', additionalProperties: numMap },
          timeline: {
            type: 'array',
            items: { type: 'object', required: ['op', 'vmPteKb', 'pgtableKb', 'rssKb'], additionalProperties: num },
          },
        },
      },
    },
    // The paths comparison (src/bench/types.ts PathsComparison), when the paths suite ran.
    paths: {
      type: 'array',
      items: {
        type: 'object',
        required: ['strategy', 'reclaimsPerSample', 'samples', 'variants', 'ratios'],
        properties: {
          strategy: str,
          reclaimsPerSample: num,
          samples: num,
          variants: {
            type: 'array',
            items: {
              type: 'object',
              required: ['variant', 'wallNs', 'samplesNs', 'fixedNsPerCall', 'perTable'],
              properties: {
                variant: { enum: ['fast', 'slow', 'contended'] },
                wallNs: num,
                samplesNs: { type: 'array', items: num, minItems: 1 },
                fixedNsPerCall: num,
                perTable: numMap,
              },
            },
          },
          ratios: {
            type: 'array',
            items: {
              type: 'object',
              required: ['of', 'to', 'ratio', 'ci', 'p'],
              properties: { of: str, to: str, ratio: num, ci: numMap, p: num },
            },
          },
        },
      },
    },
  },
} as const;

// ajv is loaded and the schema compiled on first use: commands that read no results file
// do not pay for them at start-up.
let compiled: ValidateFunction | undefined;
function validator(): ValidateFunction {
  if (!compiled) {
    const { Ajv } = createRequire(import.meta.url)('ajv') as { Ajv: typeof AjvClass };
    compiled = new Ajv({ allErrors: false, strict: false }).compile(BENCH_JSON_SCHEMA);
  }
  return compiled;
}

/** Validate parsed JSON as a results file; `where` names it in errors. */
export function validateResults(data: unknown, where: string): BenchResults {
  if (
    data &&
    typeof data === 'object' &&
    'schemaVersion' in data &&
    data.schemaVersion !== BENCH_SCHEMA_VERSION &&
    (data as { kind?: unknown }).kind === BENCH_KIND
  ) {
    throw new UsageError(
      `${where}: results schemaVersion ${String(data.schemaVersion)} is not supported (this ptreclaim reads version ${BENCH_SCHEMA_VERSION}); re-run \`ptreclaim bench\` with this version`,
    );
  }
  const validateFn = validator();
  if (!validateFn(data)) {
    const e = validateFn.errors?.[0];
    const at = e?.instancePath ? e.instancePath.replace(/^\//, '').replaceAll('/', '.') : '(top level)';
    const hint = (data as { kind?: unknown } | null)?.kind !== BENCH_KIND ? ' (is it a `ptreclaim bench --json` file?)' : '';
    throw new UsageError(
      `${where}: not a valid ptreclaim results file: ${at} ${e?.message ?? 'is invalid'}${valueAt(data, e?.instancePath)}${cellOf(data, e?.instancePath)}${hint}`,
    );
  }
  const results = data as BenchResults;
  const seen = new Map<string, number>();
  results.cells.forEach((c, i) => {
    const first = seen.get(c.id);
    if (first !== undefined)
      throw new UsageError(
        `${where}: not a valid ptreclaim results file: cells.${first} and cells.${i} have the same id "${c.id}"; cells are matched by id, so each may appear once`,
      );
    seen.set(c.id, i);
  });
  return results;
}

/** ", not V" when the offending value is a number or a short string. */
function valueAt(data: unknown, path: string | undefined): string {
  let v: unknown = data;
  for (const k of (path ?? '').split('/').slice(1)) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  if (typeof v === 'number') return `, not ${v}`;
  if (typeof v === 'string' && v.length <= 40) return `, not ${JSON.stringify(v)}`;
  return '';
}

/** " (cell ID)" when the schema error is inside a cell that has a readable id. */
function cellOf(data: unknown, path: string | undefined): string {
  const m = /^\/cells\/(\d+)(?:\/|$)/.exec(path ?? '');
  const id = m ? (data as { cells: { id?: unknown }[] }).cells[Number(m[1])]?.id : undefined;
  return typeof id === 'string' ? ` (cell ${id.length > 80 ? id.slice(0, 80) + '...' : id})` : '';
}

export function readResults(path: string): BenchResults {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read results file ${path}: ${describeReadFailure(e)}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${path}: not JSON: ${(e as Error).message}`);
  }
  return validateResults(data, path);
}
