/**
 * The trace v2 validation corpus (issue 12): seeded random traces that mix every operation and
 * advice of trace format v2 at the shapes real programs make, small enough that the whole set
 * replays on a live kernel in seconds. The hand-written corner traces (one per case of the
 * issue's model list) sit beside them in corpus/v2/corners/.
 *
 * Each trace works around an anchor on a 2 MiB, 1 GiB or 512 GiB boundary (a 16 MiB window) and
 * a second window one PUD or one PGD further on, where moving mremaps land. The generator keeps
 * its own picture of the mappings (start, end, kind, prot, file and offset) so that most ops hit
 * memory that is mapped; ops that miss (EFAULT, ENOMEM, EINVAL) are kept: the errno is part of
 * what is compared. Moves, each aimed at one corner:
 *   map-anon      private anonymous, aligned or not, often across a PMD/PUD/PGD boundary, any prot
 *   map-thp       2 MiB-aligned area + MADV_HUGEPAGE, one byte touched (a THP or the huge zero page)
 *   map-file      private or shared file mapping (file=NAME:OFFSET), read (fault-around), maybe written
 *   map-shmem     shared anonymous mapping (shmem), touched
 *   heap-reserve  a PROT_NONE reservation opened up by mprotect in steps, each step touched, the tail
 *                 trimmed with MADV_DONTNEED (glibc's thread arenas, Go's and the JVM's heaps)
 *   guard-region  guard pages at a mapping's low end (thread stacks), the rest touched, some removed
 *   touch         read or write a subrange of a mapping
 *   mprotect      a subrange to rw, r or none (VMA split/merge), sometimes across a hole
 *   mremap-grow   grow in place (or ENOMEM when blocked); mremap-shrink: shrink in place
 *   mremap-move   MREMAP_FIXED to a free range: PMD-aligned (whole PMDs move), unaligned, next PUD/PGD
 *   advise        any of the 14 advices on a subrange of a mapping
 *   dontneed-pmd  MADV_DONTNEED/DONTNEED_LOCKED of whole 2 MiB spans (PT_RECLAIM)
 *   free-pageout  MADV_FREE then MADV_PAGEOUT (lazyfree discard) or MADV_DONTNEED
 *   collapse      a few pages touched in a hugepage area, then MADV_COLLAPSE
 *   across-hole   madvise/munmap/mprotect over mapped and unmapped parts
 *   munmap-split  munmap of an inner part; munmap-whole: a whole mapping
 * Traces run in a fresh helper each; files are made by the replayer in a scratch directory.
 *
 * Left out, because the kernel's answer is not a function of the trace (see README "Corpus v2"):
 * none so far beyond what the helper already guards (khugepaged is reported, the CPU is pinned).
 */

import { PAGE_SIZE, PMD_SIZE, PUD_SIZE, PGDIR_SIZE } from '../core/types.js';
import { UsageError } from '../errors.js';
import { ADVICES_V2, type AdviceV2, type Op, type Prot } from '../trace/ops.js';
import { formatTrace } from '../trace/parse.js';
import { writeCorpusDir } from './generate.js';
import { Rng } from '../workloads/rng.js';

export const CORPUS_V2_VERSION = 1;
export const CORPUS_V2_DEFAULTS = { seed: 20261129, count: 48 } as const;
/** Where the committed v2 corpus lives, relative to the package root. */
export const CORPUS_V2_RANDOM_DIR = ['corpus', 'v2', 'random'] as const;
export const CORPUS_V2_CORNERS_DIR = ['corpus', 'v2', 'corners'] as const;

/** Most pages one trace may make resident (a THP counts 512): keeps a live replay near 50 ms. */
const RESIDENT_BUDGET_PAGES = 8192;
const WINDOW = 16 * 2 ** 20;
const FAR_WINDOW = 8 * 2 ** 20;
const LOW = 0x100000000000;
const HIGH = 0x500000000000;

export const MOVES_V2 = [
  'map-anon',
  'map-thp',
  'map-file',
  'map-shmem',
  'heap-reserve',
  'guard-region',
  'touch',
  'mprotect',
  'mremap-grow',
  'mremap-shrink',
  'mremap-move',
  'advise',
  'dontneed-pmd',
  'free-pageout',
  'collapse',
  'across-hole',
  'munmap-split',
  'munmap-whole',
] as const;
export type MoveV2 = (typeof MOVES_V2)[number];

