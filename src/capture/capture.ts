/**
 * `ptreclaim capture`: runs a command under the capture helper
 * (native/capture/ptreclaim-capture.c) and turns what it recorded into a trace v2 of the
 * command's address space (src/capture/convert.ts), with the real process's counters at
 * exit (`# expect`), after each mm syscall (`# sample`) and the host's settings (`# host`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { release } from 'node:os';

import { EXIT, PtreclaimError, UsageError } from '../errors.js';
import { configValue, readKernelConfig, readThpSettings, zeroPageFromCmdline } from '../oracle/host.js';
import { buildPath } from '../paths.js';
import { formatTrace } from '../trace/parse.js';
import { convertRecords, type CaptureCounters, type ConvertedCapture } from './convert.js';

export { LostEventsError, convertRecords, type CaptureCounters, type CaptureSample, type ConvertedCapture } from './convert.js';

/** Ring-buffer pages per CPU by default (4 MiB): a fault record is 48 bytes. */
export const DEFAULT_BUFFER_PAGES = 1024;

export interface CaptureOptions {
  /** Perf ring buffer per CPU, in 4 KiB pages (a power of two). */
  bufferPages?: number;
  /** Leave out the counters after each mm syscall (saves a /proc read per call). */
  samples?: boolean;
  /** Where CMD's standard output goes: ours (default) or our standard error. */
  commandStdout?: 'inherit' | 'stderr';
  /** Stops the capture: CMD and the helper are killed, nothing is returned. */
  signal?: AbortSignal;
}

export interface CaptureResult extends ConvertedCapture {
  command: string[];
  /** The trace text: header comments, `version 2`, ops with `# sample` comments. */
  text: string;
  /** What may make a replay differ from the real process (khugepaged, swap), also in the trace's header. */
  warnings: string[];
  /** CMD's exit: its status or the signal that ended it. */
  exit: { code: number | null; signal: string | null };
  wallMs: number;
}

/** The capture cannot run here (not permitted, no tracepoints, not x86-64 Linux): exit 3. */
export class CaptureUnavailableError extends PtreclaimError {
  override name = 'CaptureUnavailableError';
  override get exitCode(): number {
    return EXIT.oracleRefused;
  }
}

/** CMD could not be started (not found, not executable): exit 1. */
export class CaptureCommandError extends PtreclaimError {
  override name = 'CaptureCommandError';
}

/** The capture helper's path, or why it cannot run here. */
export function captureHelperStatus(): { available: true; helperPath: string } | { available: false; reason: string } {
  if (process.platform !== 'linux' || process.arch !== 'x64')
    return { available: false, reason: `capture needs x86-64 Linux (this is ${process.platform} ${process.arch})` };
  const helperPath = buildPath('native', 'ptreclaim-capture');
  try {
    if (!statSync(helperPath).isFile()) return { available: false, reason: `${helperPath} is not a file` };
    accessSync(helperPath, constants.X_OK);
  } catch {
    return { available: false, reason: `helper ${helperPath} not found or not executable; build it with "npm run build:native"` };
  }
  return { available: true, helperPath };
}

const running = new Set<ChildProcess>();

/** Kills every running capture helper (and so, by PTRACE_O_EXITKILL, its traced command). */
export function killCaptures(): void {
  for (const c of running) c.kill('SIGKILL');
  running.clear();
}

