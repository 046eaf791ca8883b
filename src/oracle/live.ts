/**
 * Live-kernel oracle: replays a trace on the running Linux kernel through the native
 * helper `build/native/ptreclaim-oracle` (built by `scripts/build-native.js` from
 * `native/oracle/ptreclaim-oracle.c`) and returns the exact page-table accounting
 * (VmPTE) and RSS counters the kernel reports before and after the replay.
 *
 * Node built-ins only. The helper is spawned directly (no shell); the trace goes to its
 * stdin as canonical trace text, v1 or v2 (formatTrace, checked by {@link helperTraceText});
 * for v2 the helper makes the mapped files in a scratch directory of its own.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';

import { EXIT, PtreclaimError } from '../errors.js';
import { buildPath } from '../paths.js';
import { ADVICES_V2, OP_KINDS, PROTS, type Op, type OpKind } from '../trace/ops.js';
import { formatTrace } from '../trace/parse.js';

/** Counters read from /proc/self/status of the helper, all in kB. */
export interface LiveSnapshot {
  vmPteKb: number;
  rssAnonKb: number;
  rssFileKb: number;
  rssShmemKb: number;
  swapKb: number;
}

/** An op the kernel (or the helper's safety checks) rejected; `index` is 0-based into the ops. */
export interface LiveOpError {
  index: number;
  op: OpKind;
  errno: number;
  /** Symbolic name such as "ENOMEM", or "UNKNOWN". */
  name: string;
}

export type PerKind = Record<OpKind, number>;

export interface LiveResult {
  /** after.vmPteKb - before.vmPteKb */
  vmPteDeltaKb: number;
  /** after.rssAnonKb - before.rssAnonKb */
  rssAnonDeltaKb: number;
  before: LiveSnapshot;
  after: LiveSnapshot;
  errors: LiveOpError[];
  /** Nanoseconds spent inside the ops of each kind. */
  timeNs: PerKind;
  counts: PerKind;
  /** Wall time of the whole replay loop (includes per-op status reads with `perOp`). */
  wallNs: number;
  /** With `perOp`: state after each op, as deltas relative to `before` (RssFile/RssShmem from helpers that report them). */
  perOp?: { vmPteKb: number; rssAnonKb: number; rssFileKb?: number; rssShmemKb?: number }[];
  /** The helper's own mappings [start, end) during the replay (its code, libc, stack). */
  helperMappings: [number, number][];
  /** With `opTimes`: ns inside each op (the syscall, or the access loop of a touch). */
  opNs?: number[];
  /** The CPU the helper pinned itself to for the replay (-1: pinning failed). */
  cpu?: number;
  /** khugepaged around the replay: a background collapse explains a difference the model cannot. */
  khugepaged?: LiveKhugepaged;
}

/**
 * Host-wide THP collapse counters read by the helper just before and after the replay.
 * `pagesCollapsed` counts khugepaged's collapses only (MADV_COLLAPSE does not move it);
 * `thpCollapseAlloc` (/proc/vmstat) counts both. Both are host-wide: another process's
 * collapse counts too.
 */
export interface LiveKhugepaged {
  /** How the helper kept khugepaged out of the way: "pass-seen", "no-pass-seen", "not-needed", "disabled". */
  quiesce: string;
  pagesCollapsed: [number, number];
  fullScans: [number, number];
  thpCollapseAlloc: [number, number];
  /** pagesCollapsed after minus before (-1 when unreadable). */
  pagesCollapsedDuringReplay: number;
}

/** The live-kernel oracle cannot run here, or refused the trace (the message says why). */
export class OracleUnavailableError extends PtreclaimError {
  override name = 'OracleUnavailableError';
  override get exitCode(): number {
    return EXIT.oracleRefused;
  }
}

/** The oracle can run here but refused this trace (too much memory, an address it occupies). */
export class TraceRefusedError extends OracleUnavailableError {
  override name = 'TraceRefusedError';
}

/** The trace uses an address the helper process itself occupies. */
export class AddressInUseError extends TraceRefusedError {
  override name = 'AddressInUseError';
}