const WEIGHTS: Record<MoveV2, number> = {
  'map-anon': 3,
  'map-thp': 2,
  'map-file': 2,
  'map-shmem': 1,
  'heap-reserve': 1,
  'guard-region': 1,
  touch: 5,
  mprotect: 2,
  'mremap-grow': 1,
  'mremap-shrink': 1,
  'mremap-move': 2,
  advise: 4,
  'dontneed-pmd': 2,
  'free-pageout': 1,
  collapse: 1,
  'across-hole': 1,
  'munmap-split': 1,
  'munmap-whole': 1,
};

export interface CorpusTraceV2 {
  name: string;
  ops: Op[];
  moves: MoveV2[];
  /** Resident pages the trace may make at most (a THP counted as 512): the replay's cost. */
  residentPages: number;
}

type Kind = 'anon' | 'shmem' | 'file' | 'file-shared';

/** One mapping as the generator believes it to be: [s, e), page aligned. */
interface Seg {
  s: number;
  e: number;
  kind: Kind;
  prot: Prot;
  /** MADV_HUGEPAGE was given. */
  huge: boolean;
  file?: string;
  /** File offset of `s`. */
  off?: number;
}

class GenV2 {
  readonly ops: Op[] = [];
  readonly moves: MoveV2[] = [];
  private segs: Seg[] = [];
  private files = 0;
  resident = 0;

  constructor(
    private readonly rng: Rng,
    /** The windows addresses are drawn from: [lo, hi) each. */
    readonly windows: readonly [number, number][],
    readonly anchor: number,
  ) {}

  int(n: number): number {
    return this.rng.int(n);
  }
  chance(p: number): boolean {
    return this.rng.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }

  // ------------------------------------------------------------ the generator's picture

  private overlaps(s: number, e: number): boolean {
    return this.segs.some((g) => g.s < e && s < g.e);
  }
  inWindow(s: number, e: number): boolean {
    return this.windows.some(([lo, hi]) => s >= lo && e <= hi);
  }
  isFree(s: number, e: number): boolean {
    return e > s && this.inWindow(s, e) && !this.overlaps(s, e);
  }
  /** Removes [s, e) from the picture, splitting mappings (file offsets follow). */
  private cut(s: number, e: number): Seg[] {
    const kept: Seg[] = [];
    const removed: Seg[] = [];
    for (const g of this.segs) {
      if (g.e <= s || g.s >= e) {
        kept.push(g);
        continue;
      }
      if (g.s < s) kept.push({ ...g, e: s });
      if (g.e > e) kept.push({ ...g, s: e, off: g.off === undefined ? undefined : g.off + (e - g.s) });
      const a = Math.max(g.s, s);
      removed.push({ ...g, s: a, e: Math.min(g.e, e), off: g.off === undefined ? undefined : g.off + (a - g.s) });
    }
    this.segs = kept.sort((a, b) => a.s - b.s);
    return removed;
  }
  private insert(g: Seg): void {
    this.segs.push(g);
    this.segs.sort((a, b) => a.s - b.s);
  }
  /** Sets fields over [s, e) up to the first hole (what mprotect/madvise do before ENOMEM). */
  private update(s: number, e: number, f: (g: Seg) => void): void {
    let at = s;
    for (const g of [...this.segs]) {
      if (g.e <= at || g.s >= e) continue;
      if (g.s > at) break;
      const [piece] = this.cut(Math.max(g.s, at), Math.min(g.e, e));
      if (!piece) break;
      f(piece);
      this.insert(piece);
      at = piece.e;
    }
  }
  someSeg(pred: (g: Seg) => boolean = () => true): Seg | undefined {
    const c = this.segs.filter(pred);
    return c.length ? this.pick(c) : undefined;
  }

  // ------------------------------------------------------------ shapes

