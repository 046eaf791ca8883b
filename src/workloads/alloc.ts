/**
 * Allocator release patterns: how jemalloc, tcmalloc and mimalloc hand memory back, reduced
 * to the system calls they make. One seeded event stream (allocate a page-multiple block,
 * write it; or free a random live block) drives each policy, so the three differ only in
 * how and when they return freed memory. Shapes, from the allocators' documentation:
 *
 * - jemalloc: extents of whole pages carved from retained VA (opt.retain: VA is never
 *   unmapped); freed extents are "dirty", adjacent ones coalesce; dirty decay purges them
 *   lazily with MADV_FREE ("muzzy"), muzzy decay later forces MADV_DONTNEED.
 * - tcmalloc (Temeraire, hugepage-aware): blocks packed into 2 MiB hugepages; a hugepage
 *   that becomes wholly free is released whole (MADV_DONTNEED of the aligned 2 MiB); free
 *   runs inside partly used hugepages are released only as a last resort, when free-but-
 *   unreleased memory exceeds a limit (subrelease).
 * - mimalloc: 4 MiB-aligned segments of 64 KiB pages; a freed page is purged with
 *   MADV_DONTNEED after a delay (purge_delay), adjacent expired pages in one call.
 */
import type { Op } from '../trace/ops.js';
import type { Workload } from './types.js';
import { Rng } from './rng.js';
import { UsageError } from '../errors.js';
import { ARENA_HARD_MAX_FRAMES, USER_VA_END } from '../core/types.js';

const PAGE = 4096;
const HUGE = 2 ** 21;
const MiB = 2 ** 20;
const BASE = 0x400000000000;

export type AllocatorKind = 'jemalloc' | 'tcmalloc' | 'mimalloc';
export const ALLOCATOR_KINDS: readonly AllocatorKind[] = ['jemalloc', 'tcmalloc', 'mimalloc'];

export interface AllocParams {
  /** Live heap the program aims for, bytes (VA reserved is twice this). */
  heapBytes: number;
  /** Allocation + free events. */
  churn: number;
  seed: number;
}

export const DEFAULT_ALLOC_PARAMS: AllocParams = { heapBytes: 256 * MiB, churn: 20_000, seed: 1 };

interface Block {
  addr: number;
  len: number;
}

/** An allocation of `alloc` bytes, or the free of the `free`-th live block (live blocks kept by swap-remove). */
export type AllocEvent = { alloc: number } | { free: number };

/** The shared event stream: allocation sizes 4 KiB..1 MiB (log-uniform), heap kept near its target. */
function* events(p: AllocParams): Generator<AllocEvent> {
  const rng = new Rng(p.seed);
  let live = 0;
  const sizes: number[] = [];
  for (let i = 0; i < p.churn; i++) {
    const wantAlloc = sizes.length === 0 || (live < p.heapBytes && rng.next() < 0.55);
    if (wantAlloc) {
      const len = rng.pow2(8) * PAGE;
      sizes.push(len);
      live += len;
      yield { alloc: len };
    } else {
      const k = rng.int(sizes.length);
      live -= sizes[k]!;
      sizes[k] = sizes[sizes.length - 1]!;
      sizes.pop();
      yield { free: k };
    }
  }
}

/** Coalesce address ranges into maximal runs of adjacent ones. */
function coalesce(ranges: Block[]): Block[] {
  const asc = [...ranges].sort((a, b) => a.addr - b.addr);
  const out: Block[] = [];
  for (const r of asc) {
    const last = out[out.length - 1];
    if (last && last.addr + last.len === r.addr) last.len += r.len;
    else out.push({ ...r });
  }
  return out;
}

/** Largest and mean allocation of the event stream (rng.pow2(8) pages: 2^k, k uniform in 0..8). */
const MAX_BLOCK = 256 * PAGE;
const MEAN_BLOCK = ((2 ** 9 - 1) / 9) * PAGE;
/** Share of events that allocate while the live heap is below its target (events()). */
const ALLOC_SHARE = 0.55;

/** What an alloc run needs, worked out before it starts (the generators follow the pages used, not the reserve). */
export interface AllocEstimate {
  /** VA the allocators reserve: twice the heap (mimalloc: one more 4 MiB segment for alignment). */
  reserveBytes: number;
  /** Most memory the events can have written: every allocation at the largest size, within the reserve. */
  maxTouchedBytes: number;
  /** What they write on average: the allocating share of the events at the mean size. */
  expectedTouchedBytes: number;
  /** Page-table frames for the most and the expected: a PTE table per 2 MiB touched, plus the PMD and PUD tables above. */
  maxTableFrames: number;
  expectedTableFrames: number;
  /** The simulated arena's ceiling (4 GiB of WebAssembly memory), in frames. */
  arenaFrames: number;
}

