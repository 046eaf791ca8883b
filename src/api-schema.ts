/**
 * The library's input schemas: one per public entry point, checked at its top, so nonsense
 * from a caller (a string address, advice "bogus", `core: "rust"`) is a UsageError naming the
 * function, the field and what was expected, as the CLI's option errors are, instead of being
 * ignored, running as something else, or failing later with an unhelpful TypeError.
 */
import { PATH_MODES, TABLE_FREE_MODES } from './generated/vocab.js';
import { createRequire } from 'node:module';
import type { Ajv as AjvClass, ErrorObject, ValidateFunction } from 'ajv';
import { ARENA_LIMIT_MAX_BYTES, ARENA_LIMIT_MIN_BYTES, CPUS_MAX, SEED_MAX } from './args.js';
import { UsageError } from './errors.js';
import { TASK_SIZE } from './core/types.js';
import { STRATEGY_NAMES } from './strategies.js';
import { ADVICES_V2, PROTS, type Op } from './trace/ops.js';
import { FOOTPRINTS, IMPLS, KERNELS } from './kernels/types.js';

/**
 * ajv is loaded (~35 ms) with the first schema compiled, not at import: a command whose
 * inputs come already checked (`run` from the CLI passes resolved options) never loads it.
 */
let ajv: AjvClass | undefined;
function compile(schema: object): ValidateFunction {
  if (!ajv) {
    const { Ajv } = createRequire(import.meta.url)('ajv') as typeof import('ajv');
    ajv = new Ajv({ allErrors: false, strict: false });
  }
  return ajv.compile(schema);
}

const bool = { type: 'boolean' } as const;
const str = { type: 'string' } as const;
const probability = { type: 'number', minimum: 0, maximum: 1 } as const;
const positive = { type: 'number', exclusiveMinimum: 0 } as const;
/** Byte counts and addresses: exact in a JS number, at most 2^52 as in traces. */
const bytes = { type: 'integer', minimum: 0, maximum: 2 ** 52 } as const;

export const OP_SCHEMA = {
  type: 'object',
  required: ['kind', 'addr', 'len'],
  properties: {
    kind: { enum: ['mmap', 'munmap', 'touch', 'madvise', 'mprotect', 'mremap'] },
    addr: bytes,
    len: bytes,
    access: { enum: ['write', 'read'] },
    advice: { enum: [...ADVICES_V2] },
    // trace v2 (issue 12): mmap options, mprotect's protection, mremap's new length and address
    prot: { enum: [...PROTS] },
    shared: { const: true },
    mapFile: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,128}$', not: { enum: ['.', '..'] } },
    offset: { type: 'integer', minimum: 0, maximum: 2 ** 52, multipleOf: 4096 },
    newLen: bytes,
    newAddr: bytes,
    file: str,
    line: { type: 'integer', minimum: 0 },
  },
  allOf: [
    { if: { properties: { kind: { const: 'touch' } } }, then: { required: ['access'] } },
    { if: { properties: { kind: { const: 'madvise' } } }, then: { required: ['advice'] } },
    { if: { properties: { kind: { const: 'mprotect' } } }, then: { required: ['prot'] } },
    { if: { properties: { kind: { const: 'mremap' } } }, then: { required: ['newLen'] } },
    { if: { required: ['mapFile'] }, then: { required: ['offset'] } },
  ],
} as const;

