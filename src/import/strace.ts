/**
 * `ptreclaim import strace`: turn the memory-management calls a real program made into a trace.
 *
 * Input: `strace -f [-tt|-ttt] -e trace=mmap,munmap,madvise,mremap,brk -o LOG PROGRAM`. Lines may
 * carry a pid (`123 ` or `[pid 123] `) and a timestamp; calls split by another thread
 * (`<unfinished ...>` / `<... mmap resumed>`) are joined per pid.
 *
 * Mapping to trace ops (private anonymous memory is what the model knows):
 * - mmap of private anonymous memory -> `mmap RESULT LEN` at the address the kernel returned.
 *   MAP_FIXED replaces what was there: an `munmap` of the range comes first. PROT_NONE
 *   reservations are mapped read-write (mprotect is not traced), and counted.
 * - File-backed and shared mappings are not modelled: skipped and counted; a MAP_FIXED one
 *   still unmaps any modelled memory below it. Their pages and tables are not in the result.
 * - munmap -> `munmap`. madvise MADV_DONTNEED / MADV_FREE -> `madvise ... dontneed|free`,
 *   clipped to the modelled (anonymous) parts of the range; other advice is reported, skipped.
 * - brk: heap growth -> `mmap` of the new part, shrinking -> `munmap` of the released part.
 * - mremap: in place -> `mmap` of the growth or `munmap` of the shrunk tail; moved -> `munmap`
 *   old + `mmap` new (the moved pages are faulted again under the fault model: an approximation,
 *   the kernel moves the page-table entries instead).
 * - Failed calls (`= -1 E...`) change nothing: skipped and counted.
 * - brk(NULL) asks for the current break: its answer sets the break, it is never heap growth.
 * - Address spaces: a successful execve (any pid, strace -f) starts a new one for that pid, and
 *   so does a brk(NULL) answer that differs from the known break (an exec the log does not show,
 *   or another process). Other pids are threads of the address space they were last seen in; a
 *   pid not seen before joins the newest one. One address space is imported: the last by default
 *   (a launcher or shim execs the real program last), or the one `exec` chooses (1-based); the
 *   summary says how many there were and where each began.
 * - Lines that cannot be strace output (control characters, NULs, invalid UTF-8, a lone CR) are
 *   skipped and counted with the first line number; a call left `<unfinished ...>` and never
 *   resumed is counted the same way. Numbers that do not parse are a UsageError at file:line.
 *
 * strace cannot see page faults, so a fault model fills them in (`--touch`); its touch ops are
 * guesses and are labelled so in the summary and in the written trace:
 * - dontneed-ranges (default): before each MADV_DONTNEED/MADV_FREE, write every page of the
 *   range: an allocator purges memory it used. Memory never purged is never touched.
 * - all-mapped: write every page of each new mapping (and heap growth) right after mapping it.
 * - none: no faults at all (only the VMA layout and madvise calls).
 */
import { PAGE_SIZE, PGDIR_SIZE, TASK_SIZE } from '../core/types.js';
import { checkStraceArgs } from '../api-schema.js';
import { UsageError } from '../errors.js';
import { MMAP_MIN_ADDR } from '../mm/mm.js';
import type { Op } from '../trace/ops.js';
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

const SYSCALLS = new Set(['mmap', 'munmap', 'madvise', 'mremap', 'brk']);

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
    if (!SYSCALLS.has(name) && name !== 'execve') {
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
    };
  }
  for (const p of pending.values()) skip('calls left <unfinished ...> and never resumed, skipped', p.lineNo);
}