export function estimateAlloc(p: Pick<AllocParams, 'heapBytes' | 'churn'>): AllocEstimate {
  const reserveBytes = 2 * p.heapBytes + 4 * MiB;
  const maxTouchedBytes = Math.min(reserveBytes, p.churn * MAX_BLOCK);
  const expectedTouchedBytes = Math.min(maxTouchedBytes, ALLOC_SHARE * p.churn * MEAN_BLOCK);
  const frames = (touched: number) => {
    const pte = Math.ceil(touched / HUGE) + 1;
    return pte + Math.ceil(pte / 512) + 1 + Math.ceil(pte / 512 ** 2) + 1;
  };
  return {
    reserveBytes,
    maxTouchedBytes,
    expectedTouchedBytes,
    maxTableFrames: frames(maxTouchedBytes),
    expectedTableFrames: frames(expectedTouchedBytes),
    arenaFrames: ARENA_HARD_MAX_FRAMES,
  };
}

const fmtSize = (b: number) =>
  b >= 2 ** 40 ? `${+(b / 2 ** 40).toFixed(1)} TiB` : b >= 2 ** 30 ? `${+(b / 2 ** 30).toFixed(1)} GiB` : `${+(b / MiB).toFixed(1)} MiB`;

/** One line for a large alloc run: what it reserves and the most it can touch and hold in tables. */
export function describeAllocEstimate(p: Pick<AllocParams, 'heapBytes' | 'churn'>): string {
  const e = estimateAlloc(p);
  return (
    `alloc: heap ${fmtSize(p.heapBytes)} reserves ${fmtSize(e.reserveBytes)} of VA; ${p.churn} events write about ${fmtSize(e.expectedTouchedBytes)} ` +
    `(at most ${fmtSize(e.maxTouchedBytes)}), about ${e.expectedTableFrames.toLocaleString('en-US')} page tables (${fmtSize(e.expectedTableFrames * PAGE)}) per run; ` +
    'time and memory grow with --churn, not with --heap'
  );
}

/** Refuse parameters no run can do (a clear UsageError), before any work starts. */
export function validateAllocParams(p: AllocParams): void {
  if (!(p.heapBytes >= 4 * MiB) || p.heapBytes % PAGE !== 0)
    throw new UsageError(`alloc heap size must be a multiple of 4 KiB and at least 4 MiB, not ${p.heapBytes}`);
  if (!Number.isInteger(p.churn) || p.churn < 1) throw new UsageError(`alloc churn must be a positive integer, not ${p.churn}`);
  const e = estimateAlloc(p);
  if (BASE + e.reserveBytes > USER_VA_END) {
    throw new UsageError(
      `alloc heap ${fmtSize(p.heapBytes)} is too large: the allocators reserve twice the heap (${fmtSize(e.reserveBytes)}) from ${fmtSize(BASE)} up, ` +
        `and the 47-bit user address space ends at ${fmtSize(USER_VA_END)}; the largest heap is ${fmtSize((USER_VA_END - BASE - 4 * MiB) / 2)}`,
    );
  }
  if (e.expectedTableFrames > e.arenaFrames) {
    throw new UsageError(
      `alloc: heap ${fmtSize(p.heapBytes)} with ${p.churn} events would write about ${fmtSize(e.expectedTouchedBytes)}, needing about ` +
        `${fmtSize(e.expectedTableFrames * PAGE)} of page tables; the simulated arena holds ${fmtSize(e.arenaFrames * PAGE)} (4 GiB of WebAssembly memory): lower --churn or --heap`,
    );
  }
}

/**
 * jemalloc-like: first-fit over retained VA; dirty -> MADV_FREE -> MADV_DONTNEED by decay epochs,
 * or with `decayEvery` 0 (MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0) each freed extent
 * purged at once with MADV_DONTNEED.
 */