  /** A page address near a boundary of `size` in one of the windows. */
  nearBoundary(size: number): number {
    const [lo, hi] = this.pick(this.windows);
    const mid = (lo + hi) / 2;
    const b = Math.round((mid + (this.int(5) - 2) * Math.min(size, (hi - lo) / 4)) / size) * size;
    const jitter = (this.int(9) - 4) * PAGE_SIZE * (this.chance(0.5) ? 1 : 1 + this.int(64));
    return Math.max(lo, Math.min(hi - PAGE_SIZE, b + jitter));
  }
  randomLen(): number {
    switch (this.int(5)) {
      case 0:
        return PAGE_SIZE * (1 + this.int(16));
      case 1:
        return PMD_SIZE;
      case 2:
        return PMD_SIZE * (1 + this.int(3));
      case 3:
        return PAGE_SIZE * (1 + this.int(1024));
      default:
        return PAGE_SIZE * (256 + this.int(1536));
    }
  }
  /** A page-aligned subrange of [s, e), at most maxPages long. */
  sub(s: number, e: number, maxPages: number): [number, number] {
    const total = (e - s) / PAGE_SIZE;
    const n = 1 + this.int(Math.min(total, maxPages));
    const off = this.int(total - n + 1);
    return [s + off * PAGE_SIZE, n * PAGE_SIZE];
  }
  /** A free range of `len` bytes, `align`-aligned, in a window (a few tries), or undefined. */
  freeRange(len: number, align = PAGE_SIZE): number | undefined {
    for (let i = 0; i < 12; i++) {
      const [lo, hi] = this.pick(this.windows);
      if (hi - lo < len) continue;
      const s = Math.ceil((lo + this.int((hi - lo - len) / PAGE_SIZE + 1) * PAGE_SIZE) / align) * align;
      if (this.isFree(s, s + len)) return s;
    }
    return undefined;
  }

  /** Pages of [s, e) that a touch may make resident: a hugepage area counts whole PMDs. */
  cost(s: number, e: number): number {
    let n = 0;
    for (const g of this.segs) {
      const a = Math.max(g.s, s);
      const b = Math.min(g.e, e);
      if (a >= b) continue;
      if (g.huge) n += (Math.floor((b - 1) / PMD_SIZE) - Math.floor(a / PMD_SIZE) + 1) * 512;
      else n += (b - a) / PAGE_SIZE;
    }
    return n;
  }
  /** Charges the budget; false (and nothing charged) when the op would exceed it. */
  charge(s: number, e: number): boolean {
    const c = this.cost(s, e);
    if (this.resident + c > RESIDENT_BUDGET_PAGES) return false;
    this.resident += c;
    return true;
  }

  // ------------------------------------------------------------ ops

  mmap(s: number, len: number, opts: { prot?: Prot; kind?: Kind; off?: number } = {}): boolean {
    const e = s + len;
    if (!this.isFree(s, e)) return false;
    const kind = opts.kind ?? 'anon';
    const prot = opts.prot ?? 'rw';
    const op: Op = { kind: 'mmap', addr: s, len };
    if (prot !== 'rw') op.prot = prot;
    if (kind === 'shmem' || kind === 'file-shared') op.shared = true;
    let file: string | undefined;
    if (kind === 'file' || kind === 'file-shared') {
      // A few files per trace: later mappings of the same file see its page cache.
      file = `f${this.files > 0 && this.chance(0.4) ? this.int(this.files) : this.files++}`;
      op.mapFile = file;
      op.offset = opts.off ?? 0;
    }
    this.ops.push(op);
    this.insert({ s, e, kind, prot, huge: false, file, off: file ? (opts.off ?? 0) : undefined });
    return true;
  }
  munmap(s: number, len: number): void {
    this.ops.push({ kind: 'munmap', addr: s, len });
    this.cut(s, s + len);
  }
  touch(s: number, len: number, access: 'read' | 'write'): boolean {
    if (!this.charge(s, s + len)) return false;
    this.ops.push({ kind: 'touch', addr: s, len, access });
    return true;
  }
  madvise(s: number, len: number, advice: AdviceV2): void {
    if ((advice === 'populate-read' || advice === 'populate-write') && !this.charge(s, s + len)) return;
    this.ops.push({ kind: 'madvise', addr: s, len, advice });
    if (advice === 'hugepage' || advice === 'nohugepage')
      this.update(s, s + len, (g) => (g.huge = advice === 'hugepage' && g.kind === 'anon'));
  }
  mprotect(s: number, len: number, prot: Prot): void {
    this.ops.push({ kind: 'mprotect', addr: s, len, prot });
    this.update(s, s + len, (g) => (g.prot = prot));
  }
  /** In place (no `to`) or MREMAP_FIXED to `to`; the picture follows the success case. */
  mremap(g: Seg, s: number, oldLen: number, newLen: number, to?: number): void {
    this.ops.push({ kind: 'mremap', addr: s, len: oldLen, newLen, ...(to === undefined ? {} : { newAddr: to }) });
    if (to === undefined) {
      if (newLen < oldLen) this.cut(s + newLen, s + oldLen);
      else if (s + oldLen === g.e && this.isFree(g.e, s + newLen)) g.e = s + newLen;
      return;
    }
    this.cut(to, to + newLen);
    const moved = this.cut(s, s + oldLen);
    for (const m of moved) {
      const shifted = { ...m, s: m.s - s + to, e: Math.min(m.e - s + to, to + newLen) };
      if (shifted.e > shifted.s) this.insert(shifted);
    }
    const last = this.segs.find((x) => x.e === to + Math.min(oldLen, newLen) && x.s >= to);
    if (newLen > oldLen && last) last.e = to + newLen;
  }
}

