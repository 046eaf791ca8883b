/**
 * TypeScript reference of the page-table core: the same semantics as the WebAssembly core
 * (assembly/), written independently over typed arrays, so property tests can hold the two
 * against each other: same tables, same entries, same counters.
 *
 * Laid out like assembly/, one kernel concept per file under reference/, with the kernel's
 * function names (so `git grep -w zap_pte_range` finds both cores):
 *   pgtable.ts       entry layout, swap entries, table indices
 *   arena.ts         the frames tables live in (same allocation order as the WASM arena)
 *   mm.ts            RefMm (the mm_struct and the state the WASM core keeps in globals),
 *                    the walk, mm_inc_nr_ptes & co, pte_alloc_map, pmd_clear
 *   fault.ts         fault_range: handle_pte_fault, do_anonymous_page, ...
 *   mmu_gather.ts    tlb_gather_mmu .. tlb_finish_mmu, tlb_gather_room, tlb_remove_table
 *   tlb.ts           __tlb_adjust_range, flush_tlb_mm_range
 *   rcu.ts           call_rcu of table batches, grace periods
 *   zap.ts           unmap_page_range .. zap_pte_range, zap_present_run
 *   pt_reclaim.ts    PT_RECLAIM: try_get_and_clear_pmd, try_to_free_pte, pte_table_all_none
 *   madvise_free.ts  madvise_free_range
 *   madvise_guard.ts madvise_guard_install, madvise_guard_remove, find_guard_marker
 *   madvise_pageout.ts madvise_cold_or_pageout_range (MADV_COLD, MADV_PAGEOUT)
 *   free_pgtables.ts free_pgd_range .. free_pte_range
 *   mremap.ts        move_page_tables, move_normal_pud, move_normal_pmd, move_ptes
 * This class is the PageTableCore facade over them. Paths tuned for the `ts` rows of
 * `bench kernels` say so where they are (fault.ts, zap.ts, mm.ts walk, pte_table_all_none).
 *
 * The reference models the strategies none and pt-reclaim only: no v1, refcount or
 * async-scan, no --trylock-fail / --resched / --nowait-fail, no checker.
 */
import {
  type CoreOptions,
  type PageTableCore,
  type RawStats,
  type ReclaimPath,
  type StatName,
  type CoreConfig,
  type CoreViolation,
  EntryKind,
  STRATEGY_IDS,
  STAT_NAMES,
  CORE_OK,
  CORE_ARENA_FULL,
  CORE_OCCUPIED,
  ARENA_HARD_MAX_FRAMES,
  PATH_MODES,
} from './types.js';
import { UsageError } from '../errors.js';
import { FRAME_PGD, arena_alloc, arena_available, arena_init } from './reference/arena.js';
import { fault_range } from './reference/fault.js';
import { free_pgd_range } from './reference/free_pgtables.js';
import { madvise_free_range } from './reference/madvise_free.js';
import { find_guard_marker, madvise_guard_install, madvise_guard_remove } from './reference/madvise_guard.js';
import { madvise_cold_or_pageout_range } from './reference/madvise_pageout.js';
import { move_page_tables } from './reference/mremap.js';
import {
  do_cow_fault,
  file_huge_pmd_at,
  filemap_map_pages,
  filemap_next_fault,
  finish_fault,
  wp_page_copy,
  wp_page_shared,
} from './reference/filemap.js';
import { RefMm, count_missing_tables, entry_frame, pte_alloc_map, walk_pte_table_frame, walk_tables } from './reference/mm.js';
import { tlb_finish_mmu, tlb_gather_mmu } from './reference/mmu_gather.js';
import {
  FIRST_ANON_PFN,
  PAGE_SIZE,
  PGDIR_SIZE,
  PMD_SIZE,
  PUD_SIZE,
  make_entry,
  pgd_index,
  pmd_index,
  pte_index,
  pte_to_bigint,
  pud_index,
  set_pte,
} from './reference/pgtable.js';
import { rcu_barrier, rcu_reset, rcu_set_now } from './reference/rcu.js';
import { S, stat_get, stat_inc, stat_set } from './reference/stats.js';
import { tlb_reset_range } from './reference/tlb.js';
import { unmap_page_range } from './reference/zap.js';
import {
  madvise_collapse_pmd,
  pmd_trans_huge,
  set_huge_zero_page,
  set_split_zero_remap,
  set_thp_fault_window,
  split_huge_pmd_address,
  do_set_pmd,
  thp_mm_init,
} from './reference/huge_memory.js';
import { BatchRunner } from './batch.js';

