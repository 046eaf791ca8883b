/**
 * Records of the capture helper (native/capture/ptreclaim-capture.c: the address space at
 * exec, page faults, mm syscalls, counters) into a trace v2 that replays the process's
 * address space, with the real process's counters as `# expect` and `# sample` comments.
 *
 * What a trace line cannot say is approximated, and counted in the summary:
 * - special mappings ([vvar], [vvar_vclock], [vdso], [uprobes]) become private anonymous
 *   read-only mappings: their tables are the same, but the kernel maps their pages
 *   without counting them as anonymous (vdso pages count in RssFile);
 * - the brk heap is an anonymous mapping grown and shrunk with each brk() answer;
 * - stack growth (a fault below [stack]) is an anonymous mapping of the grown part;
 * - shared memory objects (memfd, /dev/shm, SysV) mapped shared are `shared` anonymous
 *   mappings (shmem); other files are `file=NAME:OFFSET`, NAME their sanitised base name;
 * - pages the kernel fills without a fault (MAP_POPULATE, mlock, mlockall) are
 *   `madvise populate-read|populate-write` of the range;
 * - calls the kernel refused are left out (they changed nothing), except madvise and
 *   mprotect failing with ENOMEM, which act on the mapped part of the range.
 */
import { InputError } from '../errors.js';
import type { Access, AdviceV2, Op, Prot } from '../trace/ops.js';

const PAGE = 4096;
const pageUp = (n: number) => Math.ceil(n / PAGE) * PAGE;
const pageDown = (n: number) => Math.floor(n / PAGE) * PAGE;
/** How far below [stack] a fault still grows it (the default stack rlimit, 8 MiB, with room). */
const STACK_GROWTH_REACH = 128 * 1024 * 1024;

// x86-64 syscall numbers (the helper records only these).
const SYS = {
  mmap: 9,
  mprotect: 10,
  munmap: 11,
  brk: 12,
  mremap: 25,
  madvise: 28,
  shmat: 30,
  shmdt: 67,
  mlock: 149,
  munlock: 150,
  mlockall: 151,
  munlockall: 152,
  remapFilePages: 216,
  mlock2: 325,
  pkeyMprotect: 329,
  processMadvise: 440,
} as const;
const SYSCALL_NAMES: Record<number, string> = Object.fromEntries(Object.entries(SYS).map(([k, v]) => [v, k]));

const MAP_SHARED = 0x01;
const MAP_TYPE = 0x0f;
const MAP_ANONYMOUS = 0x20;
const MAP_LOCKED = 0x2000;
const MAP_POPULATE = 0x8000;
const MAP_NONBLOCK = 0x10000;
const MAP_HUGETLB = 0x40000;
const PROT_READ = 1;
const PROT_WRITE = 2;
const PROT_EXEC = 4;
const MREMAP_FIXED = 2;
const MREMAP_DONTUNMAP = 4;
const MCL_CURRENT = 1;
const MCL_FUTURE = 2;
const MCL_ONFAULT = 4;
const MLOCK_ONFAULT = 1;
const ENOMEM = 12;

/** madvise advice numbers of trace v2's words; the others change no page table. */
const ADVICE_BY_NUMBER: Record<number, AdviceV2> = {
  3: 'willneed',
  4: 'dontneed',
  8: 'free',
  9: 'remove',
  14: 'hugepage',
  15: 'nohugepage',
  20: 'cold',
  21: 'pageout',
  22: 'populate-read',
  23: 'populate-write',
  24: 'dontneed-locked',
  25: 'collapse',
  102: 'guard-install',
  103: 'guard-remove',
};

/** The real process's counters (kB), from /proc/PID/status. */
export interface CaptureCounters {
  vmPteKb: number;
  rssAnonKb: number;
  rssFileKb: number;
  rssShmemKb: number;
}

/** The counters right after the op at `opIndex` (0-based) ran in the real process. */
export interface CaptureSample extends CaptureCounters {
  opIndex: number;
}