export interface LiveRunOptions {
  /** Record VmPTE and RssAnon after every op (slower; used to bisect divergences). */
  perOp?: boolean;
  /** Record the time of every op (`opNs`), for `ptreclaim calibrate`. */
  opTimes?: boolean;
  /** Kill the helper after this many milliseconds (default 10 minutes). */
  timeoutMs?: number;
  /**
   * Called while the kernel replays: `doneOps` of `totalOps` finished (0 first, `totalOps`
   * last, about every `progressIntervalMs` between). The helper writes these records to a
   * pipe without allocating or waiting (a record the reader is late for is dropped), so the
   * measured page tables are the same with and without it.
   */
  onProgress?: (doneOps: number, totalOps: number) => void;
  /** How often the helper reports with `onProgress` (default 100 ms; 0: after every op). */
  progressIntervalMs?: number;
}

export type LiveOracleStatus = { available: true; helperPath: string } | { available: false; reason: string };

export interface PtReclaimProbe {
  ptReclaim: boolean;
  vmPteBeforeKb: number;
  vmPteAfterKb: number;
}

const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;
const KINDS: readonly OpKind[] = OP_KINDS;
/** Op kinds a v1 replay's JSON lists; a v2 replay adds mprotect and mremap. */
const V1_KINDS = 4;

/** Whether the live-kernel oracle can run here, and where its helper binary is. */
export function liveOracleStatus(): LiveOracleStatus {
  if (process.platform !== 'linux') {
    return { available: false, reason: `the live-kernel oracle needs Linux (this is ${process.platform})` };
  }
  if (process.arch !== 'x64') {
    return { available: false, reason: `the live-kernel oracle needs x86-64 (this is ${process.arch})` };
  }
  let helperPath: string;
  try {
    helperPath = buildPath('native', 'ptreclaim-oracle');
  } catch (e) {
    return { available: false, reason: (e as Error).message };
  }
  try {
    if (!statSync(helperPath).isFile()) {
      return { available: false, reason: `${helperPath} is not a file` };
    }
  } catch {
    return {
      available: false,
      reason: `helper binary ${helperPath} not found; build it with "npm run build:native" (needs a C compiler)`,
    };
  }
  try {
    accessSync(helperPath, constants.X_OK);
  } catch {
    return { available: false, reason: `helper binary ${helperPath} is not executable` };
  }
  return { available: true, helperPath };
}

function checkNumber(n: number, what: string, op: Op, i: number): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    const where = op.file !== undefined || op.line !== undefined ? ` (${op.file ?? ''}:${op.line ?? ''})` : '';
    throw new RangeError(`op #${i} (${op.kind})${where}: ${what} must be a non-negative safe integer, got ${n}`);
  }
}

/**
 * The trace text the helper reads: the one trace writer's (formatTrace) canonical v1 or v2
 * text, after checking what the helper cannot represent (negative or unsafe numbers, unknown
 * words, bad file names or offsets).
 */
export function helperTraceText(ops: readonly Op[]): string {
  for (const [i, op] of ops.entries()) {
    checkNumber(op.addr, 'addr', op, i);
    checkNumber(op.len, 'len', op, i);
    // Checked although typed: ops may come from JavaScript callers.
    const word: string = op.kind === 'touch' ? op.access : op.kind === 'madvise' ? op.advice : '';
    if (op.kind === 'touch' && word !== 'write' && word !== 'read') {
      throw new RangeError(`op #${i} (touch): access must be "write" or "read"`);
    }
    if (op.kind === 'madvise' && !(ADVICES_V2 as readonly string[]).includes(word)) {
      throw new RangeError(`op #${i} (madvise): advice must be one of ${ADVICES_V2.join(' ')}`);
    }
    const prot = op.kind === 'mmap' || op.kind === 'mprotect' ? op.prot : undefined;
    if ((prot !== undefined || op.kind === 'mprotect') && !(PROTS as readonly (string | undefined)[]).includes(prot)) {
      throw new RangeError(`op #${i} (${op.kind}): prot must be "rw", "r" or "none"`);
    }
    if (op.kind === 'mremap') {
      checkNumber(op.newLen, 'newLen', op, i);
      if (op.newAddr !== undefined) checkNumber(op.newAddr, 'newAddr', op, i);
    }
    if (op.kind === 'mmap' && op.mapFile !== undefined) {
      if (!/^[A-Za-z0-9._-]{1,128}$/.test(op.mapFile) || op.mapFile === '.' || op.mapFile === '..') {
        throw new RangeError(`op #${i} (mmap): mapFile must be 1-128 characters of [A-Za-z0-9._-], not . or ..`);
      }
      const offset = op.offset ?? 0;
      checkNumber(offset, 'offset', op, i);
      if (offset % 4096 !== 0) throw new RangeError(`op #${i} (mmap): offset must be page aligned`);
    }
  }
  return formatTrace(ops);
}

