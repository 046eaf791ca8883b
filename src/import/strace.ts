/**
 * `ptreclaim import strace`: turn the memory-management calls a real program made into a trace.
 *
 * Input: `strace -f [-tt|-ttt] [-y] -e trace=execve,mmap,munmap,mprotect,madvise,mremap,brk,
 * open,openat,close,dup,dup2,dup3,fcntl,memfd_create -o LOG PROGRAM`. Lines may carry a pid
 * (`123 ` or `[pid 123] `) and a timestamp; calls split by another thread (`<unfinished ...>` /
 * `<... mmap resumed>`) are joined per pid.
 *
 * Mapping to trace ops (trace format 2, issue 12; written as `version 1` when nothing needs v2):
 * - mmap -> `mmap RESULT LEN` at the address the kernel returned, with its real protection
 *   (PROT_NONE -> `prot=none`, without PROT_WRITE -> `prot=r`), `shared` for MAP_SHARED
 *   (anonymous shared = shmem) and `file=NAME:OFFSET` for a file: NAME is the file's base name
 *   sanitised to [A-Za-z0-9._-] (one name per distinct path, `-2`, `-3` for clashes), the path
 *   found from the fd through open/openat/creat/memfd_create/close/dup/dup2/dup3/fcntl(F_DUPFD)
 *   (or strace -y's `3</path>`); an fd never opened in the log is named `fdN`. MAP_FIXED first
 *   unmaps what it replaces. /dev/zero is anonymous memory; MAP_SHARED of memfd or /dev/shm
 *   files becomes anonymous shared memory (shmem; one object per mapping: an approximation),
 *   MAP_PRIVATE of them a file; other device files and MAP_HUGETLB are skipped and counted.
 * - munmap -> `munmap`; mprotect -> `mprotect` (rw, r or none) on the imported parts.
 * - madvise -> `madvise` with the advice of the same name (all 14 of trace v2), clipped to the
 *   imported parts of the range; other advice is reported, skipped.
 * - brk: heap growth -> `mmap` of the new part, shrinking -> `munmap` of the released part.
 * - mremap -> `mremap` in place, or, when the kernel moved it (MREMAP_MAYMOVE or MREMAP_FIXED),
 *   `mremap OLD OLDLEN NEWLEN NEWADDR` with the address the kernel returned. MREMAP_DONTUNMAP
 *   and old_size 0 have no trace v2 form: skipped and counted.
 * - Failed calls (`= -1 E...`) change nothing: skipped and counted.
 * - `format: 1` (`--format 1`) keeps the trace v1 subset for models that run only that: file and
 *   shared mappings are skipped, PROT_NONE mapped read-write, mprotect ignored, other advice than
 *   MADV_DONTNEED/MADV_FREE skipped and a moving mremap approximated (munmap + mmap + touch).
 * - brk(NULL) asks for the current break: its answer sets the break, it is never heap growth.
 * - Address spaces: a successful execve (any pid, strace -f) starts a new one for that pid, and
 *   so does a brk(NULL) answer that differs from the known break (an exec the log does not show,
 *   or another process). Other pids are threads of the address space they were last seen in; a
 *   pid not seen before joins the newest one. One address space is imported: the last by default
 *   (a launcher or shim execs the real program last), or the one `exec` chooses (1-based); the
 *   summary says how many there were and where each began. Open files carry over an execve
 *   unless opened with O_CLOEXEC.
 * - Lines that cannot be strace output (control characters, NULs, invalid UTF-8, a lone CR) are
 *   skipped and counted with the first line number; a call left `<unfinished ...>` and never
 *   resumed is counted the same way. Numbers that do not parse are a UsageError at file:line.
 *
 * strace cannot see page faults, so a fault model fills them in (`--touch`); its touch ops are
 * guesses and are labelled so in the summary and in the written trace. A guessed fault writes
 * writable memory, reads `prot=r` memory and leaves `prot=none` memory alone:
 * - dontneed-ranges (default): before each MADV_DONTNEED/MADV_FREE/MADV_DONTNEED_LOCKED, touch
 *   every page of the range: an allocator purges memory it used. Memory never purged is never touched.
 * - all-mapped: touch every page of each new mapping (and heap growth) right after mapping it.
 * - none: no faults at all (only the VMA layout and madvise calls).
 */
import { PAGE_SIZE, PGDIR_SIZE, TASK_SIZE } from '../core/types.js';
import { checkStraceArgs } from '../api-schema.js';
import { UsageError } from '../errors.js';
import { MMAP_MIN_ADDR } from '../mm/mm.js';
import type { AdviceV2, Op, Prot } from '../trace/ops.js';
import { RangeSet } from '../trace/ranges.js';