export const RUN_OPTIONS_SCHEMA = {
  type: 'object',
  properties: {
    strategy: { enum: [...STRATEGY_NAMES] },
    path: { enum: Object.keys(PATH_MODES) },
    core: { enum: ['wasm', 'ts'] },
    wasm: { enum: ['release', 'debug'] },
    arenaLimitBytes: { type: 'integer', minimum: ARENA_LIMIT_MIN_BYTES, maximum: ARENA_LIMIT_MAX_BYTES },
    source: str,
    maxErrors: { type: 'integer', minimum: 0 },
    timeline: bool,
    zeroPage: bool,
    thp: { enum: ['always', 'madvise', 'never'] },
    thpZeroPage: bool,
    shmemThp: { enum: ['always', 'within_size', 'advise', 'never', 'deny', 'force'] },
    faultAroundBytes: { type: 'integer', minimum: 0, maximum: 2 ** 21 },
    readaheadBytes: { type: 'integer', minimum: 0, maximum: 2 ** 40 },
    mmapMinAddr: { type: 'integer', minimum: 0, maximum: TASK_SIZE },
    check: bool,
    trylockFail: probability,
    resched: probability,
    nowaitFail: probability,
    seed: { type: 'integer', minimum: 0, maximum: SEED_MAX },
    cpus: { type: 'integer', minimum: 1, maximum: CPUS_MAX },
    tableFree: { enum: Object.keys(TABLE_FREE_MODES) },
    tickMs: positive,
    gracePeriodMs: positive,
    scanPeriodMs: positive,
    scanBytes: { type: 'integer', minimum: 1, maximum: 2 ** 52 },
  },
} as const;

export const COMPARE_OPTIONS_SCHEMA = {
  type: 'object',
  required: ['alpha', 'threshold'],
  properties: { alpha: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 }, threshold: { type: 'number', minimum: 0 } },
} as const;

export const STRACE_OPTIONS_SCHEMA = {
  type: 'object',
  properties: {
    file: str,
    touch: { enum: ['dontneed-ranges', 'all-mapped', 'none'] },
    rebase: bytes,
    exec: { anyOf: [{ const: 'last' }, { type: 'integer', minimum: 1 }] },
    format: { enum: [1, 2] },
  },
} as const;

export const MERGE_INPUTS_SCHEMA = {
  type: 'array',
  items: { type: 'object', required: ['path', 'results'], properties: { path: str, results: { type: 'object' } } },
} as const;

export const BENCH_OPTIONS_SCHEMA = {
  type: 'object',
  required: ['suites', 'strategies', 'timeMs', 'iterations', 'warmupIterations', 'seed', 'scale', 'heapBytes', 'churn', 'timelinePoints'],
  properties: {
    suites: { type: 'array', items: str, minItems: 1 },
    strategies: { type: 'array', items: { enum: [...STRATEGY_NAMES] }, minItems: 1 },
    timeMs: { type: 'number', exclusiveMinimum: 0 },
    iterations: { type: 'integer', minimum: 1 },
    warmupIterations: { type: 'integer', minimum: 0 },
    seed: { type: 'integer', minimum: 0, maximum: SEED_MAX },
    scale: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
    heapBytes: { type: 'integer', minimum: 4 * 2 ** 20, multipleOf: 4096 },
    churn: { type: 'integer', minimum: 1 },
    timelinePoints: { type: 'integer', minimum: 2 },
    shard: {
      type: 'object',
      required: ['index', 'count'],
      properties: { index: { type: 'integer', minimum: 1 }, count: { type: 'integer', minimum: 1 } },
    },
    cpuProfDir: str,
    heapProfDir: str,
    wasm: { const: 'release' },
  },
} as const;

export const KERNEL_OPTIONS_SCHEMA = {
  type: 'object',
  properties: {
    impls: { type: 'array', items: { enum: [...IMPLS] }, minItems: 1 },
    kernels: { type: 'array', items: { enum: [...KERNELS] }, minItems: 1 },
    footprints: { type: 'array', items: { enum: [...FOOTPRINTS] }, minItems: 1 },
    samples: { type: 'integer', minimum: 1, maximum: 1000 },
    minNs: { type: 'number', exclusiveMinimum: 0 },
    warmupNs: { type: 'number', minimum: 0 },
    tables: {
      type: 'object',
      properties: { 'in-cache': { type: 'integer', minimum: 1 }, 'out-of-cache': { type: 'integer', minimum: 1 } },
    },
    cpu: { anyOf: [{ type: 'null' }, { type: 'integer', minimum: 0 }] },
  },
} as const;

