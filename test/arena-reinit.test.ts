/**
 * A re-initialised WASM core (the harness reuses one instance per build between runs)
 * forgets every frame state of the previous mm, although init now clears only the states
 * of frames that were ever handed out instead of the whole 1 MiB state array.
 */
import { describe, it, expect } from 'vitest';
import { WasmCore } from '../src/core/wasm.js';

const base = 2 ** 40;
const PMD = 2 ** 21;

describe('arena re-init', () => {
  it('clears the states of every frame the previous mm used, and runs like a fresh core', () => {
    const core = new WasmCore('release');
    const raw = (core as unknown as { x: { frame_state_of(f: number): number; arena_touched_frames(): number } }).x;
    expect(core.faultRange(base, base + 300 * PMD, true)).toBe(0);
    const used = raw.arena_touched_frames();
    expect(used).toBeGreaterThan(300);
    core.reset();
    // Frame 0 is the new PGD; every other frame handed out before is free again.
    const states = Array.from({ length: used }, (_, f) => raw.frame_state_of(f));
    expect(states[0]).not.toBe(0);
    expect(states.slice(1).every((s) => s === 0)).toBe(true);
    expect(core.faultRange(base, base + 10 * PMD, true)).toBe(0);
    const fresh = new WasmCore('release');
    expect(fresh.faultRange(base, base + 10 * PMD, true)).toBe(0);
    // Arena capacity remembers the memory grown before (memory never shrinks); the rest agrees.
    const work = (c: WasmCore) => Object.fromEntries(Object.entries(c.stats()).filter(([k]) => k !== 'ArenaFramesCapacity'));
    expect(work(core)).toEqual(work(fresh));
  });
});