export const TOUCH_MODELS = ['dontneed-ranges', 'all-mapped', 'none'] as const;
export type TouchModel = (typeof TOUCH_MODELS)[number];

export interface StraceImportOptions {
  /** Name of the log, for messages. */
  file?: string;
  touch?: TouchModel;
  /** Move every address by a multiple of 512 GiB so the trace starts in the span at this address. */
  rebase?: number;
  /** Which address space to import when the log has several (1-based, or 'last': the default). */
  exec?: number | 'last';
  /** Trace format to write: 2 (default: every mapping kind, mprotect, mremap) or 1 (private anonymous only). */
  format?: 1 | 2;
}

export interface StraceImportResult {
  ops: Op[];
  /** Counts by what happened to each call. */
  counts: Record<string, number>;
  /** Human summary, one line each. */
  summary: string[];
  /** Comment lines for the trace file. */
  header: string[];
}

const SYSCALLS = new Set(['mmap', 'munmap', 'madvise', 'mremap', 'brk', 'mprotect']);
/** Calls that open, close or copy file descriptors: followed to name the files mmap maps. */
const FD_CALLS = new Set(['open', 'openat', 'openat2', 'creat', 'memfd_create', 'close', 'dup', 'dup2', 'dup3', 'fcntl']);

/** The strace capture command the importer is made for. */
export const STRACE_COMMAND =
  'strace -f -e trace=execve,mmap,munmap,mprotect,madvise,mremap,brk,open,openat,close,dup,dup2,dup3,fcntl,memfd_create -o LOG PROGRAM';

/** Trace v2 advice by strace's MADV_ name, and by number (strace prints advice it does not know as a number). */
const ADVICE_BY_NAME: Record<string, AdviceV2> = {
  MADV_DONTNEED: 'dontneed',
  MADV_FREE: 'free',
  MADV_HUGEPAGE: 'hugepage',
  MADV_NOHUGEPAGE: 'nohugepage',
  MADV_COLLAPSE: 'collapse',
  MADV_GUARD_INSTALL: 'guard-install',
  MADV_GUARD_REMOVE: 'guard-remove',
  MADV_POPULATE_READ: 'populate-read',
  MADV_POPULATE_WRITE: 'populate-write',
  MADV_DONTNEED_LOCKED: 'dontneed-locked',
  MADV_REMOVE: 'remove',
  MADV_WILLNEED: 'willneed',
  MADV_COLD: 'cold',
  MADV_PAGEOUT: 'pageout',
};
const ADVICE_BY_NUMBER: Record<number, string> = {
  4: 'MADV_DONTNEED',
  8: 'MADV_FREE',
  14: 'MADV_HUGEPAGE',
  15: 'MADV_NOHUGEPAGE',
  25: 'MADV_COLLAPSE',
  102: 'MADV_GUARD_INSTALL',
  103: 'MADV_GUARD_REMOVE',
  22: 'MADV_POPULATE_READ',
  23: 'MADV_POPULATE_WRITE',
  24: 'MADV_DONTNEED_LOCKED',
  9: 'MADV_REMOVE',
  3: 'MADV_WILLNEED',
  20: 'MADV_COLD',
  21: 'MADV_PAGEOUT',
};

