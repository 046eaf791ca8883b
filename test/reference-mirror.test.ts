/**
 * The TypeScript reference (src/core/reference/) mirrors assembly/ function by function:
 * every kernel function the WASM core models has a function of the same name in the
 * reference, so one `git grep -w NAME` finds both. And the invariant both cores assert on
 * the mmu_gather batch (tlb_gather_room never negative) holds where a zap fills the gather.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WasmCore } from '../src/core/wasm.js';
import { ReferenceCore } from '../src/core/reference.js';
import { MmuGather, tlb_gather_page, tlb_gather_pages_bulk, tlb_gather_room } from '../src/core/reference/mmu_gather.js';
import { CORE_OK, EntryKind, STAT_NAMES, VMA_ANON, ZAP_EVEN_COWS, type PageTableCore } from '../src/core/types.js';

const ROOT = join(import.meta.dirname, '..');

/** [name, file] of each `function NAME` (any modifiers) in the .ts files of one directory. */
function functionNames(dir: string): [string, string][] {
  const out: [string, string][] = [];
  for (const file of readdirSync(join(ROOT, dir)).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(join(ROOT, dir, file), 'utf8');
    for (const m of text.matchAll(/^\s*(?:@inline\s+)?(?:export\s+)?function\s+([A-Za-z_]\w*)/gm)) out.push([m[1]!, file]);
  }
  return out;
}