function* jemalloc(p: AllocParams, ev: Iterable<AllocEvent>, decayEvery = 256): Iterable<Op> {
  const reserve = 2 * p.heapBytes;
  yield { kind: 'mmap', addr: BASE, len: reserve };
  let bump = BASE;
  const live: Block[] = [];
  const free: Block[] = []; // reusable extents (dirty, muzzy or clean), exact-size reuse
  let dirty: Block[] = [];
  let muzzy: Block[] = [];
  let n = 0;
  for (const e of ev) {
    if ('alloc' in e) {
      const i = free.findIndex((b) => b.len === e.alloc);
      let b: Block;
      if (i >= 0) b = free.splice(i, 1)[0]!;
      else if (bump + e.alloc <= BASE + reserve) {
        b = { addr: bump, len: e.alloc };
        bump += e.alloc;
      } else {
        // Retained VA exhausted (fragmentation): reuse the lowest free extent, trimmed.
        const x = free.shift() ?? { addr: BASE, len: e.alloc };
        x.len = Math.min(x.len, e.alloc);
        b = x;
      }
      dirty = dirty.filter((d) => d !== b);
      muzzy = muzzy.filter((d) => d !== b);
      live.push(b);
      yield { kind: 'touch', addr: b.addr, len: b.len, access: 'write' };
    } else {
      const b = live[e.free]!;
      live[e.free] = live[live.length - 1]!;
      live.pop();
      free.push(b);
      if (decayEvery === 0) yield { kind: 'madvise', addr: b.addr, len: b.len, advice: 'dontneed' };
      else dirty.push(b);
    }
    if (decayEvery > 0 && ++n % decayEvery === 0) {
      // Muzzy decay first (forced purge of what was lazily purged an epoch ago), then dirty decay.
      for (const r of coalesce(muzzy)) yield { kind: 'madvise', addr: r.addr, len: r.len, advice: 'dontneed' };
      for (const r of coalesce(dirty)) yield { kind: 'madvise', addr: r.addr, len: r.len, advice: 'free' };
      muzzy = dirty;
      dirty = [];
    }
  }
}

/** tcmalloc-like: pack into hugepages; release wholly free hugepages, subrelease only when over the limit. */
function* tcmalloc(p: AllocParams, ev: Iterable<AllocEvent>, releaseEvery = 256): Iterable<Op> {
  // Whole hugepages: a heap that is not a multiple of 1 MiB still gets aligned 2 MiB units.
  let nHuge = Math.ceil((2 * p.heapBytes) / HUGE);
  yield { kind: 'mmap', addr: BASE, len: nHuge * HUGE };
  // Per hugepage, for those used so far (the arrays grow with use, not with the reserve: a
  // 4 TiB heap with the default churn touches a few GiB). Hugepages past the end are all
  // alike (empty, released), so scans stop one past the last used one.
  const used: number[] = []; // live bytes per hugepage
  const top: number[] = []; // bump offset per hugepage
  const holes: Block[][] = [];
  const released: boolean[] = [];
  const reach = (h: number) => {
    while (used.length <= h) {
      used.push(0);
      top.push(0);
      holes.push([]);
      released.push(true);
    }
  };
  const live: Block[] = [];
  let freeUnreleased = 0;
  const subreleaseLimit = p.heapBytes / 4;
  let n = 0;
  for (const e of ev) {
    if ('alloc' in e && e.alloc > HUGE) {
      // Larger than a hugepage (the churn program's blocks, not the seeded stream's): whole
      // hugepages of its own, as tcmalloc's HugeAllocator gives them, the lowest run of empty
      // ones or new ones past the end; freed, they go back whole at the next release.
      const count = Math.ceil(e.alloc / HUGE);
      const empty = (h: number) => h >= used.length || (used[h] === 0 && top[h] === 0 && holes[h]!.length === 0);
      let first = 0;
      for (let run = 0, h = 0; run < count; h++) {
        run = empty(h) ? run + 1 : 0;
        first = h - run + 1;
      }
      if (first + count > nHuge) {
        yield { kind: 'mmap', addr: BASE + nHuge * HUGE, len: (first + count - nHuge) * HUGE };
        nHuge = first + count;
      }
      reach(first + count - 1);
      for (let h = first; h < first + count; h++) {
        used[h] = HUGE;
        top[h] = HUGE;
        released[h] = false;
      }
      live.push({ addr: BASE + first * HUGE, len: e.alloc });
      yield { kind: 'touch', addr: BASE + first * HUGE, len: e.alloc, access: 'write' };
    } else if ('alloc' in e) {
      // Fill the fullest hugepage that has room (Temeraire's HugePageFiller prefers dense ones).
      let best = -1;
      const scan = Math.min(nHuge, used.length + 1);
      reach(scan - 1);
      for (let h = 0; h < scan; h++) {
        const room = HUGE - top[h]! >= e.alloc || holes[h]!.some((x) => x.len >= e.alloc);
        if (room && (best < 0 || used[h]! > used[best]!)) best = h;
      }
      if (best < 0) {
        // No hugepage has room (small heaps: live bytes overshoot the target by up to one
        // 1 MiB block, and holes fragment): take one more hugepage from the system, as
        // tcmalloc's page heap grows. Never reached with the default sizes.
        yield { kind: 'mmap', addr: BASE + nHuge * HUGE, len: HUGE };
        best = nHuge++;
      }
      reach(best);
      const hole = holes[best]!.findIndex((x) => x.len >= e.alloc);
      let addr: number;
      if (hole >= 0) {
        const x = holes[best]![hole]!;
        addr = x.addr;
        x.addr += e.alloc;
        x.len -= e.alloc;
        freeUnreleased = Math.max(0, freeUnreleased - e.alloc);
        if (x.len === 0) holes[best]!.splice(hole, 1);
      } else {
        addr = BASE + best * HUGE + top[best]!;
        top[best]! += e.alloc;
      }
      used[best]! += e.alloc;
      released[best] = false;
      live.push({ addr, len: e.alloc });
      yield { kind: 'touch', addr, len: e.alloc, access: 'write' };
    } else {
      const b = live[e.free]!;
      live[e.free] = live[live.length - 1]!;
      live.pop();
      const h = Math.floor((b.addr - BASE) / HUGE);
      if (b.len > HUGE) {
        // Its hugepages are wholly free: the release pass returns each.
        for (let k = h; k < h + Math.ceil(b.len / HUGE); k++) {
          used[k] = 0;
          top[k] = 0;
        }
      } else {
        used[h]! -= b.len;
        holes[h]!.push(b);
        freeUnreleased += b.len;
      }
    }
    if (++n % releaseEvery === 0) {
      for (let h = 0; h < used.length; h++) {
        if (used[h] === 0 && !released[h]) {
          // A wholly free hugepage goes back whole: one aligned 2 MiB MADV_DONTNEED.
          yield { kind: 'madvise', addr: BASE + h * HUGE, len: HUGE, advice: 'dontneed' };
          for (const x of holes[h]!) freeUnreleased -= x.len;
          holes[h] = [];
          top[h] = 0;
          released[h] = true;
        }
      }
      freeUnreleased = Math.max(0, freeUnreleased);
      if (freeUnreleased > subreleaseLimit) {
        // Last resort: release the free runs inside partly used hugepages (sub-PMD ranges).
        for (let h = 0; h < used.length; h++) {
          if (used[h] === 0) continue;
          for (const r of coalesce(holes[h]!)) yield { kind: 'madvise', addr: r.addr, len: r.len, advice: 'dontneed' };
        }
        freeUnreleased = 0;
      }
    }
  }
}