/** strace's advice argument as a MADV_ name: names as written, numbers (`0x66`, `102`, with or without a comment) looked up. */
function adviceName(arg: string): string {
  const t = arg.replace(/\/\*.*\*\//, '').trim();
  const n = /^0x[0-9a-f]+$/i.test(t) ? Number.parseInt(t.slice(2), 16) : /^\d+$/.test(t) ? Number(t) : NaN;
  return Number.isNaN(n) ? t : (ADVICE_BY_NUMBER[n] ?? t);
}

/** PROT_ flags as a trace protection: none, r (readable, not writable) or rw. */
function protOf(flags: string): Prot {
  if (/\bPROT_WRITE\b/.test(flags)) return 'rw';
  if (/\bPROT_READ\b|\bPROT_EXEC\b/.test(flags)) return 'r';
  if (/\bPROT_NONE\b/.test(flags) || flags.trim() === '0') return 'none';
  // A numeric prot (strace -X raw): PROT_READ 1, PROT_WRITE 2, PROT_EXEC 4.
  const v = Number(flags.trim());
  return Number.isInteger(v) ? (v & 2 ? 'rw' : v & 5 ? 'r' : 'none') : 'rw';
}

const pageDown = (n: number) => Math.floor(n / PAGE_SIZE) * PAGE_SIZE;
const pageUp = (n: number) => Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;

interface Call {
  pid: string;
  name: string;
  args: string[];
  /** Return value, or undefined when the call failed. */
  ret: number | undefined;
  errno?: string;
  lineNo: number;
  /** The argument text as strace wrote it (quoted paths may hold commas). */
  rawArgs: string;
  /** mmap of a file: the path its fd was opened with (undefined: not seen in the log). */
  path?: string;
}

/** pid, timestamp, then `name(args) = ret`: the forms strace -f / -tt / -ttt / -r write. */
const PREFIX = /^(?:\[pid\s+(\d+)\]\s+|(\d+)\s+)?(?:(?:\d{2}:\d{2}:\d{2}(?:\.\d+)?|\d+\.\d+)\s+)?(.*)$/s;
const COMPLETE = /^([a-z_0-9]+)\((.*)\)\s+=\s+(0x[0-9a-f]+|-?\d+|\?)(?:\s+(E[A-Z0-9]+))?.*$/s;
/** Nothing strace writes: C0 controls but tab, DEL, and U+FFFD (what invalid UTF-8 decodes to). */
// eslint-disable-next-line no-control-regex
const NOT_TEXT = /[\x00-\x08\x0b-\x1f\x7f\ufffd]/;

/** Parses "0x7f..", "NULL", decimal. */
function num(s: string | undefined, what: string, lineNo: number, file: string): number {
  const t = (s ?? '').trim();
  if (t === 'NULL') return 0;
  const v = /^0x[0-9a-f]+$/i.test(t) ? Number.parseInt(t.slice(2), 16) : /^\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isSafeInteger(v))
    throw new UsageError(`${file}:${lineNo}: ${what}: "${t.length > 40 ? t.slice(0, 40) + '...' : t}" is not a number`);
  return v;
}

/** Counts a skipped line under `what`, remembering the first line number. */
type Skip = (what: string, lineNo: number) => void;

/** Joins unfinished/resumed halves per pid and yields complete calls of the traced syscalls (and execve). */
function* calls(text: string, file: string, bump: (k: string) => void, skip: Skip): Generator<Call> {
  const pending = new Map<string, { head: string; lineNo: number }>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let raw = lines[i]!;
    if (raw.endsWith('\r')) raw = raw.slice(0, -1);
    raw = raw.trim();
    if (!raw) continue;
    if (NOT_TEXT.test(raw)) {
      skip('lines with binary data or control characters skipped', lineNo);
      continue;
    }
    const m = PREFIX.exec(raw)!;
    const pidNo = m[1] ?? m[2];
    const pid = pidNo ?? '-';
    let body = m[3]!;
    if (body.startsWith('+++') || body.startsWith('---') || body.startsWith('strace:')) continue;
    if (body.endsWith('<unfinished ...>')) {
      const prev = pending.get(pid);
      if (prev) skip('calls left <unfinished ...> and never resumed, skipped', prev.lineNo);
      pending.set(pid, { head: body.slice(0, -'<unfinished ...>'.length).trimEnd(), lineNo });
      continue;
    }
    const resumed = /^<\.\.\. ([a-z_0-9]+) resumed>(.*)$/s.exec(body);
    if (resumed) {
      const head = pending.get(pid);
      pending.delete(pid);
      if (head === undefined) {
        skip('lines not understood', lineNo);
        continue;
      }
      body = head.head + resumed[2]!;
    }
    const c = COMPLETE.exec(body);
    if (!c) {
      if (/^[a-z_0-9]+\(/.test(body) && body.includes('= ?')) continue; // exit_group & co
      skip('lines not understood', lineNo);
      continue;
    }
    const name = c[1]!;
    if (!SYSCALLS.has(name) && !FD_CALLS.has(name) && name !== 'execve') {
      bump(`other syscall ${name} ignored`);
      continue;
    }
    const args = c[2]!.split(/,\s*/);
    const failed = c[3] === '-1' && c[4] !== undefined;
    if (c[3] === '?') continue;
    yield {
      pid,
      name,
      args,
      ret: failed ? undefined : num(c[3], `${name} result`, lineNo, file),
      errno: failed ? c[4] : undefined,
      lineNo,
      rawArgs: c[2]!,
    };
  }
  for (const p of pending.values()) skip('calls left <unfinished ...> and never resumed, skipped', p.lineNo);
}

/** An open file descriptor: the path it was opened with, and whether an execve closes it. */
interface OpenFile {
  path: string;
  cloexec: boolean;
}