export { FIRST_ANON_PFN } from './reference/pgtable.js';
// For drivers that work on tables directly (src/kernels/ts.ts).
export { set_anon_pte as setAnonPte } from './reference/fault.js';
export { pte_table_all_none as pteTableAllNone } from './reference/pt_reclaim.js';

/**
 * mm.ts entry_frame and the table sizes, local to this module for pteTable: the `walk` row
 * of `bench kernels --impl ts` walks through pteTable once per table, and a call into
 * another module, or a division by an imported constant (V8 folds only its own module's
 * constants), cost 1.5-3 ns per walk there (17.5 against 19-21 ns per table, measured).
 */
const WALK_PMD_SIZE = 2 ** 21;
const WALK_PUD_SIZE = 2 ** 30;
const WALK_PGDIR_SIZE = 2 ** 39;
function walkChild(table: Uint32Array, i: number): number {
  const lo = table[2 * i]!;
  const hi = table[2 * i + 1]!;
  return lo === 0 && hi === 0 ? -1 : (hi & 0xfffff) * 0x100000 + (lo >>> 12);
}

export class ReferenceCore implements PageTableCore {
  readonly kind = 'ts' as const;
  private readonly mm = new RefMm();

  constructor(opts: CoreOptions = {}) {
    this.reset(opts);
  }

  reset(opts: CoreOptions = {}): void {
    const mm = this.mm;
    const hardMax = ARENA_HARD_MAX_FRAMES;
    arena_init(mm, !opts.limitFrames || opts.limitFrames > hardMax ? hardMax : opts.limitFrames);
    mm.tlb.pending = [];
    rcu_reset(mm.rcu);
    tlb_reset_range(mm.tlb);
    mm.s.fill(0);
    mm.pgd = arena_alloc(mm, mm.s, FRAME_PGD); // mm_alloc_pgd
    thp_mm_init(mm);
    stat_set(mm.s, S.NextPfn, FIRST_ANON_PFN);
  }

  setPathMode(path: ReclaimPath): void {
    this.mm.path = PATH_MODES[path];
  }

  setZeroPage(enabled: boolean): void {
    this.mm.zeroPageEnabled = enabled;
    set_split_zero_remap(this.mm, enabled);
  }

  /**
   * The PTE table mapping addr, as a view of its 1024 words (entry i is words 2i, 2i + 1),
   * or undefined when no table is there. For drivers that work on tables directly (the
   * `bench kernels` ts implementation); writes through it bypass every counter.
   */
  pteTable(addr: number): Uint32Array | undefined {
    // Tuned: mm.ts walk_pte_table_frame written out (see walkChild).
    const mm = this.mm;
    const frames = mm.frames;
    const pud = walkChild(frames[mm.pgd]!, (addr / WALK_PGDIR_SIZE) & 511);
    if (pud < 0) return undefined;
    const pmd = walkChild(frames[pud]!, (addr / WALK_PUD_SIZE) & 511);
    if (pmd < 0) return undefined;
    const pte = walkChild(frames[pmd]!, (addr / WALK_PMD_SIZE) & 511);
    return pte < 0 ? undefined : frames[pte];
  }

  setThpFaultWindow(lo: number, hi: number, storesData = true): void {
    set_thp_fault_window(this.mm, lo, hi, storesData);
  }
  setHugeZeroPage(enabled: boolean): void {
    set_huge_zero_page(this.mm, enabled);
  }
  splitHugePmd(addr: number): boolean {
    return split_huge_pmd_address(this.mm, addr);
  }
  collapseHugePmd(addr: number): number {
    return madvise_collapse_pmd(this.mm, addr);
  }

  faultRange(start: number, end: number, write: boolean): number {
    return fault_range(this.mm, start, end, write);
  }
  faultAddress(): number {
    return this.mm.faultAddress;
  }