/** mimalloc-like: 4 MiB segments of 64 KiB pages; freed pages purged after a delay, adjacent ones together. */
function* mimalloc(p: AllocParams, ev: Iterable<AllocEvent>, purgeDelay = 128): Iterable<Op> {
  const SEG = 4 * MiB;
  const MPAGE = 64 * 1024;
  const reserve = 2 * p.heapBytes;
  const nPages = reserve / MPAGE;
  // Segments are 4 MiB-aligned: reserve one extra segment and start at the aligned address.
  const base = Math.ceil(BASE / SEG) * SEG;
  yield { kind: 'mmap', addr: base, len: reserve };
  // Per 64 KiB page, for the pages reached so far (grown by doubling, never past the reserve:
  // memory follows the pages used, not the reserve). Pages past the end are free, never purged.
  let owner = new Int32Array(Math.min(nPages, 4096)).fill(-1); // block id per 64 KiB page, -1 = free
  let purgeAt = new Float64Array(owner.length).fill(Infinity); // event index when a free page is purged
  const reach = (i: number) => {
    if (i < owner.length) return;
    const size = Math.min(nPages, Math.max(i + 1, 2 * owner.length));
    const o = new Int32Array(size).fill(-1);
    o.set(owner);
    const q = new Float64Array(size).fill(Infinity);
    q.set(purgeAt);
    owner = o;
    purgeAt = q;
  };
  const live: { first: number; count: number; id: number }[] = [];
  let nextId = 0;
  let n = 0;
  for (const e of ev) {
    if ('alloc' in e) {
      // Blocks take whole 64 KiB pages; small ones share a page in mimalloc, we round up (an upper bound on RSS).
      const count = Math.ceil(e.alloc / MPAGE);
      const perSegment = SEG / MPAGE;
      let first = -1;
      for (let i = 0, run = 0; i < nPages; i++) {
        reach(i);
        if (i % perSegment === 0) run = 0; // a block never straddles two segments
        run = owner[i] === -1 ? run + 1 : 0;
        if (run === count) {
          first = i - count + 1;
          break;
        }
      }
      if (first < 0) first = 0;
      reach(first + count - 1);
      const id = nextId++;
      for (let i = first; i < first + count; i++) {
        owner[i] = id;
        purgeAt[i] = Infinity;
      }
      live.push({ first, count, id });
      yield { kind: 'touch', addr: base + first * MPAGE, len: e.alloc, access: 'write' };
    } else {
      const b = live[e.free]!;
      live[e.free] = live[live.length - 1]!;
      live.pop();
      for (let i = b.first; i < b.first + b.count; i++) {
        if (owner[i] === b.id) {
          owner[i] = -1;
          purgeAt[i] = n + purgeDelay;
        }
      }
    }
    n++;
    if (n % 32 === 0) {
      // mi_segment_try_purge: purge expired free pages, adjacent ones in one call.
      for (let i = 0; i < purgeAt.length;) {
        if (purgeAt[i]! <= n) {
          let j = i;
          while (j < purgeAt.length && purgeAt[j]! <= n && Math.floor(j / (SEG / MPAGE)) === Math.floor(i / (SEG / MPAGE)))
            purgeAt[j++] = Infinity;
          yield { kind: 'madvise', addr: base + i * MPAGE, len: (j - i) * MPAGE, advice: 'dontneed' };
          i = j;
        } else i++;
      }
    }
  }
}