/** One address space of the log: where it began and the calls made in it. */
interface AddressSpace {
  startLine: number;
  why: string;
  /** The break as last answered by brk, once known. */
  brk?: number;
  calls: Call[];
  pids: Set<string>;
  /** Open files by fd (the process's table: its threads share it). */
  fds: Map<number, OpenFile>;
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** The first double-quoted string of strace's argument text, unescaped enough to tell paths apart. */
function quoted(raw: string): string | undefined {
  const m = /"((?:[^"\\]|\\.)*)"/.exec(raw);
  return m ? m[1]! : undefined;
}

/** An fd argument: `3`, or strace -y's `3</path>` (the path is then known without the open). */
function fdArg(arg: string | undefined): { fd: number; path?: string } | undefined {
  const m = /^\s*(-?\d+)(?:<(.*)>)?\s*$/s.exec(arg ?? '');
  return m ? { fd: Number(m[1]), path: m[2] } : undefined;
}

/** Follows the fd-table calls of one address space; attaches the path to each file mmap. */
function trackFds(as: AddressSpace, c: Call): void {
  const fds = as.fds;
  if (c.name === 'mmap') {
    const fd = fdArg(c.args[4]);
    if (fd && fd.fd >= 0) c.path = fd.path ?? fds.get(fd.fd)?.path;
    return;
  }
  if (c.ret === undefined) return;
  const ret = c.ret;
  switch (c.name) {
    case 'open':
    case 'openat':
    case 'openat2':
    case 'creat': {
      const path = quoted(c.rawArgs);
      if (path !== undefined) fds.set(ret, { path, cloexec: /\bO_CLOEXEC\b/.test(c.rawArgs) });
      break;
    }
    case 'memfd_create': {
      const name = quoted(c.rawArgs);
      fds.set(ret, { path: `memfd:${name ?? ''}`, cloexec: /\bMFD_CLOEXEC\b/.test(c.rawArgs) });
      break;
    }
    case 'close':
      if (fdArg(c.args[0])) fds.delete(fdArg(c.args[0])!.fd);
      break;
    case 'dup':
    case 'dup2':
    case 'dup3':
    case 'fcntl': {
      if (c.name === 'fcntl' && !/\bF_DUPFD/.test(c.args[1] ?? '')) break;
      const from = fdArg(c.args[0]);
      const f = from && (from.path !== undefined ? { path: from.path, cloexec: false } : fds.get(from.fd));
      if (f) fds.set(ret, { path: f.path, cloexec: c.rawArgs.includes('CLOEXEC') });
      else fds.delete(ret);
      break;
    }
  }
}

/** Splits calls by address space: at each successful execve and each brk(NULL) that contradicts the known break. */
function splitAddressSpaces(all: Iterable<Call>): AddressSpace[] {
  const spaces: AddressSpace[] = [{ startLine: 1, why: 'start of the log', calls: [], pids: new Set(), fds: new Map() }];
  const spaceOf = new Map<string, AddressSpace>();
  const begin = (pid: string, startLine: number, why: string, fds: Map<number, OpenFile>) => {
    const as: AddressSpace = { startLine, why, calls: [], pids: new Set([pid]), fds };
    spaces.push(as);
    spaceOf.set(pid, as);
    return as;
  };
  for (const c of all) {
    let as = spaceOf.get(c.pid) ?? spaces[spaces.length - 1]!;
    if (c.name === 'execve') {
      // The first execve of a log that starts with it (strace -f PROGRAM) does not split anything.
      if (c.ret === 0) {
        if (as.calls.length === 0 && spaces.length === 1) as.why = 'execve';
        else begin(c.pid, c.lineNo, 'execve', new Map([...as.fds].filter(([, f]) => !f.cloexec)));
      }
      continue;
    }
    if (FD_CALLS.has(c.name)) {
      trackFds(as, c);
      continue;
    }
    if (c.name === 'brk' && c.ret !== undefined) {
      const asked = (c.args[0] ?? '').trim();
      if (asked === 'NULL' && as.brk !== undefined && as.brk !== c.ret) {
        as = begin(
          c.pid,
          c.lineNo,
          `brk(NULL) answered ${hex(c.ret)}, not the break ${hex(as.brk)}: an execve not in the log, or another process`,
          new Map(as.fds),
        );
      }
      as.brk = c.ret;
    }
    if (c.name === 'mmap') trackFds(as, c);
    spaceOf.set(c.pid, as);
    as.pids.add(c.pid);
    as.calls.push(c);
  }
  // A log that starts with execve lines of failed attempts only, or anything else before the first call: keep spaces with calls.
  return spaces.filter((as, i) => as.calls.length > 0 || i === spaces.length - 1);
}

