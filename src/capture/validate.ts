/**
 * `ptreclaim validate --capture FILE`: replays a capture (`ptreclaim capture`) through the
 * model configured like the host that captured it and compares with the real process's
 * counters (`# expect`, and `# sample` after mm syscalls for the first point where they
 * part). Optionally (`live`) also replays it on this kernel: how close a replay of the trace
 * gets to the real process, i.e. a check of the capture itself.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

import { PAGE_SIZE, PGDIR_SIZE } from '../core/types.js';
import { describeReadFailure, InputError, PtreclaimError, UnmodelledTraceError } from '../errors.js';
import { Mm } from '../mm/mm.js';
import { runLiveTrace } from '../oracle/live.js';
import { checkReplayable } from '../oracle/oracle.js';
import { applyOp, makeCore } from '../run.js';
import { resolveRunOptions } from '../options.js';
import { v2Feature, type Op } from '../trace/ops.js';
import { parseTrace } from '../trace/parse.js';
import { opText } from '../validate.js';
import type { CaptureCounters, CaptureSample } from './convert.js';

export interface CaptureFile {
  source: string;
  ops: Op[];
  expect: CaptureCounters;
  samples: CaptureSample[];
  /** The `# host` line's words (kernel=..., zero_page=on, thp=madvise, ...). */
  host: Record<string, string>;
}

const COUNTER_KEYS = [
  ['vmpte_kb', 'vmPteKb'],
  ['rssanon_kb', 'rssAnonKb'],
  ['rssfile_kb', 'rssFileKb'],
  ['rssshmem_kb', 'rssShmemKb'],
] as const;

function parseCounters(text: string, where: string): CaptureCounters {
  const words = new Map(text.split(/\s+/).map((w) => w.split('=') as [string, string]));
  const c: Record<string, number> = {};
  for (const [key, field] of COUNTER_KEYS) {
    const v = Number(words.get(key));
    if (!words.has(key) || !Number.isSafeInteger(v) || v < 0) throw new InputError(`${where}: expected ${key}=N (a whole number of kB)`);
    c[field] = v;
  }
  return c as unknown as CaptureCounters;
}

/** Reads a capture file (gzip-compressed when its name ends in .gz): see {@link parseCapture}. */
export function readCaptureFile(path: string): CaptureFile {
  let text: string;
  try {
    const bytes = readFileSync(path);
    text = (path.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
  } catch (e) {
    throw new InputError(`cannot read capture ${path}: ${describeReadFailure(e)}`);
  }
  return parseCapture(text, path);
}

/** A capture's ops, `# expect`, `# sample` comments (each after an op) and `# host` words. */
export function parseCapture(text: string, path = '<capture>'): CaptureFile {
  const ops = parseTrace(text, path);
  let expect: CaptureCounters | undefined;
  const samples: CaptureSample[] = [];
  const host: Record<string, string> = {};
  // Op lines are counted as the parser sees them: every line with content but a comment
  // that is not the version line.
  let opsSeen = 0;
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '') continue;
    if (!line.startsWith('#')) {
      if (!line.startsWith('version')) opsSeen++;
      continue;
    }
    const body = line.replace(/^#\s*/, '');
    const where = `${path}:${i + 1}`;
    if (body.startsWith('expect ')) expect = parseCounters(body.slice(7), where);
    else if (body.startsWith('sample ') && opsSeen > 0) samples.push({ opIndex: opsSeen - 1, ...parseCounters(body.slice(7), where) });
    else if (body.startsWith('host ')) for (const w of body.slice(5).split(/\s+/)) host[w.split('=')[0]!] = w.split('=').slice(1).join('=');
  }
  if (!expect)
    throw new InputError(
      `${path}: not a capture: no "# expect vmpte_kb=N rssanon_kb=N rssfile_kb=N rssshmem_kb=N" line (write one with \`ptreclaim capture -o FILE -- CMD\`)`,
    );
  return { source: path, ops, expect, samples, host };
}

/** Where a replay and the real process first part, judged at the `# sample` points. */
export interface CaptureDivergence {
  opIndex: number;
  file?: string;
  line?: number;
  text: string;
  real: CaptureCounters;
  replay: { vmPteKb: number; rssAnonKb: number };
  /** The last sample where they still agreed (undefined: none before). */
  lastAgreed?: number;
}

