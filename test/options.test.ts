/** Options resolved once (issue 10): one DEFAULTS table behind the API, the CLI help and Mm. */
import { describe, it, expect } from 'vitest';
import { buildProgram } from '../src/cli/index.js';
import { DEFAULTS, resolveRunOptions } from '../src/options.js';
import { runOps } from '../src/run.js';
import { Mm } from '../src/mm/mm.js';
import { WasmCore } from '../src/core/wasm.js';
import { UsageError } from '../src/errors.js';
import { getWorkload } from '../src/workloads/index.js';

describe('resolveRunOptions', () => {
  it('fills every default from DEFAULTS and looks the strategy up', () => {
    const o = resolveRunOptions({});
    const { strategy, mmapBase, ...rest } = DEFAULTS;
    expect(o).toMatchObject({ ...rest, mmapBase, limitFrames: 0, resolved: true });
    expect(o.strategy.name).toBe(strategy);
    expect(resolveRunOptions(o)).toBe(o); // resolved options pass through untouched: one lookup per run
  });

  it('a run echoes the resolved knobs', () => {
    const r = runOps(getWorkload('seed-5g').ops());
    expect(r.config).toEqual({
      trylockFail: DEFAULTS.trylockFail,
      resched: DEFAULTS.resched,
      nowaitFail: DEFAULTS.nowaitFail,
      seed: DEFAULTS.seed,
      cpus: DEFAULTS.cpus,
      tableFree: DEFAULTS.tableFree,
      tickMs: DEFAULTS.tickMs,
      gracePeriodMs: DEFAULTS.gracePeriodMs,
      scanPeriodMs: DEFAULTS.scanPeriodMs,
      scanBytes: DEFAULTS.scanBytes,
      mmapMinAddr: DEFAULTS.mmapMinAddr,
      zeroPage: DEFAULTS.zeroPage,
      thp: DEFAULTS.thp,
      thpZeroPage: DEFAULTS.thpZeroPage,
      shmemThp: DEFAULTS.shmemThp,
      faultAroundBytes: DEFAULTS.faultAroundBytes,
      readaheadBytes: DEFAULTS.readaheadBytes,
    });
    expect([r.strategy, r.path, r.core, r.source]).toEqual([DEFAULTS.strategy, DEFAULTS.path, DEFAULTS.core, DEFAULTS.source]);
  });

  it('validates for every entry point, Mm included', () => {
    expect(() => resolveRunOptions({ trylockFail: 2 })).toThrow(/--trylock-fail 2: expected a probability/);
    expect(() => new Mm(new WasmCore('release'), { cpus: 0 })).toThrow(UsageError);
    expect(() => resolveRunOptions({ strategy: 'nope' })).toThrow(/unknown strategy "nope"/);
    expect(() => runOps([], { strategy: 'nope' })).toThrow(UsageError);
  });

  it('the CLI help shows the DEFAULTS values', () => {
    const run = buildProgram(() => {}).commands.find((c) => c.name() === 'run')!;
    const defaults = Object.fromEntries(run.options.map((o) => [o.attributeName(), o.defaultValue]));
    for (const k of [
      'strategy',
      'path',
      'core',
      'wasm',
      'trylockFail',
      'resched',
      'nowaitFail',
      'seed',
      'cpus',
      'tableFree',
      'tickMs',
      'gracePeriodMs',
      'scanPeriodMs',
      'scanBytes',
    ] as const) {
      expect([k, defaults[k]]).toEqual([k, DEFAULTS[k]]);
    }
  });
});