  gatherBegin(): void {
    tlb_gather_mmu(this.mm.tlb);
  }
  gatherEnd(): void {
    tlb_finish_mmu(this.mm);
  }
  zapRange(start: number, end: number, flags: number): void {
    unmap_page_range(this.mm, start, end, flags);
  }
  madviseFree(start: number, end: number): void {
    madvise_free_range(this.mm, start, end);
  }
  madviseGuardInstall(start: number, end: number, vmaFlags: number): number {
    return madvise_guard_install(this.mm, start, end, vmaFlags);
  }
  madviseGuardRemove(start: number, end: number): void {
    madvise_guard_remove(this.mm, start, end);
  }
  madviseColdOrPageout(start: number, end: number, pageout: boolean): void {
    madvise_cold_or_pageout_range(this.mm, start, end, pageout);
  }
  findGuardMarker(start: number, end: number): number {
    return stat_get(this.mm.s, S.GuardMarkers) === 0 ? -1 : find_guard_marker(this.mm, start, end);
  }
  filemapMapPages(start: number, end: number, shmem: boolean): number {
    return filemap_map_pages(this.mm, start, end, shmem);
  }
  doSetPmd(addr: number): number {
    return do_set_pmd(this.mm, addr);
  }
  finishFault(addr: number, write: boolean, shmem: boolean): number {
    return finish_fault(this.mm, addr, write, shmem);
  }
  doCowFault(addr: number): number {
    return do_cow_fault(this.mm, addr);
  }
  wpPageCopy(addr: number): boolean {
    return wp_page_copy(this.mm, addr);
  }
  wpPageShared(addr: number): boolean {
    return wp_page_shared(this.mm, addr);
  }
  filemapNextFault(start: number, end: number, write: boolean): number {
    return filemap_next_fault(this.mm, start, end, write);
  }
  freePgdRange(addr: number, end: number, floor: number, ceiling: number): void {
    free_pgd_range(this.mm, addr, end, floor, ceiling);
  }
  movePageTables(oldAddr: number, newAddr: number, oldEnd: number): number {
    return move_page_tables(this.mm, oldAddr, newAddr, oldEnd);
  }

  // ---- strategy, time, checker: the reference models none and pt-reclaim only ----
  configure(cfg: CoreConfig): void {
    if (cfg.strategyId !== STRATEGY_IDS.none && cfg.strategyId !== STRATEGY_IDS['pt-reclaim']) {
      throw new UsageError('the TypeScript reference core models only the strategies none and pt-reclaim (use --core wasm)');
    }
    if (cfg.trylockFail || cfg.resched || cfg.nowaitFail) {
      throw new UsageError('the TypeScript reference core does not model --trylock-fail, --resched or --nowait-fail (use --core wasm)');
    }
    this.mm.cpus = Math.max(1, cfg.cpus);
    this.mm.rcu.gpNs = Math.max(1, cfg.gracePeriodNs);
  }
  setNow(ns: number): void {
    rcu_set_now(this.mm, ns);
  }
  rcuBarrier(): void {
    rcu_barrier(this.mm);
  }
  scanRange(): number {
    throw new UsageError('the TypeScript reference core does not model async-scan (use --core wasm)');
  }
  checkEnable(on: boolean): void {
    if (on) throw new UsageError('the checker runs in the WebAssembly core only (use --core wasm)');
  }
  checkWalk(): { anon: number; file: number; swap: number; shmem: number } {
    throw new UsageError('the checker runs in the WebAssembly core only (use --core wasm)');
  }
  takeViolations(): CoreViolation[] {
    return [];
  }

  // ---- inspection ----
  stat(name: StatName): number {
    return stat_get(this.mm.s, S[name]);
  }

  setCostWeights(weights: Partial<Record<StatName, number>>): void {
    this.mm.weights = Float64Array.from(STAT_NAMES, (n) => weights[n] ?? 0);
  }

  private readonly batch = new BatchRunner(this);
  batchBuffer(): Float64Array {
    return this.batch.buffer;
  }
  applyBatch(n: number, nowNs: number, syscallNs: number): number {
    return this.batch.apply(n, nowNs, syscallNs);
  }
  batchNowNs(): number {
    return this.batch.nowNs;
  }
  batchStatus(): number {
    return this.batch.status;
  }

  weightedStats(): number {
    const { s, weights } = this.mm;
    let acc = 0;
    for (let i = 0; i < s.length; i++) acc += s[i]! * weights[i]!;
    return acc;
  }

  stats(): RawStats {
    const out = {} as RawStats;
    STAT_NAMES.forEach((n, i) => (out[n] = this.mm.s[i]!));
    return out;
  }