export interface CaptureModelOutcome {
  /** The model ran the whole trace. */
  ran: true;
  strategy: string;
  zeroPage: boolean;
  vmPteKb: number;
  rssAnonKb: number;
  /** The model's RssFile and RssShmem at the end: shown, not compared (see `notCompared`). */
  rssFileKb: number;
  rssShmemKb: number;
  agree: boolean;
  differences: string[];
  /**
   * How many `# sample`s the model's state after the same op differs from (VmPTE or RssAnon).
   * 0 for a single-threaded program; a multithreaded one's samples are read while the other
   * threads run (see the README), so some can differ though the end agrees.
   */
  samplesDiffering: number;
  divergence?: CaptureDivergence;
}

export interface CaptureUnmodelled {
  ran: false;
  /** The message of the first op the model refused. */
  reason: string;
  /** Each trace v2 feature the model does not run yet, with how many ops use it. */
  features: { feature: string; ops: number }[];
}

export interface CaptureLiveOutcome {
  /** Runs of 512 GiB spans moved (as wholes) away from the helper's own mappings. */
  moves: { from: number; to: number; bytes: number }[];
  vmPteKb: number;
  rssAnonKb: number;
  rssFileKb: number;
  rssShmemKb: number;
  errors: number;
  divergence?: CaptureDivergence;
}

export interface CaptureValidation {
  source: string;
  expect: CaptureCounters;
  ops: number;
  samples: number;
  host: Record<string, string>;
  model: CaptureModelOutcome | CaptureUnmodelled;
  live?: CaptureLiveOutcome | { error: string };
  /** Why RssFile and RssShmem are reported but not compared. */
  notCompared: string;
  /** The model ran and matched VmPTE and RssAnon exactly. */
  agree: boolean;
}

const kbPerPage = PAGE_SIZE / 1024;

/** The model configured like the capturing host (its `# host` line). */
function modelChoice(host: Record<string, string>): { strategy: 'pt-reclaim' | 'none'; zeroPage: boolean } {
  return { strategy: host.pt_reclaim_config === 'n' ? 'none' : 'pt-reclaim', zeroPage: host.zero_page !== 'off' };
}

/** Each v2 feature the model refuses, counted. */
export function unmodelledFeatures(ops: readonly Op[]): { feature: string; ops: number }[] {
  const counts = new Map<string, number>();
  for (const op of ops) {
    const f = v2Feature(op);
    if (f) counts.set(f, (counts.get(f) ?? 0) + 1);
  }
  return [...counts].map(([feature, n]) => ({ feature, ops: n })).sort((a, b) => b.ops - a.ops);
}

function firstSampleDivergence(
  ops: readonly Op[],
  samples: readonly CaptureSample[],
  stateAfter: (i: number) => { vmPteKb: number; rssAnonKb: number },
): CaptureDivergence | undefined {
  let lastAgreed: number | undefined;
  for (const s of samples) {
    const st = stateAfter(s.opIndex);
    if (st.vmPteKb !== s.vmPteKb || st.rssAnonKb !== s.rssAnonKb) {
      const op = ops[s.opIndex]!;
      return {
        opIndex: s.opIndex,
        file: op.file,
        line: op.line,
        text: opText(op),
        real: s,
        replay: st,
        ...(lastAgreed !== undefined ? { lastAgreed } : {}),
      };
    }
    lastAgreed = s.opIndex;
  }
  return undefined;
}

function runModel(c: CaptureFile): CaptureModelOutcome | CaptureUnmodelled {
  const features = unmodelledFeatures(c.ops);
  const choice = modelChoice(c.host);
  const opts = resolveRunOptions({ strategy: choice.strategy, zeroPage: choice.zeroPage, core: 'wasm', wasm: 'release', source: c.source });
  const mm = new Mm(makeCore(opts), opts);
  const after: { vmPteKb: number; rssAnonKb: number }[] = [];
  let fileEnd = { rssFileKb: 0, rssShmemKb: 0 };
  try {
    for (const [i, op] of c.ops.entries()) {
      applyOp(mm, op, i);
      const s = mm.stats();
      after.push({ vmPteKb: (s.NrPte + s.NrPmd + s.NrPud) * kbPerPage, rssAnonKb: s.RssAnon * kbPerPage });
      if (i === c.ops.length - 1) fileEnd = { rssFileKb: s.RssFile * kbPerPage, rssShmemKb: s.RssShmem * kbPerPage };
    }
  } catch (e) {
    // applyOp's message says where (file:line).
    if (e instanceof UnmodelledTraceError) return { ran: false, reason: e.message, features };
    throw e;
  }
  const end = after.at(-1) ?? { vmPteKb: 0, rssAnonKb: 0 };
  const differences: string[] = [];
  if (end.vmPteKb !== c.expect.vmPteKb) differences.push(`VmPTE: model ${end.vmPteKb} kB, real process ${c.expect.vmPteKb} kB`);
  if (end.rssAnonKb !== c.expect.rssAnonKb) differences.push(`RssAnon: model ${end.rssAnonKb} kB, real process ${c.expect.rssAnonKb} kB`);
  const samplesDiffering = c.samples.filter(
    (s) => after[s.opIndex]!.vmPteKb !== s.vmPteKb || after[s.opIndex]!.rssAnonKb !== s.rssAnonKb,
  ).length;
  const divergence = differences.length ? firstSampleDivergence(c.ops, c.samples, (i) => after[i]!) : undefined;
  return {
    ran: true,
    strategy: choice.strategy,
    zeroPage: choice.zeroPage,
    vmPteKb: end.vmPteKb,
    rssAnonKb: end.rssAnonKb,
    ...fileEnd,
    agree: differences.length === 0,
    differences,
    samplesDiffering,
    ...(divergence ? { divergence } : {}),
  };
}

