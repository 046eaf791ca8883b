import { expect } from 'vitest';
import { Mm } from '../../src/mm/mm.js';
import { WasmCore } from '../../src/core/wasm.js';
import { ReferenceCore } from '../../src/core/reference.js';
import type { ReclaimPath } from '../../src/core/types.js';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** A fresh mm on the debug WASM build (assertions on) or the TS reference. */
export function newMm(strategy = 'pt-reclaim', opts: { core?: 'wasm' | 'ts'; path?: ReclaimPath; limitFrames?: number } = {}): Mm {
  const core = opts.core === 'ts' ? new ReferenceCore() : new WasmCore('debug');
  return new Mm(core, { strategy, path: opts.path, limitFrames: opts.limitFrames });
}

export const vmPteKb = (mm: Mm) => {
  const s = mm.stats();
  return (s.NrPte + s.NrPmd + s.NrPud) * 4;
};

/** Exit the mm and require the kernel's teardown checks to pass. */
export function expectCleanExit(mm: Mm): void {
  const r = mm.exit();
  expect(r.problems).toEqual([]);
  expect(r.stats.NrPte + r.stats.NrPmd + r.stats.NrPud).toBe(0);
  expect(r.stats.RssAnon).toBe(0);
}

export function ok(r: { ok: boolean }): void {
  expect(r).toMatchObject({ ok: true });
}
