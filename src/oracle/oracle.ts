/**
 * `ptreclaim oracle`: replay a trace on the live kernel and report what it did, in the field
 * names of `ptreclaim run --json` (RunResult) so the two can be compared by any script.
 *
 * The oracle's `vmPteKb` and `rss` are deltas of the replay (after minus before, in a helper
 * process whose own tables are excluded); the model's are absolute for a process that starts
 * empty. For a trace that stays clear of the helper's own mappings (and their page tables)
 * the two mean the same thing.
 */
import { PAGE_SIZE, PGDIR_SIZE } from '../core/types.js';
import { checkOracleOps } from '../api-schema.js';
import { Mm } from '../mm/mm.js';
import { applyOp, makeCore, resolveRunOptions } from '../run.js';
import { MODEL_OP_KINDS, OP_KINDS, v2Feature, type ModelOpKind, type Op, type OpKind } from '../trace/ops.js';
import { RangeSet } from '../trace/ranges.js';
import { OracleUnavailableError, TraceRefusedError, runLiveTrace, type LiveResult, type LiveSnapshot } from './live.js';
import { hostFacts, type HostFacts } from './host.js';
import { UnmodelledTraceError } from '../errors.js';

export const ORACLE_SCHEMA_VERSION = 1;

/** Share of MemAvailable a replay may keep resident without --force. */
export const SAFE_MEMORY_SHARE = 0.5;

/** One PGD entry spans 512 GiB: one PUD table, shared by everything inside. */
const PGD_SPAN = PGDIR_SIZE;

export interface OracleOpError {
  index: number;
  file?: string;
  line?: number;
  op: OpKind;
  /** Symbolic errno as the helper names it (`ENOMEM`, ...): RunResult's names and any other the kernel returns. */
  errno: string;
  errnoValue: number;
  detail: string;
}

/** Result of one live replay. Shared field names mean the same as in RunResult. */
export interface OracleResult {
  schemaVersion: number;
  kind: 'oracle';
  source: string;
  ops: number;
  /** Ops per kind; mprotect and mremap appear only for traces that use them (trace v2). */
  opCounts: PerOpKind;
  errorCount: number;
  errors: OracleOpError[];
  /** VmPTE delta of the replay, kB. */
  vmPteKb: number;
  /** RSS deltas of the replay: pages (4 KiB), and their sum in kB. */
  rss: { anonPages: number; filePages: number; swapEnts: number; shmemPages: number; rssKb: number };
  /** Time inside the syscalls/accesses of each op kind, ms; and mean µs per op. */
  timeMs: PerOpKind;
  meanUsPerOp: PerOpKind;
  wallMs: number;
  opsPerSec: number;
  /** Raw /proc/self/status values of the helper before and after, kB. */
  before: LiveSnapshot;
  after: LiveSnapshot;
  /** Trace ranges that share a PUD table (512 GiB span) with the helper's own mappings. */
  sharedTables: string[];
  /** The model's estimate of the peak resident memory of the replay (checked before running). */
  estimatedPeakKb: number;
  host: HostFacts;
}

export interface OracleOptions {
  source?: string;
  /** Replay even if the estimated resident memory exceeds the safe share of MemAvailable. */
  force?: boolean;
  timeoutMs?: number;
  /** Called while the kernel replays: `doneOps` of `totalOps` (see LiveRunOptions.onProgress). */
  onProgress?: (doneOps: number, totalOps: number) => void;
}

/** A value per op kind: v1's always, v2's own kinds (mprotect, mremap) when the trace has them. */
export type PerOpKind = Record<ModelOpKind, number> & Partial<Record<OpKind, number>>;

/**
 * Peak resident memory (anon pages + page tables, kB) of the trace, from the model configured
 * like the host. MADV_FREE keeps pages resident here: without memory pressure nothing reclaims
 * lazy-free pages, so they count in full.
 */