/** Where a replay's moved spans must end: below the lowest address of a PIE program's code (0x55...). */
const HELPER_FLOOR = 0x540000000000;

/**
 * The ops moved to low 512 GiB spans, far below any helper mapping: each run of consecutive
 * 512 GiB spans the trace uses moves as a whole by a multiple of 512 GiB to the next free
 * spans from 512 GiB up, so every page table keeps its shape (a non-PIE program at 0x400000
 * and its libraries near 0x7f0000000000 become two runs side by side).
 */
export function moveAwayFromHelper(ops: readonly Op[]): { ops: Op[]; moves: { from: number; to: number; bytes: number }[] } {
  const used = new Set<number>();
  const mark = (addr: number, len: number) => {
    if (len <= 0) return;
    for (let s = Math.floor(addr / PGDIR_SIZE); s <= Math.floor((addr + len - 1) / PGDIR_SIZE); s++) used.add(s);
  };
  for (const op of ops) {
    mark(op.addr, op.len);
    if (op.kind === 'mremap') mark(op.newAddr ?? op.addr, op.newLen);
  }
  const slots = [...used].sort((a, b) => a - b);
  const newSlot = new Map<number, number>();
  const moves: { from: number; to: number; bytes: number }[] = [];
  let next = 1;
  for (let i = 0; i < slots.length; i++) {
    const runStart = slots[i]!;
    let runEnd = runStart;
    while (slots[i + 1] === runEnd + 1) runEnd = slots[++i]!;
    for (let s = runStart; s <= runEnd; s++) newSlot.set(s, next + s - runStart);
    moves.push({ from: runStart * PGDIR_SIZE, to: next * PGDIR_SIZE, bytes: (runEnd - runStart + 1) * PGDIR_SIZE });
    next += runEnd - runStart + 1;
  }
  // A PIE helper's own code lies at 0x55..., its libraries and stack near 0x7f...: stay below.
  if (next * PGDIR_SIZE > HELPER_FLOOR)
    throw new PtreclaimError(
      `the capture uses ${slots.length} separate 512 GiB spans: more than fit below the helper's own mappings (0x${HELPER_FLOOR.toString(16)}) to replay it`,
    );
  const at = (addr: number) => {
    const s = Math.floor(addr / PGDIR_SIZE);
    return addr + (newSlot.get(s)! - s) * PGDIR_SIZE;
  };
  const moved = ops.map((op) =>
    op.kind === 'mremap' && op.newAddr !== undefined ? { ...op, addr: at(op.addr), newAddr: at(op.newAddr) } : { ...op, addr: at(op.addr) },
  );
  return { ops: moved, moves };
}

async function runLive(c: CaptureFile, opts: { force?: boolean }): Promise<CaptureLiveOutcome> {
  const { ops, moves } = moveAwayFromHelper(c.ops);
  await checkReplayable(ops, { force: opts.force, source: c.source });
  const live = await runLiveTrace(ops, { perOp: c.samples.length > 0 });
  const d = (k: 'rssFileKb' | 'rssShmemKb') => live.after[k] - live.before[k];
  const divergence = live.perOp
    ? firstSampleDivergence(c.ops, c.samples, (i) => ({ vmPteKb: live.perOp![i]!.vmPteKb, rssAnonKb: live.perOp![i]!.rssAnonKb }))
    : undefined;
  return {
    moves,
    vmPteKb: live.vmPteDeltaKb,
    rssAnonKb: live.rssAnonDeltaKb,
    rssFileKb: d('rssFileKb'),
    rssShmemKb: d('rssShmemKb'),
    errors: live.errors.length,
    ...(divergence ? { divergence } : {}),
  };
}