export const CORPUS_OPTIONS_SCHEMA = {
  type: 'object',
  properties: { seed: { type: 'integer', minimum: 0, maximum: SEED_MAX }, count: { type: 'integer', minimum: 0, maximum: 100_000 } },
} as const;

export const VALIDATE_TARGETS_SCHEMA = {
  type: 'array',
  items: { type: 'object', required: ['source', 'ops'], properties: { source: str, ops: { type: 'array', items: OP_SCHEMA } } },
} as const;

/**
 * A validator compiled on its first call: compiling every schema at import cost ~80 ms of
 * start-up, and a command checks one or two of them.
 */
function lazy(schema: object): () => ValidateFunction {
  let compiled: ValidateFunction | undefined;
  return () => (compiled ??= compile(schema));
}

const validateOp = lazy(OP_SCHEMA);
const validateKernelOptions = lazy(KERNEL_OPTIONS_SCHEMA);
const validateCorpusOptions = lazy(CORPUS_OPTIONS_SCHEMA);
const validateTargetsArg = lazy(VALIDATE_TARGETS_SCHEMA);
const validateBenchOptions = lazy(BENCH_OPTIONS_SCHEMA);
/** A whole array in one call: ajv's own loop, several times cheaper than a call per op (1 M ops: ~0.1 s). */
const validateOps = lazy({ type: 'array', items: OP_SCHEMA });
const validateRunOptions = lazy(RUN_OPTIONS_SCHEMA);
const validateCompareOptions = lazy(COMPARE_OPTIONS_SCHEMA);
const validateStraceOptions = lazy(STRACE_OPTIONS_SCHEMA);
const validateMergeInputs = lazy(MERGE_INPUTS_SCHEMA);

const shownWhole = (v: unknown): string => {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'undefined':
      return 'undefined';
    case 'object':
      return Array.isArray(v) ? 'an array' : v === null ? 'null' : 'an object';
    case 'number':
    case 'boolean':
    case 'bigint':
    case 'symbol':
    case 'function':
      return String(v);
  }
};

const shown = (v: unknown): string => {
  const s = shownWhole(v);
  return s.length > 60 ? `${s.slice(0, 60)}...` : s;
};

/** "fn: where.field must be ..., not X" from ajv's first error. */
function describe(fn: string, where: string, data: unknown, e: ErrorObject | undefined): string {
  const path = (e?.instancePath ?? '').split('/').slice(1);
  let value: unknown = data;
  for (const k of path) value = (value as Record<string, unknown> | undefined)?.[k];
  const at = [where, ...path.map((k) => (/^\d+$/.test(k) ? `[${k}]` : `.${k}`))].join('');
  const p = (e?.params ?? {}) as Record<string, unknown>;
  switch (e?.keyword) {
    case 'enum':
      return `${fn}: ${at} must be one of ${(p.allowedValues as unknown[]).map((x) => JSON.stringify(x)).join(', ')}, not ${shown(value)}`;
    case 'required':
      return `${fn}: ${at}.${String(p.missingProperty)} is required`;
    case 'type':
      return `${fn}: ${at} must be ${/^[aeiou]/.test(String(p.type)) ? 'an' : 'a'} ${String(p.type)}, not ${typeof value === 'number' ? value : `${typeof value === 'string' ? 'the string ' : ''}${shown(value)}`}`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `${fn}: ${at} must be ${String(p.comparison)} ${String(p.limit)}, not ${shown(value)}`;
    default:
      return `${fn}: ${at} ${e?.message ?? 'is invalid'}${value !== undefined ? `, not ${shown(value)}` : ''}`;
  }
}

function check(validator: () => ValidateFunction, fn: string, where: string, data: unknown): void {
  const validate = validator();
  if (!validate(data))
    throw new UsageError(describe(fn, where, data, validate.errors?.find((e) => e.keyword !== 'if') ?? validate.errors?.[0]));
}

