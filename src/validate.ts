/**
 * `ptreclaim validate`: run a trace through the model configured like this host and through
 * the live kernel, compare VmPTE, RssAnon, RssFile, RssShmem and the errno of every failed call
 * exactly, and on a difference find the first operation after which the two disagree.
 *
 * Bisecting: the kernel run is repeated with a /proc/self/status read after every op (the
 * helper's --per-op mode), the model is stepped op by op through Mm + applyOp, and the first
 * index whose (VmPTE, RssAnon, RssFile, RssShmem, errno) differ is reported with both states
 * before and after.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { PAGE_SIZE } from './core/types.js';
import { CORPUS_V2_CORNERS_DIR, CORPUS_V2_RANDOM_DIR } from './corpus/generate-v2.js';
import { checkValidateTargets } from './api-schema.js';
import { describeReadFailure, InputError, PtreclaimError, UnmodelledTraceError, UsageError } from './errors.js';
import { Mm } from './mm/mm.js';
import { hostFacts, describeHost, type HostFacts, type ThpSettings } from './oracle/host.js';
import { hostFaultAroundBytes, hostReadaheadBytes } from './oracle/filemap-host.js';
import { TraceRefusedError, runLiveTrace } from './oracle/live.js';
import { checkReplayable, sharedTableRanges } from './oracle/oracle.js';
import { packageRoot } from './paths.js';
import { applyOp, makeCore, resolveRunOptions, runOps, type ResolvedRunOptions } from './run.js';
import { DEFAULTS, SHMEM_THP_MODES, THP_MODES, type ShmemThpMode, type ThpMode } from './options.js';
import { getStrategy, type StrategyName } from './strategies.js';
import { v2Feature, type Op } from './trace/ops.js';
import { formatTrace, readTraceFile } from './trace/parse.js';
import { WORKLOADS, getWorkload } from './workloads/index.js';

/** How the model is configured to stand for this host, and why. */
export interface ModelChoice {
  strategy: StrategyName;
  zeroPage: boolean;
  /** THP as the host runs it (left out: the run defaults). */
  thp?: ThpMode;
  thpZeroPage?: boolean;
  /** PMD-sized shmem THP as the host runs it (shmem_enabled, or hugepages-2048kB's own). */
  shmemThp?: ShmemThpMode;
  /** fault_around_bytes and the temporary directory's read_ahead_kb (file mappings follow them). */
  faultAroundBytes?: number;
  readaheadBytes?: number;
  /** The lowest address the replaying helper may map at (left out: the run default). */
  mmapMinAddr?: number;
  reasons: string[];
}

export interface ValidateTarget {
  source: string;
  ops: readonly Op[];
}

export interface ModelState {
  vmPteKb: number;
  rssAnonKb: number;
  rssFileKb: number;
  rssShmemKb: number;
  tables: { pte: number; pmd: number; pud: number };
  errno?: string;
}

export interface KernelState {
  vmPteKb: number;
  rssAnonKb: number;
  rssFileKb: number;
  rssShmemKb: number;
  errno?: string;
}

export interface Divergence {
  index: number;
  file?: string;
  line?: number;
  /** The operation in trace syntax. */
  text: string;
  before: { model: ModelState; kernel: KernelState };
  after: { model: ModelState; kernel: KernelState };
}

export interface ValidateOutcome {
  source: string;
  agree: boolean;
  model: {
    strategy: string;
    zeroPage: boolean;
    vmPteKb: number;
    rssAnonKb: number;
    rssFileKb: number;
    rssShmemKb: number;
    errors: { index: number; errno: string }[];
    wallMs: number;
    exitClean: boolean;
  };
  kernel: {
    vmPteKb: number;
    rssAnonKb: number;
    rssFileKb: number;
    rssShmemKb: number;
    errors: { index: number; errno: string }[];
    wallMs: number;
  };
  /** What differs at the end, in words; empty when they agree. */
  differences: string[];
  divergence?: Divergence;
  /** Set when the per-op kernel rerun agreed with the model everywhere (a non-reproducible result). */
  bisectNote?: string;
  sharedTables: string[];
}