const NOT_COMPARED =
  'RssFile and RssShmem are shown, not compared: the model and a replay start with new empty files (sized to the mapping) and a cold ' +
  "page cache, where the real process's libraries were already cached, so fault-around maps different pages; vdso pages count in the " +
  "kernel's RssFile and are anonymous in a trace";

/**
 * Validates a capture: the model against the real process; with `live`, also this kernel's
 * replay of the trace against the real process (a check of the capture, not of the model).
 */
export async function validateCapture(
  capture: string | CaptureFile,
  opts: { live?: boolean; force?: boolean } = {},
): Promise<CaptureValidation> {
  const c = typeof capture === 'string' ? readCaptureFile(capture) : capture;
  const model = runModel(c);
  let live: CaptureValidation['live'];
  if (opts.live) {
    try {
      live = await runLive(c, opts);
    } catch (e) {
      if (!(e instanceof PtreclaimError)) throw e;
      live = { error: e.message };
    }
  }
  return {
    source: c.source,
    expect: c.expect,
    ops: c.ops.length,
    samples: c.samples.length,
    host: c.host,
    model,
    ...(live ? { live } : {}),
    notCompared: NOT_COMPARED,
    agree: model.ran && model.agree,
  };
}

const fmtCounters = (c: { vmPteKb: number; rssAnonKb: number; rssFileKb?: number; rssShmemKb?: number }) =>
  `VmPTE ${c.vmPteKb} kB, RssAnon ${c.rssAnonKb} kB` +
  (c.rssFileKb !== undefined ? `, RssFile ${c.rssFileKb} kB, RssShmem ${c.rssShmemKb ?? 0} kB` : '');
const signed = (n: number) => (n > 0 ? `+${n}` : String(n));

function formatDivergence(d: CaptureDivergence, who: string): string {
  const where = d.file ? `${d.file}:${String(d.line)}` : `op #${d.opIndex}`;
  return [
    `  first sample where they part: after op #${d.opIndex} (${where}): ${d.text}`,
    `    real process ${fmtCounters(d.real)}`,
    `    ${who.padEnd(12)} ${fmtCounters(d.replay)}`,
    d.lastAgreed !== undefined ? `    (they agreed at the sample after op #${d.lastAgreed})` : '    (no earlier sample agreed)',
  ].join('\n');
}

/** The report for humans. */
export function formatCaptureValidation(v: CaptureValidation): string {
  const lines = [`${v.source}: the real process ended with ${fmtCounters(v.expect)}; ${v.ops} ops, ${v.samples} samples`];
  const m = v.model;
  if (m.ran) {
    lines.push(
      `model (${m.strategy}, zero page ${m.zeroPage ? 'on' : 'off'}): ${m.agree ? 'agree' : 'DIFFER'}: ${fmtCounters(m)}` +
        (m.agree ? '' : ` (${m.differences.join('; ')})`),
    );
    if (m.samplesDiffering > 0)
      lines.push(
        `  ${m.samplesDiffering} of ${v.samples} intermediate samples differ from the model after the same op` +
          " (a multithreaded program's samples are read while its other threads run)",
      );
    if (m.divergence) lines.push(formatDivergence(m.divergence, 'model'));
  } else {
    lines.push(
      m.features.length
        ? `model: not run: the capture uses trace v2 features the model does not run yet: ${m.features.map((f) => `${f.feature} (${f.ops} ops)`).join(', ')}`
        : // Refused only at run time, where an op meets a mapping the model does not handle that way.
          'model: not run: an op of the capture does something the model does not run yet:',
      `  (${m.reason})`,
    );
    if (!v.live)
      lines.push('  `ptreclaim validate --capture FILE --live` replays it on this kernel instead (a check of the capture itself)');
  }
  lines.push(`  ${v.notCompared}`);
  if (v.live) {
    if ('error' in v.live) lines.push(`live kernel: not replayed: ${v.live.error}`);
    else {
      const l = v.live;
      const e = v.expect;
      lines.push(
        `live kernel replay of the capture (${l.moves.length} run(s) of 512 GiB spans moved below the helper's mappings): ${fmtCounters(l)}; failed calls ${l.errors}`,
        `  replay minus real process: VmPTE ${signed(l.vmPteKb - e.vmPteKb)} kB, RssAnon ${signed(l.rssAnonKb - e.rssAnonKb)} kB, RssFile ${signed(l.rssFileKb - e.rssFileKb)} kB, RssShmem ${signed(l.rssShmemKb - e.rssShmemKb)} kB`,
      );
      if (l.divergence) lines.push(formatDivergence(l.divergence, 'replay'));
    }
  }
  return lines.join('\n');
}