interface HelperOutput {
  stdout: string;
  stderr: string;
}

function requireHelper(): string {
  const st = liveOracleStatus();
  if (!st.available) throw new OracleUnavailableError(`live-kernel oracle unavailable: ${st.reason}`);
  return st.helperPath;
}

/** Helper processes running now, so that a stopped ptreclaim can end them (killLiveHelpers). */
const liveHelpers = new Set<ChildProcess>();

/** Kill every running helper at once (SIGKILL): for signal handlers of commands that replay. */
export function killLiveHelpers(): void {
  for (const child of liveHelpers) child.kill('SIGKILL');
  liveHelpers.clear();
}

/** The helper's progress records: {u64 done, u64 total}, little-endian (see --progress-fd). */
const PROGRESS_RECORD_BYTES = 16;
/** The descriptor the helper writes its progress records to (the 4th stdio entry). */
const PROGRESS_FD = 3;

/** Splits the helper's progress stream into records; a record may arrive in two chunks. */
export function progressReader(onProgress: (doneOps: number, totalOps: number) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let at = 0;
    for (; at + PROGRESS_RECORD_BYTES <= pending.length; at += PROGRESS_RECORD_BYTES) {
      onProgress(Number(pending.readBigUInt64LE(at)), Number(pending.readBigUInt64LE(at + 8)));
    }
    pending = pending.subarray(at);
  };
}