export function estimatePeakResidentKb(
  ops: readonly Op[],
  host: Pick<HostFacts, 'zeroPage' | 'ptReclaim'> & Partial<Pick<HostFacts, 'mmapMinAddr'>>,
): number {
  if (ops.some((op) => v2Feature(op) !== undefined)) return mappedPeakKb(ops);
  const opts = resolveRunOptions({
    strategy: host.ptReclaim.enabled ? 'pt-reclaim' : 'none',
    zeroPage: host.zeroPage,
    mmapMinAddr: host.mmapMinAddr?.effective,
    core: 'wasm',
    wasm: 'release',
  });
  const mm = new Mm(makeCore(opts), opts);
  let peak = 0;
  try {
    for (const op of ops) {
      applyOp(mm, op);
      if (op.kind !== 'touch') continue; // only faults grow memory
      const s = mm.stats();
      peak = Math.max(peak, s.RssAnon + s.NrPte + s.NrPmd + s.NrPud);
    }
  } catch (e) {
    // Some ops are refused only when met (mremap of a file mapping): the replay needs no model.
    if (e instanceof UnmodelledTraceError) return mappedPeakKb(ops);
    throw e;
  }
  return (peak * PAGE_SIZE) / 1024;
}

/**
 * For traces the model does not run yet (trace v2): the most memory mapped at once, as if
 * every mapped page were resident (file and shmem pages included), plus one PTE table per
 * 2 MiB of it. An upper bound of what the replay keeps resident, however it touches.
 */
function mappedPeakKb(ops: readonly Op[]): number {
  const mapped = new RangeSet();
  let bytes = 0;
  let peak = 0;
  const covered = (s: number, e: number) => mapped.clip(s, e).reduce((n, [a, b]) => n + b - a, 0);
  const map = (s: number, e: number) => {
    bytes += e - s - covered(s, e);
    mapped.add(s, e);
  };
  const unmap = (s: number, e: number) => {
    bytes -= covered(s, e);
    mapped.remove(s, e);
  };
  const page = (n: number) => Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
  for (const op of ops) {
    if (op.kind === 'mmap') map(op.addr, op.addr + page(op.len));
    else if (op.kind === 'munmap') unmap(op.addr, op.addr + page(op.len));
    else if (op.kind === 'mremap') {
      unmap(op.addr, op.addr + page(op.len));
      const to = op.newAddr ?? op.addr;
      map(to, to + page(op.newLen));
    }
    peak = Math.max(peak, bytes);
  }
  const tables = Math.ceil(peak / (512 * PAGE_SIZE));
  return (peak + tables * PAGE_SIZE) / 1024;
}

/** Trace ranges in a 512 GiB span (one PUD table) that also holds a helper mapping. */
export function sharedTableRanges(ops: readonly Op[], helper: readonly [number, number][]): string[] {
  const spans = new Set<number>();
  for (const [lo, hi] of helper) {
    for (let s = Math.floor(lo / PGD_SPAN); s <= Math.floor((hi - 1) / PGD_SPAN); s++) spans.add(s);
  }
  const out: string[] = [];
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    if (op.len === 0) continue;
    const a = Math.floor(op.addr / PGD_SPAN);
    const b = Math.floor((op.addr + op.len - 1) / PGD_SPAN);
    for (let s = a; s <= b; s++) {
      if (spans.has(s)) {
        const where = op.file ? `${op.file}:${String(op.line)}` : `op #${i}`;
        out.push(
          `${where}: ${op.kind} 0x${op.addr.toString(16)} shares the 512 GiB span at 0x${(s * PGD_SPAN).toString(16)} with the helper's own mappings`,
        );
        break;
      }
    }
    if (out.length >= 5) break;
  }
  return out;
}