/** One address space of the log: where it began and the calls made in it. */
interface AddressSpace {
  startLine: number;
  why: string;
  /** The break as last answered by brk, once known. */
  brk?: number;
  calls: Call[];
  pids: Set<string>;
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** Splits calls by address space: at each successful execve and each brk(NULL) that contradicts the known break. */
function splitAddressSpaces(all: Iterable<Call>): AddressSpace[] {
  const spaces: AddressSpace[] = [{ startLine: 1, why: 'start of the log', calls: [], pids: new Set() }];
  const spaceOf = new Map<string, AddressSpace>();
  const begin = (pid: string, startLine: number, why: string) => {
    const as: AddressSpace = { startLine, why, calls: [], pids: new Set([pid]) };
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
        else begin(c.pid, c.lineNo, 'execve');
      }
      continue;
    }
    if (c.name === 'brk' && c.ret !== undefined) {
      const asked = (c.args[0] ?? '').trim();
      if (asked === 'NULL' && as.brk !== undefined && as.brk !== c.ret) {
        as = begin(
          c.pid,
          c.lineNo,
          `brk(NULL) answered ${hex(c.ret)}, not the break ${hex(as.brk)}: an execve not in the log, or another process`,
        );
      }
      as.brk = c.ret;
    }
    spaceOf.set(c.pid, as);
    as.pids.add(c.pid);
    as.calls.push(c);
  }
  // A log that starts with execve lines of failed attempts only, or anything else before the first call: keep spaces with calls.
  return spaces.filter((as, i) => as.calls.length > 0 || i === spaces.length - 1);
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

  const ops: Op[] = [];
  const mapped = new RangeSet();
  let brkStart: number | undefined;
  let brkCur = 0;

  const pos = (c: Call) => ({ file, line: c.lineNo });
  const mmap = (c: Call, s: number, e: number) => {
    if (e <= s) return;
    ops.push({ kind: 'mmap', addr: s, len: e - s, ...pos(c) });
    mapped.add(s, e);
    if (touch === 'all-mapped') ops.push({ kind: 'touch', addr: s, len: e - s, access: 'write', ...pos(c) });
  };
  const munmap = (c: Call, s: number, e: number) => {
    if (e <= s) return;
    ops.push({ kind: 'munmap', addr: s, len: e - s, ...pos(c) });
    mapped.remove(s, e);
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
        const prot = c.args[2] ?? '';
        const flags = c.args[3] ?? '';
        const at = c.ret!;
        const fixed = /\bMAP_FIXED\b/.test(flags);
        const anon = /\bMAP_ANONYMOUS\b|\bMAP_ANON\b/.test(flags);
        const priv = /\bMAP_PRIVATE\b/.test(flags);
        // MAP_FIXED replaces whatever was there: drop the modelled parts first.
        if (fixed) for (const [s, e] of mapped.clip(at, at + len)) munmap(c, s, e);
        if (!anon || !priv || /\bMAP_HUGETLB\b/.test(flags)) {
          bump(!anon ? 'file-backed mmap skipped' : !priv ? 'shared anonymous mmap skipped' : 'MAP_HUGETLB mmap skipped');
          continue;
        }
        if (prot.includes('PROT_NONE')) bump('PROT_NONE mmap mapped read-write (mprotect is not traced)');
        mmap(c, at, at + len);
        bump('mmap imported');
        break;
      }
      case 'munmap': {
        const a = n(0, 'address');
        munmap(c, a, a + pageUp(n(1, 'length')));
        bump('munmap imported');
        break;
      }
      case 'madvise': {
        const a = n(0, 'address');
        const advice = (c.args[2] ?? '').trim();
        const kind = advice === 'MADV_DONTNEED' ? 'dontneed' : advice === 'MADV_FREE' ? 'free' : undefined;
        if (!kind) {
          bump(`madvise ${advice} skipped (not modelled)`);
          continue;
        }
        const pieces = mapped.clip(pageDown(a), pageUp(a + n(1, 'length')));
        if (pieces.length === 0) {
          bump(`madvise ${advice} on unmodelled memory skipped`);
          continue;
        }
        for (const [s, e] of pieces) {
          if (touch === 'dontneed-ranges') ops.push({ kind: 'touch', addr: s, len: e - s, access: 'write', ...pos(c) });
          ops.push({ kind: 'madvise', addr: s, len: e - s, advice: kind, ...pos(c) });
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
        if (mapped.clip(old, old + oldLen).length === 0) {
          bump('mremap of unmodelled memory skipped');
          continue;
        }
        if (at === old) {
          if (newLen < oldLen) munmap(c, old + newLen, old + oldLen);
          else mmap(c, old + oldLen, old + newLen);
          bump('mremap in place imported');
        } else {
          munmap(c, old, old + oldLen);
          ops.push({ kind: 'mmap', addr: at, len: newLen, ...pos(c) });
          mapped.add(at, at + newLen);
          if (touch !== 'none')
            ops.push({
              kind: 'touch',
              addr: at,
              len: touch === 'all-mapped' ? newLen : Math.min(oldLen, newLen),
              access: 'write',
              ...pos(c),
            });
          bump('mremap move approximated (munmap + mmap + touch of the moved pages)');
        }
        break;
      }
    }
  }

  const calledAny = spaces.some((as) => as.calls.length > 0);
  if (!calledAny) {
    const binary = counts['lines with binary data or control characters skipped'];
    throw new UsageError(
      `${file}: no mmap, munmap, madvise, mremap or brk calls found${binary ? ` (${binary} lines hold binary data or control characters, the first at line ${firstLine['lines with binary data or control characters skipped']!}: is it an strace log?)` : ''}; capture with: strace -f -e trace=execve,mmap,munmap,madvise,mremap,brk -o LOG PROGRAM`,
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
    `imported from ${file} by ptreclaim import strace --touch ${touch}${opts.exec !== undefined ? ` --exec ${opts.exec}` : ''}${opts.rebase !== undefined ? ` --rebase 0x${opts.rebase.toString(16)}` : ''}`,
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
  }
  const shift = target - Math.floor(lo / PGDIR_SIZE) * PGDIR_SIZE;
  if (lo + shift < MMAP_MIN_ADDR || hi + shift > TASK_SIZE) {
    throw new UsageError(
      `${file}: --rebase 0x${target.toString(16)} moves the trace (0x${lo.toString(16)}-0x${hi.toString(16)}) outside the user address space`,
    );
  }
  for (const op of ops) op.addr += shift;
}