/** Runs the helper; resolves with its output when it exits 0, rejects otherwise. */
function runHelper(
  args: readonly string[],
  stdin: string | null,
  timeoutMs: number,
  onProgress?: (doneOps: number, totalOps: number) => void,
): Promise<HelperOutput> {
  const helper = requireHelper();
  return new Promise<HelperOutput>((resolvePromise, reject) => {
    // The helper dies with this process (PR_SET_PDEATHSIG), checking it was not already orphaned.
    const child = spawn(helper, onProgress ? [...args, '--progress-fd', String(PROGRESS_FD)] : args, {
      stdio: onProgress ? ['pipe', 'pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe'],
      shell: false,
      env: { ...process.env, PTRECLAIM_ORACLE_PARENT: String(process.pid) },
    });
    liveHelpers.add(child);
    if (onProgress) {
      const records = child.stdio[PROGRESS_FD] as NodeJS.ReadableStream;
      records.on('data', progressReader(onProgress));
      records.on('error', () => {});
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let settled = false;
    const finish = (e: Error | null, value?: HelperOutput): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (e) reject(e);
      else resolvePromise(value!);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    // The helper may exit early (e.g. parse error) while we still write: ignore EPIPE here,
    // the exit status and stderr tell the real story.
    child.stdin.on('error', () => {});
    child.on('error', (e) => {
      liveHelpers.delete(child);
      finish(new Error(`cannot run ${helper}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      liveHelpers.delete(child);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8').trim();
      const cmd = [helper, ...args].join(' ');
      if (timedOut) {
        finish(new Error(`${cmd} timed out after ${timeoutMs} ms${stderr ? `; stderr: ${stderr}` : ''}`));
      } else if (code !== 0) {
        const how = code === null ? `was killed by ${signal ?? 'a signal'}` : `exited with code ${code}`;
        if (code === 4) {
          finish(new AddressInUseError(stderr.replace(/^ptreclaim-oracle: /, '')));
          return;
        }
        const meaning = code === 2 ? ' (usage or parse error)' : code === 3 ? ' (unsupported system)' : '';
        const msg = `${cmd} ${how}${meaning}${stderr ? `: ${stderr}` : ' (no stderr)'}`;
        finish(code === 3 ? new OracleUnavailableError(msg) : new Error(msg));
      } else {
        finish(null, { stdout, stderr });
      }
    });
    if (stdin !== null) child.stdin.end(stdin);
    else child.stdin.end();
  });
}

// ---------------------------------------------------------------- validation

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class BadOutput extends Error {}

function num(o: Record<string, unknown>, key: string, path: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new BadOutput(`${path}.${key} is not a number`);
  return v;
}

function obj(o: Record<string, unknown>, key: string, path: string): Record<string, unknown> {
  const v = o[key];
  if (!isObject(v)) throw new BadOutput(`${path}.${key} is not an object`);
  return v;
}

function snapshot(o: Record<string, unknown>, key: string): LiveSnapshot {
  const s = obj(o, key, '$');
  const p = `$.${key}`;
  return {
    vmPteKb: num(s, 'vmPteKb', p),
    rssAnonKb: num(s, 'rssAnonKb', p),
    rssFileKb: num(s, 'rssFileKb', p),
    rssShmemKb: num(s, 'rssShmemKb', p),
    swapKb: num(s, 'swapKb', p),
  };
}

function perKind(o: Record<string, unknown>, key: string): PerKind {
  const s = obj(o, key, '$');
  const r = {} as PerKind;
  // A v1 replay lists v1's kinds only: the others did not occur.
  KINDS.forEach((k, i) => (r[k] = i >= V1_KINDS && s[k] === undefined ? 0 : num(s, k, `$.${key}`)));
  return r;
}

function parseJson(stdout: string, stderr: string, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(stdout);
  } catch (e) {
    throw new Error(
      `${what}: helper printed invalid JSON (${(e as Error).message}): ${stdout.slice(0, 200)}${stderr ? `; stderr: ${stderr}` : ''}`,
      { cause: e },
    );
  }
  if (!isObject(v)) throw new Error(`${what}: helper output is not a JSON object${stderr ? `; stderr: ${stderr}` : ''}`);
  return v;
}

function validated<T>(what: string, stderr: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof BadOutput) {
      throw new Error(`${what}: unexpected helper output: ${e.message}${stderr ? `; stderr: ${stderr}` : ''}`, { cause: e });
    }
    throw e;
  }
}

function hexNum(v: unknown, path: string): number {
  if (typeof v !== 'string' || !/^0x[0-9a-f]+$/.test(v)) throw new BadOutput(`${path} is not a hex string`);
  // vsyscall sits at 0xffffffffff600000: above 2^53, so it is rounded; only its order matters.
  return Number.parseInt(v.slice(2), 16);
}

function helperMappings(o: Record<string, unknown>): [number, number][] {
  const raw = o['helperMappings'];
  if (!Array.isArray(raw)) throw new BadOutput('$.helperMappings is not an array');
  return raw.map((pair: unknown, i): [number, number] => {
    const p = `$.helperMappings[${i}]`;
    if (!Array.isArray(pair) || pair.length !== 2) throw new BadOutput(`${p} is not a [start, end] pair`);
    return [hexNum(pair[0], `${p}[0]`), hexNum(pair[1], `${p}[1]`)];
  });
}

function parseOpTimes(o: Record<string, unknown>, nOps: number): number[] {
  const raw = o['opNs'];
  if (!Array.isArray(raw) || raw.length !== nOps) throw new BadOutput(`$.opNs is not an array of ${nOps} entries`);
  return raw.map((v: unknown, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new BadOutput(`$.opNs[${i}] is not a non-negative number`);
    return v;
  });
}

function pair(o: Record<string, unknown>, key: string, path: string): [number, number] {
  const v = o[key];
  if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'number' || typeof v[1] !== 'number') {
    throw new BadOutput(`${path}.${key} is not a [before, after] pair of numbers`);
  }
  return [v[0], v[1]];
}

/** $.khugepaged of a replay (helpers before trace v2 do not print it). */
function khugepagedFacts(o: Record<string, unknown>): LiveKhugepaged | undefined {
  const k = o['khugepaged'];
  if (k === undefined) return undefined;
  if (!isObject(k)) throw new BadOutput('$.khugepaged is not an object');
  const quiesce = k['quiesce'];
  if (typeof quiesce !== 'string') throw new BadOutput('$.khugepaged.quiesce is not a string');
  return {
    quiesce,
    pagesCollapsed: pair(k, 'pagesCollapsed', '$.khugepaged'),
    fullScans: pair(k, 'fullScans', '$.khugepaged'),
    thpCollapseAlloc: pair(k, 'thpCollapseAlloc', '$.khugepaged'),
    pagesCollapsedDuringReplay: num(k, 'pagesCollapsedDuringReplay', '$.khugepaged'),
  };
}

function parseLiveResult(o: Record<string, unknown>, nOps: number, wantPerOp: boolean, wantOpTimes = false): LiveResult {
  if (o['ok'] !== true) throw new BadOutput('$.ok is not true');
  const ops = num(o, 'ops', '$');
  if (ops !== nOps) throw new BadOutput(`helper replayed ${ops} ops, expected ${nOps}`);
  const before = snapshot(o, 'before');
  const after = snapshot(o, 'after');
  const rawErrors = o['errors'];
  if (!Array.isArray(rawErrors)) throw new BadOutput('$.errors is not an array');
  const errors: LiveOpError[] = rawErrors.map((e: unknown, i): LiveOpError => {
    const p = `$.errors[${i}]`;
    if (!isObject(e)) throw new BadOutput(`${p} is not an object`);
    const op = e['op'];
    if (typeof op !== 'string' || !(KINDS as readonly string[]).includes(op)) throw new BadOutput(`${p}.op is invalid`);
    const name = e['name'];
    if (typeof name !== 'string') throw new BadOutput(`${p}.name is not a string`);
    const index = num(e, 'index', p);
    if (!Number.isInteger(index) || index < 0 || index >= nOps) throw new BadOutput(`${p}.index out of range`);
    return { index, op: op as OpKind, errno: num(e, 'errno', p), name };
  });
  const result: LiveResult = {
    vmPteDeltaKb: after.vmPteKb - before.vmPteKb,
    rssAnonDeltaKb: after.rssAnonKb - before.rssAnonKb,
    before,
    after,
    errors,
    timeNs: perKind(o, 'timeNs'),
    counts: perKind(o, 'counts'),
    wallNs: num(o, 'wallNs', '$'),
    helperMappings: helperMappings(o),
  };
  if (wantOpTimes) result.opNs = parseOpTimes(o, nOps);
  const khugepaged = khugepagedFacts(o);
  if (khugepaged) result.khugepaged = khugepaged;
  if (typeof o['cpu'] === 'number') result.cpu = o['cpu'];
  if (wantPerOp) {
    const raw = o['perOp'];
    if (!Array.isArray(raw) || raw.length !== nOps) throw new BadOutput(`$.perOp is not an array of ${nOps} entries`);
    result.perOp = raw.map((pair: unknown, i) => {
      if (
        !Array.isArray(pair) ||
        pair.length !== 2 ||
        typeof pair[0] !== 'number' ||
        typeof pair[1] !== 'number' ||
        pair[0] < 0 ||
        pair[1] < 0
      ) {
        throw new BadOutput(`$.perOp[${i}] is not a [vmPteKb, rssAnonKb] pair`);
      }
      return { vmPteKb: pair[0] - before.vmPteKb, rssAnonKb: pair[1] - before.rssAnonKb };
    });
    const fileShmem = o['perOpFileShmem'];
    if (fileShmem !== undefined) {
      if (!Array.isArray(fileShmem) || fileShmem.length !== nOps)
        throw new BadOutput(`$.perOpFileShmem is not an array of ${nOps} entries`);
      fileShmem.forEach((pair: unknown, i) => {
        if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'number' || typeof pair[1] !== 'number') {
          throw new BadOutput(`$.perOpFileShmem[${i}] is not a [rssFileKb, rssShmemKb] pair`);
        }
        const step = result.perOp![i]!;
        step.rssFileKb = pair[0] - before.rssFileKb;
        step.rssShmemKb = pair[1] - before.rssShmemKb;
      });
    }
  }
  return result;
}

// ---------------------------------------------------------------- public API

/**
 * Replays `ops` on the live kernel (in a fresh helper process) and returns the kernel's
 * accounting. Ops that fail with an errno are data (see `errors`), not exceptions; a helper
 * failure (bad exit, bad JSON) rejects with an Error that includes the helper's stderr.
 */
export async function runLiveTrace(ops: readonly Op[], opts: LiveRunOptions = {}): Promise<LiveResult> {
  const text = helperTraceText(ops);
  const perOp = opts.perOp === true;
  const opTimes = opts.opTimes === true;
  const args = [...(perOp ? ['--per-op'] : []), ...(opTimes ? ['--op-times'] : [])];
  const interval = opts.progressIntervalMs;
  if (interval !== undefined && (!Number.isInteger(interval) || interval < 0 || interval > 3_600_000)) {
    throw new RangeError(`runLiveTrace: progressIntervalMs must be a whole number of ms in 0..3600000, got ${interval}`);
  }
  if (opts.onProgress && interval !== undefined) args.push('--progress-interval-ms', String(interval));
  const { stdout, stderr } = await runHelper(args, text, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, opts.onProgress);
  const what = 'runLiveTrace';
  const o = parseJson(stdout, stderr, what);
  return validated(what, stderr, () => parseLiveResult(o, ops.length, perOp, opTimes));
}

/**
 * mmaps each length (private anonymous, no address hint) in order in a fresh helper and
 * returns the addresses the kernel chose.
 */
export async function probePlacement(lengths: number[], opts: { timeoutMs?: number } = {}): Promise<number[]> {
  if (lengths.length === 0) return [];
  for (const l of lengths) {
    if (!Number.isSafeInteger(l) || l <= 0) throw new RangeError(`probePlacement: bad length ${l}`);
  }
  const list = lengths.map((l) => '0x' + l.toString(16)).join(',');
  const { stdout, stderr } = await runHelper(['--probe-placement', list], null, opts.timeoutMs ?? 30_000);
  const what = 'probePlacement';
  const o = parseJson(stdout, stderr, what);
  return validated(what, stderr, () => {
    const addrs = o['addrs'];
    if (!Array.isArray(addrs) || addrs.length !== lengths.length) {
      throw new BadOutput(`$.addrs is not an array of ${lengths.length} entries`);
    }
    return addrs.map((a: unknown, i) => {
      if (typeof a !== 'string' || !/^0x[0-9a-f]+$/.test(a)) throw new BadOutput(`$.addrs[${i}] is not a hex string`);
      const n = Number.parseInt(a.slice(2), 16);
      if (!Number.isSafeInteger(n)) throw new BadOutput(`$.addrs[${i}] is out of range`);
      return n;
    });
  });
}

/** Empirical check: does MADV_DONTNEED of a whole 2 MiB range free its PTE table here? */
export async function probePtReclaim(opts: { timeoutMs?: number } = {}): Promise<PtReclaimProbe> {
  const { stdout, stderr } = await runHelper(['--probe-pt-reclaim'], null, opts.timeoutMs ?? 30_000);
  const what = 'probePtReclaim';
  const o = parseJson(stdout, stderr, what);
  return validated(what, stderr, () => {
    const pt = o['ptReclaim'];
    if (typeof pt !== 'boolean') throw new BadOutput('$.ptReclaim is not a boolean');
    return { ptReclaim: pt, vmPteBeforeKb: num(o, 'vmPteBeforeKb', '$'), vmPteAfterKb: num(o, 'vmPteAfterKb', '$') };
  });
}

/** What the helper measures about the running system itself. */
export interface HelperHostProbe {
  pageSize: number;
  /** User address width in use: 47 with 4-level paging, 56 with 5-level. */
  vaBits: number;
}

/** Page size and paging depth as seen by a fresh helper process. */
export async function probeHost(opts: { timeoutMs?: number } = {}): Promise<HelperHostProbe> {
  const { stdout, stderr } = await runHelper(['--host'], null, opts.timeoutMs ?? 30_000);
  const what = 'probeHost';
  const o = parseJson(stdout, stderr, what);
  return validated(what, stderr, () => ({ pageSize: num(o, 'pageSize', '$'), vaBits: num(o, 'vaBits', '$') }));
}