/** Checks the host can replay this trace; throws OracleUnavailableError saying why not. */
export async function checkReplayable(ops: readonly Op[], opts: OracleOptions = {}): Promise<{ host: HostFacts; estimatedPeakKb: number }> {
  const host = await hostFacts();
  if (host.os !== 'linux') throw new OracleUnavailableError(`the live-kernel oracle needs Linux (this is ${host.os})`);
  if (host.arch !== 'x64') throw new OracleUnavailableError(`the live-kernel oracle needs x86-64 (this is ${host.arch})`);
  if (host.pageSize !== PAGE_SIZE) throw new OracleUnavailableError(`the model assumes 4 KiB pages; this kernel uses ${host.pageSize}`);
  if (host.pagingLevels !== 4) {
    throw new OracleUnavailableError(
      `this kernel runs ${host.pagingLevels}-level paging; the model is x86-64 4-level (boot with no5lvl to compare)`,
    );
  }
  const estimatedPeakKb = estimatePeakResidentKb(ops, host);
  const limitKb = Math.floor(host.memAvailableKb * SAFE_MEMORY_SHARE);
  if (!opts.force && estimatedPeakKb > limitKb) {
    throw new TraceRefusedError(
      `${opts.source ? `${opts.source}: ` : ''}the replay would keep about ${fmtMiB(estimatedPeakKb)} resident (pages and page tables; MADV_FREE pages stay resident), more than ${SAFE_MEMORY_SHARE * 100}% of MemAvailable (${fmtMiB(limitKb)} of ${fmtMiB(host.memAvailableKb)}); shrink the trace or pass --force`,
    );
  }
  return { host, estimatedPeakKb };
}

const fmtMiB = (kb: number) => `${(kb / 1024).toFixed(0)} MiB`;

/** Replays `ops` on the live kernel after the safety checks; the result uses RunResult's names. */
export async function runOracle(ops: readonly Op[], opts: OracleOptions = {}): Promise<OracleResult> {
  checkOracleOps(ops);
  const { host, estimatedPeakKb } = await checkReplayable(ops, opts);
  const live = await runLiveTrace(ops, { timeoutMs: opts.timeoutMs, onProgress: opts.onProgress });
  return toOracleResult(ops, live, host, estimatedPeakKb, opts.source ?? '<ops>');
}

export function toOracleResult(
  ops: readonly Op[],
  live: LiveResult,
  host: HostFacts,
  estimatedPeakKb: number,
  source: string,
): OracleResult {
  const kbPerPage = PAGE_SIZE / 1024;
  const d = (k: keyof LiveSnapshot) => live.after[k] - live.before[k];
  const timeMs = {} as PerOpKind;
  const meanUsPerOp = {} as PerOpKind;
  const opCounts = {} as PerOpKind;
  for (const k of OP_KINDS) {
    if (!(MODEL_OP_KINDS as readonly OpKind[]).includes(k) && !live.counts[k]) continue;
    opCounts[k] = live.counts[k];
    timeMs[k] = live.timeNs[k] / 1e6;
    meanUsPerOp[k] = live.counts[k] ? live.timeNs[k] / live.counts[k] / 1e3 : 0;
  }
  const errors: OracleOpError[] = live.errors.map((e) => {
    const op = ops[e.index]!;
    return {
      index: e.index,
      file: op.file,
      line: op.line,
      op: e.op,
      errno: e.name,
      errnoValue: e.errno,
      detail:
        e.errno === 14 && op.kind === 'touch'
          ? 'range not wholly mapped by the trace (the access would raise SIGSEGV)'
          : `${op.kind} failed`,
    };
  });
  const wallMs = live.wallNs / 1e6;
  return {
    schemaVersion: ORACLE_SCHEMA_VERSION,
    kind: 'oracle',
    source,
    ops: ops.length,
    opCounts,
    errorCount: errors.length,
    errors,
    vmPteKb: d('vmPteKb'),
    rss: {
      anonPages: d('rssAnonKb') / kbPerPage,
      filePages: d('rssFileKb') / kbPerPage,
      swapEnts: d('swapKb') / kbPerPage,
      shmemPages: d('rssShmemKb') / kbPerPage,
      rssKb: d('rssAnonKb') + d('rssFileKb') + d('rssShmemKb'),
    },
    timeMs,
    meanUsPerOp,
    wallMs,
    opsPerSec: wallMs > 0 ? (ops.length / wallMs) * 1000 : 0,
    before: live.before,
    after: live.after,
    sharedTables: sharedTableRanges(ops, live.helperMappings),
    estimatedPeakKb,
    host,
  };
}
