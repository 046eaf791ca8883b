/** The WASM module and the TypeScript driver agree on their shared vocabulary. */
import { describe, it, expect } from 'vitest';
import { WasmCore } from '../src/core/wasm.js';
import { STAT_NAMES } from '../src/core/types.js';
import { Mm } from '../src/mm/mm.js';
import { ArenaFullError } from '../src/errors.js';
import { runOps } from '../src/run.js';
import { seedWorkload } from '../src/workloads/index.js';

describe('WASM core contract', () => {
  it('exports the counter enum in the order the driver reads it', () => {
    for (const flavor of ['release', 'debug'] as const) {
      const exported = new WasmCore(flavor).exportedStatIndices();
      expect(
        [...exported.entries()]
          .filter(([n]) => n !== 'Count')
          .sort((a, b) => a[1] - b[1])
          .map(([n]) => n),
      ).toEqual([...STAT_NAMES]);
      expect(exported.get('Count')).toBe(STAT_NAMES.length);
    }
  });

  it('reports a full arena as a clear error and changes nothing', () => {
    const mm = new Mm(new WasmCore('debug'), { limitFrames: 4 }); // PGD + PUD + PMD + one PTE table
    expect(mm.mmap(0x300000000000, 8 * 2 ** 20)).toMatchObject({ ok: true });
    expect(mm.touch(0x300000000000, 2 ** 20, 'write')).toMatchObject({ ok: true });
    const before = mm.stats();
    expect(() => mm.touch(0x300000000000, 4 * 2 ** 20, 'write')).toThrow(ArenaFullError);
    expect(() => mm.touch(0x300000000000, 4 * 2 ** 20, 'write')).toThrow(/arena full: 3 tables live, limit 4 frames/);
    expect(mm.stats()).toEqual(before);
    expect(mm.exit().problems).toEqual([]);
  });

  it('names the trace line when a run exceeds --arena-limit', () => {
    const ops = [...seedWorkload(64 * 2 ** 20).ops()].map((op, i) => ({ ...op, file: 'x.trace', line: i + 1 }));
    expect(() => runOps(ops, { strategy: 'none', arenaLimitBytes: 16 * 4096 })).toThrow(/^x\.trace:\d+: arena full/);
  });

  it('reaches any 47-bit user address', () => {
    const mm = new Mm(new WasmCore('debug'));
    const top = 2 ** 47 - 2 * 2 ** 20;
    expect(mm.mmap(top, 2 ** 20)).toMatchObject({ ok: true });
    expect(mm.mmap(0x10000, 4096)).toMatchObject({ ok: true });
    expect(mm.touch(top, 2 ** 20, 'write')).toMatchObject({ ok: true });
    expect(mm.touch(0x10000, 4096, 'write')).toMatchObject({ ok: true });
    expect(mm.stats()).toMatchObject({ NrPte: 2, NrPmd: 2, NrPud: 2 });
    expect(mm.exit().problems).toEqual([]);
  });
});

describe('reusing a WASM instance', () => {
  it('gives the same results as a fresh one after a larger run (memory is re-zeroed)', () => {
    const small = () => runOps(seedWorkload(256 * 2 ** 20).ops(), { strategy: 'none', wasm: 'debug' });
    const first = small();
    runOps(seedWorkload(2 * 2 ** 30).ops(), { strategy: 'none', wasm: 'debug' }); // dirties 1,000+ frames
    const again = small();
    expect({ ...again, wallMs: 0, opsPerSec: 0, arena: 0 }).toEqual({ ...first, wallMs: 0, opsPerSec: 0, arena: 0 });
    const core = new WasmCore('debug');
    const mm1 = new Mm(core, { strategy: 'none' });
    mm1.mmap(0x300000000000, 8 * 2 ** 20);
    mm1.touch(0x300000000000, 8 * 2 ** 20, 'write');
    const mm2 = new Mm(core, { strategy: 'none' }); // reset the same instance
    mm2.mmap(0x300000000000, 4096);
    mm2.touch(0x300000000000, 4096, 'write');
    expect(core.leafEntries().size).toBe(1);
    expect(mm2.exit().problems).toEqual([]);
  });
});

describe('arena layout', () => {
  it('WASM and the reference agree on the hard frame ceiling', async () => {
    const { ARENA_HARD_MAX_FRAMES } = await import('../src/core/types.js');
    const { ReferenceCore } = await import('../src/core/reference.js');
    expect(new WasmCore('release').arenaLimitFrames()).toBe(ARENA_HARD_MAX_FRAMES);
    expect(new ReferenceCore().arenaLimitFrames()).toBe(ARENA_HARD_MAX_FRAMES);
  });
});
