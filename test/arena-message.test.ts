/** The arena-full message advises --arena-limit only when a limit was set (bench has no such flag). */
import { describe, it, expect } from 'vitest';
import { ReferenceCore } from '../src/core/reference.js';
import { Mm } from '../src/mm/mm.js';
import { ArenaFullError } from '../src/errors.js';

const BASE = 0x300000000000;
const fill = (mm: Mm) => {
  mm.mmap(BASE, 64 * 2 ** 20);
  return () => mm.touch(BASE, 64 * 2 ** 20, 'write');
};

describe('arena full', () => {
  it('with a limit given: names it and says to raise --arena-limit', () => {
    const mm = new Mm(new ReferenceCore(), { strategy: 'none', limitFrames: 8 });
    expect(fill(mm)).toThrow(/limit 8 frames .*Raise --arena-limit/);
  });

  it('without one: says the simulator is at its most, and names no flag', () => {
    const core = new ReferenceCore();
    const mm = new Mm(core, { strategy: 'none' });
    // Stand in for the 4 GiB hard maximum: a small arena the Mm was not told about.
    core.reset({ limitFrames: 8 });
    let err: unknown;
    try {
      fill(mm)();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ArenaFullError);
    expect((err as Error).message).toMatch(/the most page-table memory the simulator holds/);
    expect((err as Error).message).not.toMatch(/--arena-limit/);
  });
});
