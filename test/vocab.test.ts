/**
 * One counter table, one vocabulary (issue 10): everything generated from schema/ is current,
 * and the WASM core and the driver read the same values.
 */
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { WasmCore } from '../src/core/wasm.js';
import {
  ZAP_RECLAIM_PT,
  ZAP_DROP_MARKERS,
  ZAP_EVEN_COWS,
  VMA_ANON,
  VMA_UFFD_WP,
  STRATEGY_IDS,
  PATH_MODES,
  TABLE_FREE_MODES,
  CHECK_KINDS,
  EntryKind,
} from '../src/core/types.js';
import { COUNTERS, COUNTER_KEYS, buildRunCounters, flattenCounters, STAT_NAMES, type RawStats } from '../src/generated/counters.js';
import { runOps } from '../src/run.js';
import { getWorkload } from '../src/workloads/index.js';

const ROOT = join(import.meta.dirname, '..');

describe('schema/ and what is generated from it', () => {
  it('generated files and the README run --json table are up to date', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'gen-vocab.js'), '--check'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('the WASM core exports the vocabulary with the values the driver uses', () => {
    const c = new WasmCore('release').exportedConstants();
    const want: Record<string, number> = {
      ZAP_RECLAIM_PT,
      ZAP_DROP_MARKERS,
      ZAP_EVEN_COWS,
      VMA_ANON,
      VMA_UFFD_WP,
      STRATEGY_NONE: STRATEGY_IDS.none,
      STRATEGY_PT_RECLAIM: STRATEGY_IDS['pt-reclaim'],
      STRATEGY_V1: STRATEGY_IDS['pt-reclaim-v1'],
      STRATEGY_ASYNC_SCAN: STRATEGY_IDS['async-scan'],
      STRATEGY_REFCOUNT: STRATEGY_IDS.refcount,
      PATH_AUTO: PATH_MODES.auto,
      PATH_FAST: PATH_MODES.fast,
      PATH_SLOW: PATH_MODES.slow,
      TABLE_FREE_SEMI_RCU: TABLE_FREE_MODES['semi-rcu'],
      TABLE_FREE_RCU: TABLE_FREE_MODES.rcu,
      'EntryKind.Page': EntryKind.Page,
      'EntryKind.FilePage': EntryKind.FilePage,
      'EntryKind.GuardMarker': EntryKind.GuardMarker,
    };
    for (const [code, name] of Object.entries(CHECK_KINDS)) {
      const as = {
        'table-freed-not-empty': 'CHECK_TABLE_FREED_NOT_EMPTY',
        'table-freed-still-hooked': 'CHECK_TABLE_FREED_HOOKED',
        'dangling-entry': 'CHECK_DANGLING_ENTRY',
        'break-before-make': 'CHECK_BREAK_BEFORE_MAKE',
        'pages-dropped': 'CHECK_PAGES_DROPPED',
      }[name];
      want[as] = Number(code);
    }
    for (const [k, v] of Object.entries(want)) expect([k, c.get(k)]).toEqual([k, v]);
  });

  it('every counter with a JSON path is reported there, and the bench keys cover them', () => {
    const r = runOps(getWorkload('paths-reclaim').ops(), { strategy: 'pt-reclaim', trylockFail: 0.5, resched: 0.3, seed: 3 });
    const get = (o: unknown, path: string) => path.split('.').reduce<unknown>((x, k) => (x as Record<string, unknown> | undefined)?.[k], o);
    // A record with a distinct value per slot shows each path reads its own counter.
    const distinct = Object.fromEntries(STAT_NAMES.map((n, i) => [n, 1000 + i])) as RawStats;
    const built = buildRunCounters(distinct);
    const flat = flattenCounters(r);
    for (const c of COUNTERS) {
      if (!c.json) continue;
      expect([c.name, get(built, c.json)]).toEqual([c.name, distinct[c.name]]);
      expect(COUNTER_KEYS).toContain(c.json);
      expect(flat[c.json]).toBe(get(r, c.json));
    }
    expect(Object.keys(flat)).toEqual([...COUNTER_KEYS]);
    expect(r.reclaim.fast + r.reclaim.slow).toBeGreaterThan(0);
  });
});