/** Arrays already checked: a benchmark re-runs the same array many times and pays once. */
const checkedArrays = new WeakSet<readonly Op[]>();

/** runTraceFile(path, opts) and the like: the run options alone. */
export function checkRunOptions(fn: string, opts: unknown): void {
  check(validateRunOptions, fn, 'options', opts);
}

/** runOps(ops, opts): options now; ops now if an array, else one by one as they are consumed. */
export function checkRunArgs(fn: string, ops: unknown, opts: unknown): Iterable<Op> {
  if (opts !== undefined) checkRunOptions(fn, opts);
  if (Array.isArray(ops)) {
    if (!checkedArrays.has(ops)) {
      check(validateOps, fn, 'ops', ops);
      checkedArrays.add(ops);
    }
    return ops as Op[];
  }
  if (ops === null || typeof ops !== 'object' || typeof (ops as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== 'function') {
    throw new UsageError(
      `${fn}: ops must be an array (or iterable) of operations such as { kind: 'mmap', addr: 0x7f0000000000, len: 0x200000 }, not ${typeof ops === 'string' ? 'a string' : shown(ops)}`,
    );
  }
  return (function* () {
    let i = 0;
    for (const op of ops as Iterable<unknown>) {
      check(validateOp, fn, `ops[${i++}]`, op);
      yield op as Op;
    }
  })();
}

export function checkCompareOptions(opts: unknown): void {
  check(validateCompareOptions, 'compareResults', 'options', opts);
}

export function checkStraceArgs(text: unknown, opts: unknown): void {
  if (typeof text !== 'string') throw new UsageError(`importStrace: text must be the strace log as a string, not ${shown(text)}`);
  if (opts !== undefined) check(validateStraceOptions, 'importStrace', 'options', opts);
}

export function checkMergeInputs(inputs: unknown): void {
  check(validateMergeInputs, 'mergeResults', 'inputs', inputs);
}

/** parseTrace(text, file): the parser itself reports syntax; this only checks the argument types. */
export function checkParseTraceArgs(text: unknown, file: unknown): void {
  if (typeof text !== 'string')
    throw new UsageError(
      `parseTrace: text must be the trace as a string, not ${typeof text === 'object' ? shown(text) : `${typeof text} ${shown(text)}`}`,
    );
  if (file !== undefined && typeof file !== 'string')
    throw new UsageError(`parseTrace: file must be a string naming the trace, not ${shown(file)}`);
}

export function checkBenchOptions(o: unknown): void {
  check(validateBenchOptions, 'runBench', 'options', o);
  const shard = (o as { shard?: { index: number; count: number } }).shard;
  if (shard && shard.index > shard.count)
    throw new UsageError(`runBench: options.shard ${shard.index}/${shard.count}: the index must be at most the count`);
}

export function checkKernelOptions(o: unknown): void {
  if (o !== undefined) check(validateKernelOptions, 'runKernels', 'options', o);
}

export function checkCorpusOptions(o: unknown): void {
  if (o !== undefined) check(validateCorpusOptions, 'generateCorpus', 'options', o);
}

/** validateTargets(targets): every target's ops, once per array as runOps does. */
export function checkValidateTargets(targets: unknown): void {
  check(validateTargetsArg, 'validateTargets', 'targets', targets);
  for (const t of targets as { ops: readonly Op[] }[]) checkedArrays.add(t.ops);
}

/** runOracle(ops): the live replay takes only an array of valid ops. */
export function checkOracleOps(ops: unknown): void {
  if (!Array.isArray(ops))
    throw new UsageError(`runOracle: ops must be an array of operations, not ${typeof ops === 'string' ? 'a string' : shown(ops)}`);
  if (!checkedArrays.has(ops)) {
    check(validateOps, 'runOracle', 'ops', ops);
    checkedArrays.add(ops);
  }
}