  entryAt(addr: number, level: number): bigint {
    const frames = this.mm.frames;
    const read = (t: Uint32Array, i: number) => pte_to_bigint(t[2 * i]!, t[2 * i + 1]!);
    if (level === 3) return read(frames[this.mm.pgd]!, pgd_index(addr));
    const [pud, pmd, pte] = walk_tables(this.mm, addr);
    if (level === 2) return pud < 0 ? 0n : read(frames[pud]!, pud_index(addr));
    if (level === 1) return pmd < 0 ? 0n : read(frames[pmd]!, pmd_index(addr));
    if (file_huge_pmd_at(this.mm, addr)) return 0n; // no PTE table below a PMD-mapped page-cache folio
    return pte < 0 ? 0n : read(frames[pte]!, pte_index(addr));
  }

  installEntry(addr: number, kind: EntryKind): number {
    const mm = this.mm;
    const a = Math.floor(addr / PAGE_SIZE) * PAGE_SIZE;
    const [, pmd] = walk_tables(mm, a);
    if (pmd >= 0 && pmd_trans_huge(mm.frames[pmd]![2 * pmd_index(a)]!)) return CORE_OCCUPIED;
    if (count_missing_tables(mm, a, a + 1) > arena_available(mm)) return CORE_ARENA_FULL;
    const t = pte_alloc_map(mm, a);
    const i = pte_index(a);
    if (t[2 * i] !== 0 || t[2 * i + 1] !== 0) return CORE_OCCUPIED;
    const pfn = stat_get(mm.s, S.NextPfn);
    stat_set(mm.s, S.NextPfn, pfn + 1);
    set_pte(t, i, make_entry(kind, pfn));
    if (kind === EntryKind.Page || kind === EntryKind.Migration || kind === EntryKind.DevicePrivate || kind === EntryKind.DeviceExclusive)
      stat_inc(mm.s, S.RssAnon);
    else if (kind === EntryKind.FilePage) stat_inc(mm.s, S.RssFile);
    else if (kind === EntryKind.ShmemPage) stat_inc(mm.s, S.RssShmem);
    else if (kind === EntryKind.Swap) stat_inc(mm.s, S.RssSwapEnts);
    else if (kind === EntryKind.GuardMarker) stat_inc(mm.s, S.GuardMarkers);
    return CORE_OK;
  }

  leafEntries(): Map<number, bigint> {
    const out = new Map<number, bigint>();
    for (const base of this.tableBases().pmd) {
      // Huge PMDs (_PAGE_PSE) are leaves too, at their span's base.
      const t = this.mm.frames[walk_tables(this.mm, base)[1]]!;
      for (let k = 0; k < 512; k++) {
        if (pmd_trans_huge(t[2 * k]!)) out.set(base + k * PMD_SIZE, pte_to_bigint(t[2 * k]!, t[2 * k + 1]!));
      }
    }
    for (const base of this.tableBases().pte) {
      const t = this.mm.frames[walk_pte_table_frame(this.mm, base)]!;
      for (let i = 0; i < 512; i++) {
        if (t[2 * i] !== 0 || t[2 * i + 1] !== 0) out.set(base + i * PAGE_SIZE, pte_to_bigint(t[2 * i]!, t[2 * i + 1]!));
      }
    }
    return out;
  }

  tableBases(): { pte: number[]; pmd: number[]; pud: number[] } {
    const out = { pte: [] as number[], pmd: [] as number[], pud: [] as number[] };
    const frames = this.mm.frames;
    const pgd = frames[this.mm.pgd]!;
    for (let i = 0; i < 512; i++) {
      const pud = entry_frame(pgd, i);
      if (pud < 0) continue;
      out.pud.push(i * PGDIR_SIZE);
      for (let j = 0; j < 512; j++) {
        const pmd = entry_frame(frames[pud]!, j);
        if (pmd < 0) continue;
        out.pmd.push(i * PGDIR_SIZE + j * PUD_SIZE);
        for (let k = 0; k < 512; k++) {
          if (entry_frame(frames[pmd]!, k) >= 0) out.pte.push(i * PGDIR_SIZE + j * PUD_SIZE + k * PMD_SIZE);
        }
      }
    }
    return out;
  }

  arenaLimitFrames(): number {
    return this.mm.limit;
  }
  memoryBytes(): number {
    return this.mm.frames.length * PAGE_SIZE;
  }
}