/** Trace file names for paths: the base name sanitised to [A-Za-z0-9._-], one name per distinct path. */
class FileNames {
  private readonly byPath = new Map<string, string>();
  private readonly used = new Set<string>();

  nameOf(path: string): string {
    const known = this.byPath.get(path);
    if (known !== undefined) return known;
    let base = (path.split('/').pop() ?? '').replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100);
    if (base === '' || base === '.' || base === '..') base = 'file';
    let name = base;
    for (let k = 2; this.used.has(name); k++) name = `${base}-${k}`;
    this.used.add(name);
    this.byPath.set(path, name);
    return name;
  }
}

/** Converts strace output to trace ops. */
export function importStrace(text: string, opts: StraceImportOptions = {}): StraceImportResult {
  checkStraceArgs(text, opts);
  const file = opts.file ?? '<strace>';
  const touch = opts.touch ?? 'dontneed-ranges';
  const counts: Record<string, number> = {};
  const bump = (k: string, n = 1) => {
    counts[k] = (counts[k] ?? 0) + n;
  };
  const firstLine: Record<string, number> = {};
  const skip: Skip = (what, lineNo) => {
    bump(what);
    firstLine[what] = Math.min(firstLine[what] ?? Infinity, lineNo);
  };
  const spaces = splitAddressSpaces(calls(text, file, bump, skip));
  const chosen = opts.exec ?? 'last';
  if (chosen !== 'last' && (!Number.isInteger(chosen) || chosen < 1 || chosen > spaces.length)) {
    throw new UsageError(
      `${file}: --exec ${chosen}: the log has ${spaces.length} address space${spaces.length === 1 ? '' : 's'} (${describeSpaces(spaces)}); give 1 to ${spaces.length} or "last"`,
    );
  }
  const index = chosen === 'last' ? spaces.length : chosen;
  const space = spaces[index - 1]!;
  const pids = new Set([...space.pids].filter((p) => p !== '-'));

  const v1 = opts.format === 1;
  const ops: Op[] = [];
  /** Every imported mapping, and which parts are prot=r and prot=none (the rest is rw). */
  const mapped = new RangeSet();
  const readOnly = new RangeSet();
  const noAccess = new RangeSet();
  /** Pages holding a guard marker (MADV_GUARD_INSTALL): a guessed fault leaves them alone. */
  const guarded = new RangeSet();
  const names = new FileNames();
  let brkStart: number | undefined;
  let brkCur = 0;

  const pos = (c: Call) => ({ file, line: c.lineNo });
  const setProt = (s: number, e: number, prot: Prot) => {
    readOnly.remove(s, e);
    noAccess.remove(s, e);
    if (prot === 'r') readOnly.add(s, e);
    if (prot === 'none') noAccess.add(s, e);
  };
  /** A guessed fault over the imported parts of [s, e): write rw memory, read prot=r, skip prot=none. */
  const guessTouch = (c: Call, s: number, e: number) => {
    for (const [a, b] of mapped.clip(s, e)) {
      const cuts = new Set([a, b]);
      for (const set of [readOnly, noAccess, guarded]) for (const [x, y] of set.clip(a, b)) cuts.add(x).add(y);
      const points = [...cuts].sort((x, y) => x - y);
      for (let i = 0; i + 1 < points.length; i++) {
        const [x, y] = [points[i]!, points[i + 1]!];
        if (noAccess.intersects(x, y) || guarded.intersects(x, y)) continue;
        const access = readOnly.intersects(x, y) ? 'read' : 'write';
        const last = ops[ops.length - 1];
        // Neighbouring pieces of one access join into one op.
        if (last?.kind === 'touch' && last.access === access && last.addr + last.len === x && last.line === c.lineNo) last.len += y - x;
        else ops.push({ kind: 'touch', addr: x, len: y - x, access, ...pos(c) });
      }
    }
  };
  const mmap = (c: Call, s: number, e: number, extra: { prot?: Prot; shared?: true; mapFile?: string; offset?: number } = {}) => {
    if (e <= s) return;
    const op: Op = { kind: 'mmap', addr: s, len: e - s, ...pos(c) };
    if (extra.prot !== undefined && extra.prot !== 'rw') op.prot = extra.prot;
    if (extra.shared) op.shared = true;
    if (extra.mapFile !== undefined) {
      op.mapFile = extra.mapFile;
      op.offset = extra.offset ?? 0;
    }
    ops.push(op);
    mapped.add(s, e);
    setProt(s, e, extra.prot ?? 'rw');
    if (touch === 'all-mapped') guessTouch(c, s, e);
  };
  const forget = (s: number, e: number) => {
    mapped.remove(s, e);
    guarded.remove(s, e);
    setProt(s, e, 'rw');
  };
  const munmap = (c: Call, s: number, e: number) => {
    if (e <= s) return;
    ops.push({ kind: 'munmap', addr: s, len: e - s, ...pos(c) });
    forget(s, e);
  };

  for (const c of space.calls) {
    bump(`${c.name} calls`);
    if (c.ret === undefined && c.name !== 'brk') {
      bump(`${c.name} failed (${c.errno!}), skipped`);
      continue;
    }
    const n = (k: number, what: string) => num(c.args[k], `${c.name} ${what}`, c.lineNo, file);
    switch (c.name) {
      case 'mmap': {
        const len = pageUp(n(1, 'length'));
        const protText = c.args[2] ?? '';
        const flags = c.args[3] ?? '';
        const at = c.ret!;
        const fixed = /\bMAP_FIXED\b/.test(flags);
        const anon = /\bMAP_ANONYMOUS\b|\bMAP_ANON\b/.test(flags);
        const shared = /\bMAP_SHARED(?:_VALIDATE)?\b/.test(flags);
        // MAP_FIXED replaces whatever was there: drop the imported parts first.
        if (fixed) for (const [s, e] of mapped.clip(at, at + len)) munmap(c, s, e);
        if (/\bMAP_HUGETLB\b/.test(flags)) {
          bump('MAP_HUGETLB mmap skipped');
          continue;
        }
        if (v1) {
          if (!anon || shared) {
            bump(!anon ? 'file-backed mmap skipped' : 'shared anonymous mmap skipped');
            continue;
          }
          if (protOf(protText) === 'none') bump('PROT_NONE mmap mapped read-write (--format 1)');
          mmap(c, at, at + len);
          bump('mmap imported');
          break;
        }
        const prot = protOf(protText);
        if (anon) {
          mmap(c, at, at + len, { prot, ...(shared ? { shared: true as const } : {}) });
          bump(shared ? 'mmap shared anonymous (shmem) imported' : 'mmap imported');
          break;
        }
        const path = c.path;
        const offset = num((c.args[5] ?? '0').trim(), 'mmap offset', c.lineNo, file);
        if (path === '/dev/zero') {
          mmap(c, at, at + len, { prot, ...(shared ? { shared: true as const } : {}) });
          bump('mmap of /dev/zero imported as anonymous memory');
          break;
        }
        const shm = path !== undefined && (path.startsWith('memfd:') || path.startsWith('/dev/shm/'));
        if (path !== undefined && !shm && /^\/(?:dev|proc|sys)\//.test(path)) {
          bump('mmap of a device or /proc, /sys file skipped');
          continue;
        }
        if (shm && shared) {
          mmap(c, at, at + len, { prot, shared: true });
          bump('MAP_SHARED mmap of memfd or /dev/shm imported as anonymous shared memory (one shmem object per mapping: approximation)');
          break;
        }
        const fdNo = fdArg(c.args[4])?.fd ?? -1;
        const name = names.nameOf(path ?? `fd${fdNo}`);
        if (path === undefined) bump('mmap of an fd not opened in the log: file named fdN');
        if (offset % PAGE_SIZE !== 0) throw new UsageError(`${file}:${c.lineNo}: mmap offset ${hex(offset)} is not page aligned`);
        mmap(c, at, at + len, { prot, ...(shared ? { shared: true as const } : {}), mapFile: name, offset });
        bump(shared ? 'mmap shared file imported' : 'mmap private file imported');
        break;
      }
      case 'munmap': {
        const a = n(0, 'address');
        munmap(c, a, a + pageUp(n(1, 'length')));
        bump('munmap imported');
        break;
      }
      case 'mprotect': {
        if (v1) {
          bump('mprotect skipped (--format 1)');
          continue;
        }
        const a = pageDown(n(0, 'address'));
        const prot = protOf(c.args[2] ?? '');
        const pieces = mapped.clip(a, pageUp(a + n(1, 'length')));
        if (pieces.length === 0) {
          bump('mprotect on memory not imported skipped');
          continue;
        }
        for (const [s, e] of pieces) {
          ops.push({ kind: 'mprotect', addr: s, len: e - s, prot, ...pos(c) });
          setProt(s, e, prot);
        }
        bump('mprotect imported');
        break;
      }
      case 'madvise': {
        const a = n(0, 'address');
        const advice = adviceName(c.args[2] ?? '');
        const kind = ADVICE_BY_NAME[advice];
        if (!kind || (v1 && kind !== 'dontneed' && kind !== 'free')) {
          bump(`madvise ${advice} skipped (not modelled)`);
          continue;
        }
        const pieces = mapped.clip(pageDown(a), pageUp(a + n(1, 'length')));
        if (pieces.length === 0) {
          bump(`madvise ${advice} on unmodelled memory skipped`);
          continue;
        }
        for (const [s, e] of pieces) {
          if (touch === 'dontneed-ranges' && (kind === 'dontneed' || kind === 'free' || kind === 'dontneed-locked')) guessTouch(c, s, e);
          ops.push({ kind: 'madvise', addr: s, len: e - s, advice: kind, ...pos(c) });
          if (kind === 'guard-install') guarded.add(s, e);
          if (kind === 'guard-remove') guarded.remove(s, e);
        }
        bump(`madvise ${advice} imported`);
        break;
      }
      case 'brk': {
        const now = pageUp(c.ret!);
        const asked = (c.args[0] ?? '').trim();
        // brk(NULL) only reports the break (a different answer began a new address space above).
        if (brkStart === undefined || asked === 'NULL') {
          brkStart ??= now;
          brkCur = now;
          break;
        }
        if (pageUp(num(asked, 'brk address', c.lineNo, file)) !== now) bump('brk refused (unchanged break), skipped');
        if (now > brkCur) mmap(c, brkCur, now);
        else if (now < brkCur) munmap(c, Math.max(now, brkStart), brkCur);
        if (now !== brkCur) bump('brk imported');
        brkCur = now;
        break;
      }
      case 'mremap': {
        const old = n(0, 'old address');
        const oldLen = pageUp(n(1, 'old length'));
        const newLen = pageUp(n(2, 'new length'));
        const at = c.ret!;
        const flags = c.args[3] ?? '';
        if (v1) {
          mremapV1(c, old, oldLen, newLen, at);
          break;
        }
        if (/\bMREMAP_DONTUNMAP\b/.test(flags) || oldLen === 0) {
          // The kernel mapped [at, at + newLen): whatever the trace had there is gone.
          for (const [s, e] of mapped.clip(at, at + newLen)) munmap(c, s, e);
          bump(oldLen === 0 ? 'mremap with old size 0 skipped (no trace v2 form)' : 'mremap MREMAP_DONTUNMAP skipped (no trace v2 form)');
          continue;
        }
        const imported = mapped.clip(old, old + oldLen);
        if (imported.length !== 1 || imported[0]![0] !== old || imported[0]![1] !== old + oldLen) {
          // Not (wholly) imported memory: the result is unknown to the trace; forget both ranges.
          for (const [s, e] of imported) munmap(c, s, e);
          if (at !== old) for (const [s, e] of mapped.clip(at, at + newLen)) munmap(c, s, e);
          bump('mremap of memory not imported skipped');
          continue;
        }
        if (at === old && newLen === oldLen) {
          bump('mremap to the same size skipped (no change)');
          continue;
        }
        const lastProt: Prot = noAccess.intersects(old + oldLen - PAGE_SIZE, old + oldLen)
          ? 'none'
          : readOnly.intersects(old + oldLen - PAGE_SIZE, old + oldLen)
            ? 'r'
            : 'rw';
        if (at === old) {
          ops.push({ kind: 'mremap', addr: old, len: oldLen, newLen, ...pos(c) });
          if (newLen < oldLen) forget(old + newLen, old + oldLen);
          else {
            mapped.add(old + oldLen, old + newLen);
            setProt(old + oldLen, old + newLen, lastProt);
          }
          bump('mremap in place imported');
          break;
        }
        // Moved: MREMAP_FIXED to the address the kernel chose (or was given), which unmaps what was there.
        ops.push({ kind: 'mremap', addr: old, len: oldLen, newLen, newAddr: at, ...pos(c) });
        const keep = Math.min(oldLen, newLen);
        const ro = readOnly.clip(old, old + keep);
        const na = noAccess.clip(old, old + keep);
        const gd = guarded.clip(old, old + keep);
        forget(old, old + oldLen);
        forget(at, at + newLen);
        mapped.add(at, at + newLen);
        for (const [s, e] of ro) readOnly.add(s - old + at, e - old + at);
        for (const [s, e] of na) noAccess.add(s - old + at, e - old + at);
        for (const [s, e] of gd) guarded.add(s - old + at, e - old + at);
        if (newLen > oldLen) setProt(at + oldLen, at + newLen, lastProt);
        bump('mremap move imported');
        break;
      }
    }
  }

  /** --format 1: in place -> mmap/munmap of the difference; moved -> munmap + mmap + touch (the kernel moves entries instead). */
  function mremapV1(c: Call, old: number, oldLen: number, newLen: number, at: number): void {
    if (mapped.clip(old, old + oldLen).length === 0) {
      bump('mremap of unmodelled memory skipped');
      return;
    }
    if (at === old) {
      if (newLen < oldLen) munmap(c, old + newLen, old + oldLen);
      else mmap(c, old + oldLen, old + newLen);
      bump('mremap in place imported');
      return;
    }
    munmap(c, old, old + oldLen);
    ops.push({ kind: 'mmap', addr: at, len: newLen, ...pos(c) });
    mapped.add(at, at + newLen);
    if (touch !== 'none')
      ops.push({ kind: 'touch', addr: at, len: touch === 'all-mapped' ? newLen : Math.min(oldLen, newLen), access: 'write', ...pos(c) });
    bump('mremap move approximated (munmap + mmap + touch of the moved pages)');
  }

  const calledAny = spaces.some((as) => as.calls.length > 0);
  if (!calledAny) {
    const binary = counts['lines with binary data or control characters skipped'];
    throw new UsageError(
      `${file}: no mmap, munmap, mprotect, madvise, mremap or brk calls found${binary ? ` (${binary} ${binary === 1 ? 'line holds' : 'lines hold'} binary data or control characters, the first at line ${firstLine['lines with binary data or control characters skipped']!}: is it an strace log?)` : ''}; capture with: ${STRACE_COMMAND}`,
    );
  }
  if (opts.rebase !== undefined) rebase(ops, opts.rebase, file);

  const summary = Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}: ${v}${firstLine[k] !== undefined ? ` (first at ${file}:${firstLine[k]})` : ''}`);
  summary.push(`pids: ${Math.max(1, pids.size)} (all treated as threads of one address space)`);
  if (spaces.length > 1) {
    summary.push(
      `address spaces: ${spaces.length} (${describeSpaces(spaces)}); imported #${index}${chosen === 'last' ? ' (the last)' : ''}` +
        `, ${index - 1} before it${index < spaces.length ? `, ${spaces.length - index} after it` : ''}; --exec N imports another`,
    );
  }
  const touches = ops.reduce((n, op) => n + (op.kind === 'touch' ? 1 : 0), 0);
  summary.push(
    touch === 'none'
      ? 'fault model: --touch none (no page faults: strace cannot see them)'
      : `fault model: --touch ${touch}: the ${touches} touch ops are GUESSES (strace cannot see page faults), not faults the program took`,
  );
  const header = [
    `imported from ${file} by ptreclaim import strace --touch ${touch}${v1 ? ' --format 1' : ''}${opts.exec !== undefined ? ` --exec ${opts.exec}` : ''}${opts.rebase !== undefined ? ` --rebase 0x${opts.rebase.toString(16)}` : ''}`,
    `GUESSED page faults: every touch op below comes from the fault model --touch ${touch}, not from the log (strace cannot see page faults)`,
    ...summary,
  ];
  return { ops, counts, summary, header };
}