/** Picks the strategy (`auto`: from the host's PT_RECLAIM probe) and the zero-page behaviour. */
export function modelForHost(host: HostFacts, requested = 'auto'): ModelChoice {
  const reasons: string[] = [];
  let strategy: StrategyName;
  if (requested === 'auto') {
    strategy = host.ptReclaim.enabled ? 'pt-reclaim' : 'none';
    reasons.push(
      `strategy ${strategy}: the host ${host.ptReclaim.enabled ? 'frees' : 'keeps'} PTE tables on MADV_DONTNEED (probe), CONFIG_PT_RECLAIM=${host.ptReclaim.config} (${host.ptReclaim.configSource})`,
    );
  } else {
    strategy = getStrategy(requested).name as StrategyName;
    reasons.push(`strategy ${strategy}: as requested (auto would pick ${host.ptReclaim.enabled ? 'pt-reclaim' : 'none'})`);
  }
  reasons.push(`zeroPage ${String(host.zeroPage)}: ${host.zeroPageReason}`);
  // THP as /sys/kernel/mm/transparent_hugepage says (the run defaults where it cannot be read).
  const t = host.thpSettings as ThpSettings | undefined;
  const enabled = t?.enabled ?? 'unknown';
  const thp = (THP_MODES as readonly string[]).includes(enabled) ? (enabled as ThpMode) : DEFAULTS.thp;
  const thpZeroPage = t?.useZeroPage ?? DEFAULTS.thpZeroPage;
  reasons.push(
    `thp ${thp}, huge zero page ${thpZeroPage ? 'on' : 'off'}: transparent_hugepage/enabled ${enabled}, use_zero_page ${t?.useZeroPage === null || t === undefined ? 'unknown' : String(Number(t.useZeroPage))}`,
  );
  // shmem THP of PMD size: hugepages-2048kB/shmem_enabled unless `inherit`, else shmem_enabled.
  const pmdShmem = t?.shmemEnabledPmd ?? 'unknown';
  const shmemWord = pmdShmem !== 'inherit' && pmdShmem !== 'unknown' ? pmdShmem : (t?.shmemEnabled ?? 'unknown');
  const shmemThp = (SHMEM_THP_MODES as readonly string[]).includes(shmemWord) ? (shmemWord as ShmemThpMode) : DEFAULTS.shmemThp;
  reasons.push(
    `shmemThp ${shmemThp}: transparent_hugepage/shmem_enabled ${t?.shmemEnabled ?? 'unknown'}, hugepages-2048kB/shmem_enabled ${pmdShmem}`,
  );
  const faultAround = hostFaultAroundBytes();
  const readahead = hostReadaheadBytes();
  reasons.push(
    `faultAroundBytes ${faultAround ?? DEFAULTS.faultAroundBytes}: ${faultAround === undefined ? "debugfs not readable, the kernel's default" : "the host's fault_around_bytes"}`,
    `readaheadBytes ${readahead ?? DEFAULTS.readaheadBytes}: ${readahead === undefined ? "the temporary directory's device not found, the kernel's default" : "read_ahead_kb of the temporary directory's device"}`,
  );
  // Read defensively: facts from an older cache or a caller's own object may lack it.
  const minAddr = host.mmapMinAddr as HostFacts['mmapMinAddr'] | undefined;
  if (minAddr) reasons.push(`mmapMinAddr 0x${minAddr.effective.toString(16)}: ${minAddr.reason}`);
  return {
    strategy,
    zeroPage: host.zeroPage,
    thp,
    thpZeroPage,
    shmemThp,
    faultAroundBytes: faultAround ?? DEFAULTS.faultAroundBytes,
    readaheadBytes: readahead ?? DEFAULTS.readaheadBytes,
    mmapMinAddr: minAddr?.effective,
    reasons,
  };
}

/**
 * `--suite corpus`: the trace v1 corpus, then the v2 corpus (seeded random traces, then the
 * hand-written corner traces), each relative to the package root.
 */
export const CORPUS_DIRS: readonly (readonly string[])[] = [['corpus', 'validation'], CORPUS_V2_RANDOM_DIR, CORPUS_V2_CORNERS_DIR];