export interface ConvertedCapture {
  ops: Op[];
  /** Real counters after mm syscalls: at most one per op, in op order. */
  samples: CaptureSample[];
  /** At the last thread's exit stop; undefined when the helper saw no exit (killed). */
  expect?: CaptureCounters;
  /** VmSwap (kB) at exit: pages a replay without memory pressure would keep resident. */
  swapKb?: number;
  /** Executions of the traced process (the trace is the address space of the last). */
  execs: number;
  /** Processes with their own address space seen running (fork children). */
  children: number;
  /** CMD's wait status (as waitpid gives it). */
  waitStatus?: number;
  /** What was seen and what was approximated or left out, one phrase each, with counts. */
  counts: Record<string, number>;
  /** Mapped files: trace name -> the real path. */
  files: Map<string, string>;
}

type Kind = 'anon' | 'file' | 'shmem' | 'special' | 'stack' | 'heap';

interface Vma {
  start: number;
  end: number;
  prot: Prot;
  shared: boolean;
  kind: Kind;
}

/** The traced process's mappings as the trace has built them: enough to decide each line. */
class Mappings {
  list: Vma[] = [];

  find(addr: number): Vma | undefined {
    return this.list.find((v) => v.start <= addr && addr < v.end);
  }

  overlaps(start: number, end: number): boolean {
    return this.list.some((v) => v.start < end && start < v.end);
  }

  /** The parts of [start, end) each mapping covers, in address order. */
  parts(start: number, end: number): Vma[] {
    return this.list
      .filter((v) => v.start < end && start < v.end)
      .map((v) => ({ ...v, start: Math.max(v.start, start), end: Math.min(v.end, end) }))
      .sort((a, b) => a.start - b.start);
  }

  remove(start: number, end: number): void {
    const out: Vma[] = [];
    for (const v of this.list) {
      if (v.end <= start || v.start >= end) out.push(v);
      else {
        if (v.start < start) out.push({ ...v, end: start });
        if (v.end > end) out.push({ ...v, start: end });
      }
    }
    this.list = out;
  }

  add(v: Vma): void {
    this.remove(v.start, v.end);
    this.list.push(v);
  }

  protect(start: number, end: number, prot: Prot): void {
    for (const p of this.parts(start, end)) this.add({ ...p, prot });
  }

  move(start: number, end: number, to: number): void {
    const moved = this.parts(start, end).map((p) => ({ ...p, start: p.start - start + to, end: p.end - start + to }));
    this.remove(start, end);
    for (const m of moved) this.add(m);
  }
}

function protOf(bits: number): Prot {
  if (bits & PROT_WRITE) return 'rw';
  return bits & (PROT_READ | PROT_EXEC) ? 'r' : 'none';
}

function protOfPerms(perms: string): Prot {
  if (perms[1] === 'w') return 'rw';
  return perms.startsWith('r') || perms[2] === 'x' ? 'r' : 'none';
}

/** A shared memory object rather than a file on a disk: mapped shared, it is shmem. */
function isShmemPath(path: string): boolean {
  return path.startsWith('/memfd:') || path.startsWith('/dev/shm/') || path.startsWith('/SYSV') || path.startsWith('/dev/zero');
}

/** Trace file names: [A-Za-z0-9._-], one per real file (inode), readable and short. */
class FileNames {
  readonly byInode = new Map<string, string>();
  readonly paths = new Map<string, string>();

  name(inode: string, path: string): string {
    const known = this.byInode.get(`${inode}:${path}`);
    if (known) return known;
    const base = (path.split('/').pop() ?? '').replace(/ \(deleted\)$/, '');
    let name = base.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100);
    if (name === '' || name === '.' || name === '..') name = 'file';
    let unique = name;
    for (let n = 2; this.paths.has(unique); n++) unique = `${name}-${n}`;
    this.byInode.set(`${inode}:${path}`, unique);
    this.paths.set(unique, path);
    return unique;
  }
}

const hexNum = (s: string | undefined, what: string, line: number): number => {
  const v = parseInt(s ?? '', 16);
  if (!Number.isSafeInteger(v)) throw new InputError(`capture records line ${line}: bad ${what} ${JSON.stringify(s)}`);
  return v;
};
const decNum = (s: string | undefined, what: string, line: number): number => {
  const v = Number(s);
  if (!Number.isSafeInteger(v)) throw new InputError(`capture records line ${line}: bad ${what} ${JSON.stringify(s)}`);
  return v;
};