// ---------------------------------------------------------------- moves

const PROT_CHOICES: readonly Prot[] = ['rw', 'rw', 'rw', 'rw', 'r', 'none'];

function mapAnon(g: GenV2): void {
  const size = g.pick([PMD_SIZE, PMD_SIZE, PUD_SIZE, PGDIR_SIZE]);
  const at = g.nearBoundary(size) - g.pick([0, PAGE_SIZE * 3, PMD_SIZE / 2, PMD_SIZE]);
  if (g.mmap(at, g.randomLen(), { prot: g.pick(PROT_CHOICES) })) g.moves.push('map-anon');
}

const MOVES: Record<MoveV2, (g: GenV2) => boolean> = {
  'map-anon': (g) => {
    mapAnon(g);
    return false;
  },
  'map-thp': (g) => {
    const pmds = 1 + g.int(4);
    // Mostly PMD-aligned; sometimes a page off, where only the whole 2 MiB spans inside can be THPs.
    const skew = g.chance(0.25) ? PAGE_SIZE * (1 + g.int(8)) : 0;
    const s0 = g.freeRange(pmds * PMD_SIZE + PMD_SIZE, PMD_SIZE);
    if (s0 === undefined) return false;
    const s = s0 + skew;
    const len = pmds * PMD_SIZE;
    if (!g.mmap(s, len)) return false;
    g.madvise(s, len, 'hugepage');
    const first = Math.ceil(s / PMD_SIZE) * PMD_SIZE;
    const at = first < s + len ? first + PAGE_SIZE * g.int(512) : s;
    const r = g.int(4);
    if (r === 0) g.madvise(at - (at % PMD_SIZE), PMD_SIZE, g.pick(['populate-read', 'populate-write'] as const));
    else g.touch(at, PAGE_SIZE, r === 1 ? 'read' : 'write');
    return true;
  },
  'map-file': (g) => {
    const len = g.chance(0.5) ? PAGE_SIZE * (1 + g.int(64)) : g.randomLen();
    const s = g.chance(0.5) ? g.freeRange(len, PMD_SIZE) : g.freeRange(len);
    if (s === undefined) return false;
    const off = PAGE_SIZE * g.pick([0, 0, 16, 1 + g.int(40), 512]);
    const shared = g.chance(0.4);
    if (!g.mmap(s, len, { kind: shared ? 'file-shared' : 'file', off, prot: g.chance(0.8) ? 'rw' : 'r' })) return false;
    const [a, l] = g.sub(s, s + len, 256);
    g.touch(a, l, 'read');
    if (g.chance(0.5)) {
      const [b, m] = g.sub(s, s + len, 64);
      g.touch(b, m, 'write');
    }
    return true;
  },
  'map-shmem': (g) => {
    const len = g.chance(0.5) ? PAGE_SIZE * (1 + g.int(64)) : g.randomLen();
    const s = g.freeRange(len, g.chance(0.5) ? PMD_SIZE : PAGE_SIZE);
    if (s === undefined || !g.mmap(s, len, { kind: 'shmem' })) return false;
    const [a, l] = g.sub(s, s + len, 256);
    g.touch(a, l, g.chance(0.5) ? 'read' : 'write');
    return true;
  },
  'heap-reserve': (g) => {
    const len = g.pick([2, 4, 8]) * PMD_SIZE;
    const s = g.freeRange(len, g.chance(0.7) ? PMD_SIZE : PAGE_SIZE);
    if (s === undefined || !g.mmap(s, len, { prot: 'none' })) return false;
    let top = s;
    for (let steps = 1 + g.int(3); steps > 0 && top < s + len; steps--) {
      const grow = Math.min(s + len - top, PAGE_SIZE * g.pick([33, 132, 512, 1024]));
      // Each step opens the whole prefix (as glibc's grow_heap does): merges with the part before.
      g.mprotect(s, top + grow - s, 'rw');
      g.touch(top, Math.min(grow, 256 * PAGE_SIZE), 'write');
      top += grow;
    }
    if (g.chance(0.6) && top - s > 2 * PAGE_SIZE) {
      const keep = PAGE_SIZE * (1 + g.int((top - s) / PAGE_SIZE - 1));
      g.madvise(s + keep, top - s - keep, 'dontneed');
      if (g.chance(0.5)) g.mprotect(s + keep, top - s - keep, 'none');
    }
    return true;
  },
  'guard-region': (g) => {
    // A thread stack's shape: guard pages at the low end, the stack above.
    const guard = PAGE_SIZE * g.pick([1, 1, 2, 16]);
    const len = g.pick([PMD_SIZE / 2, PMD_SIZE, PMD_SIZE * 4]) + guard;
    const s = g.freeRange(len, g.chance(0.5) ? PMD_SIZE : PAGE_SIZE);
    if (s === undefined || !g.mmap(s, len)) return false;
    g.madvise(s, guard, 'guard-install');
    const [a, l] = g.sub(s + guard, s + len, 512);
    g.touch(a, l, 'write');
    if (g.chance(0.3)) g.touch(s, guard + PAGE_SIZE, 'write'); // EFAULT: a marker in the range
    if (g.chance(0.5)) g.madvise(s, len, 'dontneed');
    if (g.chance(0.3)) g.madvise(s, guard, 'guard-remove');
    return true;
  },
  touch: (g) => {
    const m = g.someSeg();
    if (!m) return false;
    const [a, l] = g.sub(m.s, m.e, 1024);
    return g.touch(a, l, g.chance(0.6) ? 'write' : 'read');
  },
  mprotect: (g) => {
    const m = g.someSeg();
    if (!m) return false;
    const [a, l] = g.chance(0.3) ? [m.s, m.e - m.s] : g.sub(m.s, m.e, 1024);
    g.mprotect(a, l, g.pick(['rw', 'r', 'none'] as const));
    if (g.chance(0.5)) g.touch(a, Math.min(l, 16 * PAGE_SIZE), g.chance(0.5) ? 'read' : 'write');
    return true;
  },
  'mremap-grow': (g) => {
    const m = g.someSeg();
    if (!m) return false;
    const s = g.chance(0.7) ? m.s : m.s + PAGE_SIZE * g.int((m.e - m.s) / PAGE_SIZE);
    const grow = g.pick([PAGE_SIZE, PAGE_SIZE * (1 + g.int(64)), PMD_SIZE]);
    g.mremap(m, s, m.e - s, m.e - s + grow);
    if (g.chance(0.5)) g.touch(m.e - Math.min(grow, 8 * PAGE_SIZE), Math.min(grow, 8 * PAGE_SIZE), 'write');
    return true;
  },
  'mremap-shrink': (g) => {
    const m = g.someSeg((x) => x.e - x.s >= 2 * PAGE_SIZE);
    if (!m) return false;
    const oldLen = m.e - m.s;
    g.mremap(m, m.s, oldLen, PAGE_SIZE * (1 + g.int(oldLen / PAGE_SIZE - 1)));
    return true;
  },
  'mremap-move': (g) => {
    const m = g.someSeg();
    if (!m) return false;
    // A whole mapping or a part of one (a part splits the VMA, and any THP across the cut).
    const [s, oldLen] = g.chance(0.6) ? [m.s, m.e - m.s] : g.sub(m.s, m.e, 1024);
    const newLen = g.pick([oldLen, oldLen, oldLen, oldLen + PMD_SIZE, Math.max(PAGE_SIZE, oldLen - PAGE_SIZE * 8)]);
    // Same offset in the PMD as the source (whole PMDs can move), PMD aligned, or a page off.
    const r = g.int(3);
    const base = g.freeRange(newLen + 2 * PMD_SIZE, PMD_SIZE);
    if (base === undefined) return false;
    const to = base + PMD_SIZE + (r === 0 ? s % PMD_SIZE : r === 1 ? 0 : PAGE_SIZE * (1 + g.int(511)));
    if (!g.isFree(to, to + newLen) || (to < s + oldLen && s < to + newLen)) return false;
    g.mremap(m, s, oldLen, newLen, to);
    if (g.chance(0.4)) g.touch(to, Math.min(newLen, 32 * PAGE_SIZE), 'write');
    return true;
  },
  advise: (g) => {
    const m = g.someSeg();
    if (!m) return false;
    const [a, l] = g.chance(0.2) ? [m.s, m.e - m.s] : g.sub(m.s, m.e, 1024);
    g.madvise(a, l, g.pick(ADVICES_V2));
    return true;
  },
  'dontneed-pmd': (g) => {
    const m = g.someSeg();
    if (!m) return false;
    const a = Math.ceil(m.s / PMD_SIZE) * PMD_SIZE;
    const b = Math.floor(m.e / PMD_SIZE) * PMD_SIZE;
    if (b <= a) return false;
    g.touch(a, PMD_SIZE, 'write');
    g.madvise(a, b - a, g.chance(0.8) ? 'dontneed' : 'dontneed-locked');
    return true;
  },
  'free-pageout': (g) => {
    const m = g.someSeg((x) => x.kind === 'anon');
    if (!m) return false;
    const [a, l] = g.sub(m.s, m.e, 1024);
    g.touch(a, l, 'write');
    g.madvise(a, l, 'free');
    if (g.chance(0.3)) g.touch(a, Math.min(l, 8 * PAGE_SIZE), 'write'); // redirtied: pageout keeps them
    g.madvise(a, l, g.chance(0.6) ? 'pageout' : 'dontneed');
    return true;
  },
  collapse: (g) => {
    const m = g.someSeg((x) => x.kind === 'anon' && x.e - x.s >= PMD_SIZE);
    if (!m) return false;
    const a = Math.ceil(m.s / PMD_SIZE) * PMD_SIZE;
    if (a + PMD_SIZE > m.e) return false;
    if (!m.huge && g.chance(0.5)) g.madvise(a, PMD_SIZE, 'hugepage');
    g.touch(a + PAGE_SIZE * g.int(500), PAGE_SIZE * (1 + g.int(8)), 'write');
    g.madvise(a, PMD_SIZE, 'collapse');
    return true;
  },
  'across-hole': (g) => {
    const m = g.someSeg();
    if (!m) return false;
    const s = m.s - PAGE_SIZE * g.int(600);
    const e = m.e + PAGE_SIZE * (1 + g.int(600));
    if (!g.inWindow(s, e)) return false;
    const r = g.int(4);
    if (r === 0) g.munmap(s, e - s);
    else if (r === 1) g.mprotect(s, e - s, g.pick(['rw', 'r'] as const));
    else g.madvise(s, e - s, g.pick(['dontneed', 'free', 'populate-read', 'willneed', 'cold', 'pageout'] as const));
    return true;
  },
  'munmap-split': (g) => {
    const m = g.someSeg((x) => x.e - x.s >= 3 * PAGE_SIZE);
    if (!m) return false;
    const [a, l] = g.sub(m.s + PAGE_SIZE, m.e - PAGE_SIZE, 1024);
    g.munmap(a, l);
    return true;
  },
  'munmap-whole': (g) => {
    const m = g.someSeg();
    if (!m) return false;
    g.munmap(m.s, m.e - m.s);
    return true;
  },
};