/** The traces a `--trace`, `--dir` or `--suite` selection names, loaded and parsed. */
export function loadTargets(sel: { trace?: string; dir?: string; suite?: string }): ValidateTarget[] {
  const given = [sel.trace, sel.dir, sel.suite].filter((x) => x !== undefined).length;
  if (given !== 1) throw new UsageError('give exactly one of --trace FILE, --dir DIR or --suite NAME');
  if (sel.trace !== undefined) return [{ source: sel.trace, ops: readTraceFile(sel.trace) }];
  if (sel.dir !== undefined) return tracesInDir(sel.dir);
  const name = sel.suite!;
  if (name === 'corpus') return CORPUS_DIRS.flatMap((d) => tracesInDir(join(packageRoot(), ...d)));
  if (!(name in WORKLOADS)) {
    throw new UsageError(`unknown suite "${name}": expected corpus or a built-in workload (${Object.keys(WORKLOADS).join(', ')})`);
  }
  return [{ source: name, ops: [...getWorkload(name).ops()] }];
}

function tracesInDir(dir: string): ValidateTarget[] {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new InputError(`--dir ${dir} is not a directory`);
    names = readdirSync(dir)
      .filter((f) => f.endsWith('.trace'))
      .sort();
  } catch (e) {
    if (e instanceof PtreclaimError) throw e;
    throw new InputError(`cannot read directory ${dir}: ${describeReadFailure(e)}`);
  }
  if (names.length === 0) throw new InputError(`no *.trace files in ${dir}`);
  return names.map((n) => {
    const path = join(dir, n);
    return { source: path, ops: readTraceFile(path) };
  });
}

const kbPerPage = PAGE_SIZE / 1024;

/** The counters compared exactly, with the names /proc/PID/status gives them. */
const COUNTERS = [
  ['VmPTE', 'vmPteKb'],
  ['RssAnon', 'rssAnonKb'],
  ['RssFile', 'rssFileKb'],
  ['RssShmem', 'rssShmemKb'],
] as const;

/** The model configured like the host: the same resolved options for the whole run and the bisection. */
function modelOptions(choice: ModelChoice, source?: string): ResolvedRunOptions {
  return resolveRunOptions({
    strategy: choice.strategy,
    zeroPage: choice.zeroPage,
    thp: choice.thp,
    thpZeroPage: choice.thpZeroPage,
    shmemThp: choice.shmemThp,
    ...(choice.faultAroundBytes !== undefined ? { faultAroundBytes: choice.faultAroundBytes } : {}),
    ...(choice.readaheadBytes !== undefined ? { readaheadBytes: choice.readaheadBytes } : {}),
    mmapMinAddr: choice.mmapMinAddr,
    core: 'wasm',
    wasm: 'release',
    maxErrors: Number.MAX_SAFE_INTEGER,
    source,
  });
}

/** The end state of one side of a comparison: the four counters (kB) and every failed call. */
export interface EndState {
  vmPteKb: number;
  rssAnonKb: number;
  rssFileKb: number;
  rssShmemKb: number;
  errors: readonly { index: number; errno: string }[];
}

/**
 * What differs between the model's and the kernel's end state, in words (empty when they
 * agree): VmPTE, RssAnon, RssFile, RssShmem exactly, and the failed calls (index and errno).
 */
export function compareEnds(m: EndState, k: EndState): string[] {
  const differences: string[] = [];
  for (const [label, key] of COUNTERS) {
    if (m[key] !== k[key]) differences.push(`${label}: model ${m[key]} kB, kernel ${k[key]} kB`);
  }
  const errText = (es: EndState['errors']) => es.map((e) => `#${e.index} ${e.errno}`).join(', ') || 'none';
  if (errText(m.errors) !== errText(k.errors)) differences.push(`failed calls: model ${errText(m.errors)}; kernel ${errText(k.errors)}`);
  return differences;
}