function describeSpaces(spaces: readonly AddressSpace[]): string {
  return spaces
    .map((as, i) => `#${i + 1} from line ${as.startLine}, ${as.why}, ${as.calls.length} call${as.calls.length === 1 ? '' : 's'}`)
    .join('; ');
}

/** Moves all addresses by a multiple of 512 GiB: every page table keeps its shape. */
function rebase(ops: Op[], target: number, file: string): void {
  if (ops.length === 0) return;
  if (target % PGDIR_SIZE !== 0) {
    throw new UsageError(
      `--rebase 0x${target.toString(16)} must be a multiple of 512 GiB (0x${PGDIR_SIZE.toString(16)}) so that page tables keep their shape`,
    );
  }
  let lo = Infinity;
  let hi = 0;
  for (const op of ops) {
    lo = Math.min(lo, op.addr);
    hi = Math.max(hi, op.addr + op.len);
    if (op.kind === 'mremap') {
      hi = Math.max(hi, op.addr + op.newLen);
      if (op.newAddr !== undefined) {
        lo = Math.min(lo, op.newAddr);
        hi = Math.max(hi, op.newAddr + op.newLen);
      }
    }
  }
  const shift = target - Math.floor(lo / PGDIR_SIZE) * PGDIR_SIZE;
  if (lo + shift < MMAP_MIN_ADDR || hi + shift > TASK_SIZE) {
    throw new UsageError(
      `${file}: --rebase 0x${target.toString(16)} moves the trace (0x${lo.toString(16)}-0x${hi.toString(16)}) outside the user address space`,
    );
  }
  for (const op of ops) {
    op.addr += shift;
    if (op.kind === 'mremap' && op.newAddr !== undefined) op.newAddr += shift;
  }
}