function weighted(g: GenV2): MoveV2 {
  const total = MOVES_V2.reduce((a, m) => a + WEIGHTS[m], 0);
  let x = g.int(total);
  for (const m of MOVES_V2) {
    if (x < WEIGHTS[m]) return m;
    x -= WEIGHTS[m];
  }
  return MOVES_V2[0];
}

/** One v2 trace: deterministic in (seed, index). */
export function generateTraceV2(seed: number, index: number): CorpusTraceV2 {
  const rng = new Rng((seed ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0, 'keep');
  const r = () => rng.int(2 ** 30);
  const kind = index % 3;
  const unit = kind === 0 ? PMD_SIZE : kind === 1 ? PUD_SIZE : PGDIR_SIZE;
  const slots = Math.floor((HIGH - LOW) / unit) - 4;
  const anchor = LOW + (1 + (r() % slots)) * unit;
  // The far window: the next PUD (pmd/pud traces) or the next PGD (pgd traces), for moves.
  const far = anchor + (kind === 2 ? PGDIR_SIZE : PUD_SIZE);
  const g = new GenV2(
    rng,
    [
      [anchor - WINDOW / 2, anchor + WINDOW / 2],
      [far - FAR_WINDOW / 2, far + FAR_WINDOW / 2],
    ],
    anchor,
  );
  // Start with an anonymous mapping and one of another kind so later moves have material.
  mapAnon(g);
  const second = g.pick(['map-thp', 'map-file', 'map-shmem', 'guard-region'] as const);
  if (MOVES[second](g)) g.moves.push(second);
  const nMoves = 14 + g.int(20);
  for (let i = 0; i < nMoves; i++) {
    const m = weighted(g);
    if (MOVES[m](g)) g.moves.push(m);
  }
  const name = `v${String(index).padStart(3, '0')}-${String(['pmd', 'pud', 'pgd'][kind])}.trace`;
  return { name, ops: g.ops, moves: g.moves, residentPages: g.resident };
}

export function generateCorpusV2(opts: { seed?: number; count?: number } = {}): CorpusTraceV2[] {
  const seed = opts.seed ?? CORPUS_V2_DEFAULTS.seed;
  const count = opts.count ?? CORPUS_V2_DEFAULTS.count;
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new UsageError(`generateCorpusV2: seed must be an integer in 0..4294967295, got ${String(seed)}`);
  if (!Number.isSafeInteger(count) || count < 0 || count > 10_000)
    throw new UsageError(`generateCorpusV2: count must be an integer in 0..10000, got ${String(count)}`);
  return Array.from({ length: count }, (_, i) => generateTraceV2(seed, i));
}

/** The text of one v2 corpus trace, as committed. */
export function corpusTraceTextV2(t: CorpusTraceV2, seed: number, index: number): string {
  const tally = new Map<string, number>();
  for (const m of t.moves) tally.set(m, (tally.get(m) ?? 0) + 1);
  const moves = [...tally]
    .sort()
    .map(([k, v]) => `${k} x${v}`)
    .join(', ');
  const text = formatTrace(
    t.ops,
    `ptreclaim corpus v2 (trace format 2), generator v${CORPUS_V2_VERSION}, seed ${seed}, trace ${index}: at most ${t.residentPages} pages resident\nmoves: ${moves}`,
  );
  // Every corpus v2 trace is written in format 2, even one whose ops happen to be v1's.
  return text.replace(/^version 1$/m, 'version 2');
}

export interface CorpusManifestV2 {
  generator: string;
  version: number;
  traceFormat: 2;
  seed: number;
  count: number;
  files: string[];
}

/** Writes the v2 corpus: its traces and manifest.json (generate.ts writeCorpusDir). */
export function writeCorpusV2(
  dir: string,
  traces: readonly CorpusTraceV2[],
  meta: { seed: number; count: number },
  onWritten?: (i: number) => void,
): void {
  const manifest: CorpusManifestV2 = {
    generator: `ptreclaim corpus generate --format 2 --seed ${meta.seed} --count ${meta.count}`,
    version: CORPUS_V2_VERSION,
    traceFormat: 2,
    seed: meta.seed,
    count: meta.count,
    files: traces.map((t) => t.name),
  };
  writeCorpusDir(dir, traces, (t, i) => corpusTraceTextV2(t, meta.seed, i), manifest, onWritten);
}