/** Converts the helper's records (its whole fd-3 output) to trace ops, samples and the exit counters. */
export function convertRecords(text: string): ConvertedCapture {
  const lines = text.split('\n');
  let result = fresh(0);
  let maps = new Mappings();
  const names = new FileNames();
  let brkEnd = 0;
  let lockFuture = false;
  let lastSampled = -1;
  let lost = 0;
  let sawEnd = false;
  let initial: { vma: Vma; file?: string; offset: number }[] = [];
  let present: { start: number; len: number; kind: 'a' | 'f' }[] = [];
  let inInitial = false;

  const count = (what: string, n = 1) => (result.counts[what] = (result.counts[what] ?? 0) + n);
  const ops = () => result.ops;
  const push = (op: Op) => result.ops.push(op);

  /** Pages the kernel populates without faults: per mapped part, as its protections allow. */
  const populate = (start: number, end: number) => {
    for (const p of maps.parts(start, end)) {
      if (p.prot === 'none') continue;
      const write = p.prot === 'rw' && !p.shared;
      push({ kind: 'madvise', addr: p.start, len: p.end - p.start, advice: write ? 'populate-write' : 'populate-read' });
      count('populated ranges (MAP_POPULATE, mlock, mlockall: madvise populate-*)');
    }
  };

  /** The initial address space, once all its M and R records are read. */
  const flushInitial = () => {
    if (!inInitial) return;
    inInitial = false;
    for (const { vma, file, offset } of initial) {
      const mine = present.filter((r) => r.start >= vma.start && r.start < vma.end);
      const anonPages = mine.some((r) => r.kind === 'a') && vma.kind !== 'special';
      // Anonymous pages in a mapping that is not writable now (a COW'd page of a read-only
      // ELF segment): written while writable, then protected.
      const mapProt: Prot = anonPages && vma.prot !== 'rw' ? 'rw' : vma.prot;
      push({
        kind: 'mmap',
        addr: vma.start,
        len: vma.end - vma.start,
        ...(mapProt !== 'rw' ? { prot: mapProt } : {}),
        ...(vma.shared ? { shared: true as const } : {}),
        ...(file !== undefined ? { mapFile: file, offset } : {}),
      });
      maps.add(vma);
      for (const r of mine) {
        const access: Access = r.kind === 'a' && vma.kind !== 'special' ? 'write' : 'read';
        push({ kind: 'touch', addr: r.start, len: r.len, access });
        count(`pages present at exec`, r.len / PAGE);
      }
      if (mapProt !== vma.prot) push({ kind: 'mprotect', addr: vma.start, len: vma.end - vma.start, prot: vma.prot });
    }
    initial = [];
    present = [];
  };

  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i]!;
    if (line === '') continue;
    const f = line.split(' ');
    const tag = f[0];
    if (tag !== 'M' && tag !== 'R' && tag !== 'K') flushInitial();
    switch (tag) {
      case 'X': {
        result = fresh(decNum(f[1], 'exec number', lineNo));
        maps = new Mappings();
        brkEnd = 0;
        lockFuture = false;
        lastSampled = -1;
        inInitial = true;
        break;
      }
      case 'K':
        brkEnd = pageUp(hexNum(f[1], 'start_brk', lineNo));
        break;
      case 'M': {
        const start = hexNum(f[1], 'start', lineNo);
        const end = hexNum(f[2], 'end', lineNo);
        const perms = f[3] ?? '';
        const offset = hexNum(f[4], 'offset', lineNo);
        const inode = f[5] ?? '0';
        const path = f.slice(6).join(' ');
        const shared = perms[3] === 's';
        let kind: Kind = 'anon';
        let file: string | undefined;
        if (path === '[stack]') kind = 'stack';
        else if (path === '[heap]') {
          kind = 'heap';
          brkEnd = Math.max(brkEnd, end);
        } else if (path.startsWith('[')) kind = 'special';
        else if (inode !== '0' && path !== '') {
          if (shared && isShmemPath(path)) kind = 'shmem';
          else if (path.startsWith('/dev/zero')) kind = 'anon';
          else {
            kind = 'file';
            file = names.name(inode, path);
          }
        }
        if (kind === 'special') count(`special mappings (${path}) as anonymous read-only`);
        initial.push({ vma: { start, end, prot: kind === 'special' ? 'r' : protOfPerms(perms), shared, kind }, file, offset });
        break;
      }
      case 'R':
        present.push({
          start: hexNum(f[1], 'address', lineNo),
          len: decNum(f[2], 'pages', lineNo) * PAGE,
          kind: f[3] === 'f' ? 'f' : 'a',
        });
        break;
      case 'F': {
        const addr = hexNum(f[1], 'address', lineNo);
        const err = hexNum(f[2], 'error code', lineNo);
        const access: Access = err & 2 ? 'write' : 'read';
        count(f[3] === 'k' ? 'page faults in kernel mode (on user buffers)' : 'page faults in user mode');
        const page = pageDown(addr);
        let v = maps.find(page);
        if (!v) {
          // Stack growth: the kernel extends [stack] down to the faulting page.
          const stack = maps.list.find((m) => m.kind === 'stack');
          if (stack && page < stack.start && page >= stack.start - STACK_GROWTH_REACH && !maps.overlaps(page, stack.start)) {
            push({ kind: 'mmap', addr: page, len: stack.start - page });
            stack.start = page;
            count('stack growths (anonymous mappings below [stack])');
            v = maps.find(page);
          }
        }
        if (!v || v.prot === 'none' || (access === 'write' && v.prot !== 'rw')) {
          count('faults the kernel refused (outside a mapping or against its protection: SIGSEGV/EFAULT), left out');
          break;
        }
        const prev = ops().at(-1);
        if (prev?.kind === 'touch' && prev.access === access && prev.addr + prev.len === page && lastSampled !== ops().length - 1) {
          prev.len += PAGE;
        } else push({ kind: 'touch', addr: page, len: PAGE, access });
        break;
      }
      case 'S': {
        const nr = decNum(f[1], 'syscall number', lineNo);
        const ret = decNum(f[2], 'result', lineNo);
        // Arguments are whole registers: flags and garbage may exceed 2^53 (only exact below it).
        const a = [3, 4, 5, 6, 7, 8].map((k) => {
          if (!/^[0-9a-f]{1,16}$/.test(f[k] ?? ''))
            throw new InputError(`capture records line ${lineNo}: bad argument ${JSON.stringify(f[k])}`);
          return Number(BigInt(`0x${f[k]!}`));
        });
        let backing: { end: number; inode: string; path: string } | undefined;
        if (lines[i + 1]?.startsWith('B ')) {
          const b = lines[++i]!.split(' ');
          backing = { end: hexNum(b[1], 'end', i + 1), inode: b[2] ?? '0', path: b.slice(3).join(' ') };
        }
        count(`${SYSCALL_NAMES[nr] ?? `syscall ${nr}`} calls`);
        const failed = ret < 0 && ret > -4096;
        const partial = ret === -ENOMEM && (nr === SYS.madvise || nr === SYS.mprotect || nr === SYS.pkeyMprotect);
        if (failed && !partial) {
          if (nr !== SYS.brk) count('failed calls left out');
          continue;
        }
        syscall(nr, ret, a, backing);
        break;
      }
      case 'Q': {
        if (result.ops.length === 0) break;
        const [vmPteKb, rssAnonKb, rssFileKb, rssShmemKb] = [1, 2, 3, 4].map((k) => decNum(f[k], 'counter', lineNo)) as [
          number,
          number,
          number,
          number,
        ];
        const s = { opIndex: result.ops.length - 1, vmPteKb, rssAnonKb, rssFileKb, rssShmemKb };
        if (result.samples.at(-1)?.opIndex === s.opIndex) result.samples[result.samples.length - 1] = s;
        else result.samples.push(s);
        lastSampled = s.opIndex;
        break;
      }
      case 'E': {
        const [vmPteKb, rssAnonKb, rssFileKb, rssShmemKb] = [1, 2, 3, 4].map((k) => decNum(f[k], 'counter', lineNo)) as [
          number,
          number,
          number,
          number,
        ];
        result.expect = { vmPteKb, rssAnonKb, rssFileKb, rssShmemKb };
        if (f[5] !== undefined) result.swapKb = decNum(f[5], 'swap', lineNo);
        break;
      }
      case 'C':
        result.children = decNum(f[1], 'children', lineNo);
        break;
      case 'W':
        result.waitStatus = decNum(f[1], 'wait status', lineNo);
        break;
      case 'L':
        lost = decNum(f[1], 'lost events', lineNo);
        sawEnd = true;
        break;
      default:
        throw new InputError(`capture records line ${lineNo}: unknown record ${JSON.stringify(line.slice(0, 40))}`);
    }
  }
  flushInitial();
  if (!sawEnd) throw new InputError('the capture helper stopped before its last record (killed, or it failed: see its message above)');
  if (lost > 0) throw new LostEventsError(lost);
  result.files = names.paths;
  return result;

  function syscall(nr: number, ret: number, a: number[], backing?: { end: number; inode: string; path: string }): void {
    const [a0, a1, a2, a3] = a as [number, number, number, number, number, number];
    switch (nr) {
      case SYS.mmap: {
        const addr = ret;
        const len = pageUp(a1);
        const prot = protOf(a2);
        const flags = a3;
        const shared = (flags & MAP_TYPE) === MAP_SHARED || (flags & MAP_TYPE) === 3;
        if (flags & MAP_HUGETLB) count('MAP_HUGETLB mappings (hugetlbfs) as ordinary anonymous memory');
        let kind: Kind = 'anon';
        let file: string | undefined;
        if (!(flags & MAP_ANONYMOUS) && backing) {
          if (shared && isShmemPath(backing.path)) kind = 'shmem';
          else if (!backing.path.startsWith('/dev/zero')) {
            kind = 'file';
            file = names.name(backing.inode, backing.path);
          }
        } else if (shared) kind = 'shmem';
        if (maps.overlaps(addr, addr + len)) {
          push({ kind: 'munmap', addr, len });
          count('MAP_FIXED over existing mappings (munmap first)');
        }
        push({
          kind: 'mmap',
          addr,
          len,
          ...(prot !== 'rw' ? { prot } : {}),
          ...(kind === 'shmem' || (kind === 'file' && shared) ? { shared: true as const } : {}),
          ...(file !== undefined ? { mapFile: file, offset: a[5]! } : {}),
        });
        maps.add({ start: addr, end: addr + len, prot, shared, kind });
        if ((flags & MAP_POPULATE && !(flags & MAP_NONBLOCK)) || flags & MAP_LOCKED || lockFuture) populate(addr, addr + len);
        break;
      }
      case SYS.munmap:
        push({ kind: 'munmap', addr: a0, len: pageUp(a1) });
        maps.remove(a0, a0 + pageUp(a1));
        break;
      case SYS.mprotect:
      case SYS.pkeyMprotect: {
        const prot = protOf(a2);
        const len = pageUp(a1);
        push({ kind: 'mprotect', addr: a0, len, prot });
        maps.protect(a0, a0 + len, prot);
        break;
      }
      case SYS.brk: {
        const end = pageUp(ret);
        if (brkEnd === 0) brkEnd = end;
        if (end > brkEnd) {
          push({ kind: 'mmap', addr: brkEnd, len: end - brkEnd });
          maps.add({ start: brkEnd, end, prot: 'rw', shared: false, kind: 'heap' });
          if (lockFuture) populate(brkEnd, end);
          count('brk growths (anonymous mappings)');
        } else if (end < brkEnd) {
          push({ kind: 'munmap', addr: end, len: brkEnd - end });
          maps.remove(end, brkEnd);
          count('brk shrinks (munmap)');
        }
        brkEnd = end;
        break;
      }
      case SYS.mremap: {
        const oldLen = pageUp(a1);
        const newLen = pageUp(a2);
        if (oldLen === 0) {
          count('mremap of old length 0 (a second mapping of shared memory), left out');
          break;
        }
        const v = maps.find(a0);
        if (ret === a0 && !(a3 & MREMAP_FIXED)) {
          push({ kind: 'mremap', addr: a0, len: oldLen, newLen });
          if (newLen < oldLen) maps.remove(a0 + newLen, a0 + oldLen);
          else if (v) maps.add({ ...v, start: a0 + oldLen, end: a0 + newLen });
        } else {
          push({ kind: 'mremap', addr: a0, len: oldLen, newLen, newAddr: ret });
          const moved = maps.parts(a0, a0 + Math.min(oldLen, newLen));
          maps.remove(a0, a0 + oldLen);
          maps.remove(ret, ret + newLen);
          for (const p of moved) maps.add({ ...p, start: p.start - a0 + ret, end: p.end - a0 + ret });
          if (v && newLen > oldLen) maps.add({ ...v, start: ret + oldLen, end: ret + newLen });
          if (a3 & MREMAP_DONTUNMAP && v) {
            push({ kind: 'mmap', addr: a0, len: oldLen, ...(v.prot !== 'rw' ? { prot: v.prot } : {}) });
            maps.add({ ...v, start: a0, end: a0 + oldLen, kind: 'anon' });
            count('MREMAP_DONTUNMAP (old range mapped again, empty)');
          }
        }
        break;
      }
      case SYS.madvise: {
        const advice = ADVICE_BY_NUMBER[a2];
        if (!advice) {
          count(`madvise advice ${a2} (changes no page table), left out`);
          break;
        }
        if (a1 === 0) break;
        push({ kind: 'madvise', addr: a0, len: pageUp(a1), advice });
        break;
      }
      case SYS.shmat: {
        if (!backing) break;
        const len = backing.end - ret;
        if (maps.overlaps(ret, ret + len)) push({ kind: 'munmap', addr: ret, len });
        const readOnly = (a2 & 0o10000) !== 0; // SHM_RDONLY
        push({ kind: 'mmap', addr: ret, len, shared: true, ...(readOnly ? { prot: 'r' as const } : {}) });
        maps.add({ start: ret, end: ret + len, prot: readOnly ? 'r' : 'rw', shared: true, kind: 'shmem' });
        break;
      }
      case SYS.shmdt: {
        const v = maps.find(a0);
        if (v?.kind === 'shmem') {
          push({ kind: 'munmap', addr: v.start, len: v.end - v.start });
          maps.remove(v.start, v.end);
        }
        break;
      }
      case SYS.mlock:
        populate(pageDown(a0), pageUp(a0 + a1));
        break;
      case SYS.mlock2:
        if (!(a2 & MLOCK_ONFAULT)) populate(pageDown(a0), pageUp(a0 + a1));
        break;
      case SYS.mlockall:
        if (a0 & MCL_CURRENT && !(a0 & MCL_ONFAULT)) {
          for (const v of [...maps.list].sort((x, y) => x.start - y.start)) if (v.kind !== 'special') populate(v.start, v.end);
        }
        if (a0 & MCL_FUTURE) lockFuture = !(a0 & MCL_ONFAULT);
        break;
      case SYS.munlockall:
        lockFuture = false;
        break;
      case SYS.munlock:
        break;
      default:
        // process_madvise (its ranges are in the caller's memory), remap_file_pages.
        count(`${SYSCALL_NAMES[nr] ?? `syscall ${nr}`} not represented, left out`);
    }
  }
}

function fresh(execs: number): ConvertedCapture {
  return { ops: [], samples: [], execs, children: 0, counts: {}, files: new Map() };
}

/** The kernel dropped events: the trace would be silently wrong, so there is none. */
export class LostEventsError extends InputError {
  override name = 'LostEventsError';
  constructor(readonly lost: number) {
    super(
      `the kernel dropped ${lost} page-fault events (the perf ring buffer filled up faster than it was read): no trace written; capture again with a larger buffer (--buffer-pages, e.g. 8192)`,
    );
  }
}