/** Names the reference defines: functions, and functions bound to a const. */
function referenceNames(): Set<string> {
  const out = new Set(functionNames('src/core/reference').map(([name]) => name));
  for (const file of readdirSync(join(ROOT, 'src/core/reference')).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(join(ROOT, 'src/core/reference', file), 'utf8');
    for (const m of text.matchAll(/^(?:export\s+)?const\s+([a-z_]\w*)\s*=\s*\(/gm)) out.add(m[1]!);
  }
  return out;
}

// assembly/ files that are not the model: the WASM boundary (exports for the driver), the
// `bench kernels` drivers and the invariant checker (the reference has none).
const NOT_MODEL_FILES = new Set(['index.ts', 'kernels.ts', 'checker.ts']);

// Functions of the model that are the simulator's own plumbing, not kernel functions: the
// frame arena's memory layout, the counter block, the WASM boundary's knobs, the PRNG, the
// checker, SIMD helpers.
const SIMULATOR_ONLY = new Set([
  'frame_addr',
  'addr_frame',
  'frame_state',
  'set_frame_state',
  'arena_limit',
  'arena_init',
  'grow_to',
  'arena_available',
  'arena_reserve',
  'arena_alloc',
  'arena_free',
  'arena_frames_touched',
  'arena_frames_base',
  'stats_ptr',
  'cost_weights_ptr',
  'cost_weights_commit',
  'stats_weighted',
  'stats_reset',
  'batch_entry', // the op batch handed across the WASM boundary (assembly/batch.ts)
  'rcu_epochs_queued', // batch_apply's check that no RCU callback ran between two ops (reuses the weighted sum)
  'mm_init',
  'mm_pgd_frame',
  'entry_table',
  'table_entry',
  'table_frame',
  'walk_pmd',
  'walk_pte',
  'count_spans',
  'entry_kind',
  'set_zero_page',
  'fault_address',
  'set_path_mode',
  'rcu_configure',
  'set_cpus',
  'tlb_cpus',
  'set_strategy_id',
  'strategy_id',
  'set_knobs',
  'scale',
  'next_u32',
  'chance',
  'check_unhooked',
  'tlb_pending_tables',
  'lean_block_of_8',
]);

// Kernel functions the reference does not model: it runs the strategies none and
// pt-reclaim only, without fault injection (--trylock-fail, --resched, --nowait-fail), and
// addresses entries as (table, index) rather than through entry pointers.
const NOT_IN_REFERENCE = new Set([
  'scan_reclaim_range', // async-scan
  'reclaim_pt_is_enabled_v1',
  'try_to_free_pte_v1', // pt-reclaim-v1
  'pte_refcount_charge_faults',
  'pte_refcount_zap_done', // refcount
  'pte_refcount_move_done', // refcount (mremap's move_ptes)
  'contended_pmd_lock',
  'need_resched',
  'nowait_alloc_fails',
  'resched_limit', // fault injection
  'table_free_mode',
  'tlb_remove_table_sync_one', // the single-table fallback (--nowait-fail)
  'pgd_offset',
  'pud_offset',
  'pmd_offset',
  'pte_offset', // entry pointers: pXd_index + table
]);

describe('the reference mirrors assembly/ by kernel function name', () => {
  const modelled = functionNames('assembly')
    .filter(([name, file]) => !NOT_MODEL_FILES.has(file) && !SIMULATOR_ONLY.has(name) && !NOT_IN_REFERENCE.has(name))
    .map(([name]) => name);
  const reference = referenceNames();

  it('finds the kernel functions of assembly/ (the scan itself works)', () => {
    for (const name of ['zap_pte_range', 'tlb_gather_room', 'free_pgd_range', 'fault_range', 'pte_table_all_none']) {
      expect(modelled).toContain(name);
    }
    expect(modelled.length).toBeGreaterThan(60);
  });

  it('has a function of the same name for each of them', () => {
    expect(modelled.filter((name) => !reference.has(name))).toEqual([]);
  });

  it('lists as not modelled only names the reference really lacks', () => {
    expect([...NOT_IN_REFERENCE].filter((name) => reference.has(name))).toEqual([]);
  });
});

describe('tlb_gather_room is never negative', () => {
  it('the reference refuses to report room in an over-full batch', () => {
    const tlb = new MmuGather();
    // Dirty file pages delay the rmap: the first batch page after the bundle is the last.
    let full = false;
    let pages = 0;
    while (!full && pages < 10_000) {
      full = tlb_gather_page(tlb, true);
      pages++;
    }
    expect(full).toBe(true);
    expect(() => tlb_gather_room(tlb)).toThrow(/tlb_gather_room: batch over-full/);
    expect(() => tlb_gather_pages_bulk(tlb, 1)).toThrow(/internal error/);
  });

  // 96 MiB of anonymous pages: more than twice what MAX_GATHER_BATCH_COUNT batch pages hold,
  // so the gather fills twice: each time zap_pte_range breaks, flushes and retries. Then dirty file
  // pages (delayed rmap: one batch page at most) in a file VMA. The
  // debug WASM build asserts the invariant at every tlb_gather_room / tlb_gather_pages_bulk.
  const BASE = 0x300000000000;
  const MiB = 2 ** 20;
  function drive(core: PageTableCore): Record<string, number> {
    expect(core.faultRange(BASE, BASE + 96 * MiB, true)).toBe(CORE_OK);
    core.gatherBegin();
    core.zapRange(BASE, BASE + 96 * MiB, VMA_ANON | ZAP_EVEN_COWS);
    core.gatherEnd();
    const fileBase = BASE + 64 * MiB;
    for (let i = 0; i < 1500; i++) expect(core.installEntry(fileBase + i * 4096, EntryKind.FilePage)).toBe(CORE_OK);
    core.gatherBegin();
    core.zapRange(fileBase, fileBase + 1500 * 4096, 0);
    core.gatherEnd();
    const s = core.stats();
    return Object.fromEntries(STAT_NAMES.filter((n) => n !== 'ArenaFramesCapacity').map((n) => [n, s[n]]));
  }

  it('holds where a zap fills the gather, and both cores count the same', () => {
    const wasm = drive(new WasmCore('debug'));
    const ts = drive(new ReferenceCore());
    expect(ts).toEqual(wasm);
    expect(wasm.ForceBreak).toBeGreaterThanOrEqual(2);
    expect(wasm.ZapRetries).toBeGreaterThanOrEqual(2);
    expect(wasm.EntriesCleared).toBe(96 * 256 + 1500);
  });
});
