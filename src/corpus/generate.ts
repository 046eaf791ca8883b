/**
 * The validation corpus: seeded random traces that circle every corner where a page-table
 * model can go wrong, small enough that the whole corpus replays on a live kernel in seconds
 * (each touched page is a real fault, ~10 µs on a VM).
 *
 * Each trace works in a 16 MiB window around an anchor that sits on a 2 MiB, 1 GiB or 512 GiB
 * boundary, so mappings often straddle PMD, PUD and PGD spans. Its ops are drawn from moves
 * that each aim at one corner:
 *   map-adjacent   a mapping that ends/starts where another does (VMAs merge)
 *   map-boundary   a mapping around a table boundary (partial PMDs at both ends)
 *   touch          write or read a subrange (reads: zero page or, on some hosts, real pages)
 *   dontneed-pmd   MADV_DONTNEED of whole 2 MiB-aligned spans (PT_RECLAIM frees tables)
 *   dontneed-part  MADV_DONTNEED of a sub-PMD or misaligned range (no reclaim)
 *   across-hole    madvise/munmap over mapped and unmapped parts (ENOMEM, parts processed)
 *   free-dontneed  MADV_FREE, then MADV_DONTNEED of the same range
 *   munmap-split   munmap of an inner part (split; free_pgtables floor/ceiling = neighbours)
 *   munmap-whole   munmap of a whole mapping or several
 *   remap          map again a range unmapped before, and touch it
 * Traces run in a fresh process each: addresses are chosen in [0x100000000000, 0x500000000000),
 * far from where a helper's own code, libraries and stack live.
 */
import { mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { checkCorpusOptions } from '../api-schema.js';

import { PAGE_SIZE, PMD_SIZE, PUD_SIZE, PGDIR_SIZE } from '../core/types.js';
import { writeOutputFile } from '../io.js';
import type { Op } from '../trace/ops.js';
import { formatTrace } from '../trace/parse.js';
import { RangeSet } from '../trace/ranges.js';
import { Rng } from '../workloads/rng.js';

export const CORPUS_VERSION = 1;
export const CORPUS_DEFAULTS = { seed: 20251125, count: 48 } as const;

/** Most pages one trace may touch: keeps a live replay near 50 ms per trace. */
const TOUCH_BUDGET_PAGES = 6144;
const WINDOW = 16 * 2 ** 20;
const LOW = 0x100000000000;
const HIGH = 0x500000000000;

export interface CorpusTrace {
  name: string;
  ops: Op[];
  moves: string[];
  touchedPages: number;
}

class Gen {
  readonly ops: Op[] = [];
  readonly moves: string[] = [];
  /** Mapped ranges as the trace believes them to be, [start, end), sorted, merged. */
  private readonly mapped = new RangeSet();
  private unmapped: [number, number][] = [];
  touched = 0;

  constructor(
    private readonly rnd: () => number,
    readonly lo: number,
    readonly hi: number,
    readonly anchor: number,
  ) {}

  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  pages(n: number): number {
    return n * PAGE_SIZE;
  }

  /** A page address near a boundary of the given size, inside the window. */
  nearBoundary(size: number): number {
    const b = Math.max(this.lo, Math.min(this.hi - PAGE_SIZE, Math.round((this.anchor + (this.int(5) - 2) * size) / size) * size));
    const a = b + (this.int(9) - 4) * PAGE_SIZE * (this.rnd() < 0.5 ? 1 : this.int(64) + 1);
    return Math.max(this.lo, Math.min(this.hi - PAGE_SIZE, a));
  }

  randomLen(): number {
    switch (this.int(5)) {
      case 0:
        return this.pages(1 + this.int(16));
      case 1:
        return PMD_SIZE;
      case 2:
        return PMD_SIZE * (1 + this.int(3));
      case 3:
        return this.pages(1 + this.int(1024));
      default:
        return this.pages(256 + this.int(1536));
    }
  }

  free(start: number, end: number): boolean {
    return start >= this.lo && end <= this.hi && !this.mapped.intersects(start, end);
  }

  private add(start: number, end: number): void {
    this.mapped.add(start, end);
  }

  private remove(start: number, end: number): void {
    this.mapped.remove(start, end);
    this.unmapped.push([start, end]);
  }

  mmap(start: number, len: number, move: string): boolean {
    const end = start + len;
    if (!this.free(start, end)) return false;
    this.ops.push({ kind: 'mmap', addr: start, len });
    this.add(start, end);
    this.moves.push(move);
    return true;
  }

  munmap(start: number, len: number, move: string): void {
    this.ops.push({ kind: 'munmap', addr: start, len });
    this.remove(start, start + len);
    this.moves.push(move);
  }

  madvise(start: number, len: number, advice: 'dontneed' | 'free', move: string): void {
    this.ops.push({ kind: 'madvise', addr: start, len, advice });
    this.moves.push(move);
  }

  touch(start: number, len: number, move: string): void {
    const n = len / PAGE_SIZE;
    if (this.touched + n > TOUCH_BUDGET_PAGES) return;
    this.touched += n;
    this.ops.push({ kind: 'touch', addr: start, len, access: this.rnd() < 0.7 ? 'write' : 'read' });
    this.moves.push(move);
  }

  someMapping(): [number, number] | undefined {
    return this.mapped.list.length ? this.pick(this.mapped.list) : undefined;
  }

  /** A random page-aligned subrange of [s, e), at most maxPages long. */
  sub(s: number, e: number, maxPages: number): [number, number] {
    const total = (e - s) / PAGE_SIZE;
    const n = 1 + this.int(Math.min(total, maxPages));
    const off = this.int(total - n + 1);
    return [s + off * PAGE_SIZE, n * PAGE_SIZE];
  }

  /** Whole 2 MiB spans inside [s, e), or undefined. */
  wholePmds(s: number, e: number): [number, number] | undefined {
    const a = Math.ceil(s / PMD_SIZE) * PMD_SIZE;
    const b = Math.floor(e / PMD_SIZE) * PMD_SIZE;
    if (b <= a) return undefined;
    const n = (b - a) / PMD_SIZE;
    const k = 1 + this.int(n);
    const off = this.int(n - k + 1);
    return [a + off * PMD_SIZE, k * PMD_SIZE];
  }

  lastUnmapped(): [number, number] | undefined {
    return this.unmapped.length ? this.pick(this.unmapped) : undefined;
  }
}

type Move = (g: Gen) => void;

const MOVES: Record<string, Move> = {
  'map-boundary': (g) => {
    const size = g.pick([PMD_SIZE, PMD_SIZE, PUD_SIZE, PGDIR_SIZE]);
    const at = g.nearBoundary(size) - g.pick([0, PAGE_SIZE * 3, PMD_SIZE / 2, PMD_SIZE]);
    const start = Math.max(g.lo, at);
    g.mmap(start, Math.min(g.randomLen(), g.hi - start), 'map-boundary');
  },
  'map-adjacent': (g) => {
    const m = g.someMapping();
    if (!m) {
      MOVES['map-boundary']!(g);
      return;
    }
    const len = g.randomLen();
    if (g.int(2) === 0) g.mmap(m[1], Math.min(len, g.hi - m[1]), 'map-adjacent');
    else if (m[0] - len >= g.lo) g.mmap(m[0] - len, len, 'map-adjacent');
  },
  touch: (g) => {
    const m = g.someMapping();
    if (!m) return;
    const [s, l] = g.sub(m[0], m[1], 1024);
    g.touch(s, l, 'touch');
  },
  'dontneed-pmd': (g) => {
    const m = g.someMapping();
    if (!m) return;
    const w = g.wholePmds(m[0], m[1]);
    if (!w) return;
    g.touch(w[0], Math.min(w[1], PMD_SIZE), 'touch');
    g.madvise(w[0], w[1], 'dontneed', 'dontneed-pmd');
  },
  'dontneed-part': (g) => {
    const m = g.someMapping();
    if (!m) return;
    const [s, l] = g.sub(m[0], m[1], 700);
    g.madvise(s, l, 'dontneed', 'dontneed-part');
  },
  'across-hole': (g) => {
    const m = g.someMapping();
    if (!m) return;
    const start = Math.max(g.lo, m[0] - g.pages(g.int(600)));
    const end = Math.min(g.hi, m[1] + g.pages(1 + g.int(600)));
    if (g.int(3) === 0) g.munmap(start, end - start, 'across-hole');
    else g.madvise(start, end - start, g.int(4) === 0 ? 'free' : 'dontneed', 'across-hole');
  },
  'free-dontneed': (g) => {
    const m = g.someMapping();
    if (!m) return;
    const w = g.wholePmds(m[0], m[1]);
    const [s, l] = w && g.int(2) === 0 ? w : g.sub(m[0], m[1], 1024);
    g.touch(s, Math.min(l, PMD_SIZE), 'touch');
    g.madvise(s, l, 'free', 'free-dontneed');
    if (g.int(4) !== 0) g.madvise(s, l, 'dontneed', 'free-dontneed');
  },
  'munmap-split': (g) => {
    const m = g.someMapping();
    if (!m || m[1] - m[0] < 3 * PAGE_SIZE) return;
    const [s, l] = g.sub(m[0] + PAGE_SIZE, m[1] - PAGE_SIZE, 1024);
    g.munmap(s, l, 'munmap-split');
  },
  'munmap-whole': (g) => {
    const m = g.someMapping();
    if (!m) return;
    g.munmap(m[0], m[1] - m[0], 'munmap-whole');
  },
  remap: (g) => {
    const u = g.lastUnmapped();
    if (!u) return;
    if (g.mmap(u[0], u[1] - u[0], 'remap')) {
      const [s, l] = g.sub(u[0], u[1], 512);
      g.touch(s, l, 'touch');
    }
  },
};

const WEIGHTS: [string, number][] = [
  ['map-boundary', 3],
  ['map-adjacent', 3],
  ['touch', 6],
  ['dontneed-pmd', 3],
  ['dontneed-part', 3],
  ['across-hole', 2],
  ['free-dontneed', 2],
  ['munmap-split', 2],
  ['munmap-whole', 1],
  ['remap', 2],
];

function weighted(g: Gen): string {
  const total = WEIGHTS.reduce((a, [, w]) => a + w, 0);
  let x = g.int(total);
  for (const [name, w] of WEIGHTS) {
    if (x < w) return name;
    x -= w;
  }
  return WEIGHTS[0]![0];
}

/** One trace: deterministic in (seed, index). */
export function generateTrace(seed: number, index: number): CorpusTrace {
  const rng = new Rng((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0, 'keep');
  const rnd = () => rng.next();
  const r = () => Math.floor(rnd() * 2 ** 30);
  // The anchor: a 2 MiB, 1 GiB or 512 GiB boundary in [LOW, HIGH).
  const kind = index % 3;
  const unit = kind === 0 ? PMD_SIZE : kind === 1 ? PUD_SIZE : PGDIR_SIZE;
  const slots = Math.floor((HIGH - LOW) / unit) - 2;
  const anchor = LOW + (1 + (r() % slots)) * unit;
  const g = new Gen(rnd, anchor - WINDOW / 2, anchor + WINDOW / 2, anchor);
  const nMoves = 12 + g.int(20);
  // Start with two mappings so later moves have something to work on.
  MOVES['map-boundary']!(g);
  MOVES['map-adjacent']!(g);
  for (let i = 0; i < nMoves; i++) MOVES[weighted(g)]!(g);
  // End with a last look at what remains: touch and dontneed one mapping whole.
  const m = g.someMapping();
  if (m) {
    g.touch(m[0], Math.min(m[1] - m[0], 512 * PAGE_SIZE), 'touch');
    g.madvise(m[0], m[1] - m[0], 'dontneed', 'dontneed-part');
  }
  const name = `c${String(index).padStart(3, '0')}-${String(['pmd', 'pud', 'pgd'][kind])}.trace`;
  return { name, ops: g.ops, moves: g.moves, touchedPages: g.touched };
}

export function generateCorpus(opts: { seed?: number; count?: number } = {}): CorpusTrace[] {
  checkCorpusOptions(opts);
  const seed = opts.seed ?? CORPUS_DEFAULTS.seed;
  const count = opts.count ?? CORPUS_DEFAULTS.count;
  return Array.from({ length: count }, (_, i) => generateTrace(seed, i));
}

/** The text of one corpus trace, as committed. */
export function corpusTraceText(t: CorpusTrace, seed: number, index: number): string {
  const tally = new Map<string, number>();
  for (const m of t.moves) tally.set(m, (tally.get(m) ?? 0) + 1);
  const moves = [...tally]
    .sort()
    .map(([k, v]) => `${k} x${v}`)
    .join(', ');
  return formatTrace(
    t.ops,
    `ptreclaim corpus v${CORPUS_VERSION}, seed ${seed}, trace ${index}: ${t.touchedPages} pages touched\nmoves: ${moves}`,
  );
}

export interface CorpusManifest {
  generator: string;
  version: number;
  seed: number;
  count: number;
  files: string[];
}

/**
 * Writes each trace's text and then manifest.json into dir (atomically, file by file) and
 * removes stale *.trace files: the one way both corpora (v1 and v2) are written.
 * `onWritten(i)` after trace i is written (progress).
 */
export function writeCorpusDir<T extends { name: string }>(
  dir: string,
  traces: readonly T[],
  text: (t: T, index: number) => string,
  manifest: object,
  onWritten?: (i: number) => void,
): void {
  mkdirSync(dir, { recursive: true });
  const names = new Set(traces.map((t) => t.name));
  for (const f of readdirSync(dir)) if (f.endsWith('.trace') && !names.has(f)) unlinkSync(join(dir, f));
  traces.forEach((t, i) => {
    writeOutputFile(join(dir, t.name), text(t, i));
    onWritten?.(i);
  });
  writeOutputFile(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
}

/** Writes the v1 corpus: its traces and manifest.json (writeCorpusDir). */
export function writeCorpus(
  dir: string,
  traces: readonly CorpusTrace[],
  meta: { seed: number; count: number },
  onWritten?: (i: number) => void,
): void {
  const manifest: CorpusManifest = {
    generator: `ptreclaim corpus generate --seed ${meta.seed} --count ${meta.count}`,
    version: CORPUS_VERSION,
    seed: meta.seed,
    count: meta.count,
    files: traces.map((t) => t.name),
  };
  writeCorpusDir(dir, traces, (t, i) => corpusTraceText(t, meta.seed, i), manifest, onWritten);
}
