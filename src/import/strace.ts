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
 * - All pids are treated as threads of one address space (strace -f also follows fork; give it
 *   a program that does not fork, or a log of one process).
 *
 * strace cannot see page faults, so a fault model fills them in (`--touch`):
 * - dontneed-ranges (default): before each MADV_DONTNEED/MADV_FREE, write every page of the
 *   range: an allocator purges memory it used. Memory never purged is never touched.
 * - all-mapped: write every page of each new mapping (and heap growth) right after mapping it.
 * - none: no faults at all (only the VMA layout and madvise calls).
 */
import { PAGE_SIZE, PGDIR_SIZE, TASK_SIZE } from '../core/types.js';
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
  name: string;
  args: string[];
  /** Return value, or undefined when the call failed. */
  ret: number | undefined;
  errno?: string;
  lineNo: number;
}

/** pid, timestamp, then `name(args) = ret`: the forms strace -f / -tt / -ttt / -r write. */
const PREFIX = /^(?:\[pid\s+(\d+)\]\s+|(\d+)\s+)?(?:(?:\d{2}:\d{2}:\d{2}(?:\.\d+)?|\d+\.\d+)\s+)?(.*)$/;
const COMPLETE = /^([a-z_0-9]+)\((.*)\)\s+=\s+(0x[0-9a-f]+|-?\d+|\?)(?:\s+(E[A-Z0-9]+))?.*$/;

/** Parses "0x7f..", "NULL", decimal. */
function num(s: string | undefined, what: string, lineNo: number, file: string): number {
  const t = (s ?? '').trim();
  if (t === 'NULL') return 0;
  const v = /^0x[0-9a-f]+$/i.test(t) ? Number.parseInt(t.slice(2), 16) : /^\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isSafeInteger(v)) throw new UsageError(`${file}:${lineNo}: ${what}: "${t}" is not a number`);
  return v;
}

/** Joins unfinished/resumed halves per pid and yields complete calls of the traced syscalls. */
function* calls(text: string, file: string, counts: Record<string, number>, bump: (k: string) => void): Generator<Call> {
  const pending = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i]!.trim();
    if (!raw) continue;
    const m = PREFIX.exec(raw)!;
    const pidNo = m[1] ?? m[2];
    const pid = pidNo ?? '-';
    let body = m[3]!;
    if (body.startsWith('+++') || body.startsWith('---') || body.startsWith('strace:')) continue;
    if (body.endsWith('<unfinished ...>')) {
      pending.set(pid, body.slice(0, -'<unfinished ...>'.length).trimEnd());
      continue;
    }
    const resumed = /^<\.\.\. ([a-z_0-9]+) resumed>(.*)$/.exec(body);
    if (resumed) {
      const head = pending.get(pid);
      pending.delete(pid);
      if (head === undefined) {
        bump('lines not understood');
        counts['firstBadLine'] ??= lineNo;
        continue;
      }
      body = head + resumed[2]!;
    }
    const c = COMPLETE.exec(body);
    if (!c) {
      if (/^[a-z_0-9]+\(/.test(body) && body.includes('= ?')) continue; // exit_group & co
      bump('lines not understood');
      counts['firstBadLine'] ??= lineNo;
      continue;
    }
    const name = c[1]!;
    if (!SYSCALLS.has(name)) {
      bump(`other syscall ${name} ignored`);
      continue;
    }
    const args = c[2]!.split(/,\s*/);
    const failed = c[3] === '-1' && c[4] !== undefined;
    if (c[3] === '?') continue;
    if (pidNo !== undefined) counts['pid:' + pidNo] = 1;
    yield { name, args, ret: failed ? undefined : num(c[3], `${name} result`, lineNo, file), errno: failed ? c[4] : undefined, lineNo };
  }
}

/** Converts strace output to trace ops. */
export function importStrace(text: string, opts: StraceImportOptions = {}): StraceImportResult {
  const file = opts.file ?? '<strace>';
  const touch = opts.touch ?? 'dontneed-ranges';
  const counts: Record<string, number> = {};
  const bump = (k: string, n = 1) => {
    counts[k] = (counts[k] ?? 0) + n;
  };
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

  for (const c of calls(text, file, counts, bump)) {
    bump(`${c.name} calls`);
    if (c.ret === undefined && c.name !== 'brk') {
      bump(`${c.name} failed (${c.errno}), skipped`);
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
        if (/PROT_NONE/.test(prot)) bump('PROT_NONE mmap mapped read-write (mprotect is not traced)');
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
        if (brkStart === undefined) {
          brkStart = now;
          brkCur = now;
          break;
        }
        if (asked !== 'NULL' && pageUp(num(asked, 'brk address', c.lineNo, file)) !== now) bump('brk refused (unchanged break), skipped');
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
          if (touch !== 'none') ops.push({ kind: 'touch', addr: at, len: touch === 'all-mapped' ? newLen : Math.min(oldLen, newLen), access: 'write', ...pos(c) });
          bump('mremap move approximated (munmap + mmap + touch of the moved pages)');
        }
        break;
      }
    }
  }

  const calledAny = Object.keys(counts).some((k) => k.endsWith(' calls'));
  if (!calledAny) {
    throw new UsageError(
      `${file}: no mmap, munmap, madvise, mremap or brk calls found; capture with: strace -f -e trace=mmap,munmap,madvise,mremap,brk -o LOG PROGRAM`,
    );
  }
  if (opts.rebase !== undefined) rebase(ops, opts.rebase, file);

  const pids = Math.max(1, Object.keys(counts).filter((k) => k.startsWith('pid:')).length);
  const firstBad = counts['firstBadLine'];
  const summary = Object.entries(counts)
    .filter(([k]) => !k.startsWith('pid:') && k !== 'firstBadLine')
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}: ${v}${k === 'lines not understood' && firstBad ? ` (first at ${file}:${firstBad})` : ''}`);
  summary.push(`pids: ${pids} (all treated as threads of one address space)`);
  summary.push(`fault model: --touch ${touch}`);
  const header = [
    `imported from ${file} by ptreclaim import strace --touch ${touch}${opts.rebase !== undefined ? ` --rebase 0x${opts.rebase.toString(16)}` : ''}`,
    ...summary,
  ];
  return { ops, counts, summary, header };
}

/** Moves all addresses by a multiple of 512 GiB: every page table keeps its shape. */
function rebase(ops: Op[], target: number, file: string): void {
  if (ops.length === 0) return;
  if (target % PGDIR_SIZE !== 0) {
    throw new UsageError(`--rebase 0x${target.toString(16)} must be a multiple of 512 GiB (0x${PGDIR_SIZE.toString(16)}) so that page tables keep their shape`);
  }
  let lo = Infinity;
  let hi = 0;
  for (const op of ops) {
    lo = Math.min(lo, op.addr);
    hi = Math.max(hi, op.addr + op.len);
  }
  const shift = target - Math.floor(lo / PGDIR_SIZE) * PGDIR_SIZE;
  if (lo + shift < MMAP_MIN_ADDR || hi + shift > TASK_SIZE) {
    throw new UsageError(`${file}: --rebase 0x${target.toString(16)} moves the trace (0x${lo.toString(16)}-0x${hi.toString(16)}) outside the user address space`);
  }
  for (const op of ops) op.addr += shift;
}