export function allocWorkload(kind: AllocatorKind, params: Partial<AllocParams> = {}): Workload {
  const p = { ...DEFAULT_ALLOC_PARAMS, ...params };
  validateAllocParams(p);
  const gen = { jemalloc, tcmalloc, mimalloc }[kind];
  return {
    name: `alloc-${kind}`,
    description: `${kind}-like release pattern: heap ${p.heapBytes / MiB} MiB, ${p.churn} alloc/free events, seed ${p.seed}`,
    ops: () => gen(p, events(p)),
  };
}

/**
 * The events of test/fixtures/strace/alloc-churn.c, the program captured in corpus/programs/
 * under each real allocator: 40 waves over 48 slots, its LCG (seed 12345) choosing per slot to
 * free it (one in three when full) or fill it with 64 KiB << (0..6), plus 2 MiB one time in
 * five. Its final loop frees what is left. Sizes are rounded up to whole pages.
 */
export function* allocChurnProgramEvents(): Generator<AllocEvent> {
  const SLOTS = 48;
  const size: number[] = new Array<number>(SLOTS).fill(0);
  const liveSlots: number[] = []; // slot of each live block, in the generators' swap-remove order
  const freeSlot = function* (i: number): Generator<AllocEvent> {
    const k = liveSlots.indexOf(i);
    liveSlots[k] = liveSlots[liveSlots.length - 1]!;
    liveSlots.pop();
    size[i] = 0;
    yield { free: k };
  };
  let x = 12345;
  for (let wave = 0; wave < 40; wave++) {
    for (let i = 0; i < SLOTS; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      if (size[i]! > 0 && (x >>> 16) % 3 === 0) yield* freeSlot(i);
      else if (size[i] === 0) {
        let len = (64 * 1024) << ((x >>> 8) % 7);
        if ((x >>> 20) % 5 === 0) len += 2 * MiB;
        size[i] = len;
        liveSlots.push(i);
        yield { alloc: Math.ceil(len / PAGE) * PAGE };
      }
    }
  }
  for (let i = 0; i < SLOTS; i++) if (size[i]! > 0) yield* freeSlot(i);
}

/**
 * A synthetic allocator policy driven by the churn program's events instead of the seeded
 * stream: the same churn the captured real allocators ran (README "The alloc suite against the
 * real allocators"). `heapBytes` sets the VA each policy reserves (twice it).
 */
export function allocChurnWorkload(kind: AllocatorKind, opts: { heapBytes?: number; jemallocDecayZero?: boolean } = {}): Workload {
  const p = { ...DEFAULT_ALLOC_PARAMS, heapBytes: opts.heapBytes ?? 256 * MiB };
  validateAllocParams(p);
  const decayZero = kind === 'jemalloc' && opts.jemallocDecayZero === true;
  const gen = { jemalloc, tcmalloc, mimalloc }[kind];
  return {
    name: `alloc-${kind}-churn${decayZero ? '-decay0' : ''}`,
    description:
      `${kind}-like release pattern on the events of alloc-churn.c (corpus/programs/churn-*), heap ${p.heapBytes / MiB} MiB` +
      (decayZero ? ', decay 0 (purge each free at once)' : ''),
    ops: () => (decayZero ? jemalloc(p, allocChurnProgramEvents(), 0) : gen(p, allocChurnProgramEvents())),
  };
}