/** Runs `command` to completion under the capture helper and converts what it recorded. */
export async function captureCommand(command: readonly string[], opts: CaptureOptions = {}): Promise<CaptureResult> {
  if (command.length === 0 || command[0] === '') throw new UsageError('capture: no command given (ptreclaim capture -- CMD [ARGS...])');
  const bufferPages = opts.bufferPages ?? DEFAULT_BUFFER_PAGES;
  if (!Number.isInteger(bufferPages) || bufferPages < 1 || (bufferPages & (bufferPages - 1)) !== 0 || bufferPages > 1 << 20)
    throw new UsageError(`--buffer-pages must be a power of two from 1 to 1048576, not ${bufferPages}`);
  const st = captureHelperStatus();
  if (!st.available) throw new CaptureUnavailableError(st.reason);
  const args = ['--buffer-pages', String(bufferPages), ...(opts.samples === false ? ['--no-samples'] : []), '--', ...command];
  const started = performance.now();
  // khugepaged may collapse the program's tables behind its back (no fault, no syscall):
  // its host-wide counter before and after says whether it did anything at all meanwhile.
  const collapsedBefore = readThpSettings().khugepaged.pagesCollapsed;
  const { records, code, signal } = await new Promise<{
    records: string;
    code: number | null;
    signal: NodeJS.Signals | null;
  }>((resolve, reject) => {
    // CMD keeps our standard input and error; the helper's own messages come on fd 3.
    const child = spawn(st.helperPath, args, {
      stdio: ['inherit', opts.commandStdout === 'stderr' ? process.stderr : 'inherit', 'inherit', 'pipe'],
      shell: false,
    });
    running.add(child);
    const out: Buffer[] = [];
    const onAbort = () => child.kill('SIGKILL');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (b: Buffer) => out.push(b));
    child.on('error', (e) => reject(new CaptureUnavailableError(`cannot start ${st.helperPath}: ${e.message}`)));
    child.on('close', (c, s) => {
      running.delete(child);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve({ records: Buffer.concat(out).toString('utf8'), code: c, signal: s });
    });
  });
  if (opts.signal?.aborted) throw new PtreclaimError('capture stopped: the command was killed, no trace written');
  const message = /^! (.*)$/m.exec(records)?.[1];
  if (code !== 0) {
    if (code === 3) throw new CaptureUnavailableError(message ?? 'the capture helper cannot trace here');
    if (code === 4) throw new CaptureCommandError(message ?? `cannot execute ${command[0]!}`);
    throw new PtreclaimError(`the capture helper failed (${signal ?? `exit ${String(code)}`})${message ? `: ${message}` : ''}`);
  }
  const converted = convertRecords(records);
  const collapsedAfter = readThpSettings().khugepaged.pagesCollapsed;
  const warnings: string[] = [];
  if (collapsedBefore !== null && collapsedAfter !== null && collapsedAfter > collapsedBefore)
    warnings.push(
      `khugepaged collapsed ${collapsedAfter - collapsedBefore} page(s) on this host during the capture (a host-wide counter): if any were this process's, its real tables differ from the trace's`,
    );
  if (converted.swapKb)
    warnings.push(`${converted.swapKb} kB of the process were swapped out at exit: a replay without memory pressure keeps them resident`);
  const wallMs = performance.now() - started;
  const w = converted.waitStatus ?? 0;
  const exit = (w & 0x7f) === 0 ? { code: (w >> 8) & 0xff, signal: null } : { code: null, signal: `signal ${w & 0x7f}` };
  return { ...converted, command: [...command], exit, wallMs, warnings, text: captureText(converted, command, exit, warnings) };
}

/** The `# host` line: what the model must be configured like to replay this capture. */
export function hostLine(): string {
  const thp = readThpSettings();
  const cfg = readKernelConfig();
  let cmdline = '';
  try {
    cmdline = readFileSync('/proc/cmdline', 'utf8');
  } catch {
    // no /proc/cmdline: the zero page is upstream's default
  }
  const zp = zeroPageFromCmdline(cmdline);
  const words = [
    `kernel=${release()}`,
    `arch=${process.arch}`,
    `pt_reclaim_config=${cfg ? configValue(cfg.text, 'PT_RECLAIM') : 'unknown'}`,
    `zero_page=${zp.zeroPage ? 'on' : 'off'}`,
    `thp=${thp.enabled}`,
    `thp_defrag=${thp.defrag}`,
    `thp_zero_page=${thp.useZeroPage === null ? 'unknown' : thp.useZeroPage ? 'on' : 'off'}`,
    `thp_shmem=${thp.shmemEnabled}`,
    `khugepaged_max_ptes_none=${thp.khugepaged.maxPtesNone ?? 'unknown'}`,
  ];
  return `host ${words.join(' ')}`;
}

/** The expect line's exact form (issue 13). */
export function expectLine(c: CaptureCounters): string {
  return `expect vmpte_kb=${c.vmPteKb} rssanon_kb=${c.rssAnonKb} rssfile_kb=${c.rssFileKb} rssshmem_kb=${c.rssShmemKb}`;
}

/** The trace text of a capture: header comments, the ops, a `# sample` after each sampled op. */
export function captureText(
  c: ConvertedCapture,
  command: readonly string[],
  exit: { code: number | null; signal: string | null },
  warnings: readonly string[] = [],
): string {
  const header = [
    `ptreclaim capture -- ${command.map((a) => (/^[\w./=:,+-]+$/.test(a) ? a : JSON.stringify(a))).join(' ')}`,
    hostLine(),
    `capture execs=${c.execs} children=${c.children} exit=${exit.signal ?? exit.code ?? 'unknown'}` +
      (c.execs > 1 ? ` (the address space of exec ${c.execs}; ${c.execs - 1} earlier exec(s) not traced)` : ''),
    ...warnings.map((w) => `warning: ${w}`),
    ...Object.entries(c.counts).map(([what, n]) => `seen ${n} ${what}`),
    ...[...c.files].map(([name, path]) => `file ${name} = ${path}`),
    ...(c.expect ? [expectLine(c.expect)] : ['no expect: the process was not seen exiting']),
  ];
  const lines = formatTrace(c.ops, header.join('\n')).split('\n');
  // Op i is line header.length + 1 + i of the formatted text.
  const sampleAfter = new Map(c.samples.map((s) => [s.opIndex, s]));
  const out: string[] = [];
  for (const [k, l] of lines.entries()) {
    out.push(l);
    const s = sampleAfter.get(k - header.length - 1);
    if (s) out.push(`# sample vmpte_kb=${s.vmPteKb} rssanon_kb=${s.rssAnonKb} rssfile_kb=${s.rssFileKb} rssshmem_kb=${s.rssShmemKb}`);
  }
  return out.join('\n');
}