/** Validates one trace. Throws OracleUnavailableError when the kernel side cannot run. */
export async function validateTrace(
  target: ValidateTarget,
  choice: ModelChoice,
  opts: { force?: boolean; onProgress?: (doneOps: number, totalOps: number) => void } = {},
): Promise<ValidateOutcome> {
  const { ops, source } = target;
  await checkReplayable(ops, { force: opts.force, source });
  // The model runs first: a trace it does not run yet (trace v2) is refused here, before any replay.
  const model = runOps(ops, modelOptions(choice, source));
  const live = await runLiveTrace(ops, { onProgress: opts.onProgress });
  const m = {
    strategy: model.strategy,
    zeroPage: choice.zeroPage,
    vmPteKb: model.vmPteKb,
    rssAnonKb: model.rss.anonPages * kbPerPage,
    rssFileKb: model.rss.filePages * kbPerPage,
    rssShmemKb: model.rss.shmemPages * kbPerPage,
    errors: model.errors.map((e) => ({ index: e.index, errno: e.errno })),
    wallMs: model.wallMs,
    exitClean: model.exit.clean,
  };
  const k = {
    vmPteKb: live.vmPteDeltaKb,
    rssAnonKb: live.rssAnonDeltaKb,
    rssFileKb: live.after.rssFileKb - live.before.rssFileKb,
    rssShmemKb: live.after.rssShmemKb - live.before.rssShmemKb,
    errors: live.errors.map((e) => ({ index: e.index, errno: e.name })),
    wallMs: live.wallNs / 1e6,
  };
  const differences = compareEnds(m, k);
  const outcome: ValidateOutcome = {
    source,
    agree: differences.length === 0,
    model: m,
    kernel: k,
    differences,
    sharedTables: sharedTableRanges(ops, live.helperMappings),
  };
  if (!outcome.agree) {
    const d = await firstDivergence(ops, choice);
    if (d) outcome.divergence = d;
    else outcome.bisectNote = 'the per-op kernel rerun agreed with the model at every op: the kernel result did not reproduce';
  }
  return outcome;
}

/**
 * Replays the trace on the kernel with a status read after every op and steps the model
 * alongside; returns the first op after which VmPTE, RssAnon or the errno differ.
 */
export async function firstDivergence(ops: readonly Op[], choice: ModelChoice): Promise<Divergence | undefined> {
  const live = await runLiveTrace(ops, { perOp: true });
  const kernelErr = new Map(live.errors.map((e) => [e.index, e.name]));
  const opts = modelOptions(choice);
  const mm = new Mm(makeCore(opts), opts);
  const modelState = (errno?: string): ModelState => {
    const s = mm.stats();
    return {
      vmPteKb: (s.NrPte + s.NrPmd + s.NrPud) * kbPerPage,
      rssAnonKb: s.RssAnon * kbPerPage,
      rssFileKb: s.RssFile * kbPerPage,
      rssShmemKb: s.RssShmem * kbPerPage,
      tables: { pte: s.NrPte, pmd: s.NrPmd, pud: s.NrPud },
      ...(errno ? { errno } : {}),
    };
  };
  let mBefore = modelState();
  let kBefore: KernelState = { vmPteKb: 0, rssAnonKb: 0, rssFileKb: 0, rssShmemKb: 0 };
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    const err = applyOp(mm, op);
    const mAfter = modelState(err?.errno);
    const p = live.perOp![i]!;
    const ke = kernelErr.get(i);
    const kAfter: KernelState = {
      vmPteKb: p.vmPteKb,
      rssAnonKb: p.rssAnonKb,
      // A helper that does not report them per op (v1 builds) leaves them equal to the model's.
      rssFileKb: p.rssFileKb ?? mAfter.rssFileKb,
      rssShmemKb: p.rssShmemKb ?? mAfter.rssShmemKb,
      ...(ke ? { errno: ke } : {}),
    };
    if (COUNTERS.some(([, key]) => mAfter[key] !== kAfter[key]) || mAfter.errno !== kAfter.errno) {
      return {
        index: i,
        file: op.file,
        line: op.line,
        text: opText(op),
        before: { model: mBefore, kernel: kBefore },
        after: { model: mAfter, kernel: kAfter },
      };
    }
    mBefore = mAfter;
    kBefore = kAfter;
  }
  return undefined;
}

/** One op in trace syntax (the canonical formatter, without its header). */
export function opText(op: Op): string {
  return formatTrace([op]).trimEnd().split('\n').pop()!;
}

