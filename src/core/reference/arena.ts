/**
 * The frame arena of the reference core (assembly/arena.ts): tables are Uint32Arrays of
 * 1024 words, handed out in the same order as the WASM arena (LIFO free list, then bump),
 * so even upper-level entries, which hold frame numbers, agree between the two cores.
 */
import { S, stat_add, stat_get, stat_inc, stat_set } from './stats.js';

// Frame states, as in assembly/arena.ts.
export const FRAME_FREE = 0;
export const FRAME_PGD = 1;
export const FRAME_PUD = 2;
export const FRAME_PMD = 3;
export const FRAME_PTE = 4;
/** Unhooked and waiting in mmu_gather (TLB flush, then RCU) before it is reusable. */
export const FRAME_PENDING = 5;

export class Arena {
  frames: Uint32Array[] = [];
  state: number[] = [];
  freeList: number[] = [];
  limit = 0;
}

/** Forget every frame; at most `limit` frames may be held at once. */
export function arena_init(a: Arena, limit: number): void {
  a.frames = [];
  a.state = [];
  a.freeList = [];
  a.limit = limit;
}

/** Frames that can still be allocated. */
export function arena_available(a: Arena): number {
  return a.freeList.length + (a.limit - a.frames.length);
}

/** Take one zeroed frame for a table of the given level. Check arena_available first. */
export function arena_alloc(a: Arena, s: Float64Array, level: number): number {
  let f: number;
  if (a.freeList.length) {
    f = a.freeList.pop()!;
    a.frames[f]!.fill(0);
  } else {
    f = a.frames.length;
    a.frames.push(new Uint32Array(1024));
    a.state.push(FRAME_FREE);
  }
  a.state[f] = level;
  stat_inc(s, S.ArenaFramesLive);
  if (stat_get(s, S.ArenaFramesLive) > stat_get(s, S.ArenaFramesHigh)) stat_set(s, S.ArenaFramesHigh, stat_get(s, S.ArenaFramesLive));
  stat_set(s, S.ArenaFramesCapacity, a.frames.length);
  return f;
}

/** Return a frame to the free list (after its TLB flush and grace period). */
export function arena_free(a: Arena, s: Float64Array, f: number): void {
  a.state[f] = FRAME_FREE;
  a.freeList.push(f);
  stat_add(s, S.ArenaFramesLive, -1);
}
