// The frame arena: linear memory carved into 4 KiB frames that hold page tables.
// Models the page allocator as page-table code sees it (pagetable_alloc / pagetable_free):
// a frame comes from an intrusive free list, else from fresh memory grown on demand.
//
//   memory: | static data | frame states (1 byte per frame) | frame 0 | frame 1 | ...
//                         ^ META_BASE                        ^ FRAMES_BASE
//
// Memory grows geometrically up to the wasm32 limit (4 GiB) or the configured limit.
// Every allocation that could fail is checked up front (arena_reserve), so an operation
// either finds all the frames it needs or changes nothing.

import { TABLE_BYTES } from "./pgtable";
import { Stat, stat_get, stat_set, stat_inc } from "./stats";

export const FRAME_SHIFT: u32 = 12;
const WASM_PAGE: usize = 65536;
/** Frames a 32-bit linear memory can hold at most (its metadata included). */
export const MAX_FRAMES: u32 = 1 << 20;
const META_BYTES: usize = <usize>MAX_FRAMES;
const NIL: u32 = 0xffffffff;

// Frame states, one byte each: which level a live frame holds, or that it is free/pending.
export const FRAME_FREE: u8 = 0;
export const FRAME_PGD: u8 = 1;
export const FRAME_PUD: u8 = 2;
export const FRAME_PMD: u8 = 3;
export const FRAME_PTE: u8 = 4;
/** Unhooked and waiting in mmu_gather (TLB flush, then RCU) before it is reusable. */
export const FRAME_PENDING: u8 = 5;

// Status codes returned across the JS boundary (all of them: schema/vocab.js STATUS).
import { OK, ERR_ARENA_FULL, ERR_GROW_FAILED } from "./generated/vocab";
export { OK, ERR_ARENA_FULL, ERR_GROW_FAILED };

// Fixed addresses, so every frame address folds to a constant plus an offset in the hot loops.
// Static data (counters, strings) must end below META_BASE; arena_init checks it.
const META_BASE: usize = 0x40000;
const FRAMES_BASE: usize = META_BASE + META_BYTES;
/** Frames a 4 GiB linear memory holds above FRAMES_BASE: the arena's hard ceiling. */
export const ARENA_HARD_MAX_FRAMES: u32 = <u32>((<u64>0x100000000 - <u64>FRAMES_BASE) >> FRAME_SHIFT);

let capacity: u32 = 0; // frames backed by memory
let bumpTop: u32 = 0; // frames handed out since init; above this, frames are free
let dirtyTop: u32 = 0; // frames below this may hold old data (memory kept across arena_init)
let freeHead: u32 = NIL;
let freeCount: u32 = 0;
let limitFrames: u32 = 0;

@inline export function frame_addr(frame: u32): usize {
  return FRAMES_BASE + (<usize>frame << FRAME_SHIFT);
}
@inline export function addr_frame(addr: usize): u32 {
  return <u32>((addr - FRAMES_BASE) >> FRAME_SHIFT);
}
@inline export function frame_state(frame: u32): u8 {
  return load<u8>(META_BASE + <usize>frame);
}
@inline export function set_frame_state(frame: u32, state: u8): void {
  store<u8>(META_BASE + <usize>frame, state);
}

/** The hard ceiling on frames: the configured limit, within what 4 GiB of memory can hold. */
export function arena_limit(): u32 {
  return limitFrames;
}

export function arena_init(limit: u32): i32 {
  if (__heap_base > META_BASE) return ERR_GROW_FAILED; // static data grew into the arena
  limitFrames = limit == 0 || limit > ARENA_HARD_MAX_FRAMES ? ARENA_HARD_MAX_FRAMES : limit;
  capacity = 0;
  // Memory survives a re-init of the same instance: frames used before must be zeroed again.
  if (bumpTop > dirtyTop) dirtyTop = bumpTop;
  bumpTop = 0;
  freeHead = NIL;
  freeCount = 0;
  const initial: u32 = limitFrames < 64 ? limitFrames : 64;
  if (!grow_to(initial)) return ERR_GROW_FAILED;
  // Only frames handed out since the instance began have a state to clear (fresh memory is
  // zero): not the whole 1 MiB of states, which every run would otherwise pay.
  memory.fill(META_BASE, 0, <usize>dirtyTop);
  return OK;
}

/** Back at least `frames` frames with memory; false if the host refuses. */
function grow_to(frames: u32): bool {
  const needBytes = <u64>FRAMES_BASE + (<u64>frames << FRAME_SHIFT);
  const needPages = <i32>((needBytes + <u64>WASM_PAGE - 1) / <u64>WASM_PAGE);
  const have = memory.size();
  if (needPages > have && memory.grow(needPages - have) < 0) return false;
  capacity = <u32>(((<u64>memory.size() * <u64>WASM_PAGE) - <u64>FRAMES_BASE) >> FRAME_SHIFT);
  if (capacity > limitFrames) capacity = limitFrames;
  stat_set(Stat.ArenaFramesCapacity, capacity);
  return true;
}

/**
 * Make sure `n` frames can be allocated without failure: grows memory now (geometrically)
 * if needed. Returns OK, ERR_ARENA_FULL (over the limit) or ERR_GROW_FAILED.
 */
export function arena_reserve(n: u32): i32 {
  if (n <= freeCount) return OK;
  const fromBump = n - freeCount;
  if (<u64>bumpTop + <u64>fromBump > <u64>limitFrames) return ERR_ARENA_FULL;
  const need = bumpTop + fromBump;
  if (need <= capacity) return OK;
  // Geometric growth (x1.5) keeps the number of grow calls logarithmic in the arena size.
  let target = <u64>capacity + (<u64>capacity >> 1);
  if (target < <u64>need) target = need;
  if (target > <u64>limitFrames) target = limitFrames;
  if (grow_to(<u32>target)) return OK;
  return grow_to(need) ? OK : ERR_GROW_FAILED;
}

/** Take one zeroed frame for a table of the given level. Call arena_reserve first. */
export function arena_alloc(state: u8): u32 {
  let frame: u32;
  if (freeHead != NIL) {
    frame = freeHead;
    freeHead = load<u32>(frame_addr(frame));
    freeCount--;
    memory.fill(frame_addr(frame), 0, TABLE_BYTES);
  } else {
    if (bumpTop >= capacity) {
      if (arena_reserve(1) != OK) unreachable();
    }
    frame = bumpTop++;
    // Fresh memory is zero already; memory reused from before the last init is not.
    if (frame < dirtyTop) memory.fill(frame_addr(frame), 0, TABLE_BYTES);
  }
  assert(frame_state(frame) == FRAME_FREE, "arena: allocating a frame that is in use");
  set_frame_state(frame, state);
  stat_inc(Stat.ArenaFramesLive);
  const live = stat_get(Stat.ArenaFramesLive);
  if (live > stat_get(Stat.ArenaFramesHigh)) stat_set(Stat.ArenaFramesHigh, live);
  return frame;
}

/** Return a frame to the free list (after its TLB flush and grace period). */
export function arena_free(frame: u32): void {
  assert(frame_state(frame) != FRAME_FREE, "arena: double free of a frame");
  set_frame_state(frame, FRAME_FREE);
  store<u32>(frame_addr(frame), freeHead);
  freeHead = frame;
  freeCount++;
  stat_set(Stat.ArenaFramesLive, stat_get(Stat.ArenaFramesLive) - 1);
}

/** Frames handed out at least once (the arena's footprint in frames). */
export function arena_frames_touched(): u32 {
  return bumpTop;
}

@inline export function arena_frames_base(): usize {
  return FRAMES_BASE;
}