const secs = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(ms >= 10 ? 0 : 1)} ms`);

/** RssFile and RssShmem, shown only when either side has some (v1 traces never do). */
function fileShmem(m: { rssFileKb: number; rssShmemKb: number }, k: { rssFileKb: number; rssShmemKb: number }) {
  const shown = m.rssFileKb || m.rssShmemKb || k.rssFileKb || k.rssShmemKb;
  return (s: { rssFileKb: number; rssShmemKb: number }) =>
    shown ? `  RssFile ${String(s.rssFileKb).padStart(7)} kB  RssShmem ${String(s.rssShmemKb).padStart(7)} kB` : '';
}

function stateRow(label: string, m: ModelState, k: KernelState): string {
  const t = `${m.tables.pte}/${m.tables.pmd}/${m.tables.pud}`;
  const fs = fileShmem(m, k);
  const model = `    ${label.padEnd(7)} model  VmPTE ${String(m.vmPteKb).padStart(7)} kB  RssAnon ${String(m.rssAnonKb).padStart(8)} kB${fs(m)}  tables pte/pmd/pud ${t.padEnd(11)} ${m.errno ?? ''}`;
  const kernel = `    ${''.padEnd(7)} kernel VmPTE ${String(k.vmPteKb).padStart(7)} kB  RssAnon ${String(k.rssAnonKb).padStart(8)} kB${fs(k)}  (the kernel reports no per-level split) ${k.errno ?? ''}`;
  return `${model.trimEnd()}\n${kernel.trimEnd()}`;
}

function fileShmemHead(o: ValidateOutcome): string {
  const m = o.model;
  const k = o.kernel;
  if (!(m.rssFileKb || m.rssShmemKb || k.rssFileKb || k.rssShmemKb)) return '';
  return `RssFile model ${m.rssFileKb} kB, kernel ${k.rssFileKb} kB; RssShmem model ${m.rssShmemKb} kB, kernel ${k.rssShmemKb} kB; `;
}

/** The report of one trace, for humans. */
export function formatOutcome(o: ValidateOutcome): string {
  const lines: string[] = [];
  const head = o.agree ? 'agree' : 'DIFFER';
  lines.push(
    `${o.source}: ${head}: VmPTE model ${o.model.vmPteKb} kB, kernel ${o.kernel.vmPteKb} kB; RssAnon model ${o.model.rssAnonKb} kB, kernel ${o.kernel.rssAnonKb} kB; ${fileShmemHead(o)}failed calls ${o.model.errors.length} / ${o.kernel.errors.length}; time model ${secs(o.model.wallMs)}, kernel ${secs(o.kernel.wallMs)}`,
  );
  for (const d of o.differences) lines.push(`  differs: ${d}`);
  if (o.divergence) {
    const d = o.divergence;
    const where = d.file ? `${d.file}:${String(d.line)}` : `op #${d.index}`;
    lines.push(`  first divergence after op #${d.index} (${where}): ${d.text}`);
    lines.push(stateRow('before', d.before.model, d.before.kernel));
    lines.push(stateRow('after', d.after.model, d.after.kernel));
  }
  if (o.bisectNote) lines.push(`  bisect: ${o.bisectNote}`);
  for (const s of o.sharedTables) lines.push(`  warning: ${s}; the deltas may differ by those tables`);
  if (!o.model.exitClean)
    lines.push('  warning: the simulated process failed its teardown checks (run it with `ptreclaim run` for details)');
  return lines.join('\n');
}

/** A trace validate could not compare because the model does not run one of its v2 features yet. */
export interface UnmodelledTrace {
  source: string;
  reason: string;
  feature: string;
}

/**
 * The summary of unmodelled traces: "N not modelled yet (a.trace, b.trace)" for up to three,
 * else "N not modelled yet (by first v2 feature: mremap 3, mmap shared 2)" (each trace's own
 * message names it).
 */
