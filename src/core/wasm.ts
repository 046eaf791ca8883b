/**
 * The WebAssembly core: loads build/ptreclaim.wasm (AssemblyScript, stub runtime) and
 * adapts its raw exports to PageTableCore. Each instance is one simulated mm with its
 * own linear memory; the compiled module is shared.
 */
import { readFileSync, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { buildPath } from '../paths.js';
import {
  type CoreOptions,
  type PageTableCore,
  type RawStats,
  type ReclaimPath,
  type CoreConfig,
  type CoreViolation,
  type StatName,
  EntryKind,
  PATH_MODES,
  STAT_NAMES,
  STAT_INDEX,
  CORE_OK,
  PAGE_SIZE,
  PMD_SIZE,
  PUD_SIZE,
  PGDIR_SIZE,
  TABLE_FREE_MODES,
  CHECK_KINDS,
} from './types.js';
import { ArenaFullError, PtreclaimError } from '../errors.js';
import { BATCH_CAPACITY, BATCH_STRIDE } from './batch.js';

interface CoreExports {
  memory: WebAssembly.Memory;
  init(limitFrames: number): number;
  stats_ptr(): number;
  stats_count(): number;
  set_path_mode(mode: number): void;
  cost_weights_ptr(): number;
  stats_weighted(): number;
  cost_weights_commit(): void;
  set_zero_page(enabled: number): void;
  set_thp_fault_window(lo: number, hi: number, storesData: number): void;
  set_huge_zero_page(enabled: number): void;
  split_huge_pmd_address(addr: number): number;
  madvise_collapse_pmd(addr: number): number;
  fault_range(start: number, end: number, write: number): number;
  fault_address(): number;
  zap_range(start: number, end: number, flags: number): void;
  madvise_free(start: number, end: number): void;
  madvise_guard_install(start: number, end: number, vmaFlags: number): number;
  madvise_guard_remove(start: number, end: number): void;
  madvise_cold_or_pageout(start: number, end: number, pageout: number): void;
  find_guard_marker(start: number, end: number): number;
  filemap_map_pages(start: number, end: number, shmem: number): number;
  finish_fault(addr: number, write: number, shmem: number): number;
  do_set_pmd(addr: number): number;
  do_cow_fault(addr: number): number;
  wp_page_copy(addr: number): number;
  wp_page_shared(addr: number): number;
  filemap_next_fault(start: number, end: number, write: number): number;
  free_pgd_range(addr: number, end: number, floor: number, ceiling: number): void;
  move_page_tables(oldAddr: number, newAddr: number, oldEnd: number): number;
  gather_begin(): void;
  gather_end(): void;
  entry_at(addr: number, level: number): bigint;
  install_entry(addr: number, kind: number): number;
  arena_limit_frames(): number;
  arena_base(): number;
  pgd_frame(): number;
  set_strategy(id: number): void;
  set_knobs(trylockFail: number, resched: number, nowaitFail: number, seed: number): void;
  set_cpus(n: number): void;
  rcu_configure(mode: number, gracePeriodNs: number): void;
  set_now(ns: number): void;
  rcu_barrier(): void;
  scan_range(start: number, end: number, firstOfPass: number): number;
  check_enable(on: number): void;
  check_walk(lo: number, hi: number): void;
  check_count(type: number): number;
  check_log_len(): number;
  check_log_kind(i: number): number;
  check_log_addr(i: number): number;
  check_log_value(i: number): number;
  check_log_clear(): void;
  debug_unhook_pte_table(addr: number): number;
  debug_free_pte_table_keep_entry(addr: number): number;
  batch_ptr(): number;
  batch_capacity(): number;
  batch_apply(n: number, now: number, syscallNs: number): number;
  batch_now(): number;
  batch_status(): number;
  [name: string]: unknown;
}

export type WasmFlavor = 'release' | 'debug';

const FILES: Record<WasmFlavor, string> = {
  release: 'ptreclaim.wasm',
  debug: 'ptreclaim.debug.wasm',
};
const modules = new Map<WasmFlavor, { module: WebAssembly.Module; sha256: string }>();

function loadModule(flavor: WasmFlavor): { module: WebAssembly.Module; sha256: string } {
  const cached = modules.get(flavor);
  if (cached) return cached;
  const file = buildPath(FILES[flavor]);
  if (!existsSync(file)) {
    throw new PtreclaimError(`WebAssembly core not built: ${file} is missing (run \`npm run build\`)`);
  }
  const bytes = readFileSync(file);
  const entry = {
    module: new WebAssembly.Module(bytes),
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
  modules.set(flavor, entry);
  return entry;
}

/** SHA-256 of the WASM build in use (recorded in benchmark context blocks). */
export function wasmBuildHash(flavor: WasmFlavor = 'release'): string {
  return loadModule(flavor).sha256;
}

/** Read an AssemblyScript string (UTF-16, byte length in the word before it). */
function readAsString(memory: WebAssembly.Memory, ptr: number): string {
  if (!ptr) return '';
  const len = new Uint32Array(memory.buffer, ptr - 4, 1)[0]! >>> 1;
  return String.fromCharCode(...new Uint16Array(memory.buffer, ptr, len));
}

export class WasmCore implements PageTableCore {
  readonly kind = 'wasm' as const;
  private readonly x: CoreExports;
  private statsView: BigUint64Array | undefined;
  private statsBuffer: ArrayBuffer | undefined;
  private batchView: Float64Array | undefined;

  constructor(
    readonly flavor: WasmFlavor = 'release',
    opts: CoreOptions = {},
  ) {
    const { module } = loadModule(flavor);
    // Set once the instance exists; abort() during instantiation (a start function) sees undefined.
    let memory: WebAssembly.Memory | undefined = undefined;
    const instance = new WebAssembly.Instance(module, {
      env: {
        abort(msg: number, file: number, line: number, col: number): never {
          const m = memory ? readAsString(memory, msg) : '?';
          const f = memory ? readAsString(memory, file) : '?';
          throw new Error(`ptreclaim internal error: WASM assertion failed: ${m} (${f}:${line}:${col})`);
        },
      },
    });
    this.x = instance.exports as unknown as CoreExports;
    memory = this.x.memory;
    if (this.x.batch_capacity() !== BATCH_CAPACITY) {
      throw new Error(`ptreclaim internal error: WASM batch holds ${this.x.batch_capacity()} entries, driver expects ${BATCH_CAPACITY}`);
    }
    if (this.x.stats_count() !== STAT_NAMES.length) {
      throw new Error(`ptreclaim internal error: WASM has ${this.x.stats_count()} counters, driver expects ${STAT_NAMES.length}`);
    }
    this.reset(opts);
  }

  /** Names of the counter enum as the WASM module exports it ("Stat.RssAnon" -> 1). */
  /** Every constant the module exports (enum members as "Enum.Member"), for contract tests. */
  exportedConstants(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [name, value] of Object.entries(this.x)) {
      if (value instanceof WebAssembly.Global) out.set(name, Number(value.value));
    }
    return out;
  }

  exportedStatIndices(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [name, value] of Object.entries(this.x)) {
      if (name.startsWith('Stat.') && value instanceof WebAssembly.Global) out.set(name.slice(5), value.value as number);
    }
    return out;
  }

  reset(opts: CoreOptions = {}): void {
    const status = this.x.init(opts.limitFrames ?? 0);
    if (status !== CORE_OK) {
      throw new ArenaFullError(
        `cannot create the page-table arena (status ${status}): the limit of ${String(opts.limitFrames)} frames is too small or memory could not grow`,
        0,
        opts.limitFrames ?? 0,
      );
    }
  }

  setPathMode(path: ReclaimPath): void {
    this.x.set_path_mode(PATH_MODES[path]);
  }

  setZeroPage(enabled: boolean): void {
    this.x.set_zero_page(enabled ? 1 : 0);
  }

  setThpFaultWindow(lo: number, hi: number, storesData = true): void {
    this.x.set_thp_fault_window(lo, hi, storesData ? 1 : 0);
  }
  setHugeZeroPage(enabled: boolean): void {
    this.x.set_huge_zero_page(enabled ? 1 : 0);
  }
  splitHugePmd(addr: number): boolean {
    return this.x.split_huge_pmd_address(addr) !== 0;
  }
  collapseHugePmd(addr: number): number {
    return this.x.madvise_collapse_pmd(addr);
  }

  faultRange(start: number, end: number, write: boolean): number {
    return this.x.fault_range(start, end, write ? 1 : 0);
  }
  faultAddress(): number {
    return this.x.fault_address();
  }
  gatherBegin(): void {
    this.x.gather_begin();
  }
  gatherEnd(): void {
    this.x.gather_end();
  }
  zapRange(start: number, end: number, flags: number): void {
    this.x.zap_range(start, end, flags);
  }
  madviseFree(start: number, end: number): void {
    this.x.madvise_free(start, end);
  }
  madviseGuardInstall(start: number, end: number, vmaFlags: number): number {
    return this.x.madvise_guard_install(start, end, vmaFlags);
  }
  madviseGuardRemove(start: number, end: number): void {
    this.x.madvise_guard_remove(start, end);
  }
  madviseColdOrPageout(start: number, end: number, pageout: boolean): void {
    this.x.madvise_cold_or_pageout(start, end, pageout ? 1 : 0);
  }
  findGuardMarker(start: number, end: number): number {
    return this.x.find_guard_marker(start, end);
  }
  filemapMapPages(start: number, end: number, shmem: boolean): number {
    return this.x.filemap_map_pages(start, end, shmem ? 1 : 0);
  }
  doSetPmd(addr: number): number {
    return this.x.do_set_pmd(addr);
  }
  finishFault(addr: number, write: boolean, shmem: boolean): number {
    return this.x.finish_fault(addr, write ? 1 : 0, shmem ? 1 : 0);
  }
  doCowFault(addr: number): number {
    return this.x.do_cow_fault(addr);
  }
  wpPageCopy(addr: number): boolean {
    return this.x.wp_page_copy(addr) !== 0;
  }
  wpPageShared(addr: number): boolean {
    return this.x.wp_page_shared(addr) !== 0;
  }
  filemapNextFault(start: number, end: number, write: boolean): number {
    return this.x.filemap_next_fault(start, end, write ? 1 : 0);
  }
  freePgdRange(addr: number, end: number, floor: number, ceiling: number): void {
    this.x.free_pgd_range(addr, end, floor, ceiling);
  }
  movePageTables(oldAddr: number, newAddr: number, oldEnd: number): number {
    return this.x.move_page_tables(oldAddr, newAddr, oldEnd);
  }

  private view(): BigUint64Array {
    const buffer = this.x.memory.buffer;
    if (this.statsBuffer !== buffer || !this.statsView) {
      this.statsView = new BigUint64Array(buffer, this.x.stats_ptr(), STAT_NAMES.length);
      this.statsBuffer = buffer;
    }
    return this.statsView;
  }

  stat(name: StatName): number {
    return Number(BigInt.asIntN(64, this.view()[STAT_INDEX[name]]!));
  }

  setCostWeights(weights: Partial<Record<StatName, number>>): void {
    const w = new Float64Array(this.x.memory.buffer, this.x.cost_weights_ptr(), STAT_NAMES.length);
    STAT_NAMES.forEach((name, i) => (w[i] = weights[name] ?? 0));
    this.x.cost_weights_commit();
  }

  weightedStats(): number {
    return this.x.stats_weighted();
  }

  stats(): RawStats {
    const v = this.view();
    const out = {} as RawStats;
    STAT_NAMES.forEach((name, i) => {
      out[name] = Number(BigInt.asIntN(64, v[i]!));
    });
    return out;
  }

  entryAt(addr: number, level: number): bigint {
    return BigInt.asUintN(64, this.x.entry_at(addr, level));
  }

  installEntry(addr: number, kind: EntryKind): number {
    return this.x.install_entry(addr, kind);
  }

  private table(frame: number): BigUint64Array {
    return new BigUint64Array(this.x.memory.buffer, this.x.arena_base() + frame * PAGE_SIZE, 512);
  }

  /** Visit every present table below the PGD: callback(level, baseAddress, entries). */
  private walk(visit: (level: 'pud' | 'pmd' | 'pte', base: number, entries: BigUint64Array) => void): void {
    const frameOf = (e: bigint) => Number((e & 0x000ffffffffff000n) >> 12n);
    const pgd = this.table(this.x.pgd_frame());
    for (let i = 0; i < 512; i++) {
      if (!pgd[i]) continue;
      const pudBase = i * PGDIR_SIZE;
      const pud = this.table(frameOf(pgd[i]!));
      visit('pud', pudBase, pud);
      for (let j = 0; j < 512; j++) {
        if (!pud[j]) continue;
        const pmdBase = pudBase + j * PUD_SIZE;
        const pmd = this.table(frameOf(pud[j]!));
        visit('pmd', pmdBase, pmd);
        for (let k = 0; k < 512; k++) {
          if (!pmd[k]) continue;
          visit('pte', pmdBase + k * PMD_SIZE, this.table(frameOf(pmd[k]!)));
        }
      }
    }
  }

  leafEntries(): Map<number, bigint> {
    const out = new Map<number, bigint>();
    this.walk((level, base, entries) => {
      // Huge PMDs (_PAGE_PSE) are leaves too, at their span's base.
      if (level === 'pmd') for (let i = 0; i < 512; i++) if (entries[i]! & 0x80n) out.set(base + i * PMD_SIZE, entries[i]!);
      if (level !== 'pte') return;
      for (let i = 0; i < 512; i++) if (entries[i]) out.set(base + i * PAGE_SIZE, entries[i]!);
    });
    return out;
  }

  tableBases(): { pte: number[]; pmd: number[]; pud: number[] } {
    const out = { pte: [] as number[], pmd: [] as number[], pud: [] as number[] };
    this.walk((level, base) => out[level].push(base));
    return out;
  }

  arenaLimitFrames(): number {
    return this.x.arena_limit_frames();
  }

  memoryBytes(): number {
    return this.x.memory.buffer.byteLength;
  }

  configure(cfg: CoreConfig): void {
    this.x.set_strategy(cfg.strategyId);
    this.x.set_knobs(cfg.trylockFail, cfg.resched, cfg.nowaitFail, cfg.seed);
    this.x.set_cpus(cfg.cpus);
    this.x.rcu_configure(TABLE_FREE_MODES[cfg.tableFree], cfg.gracePeriodNs);
  }
  setNow(ns: number): void {
    this.x.set_now(ns);
  }
  rcuBarrier(): void {
    this.x.rcu_barrier();
  }
  scanRange(start: number, end: number, firstOfPass: boolean): number {
    return this.x.scan_range(start, end, firstOfPass ? 1 : 0);
  }
  checkEnable(on: boolean): void {
    this.x.check_enable(on ? 1 : 0);
  }
  checkWalk(lo: number, hi: number): { anon: number; file: number; swap: number; shmem: number } {
    this.x.check_walk(lo, hi);
    return { anon: this.x.check_count(0), file: this.x.check_count(1), swap: this.x.check_count(2), shmem: this.x.check_count(3) };
  }
  takeViolations(): CoreViolation[] {
    const out: CoreViolation[] = [];
    const n = this.x.check_log_len();
    for (let i = 0; i < n; i++) {
      const kind = CHECK_KINDS[this.x.check_log_kind(i) as keyof typeof CHECK_KINDS];
      out.push({ kind, addr: this.x.check_log_addr(i), value: this.x.check_log_value(i) });
    }
    this.x.check_log_clear();
    return out;
  }
  batchBuffer(): Float64Array {
    const buffer = this.x.memory.buffer;
    if (this.batchView?.buffer !== buffer) {
      this.batchView = new Float64Array(buffer, this.x.batch_ptr(), BATCH_CAPACITY * BATCH_STRIDE);
    }
    return this.batchView;
  }
  applyBatch(n: number, nowNs: number, syscallNs: number): number {
    return this.x.batch_apply(n, nowNs, syscallNs);
  }
  batchNowNs(): number {
    return this.x.batch_now();
  }
  batchStatus(): number {
    return this.x.batch_status();
  }

  /** Test hook: free the PTE table at addr but leave the PMD pointing at it (see assembly/index.ts). */
  debugFreePteTableKeepEntry(addr: number): boolean {
    return this.x.debug_free_pte_table_keep_entry(addr) !== 0;
  }

  /** Test hook: unhook the PTE table at addr into the open gather without a flush. */
  debugUnhookPteTable(addr: number): boolean {
    return this.x.debug_unhook_pte_table(addr) !== 0;
  }
}