export function unmodelledSummary(unmodelled: readonly UnmodelledTrace[]): string {
  if (unmodelled.length === 0) return '';
  if (unmodelled.length <= 3) return `${unmodelled.length} not modelled yet (${unmodelled.map((u) => u.source).join(', ')})`;
  const tally = new Map<string, number>();
  for (const u of unmodelled) tally.set(u.feature, (tally.get(u.feature) ?? 0) + 1);
  const parts = [...tally]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([f, n]) => `${f} ${n}`)
    .join(', ');
  return `${unmodelled.length} not modelled yet (by first v2 feature: ${parts})`;
}

/** How far validateTargets is: trace `index` (0-based) of `traces`, `doneOps` of its ops replayed. */
export interface ValidateProgress {
  index: number;
  traces: number;
  source: string;
  doneOps: number;
  totalOps: number;
}

export interface ValidateReport {
  host: HostFacts;
  choice: ModelChoice;
  outcomes: ValidateOutcome[];
  /** Traces the oracle refused (too much memory, an address the helper occupies): not compared. */
  refused: { source: string; reason: string }[];
  /**
   * Traces using a trace v2 feature the model does not run yet (issue 12): not compared.
   * `feature` is the first such op's feature ("mremap", "mmap shared", "madvise hugepage").
   */
  unmodelled: UnmodelledTrace[];
  /** Every trace compared and agreed (none differ, none refused, none unmodelled). */
  agree: boolean;
}

/** Validates every target against this host. */
export async function validateTargets(
  targets: readonly ValidateTarget[],
  opts: {
    strategy?: string;
    force?: boolean;
    onOutcome?: (o: ValidateOutcome) => void;
    onRefused?: (r: { source: string; reason: string }) => void;
    /** A trace the model does not run yet; `reason` is the one message naming its first v2 op. */
    onUnmodelled?: (r: UnmodelledTrace) => void;
    /** Called while each trace replays on the kernel (see LiveRunOptions.onProgress). */
    onProgress?: (p: ValidateProgress) => void;
  } = {},
): Promise<ValidateReport> {
  checkValidateTargets(targets);
  const host = await hostFacts();
  const choice = modelForHost(host, opts.strategy ?? 'auto');
  const outcomes: ValidateOutcome[] = [];
  const refused: { source: string; reason: string }[] = [];
  const unmodelled: UnmodelledTrace[] = [];
  for (const [index, t] of targets.entries()) {
    let o: ValidateOutcome;
    const report = opts.onProgress;
    const onProgress = report
      ? (doneOps: number, totalOps: number) => report({ index, traces: targets.length, source: t.source, doneOps, totalOps })
      : undefined;
    try {
      o = await validateTrace(t, choice, { force: opts.force, onProgress });
    } catch (e) {
      if (e instanceof UnmodelledTraceError) {
        // The first op using a v2 feature, or what the mm refused when it met the memory (an
        // op it runs on memory it does not model: madvise hugepage of a file mapping).
        const first = t.ops.find((op) => v2Feature(op) !== undefined);
        // The phrase without the VMA's range, so that traces group by what they met.
        const met = /trace v2: (.*?)(?: \(\[0x[0-9a-f]+, 0x[0-9a-f]+\)\))? is not modelled yet/.exec(e.message)?.[1];
        const r = { source: t.source, reason: e.message, feature: first ? v2Feature(first)! : (met ?? 'unknown') };
        unmodelled.push(r);
        opts.onUnmodelled?.(r);
        continue;
      }
      // A refusal of one trace is not the host's: say which trace and go on with the others.
      if (!(e instanceof TraceRefusedError)) throw e;
      const r = { source: t.source, reason: e.message.startsWith(`${t.source}: `) ? e.message.slice(t.source.length + 2) : e.message };
      refused.push(r);
      opts.onRefused?.(r);
      continue;
    }
    outcomes.push(o);
    opts.onOutcome?.(o);
  }
  return {
    host,
    choice,
    outcomes,
    refused,
    unmodelled,
    agree: refused.length === 0 && unmodelled.length === 0 && outcomes.every((o) => o.agree),
  };
}

export function formatHeader(host: HostFacts, choice: ModelChoice): string {
  return [`host: ${describeHost(host)}`, ...choice.reasons.map((r) => `model: ${r}`)].join('\n');
}
