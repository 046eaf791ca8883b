// Native yardstick for `ptreclaim bench kernels`: the core's hot loops (assembly/fault.ts,
// zap.ts, mmu_gather.ts, pt_reclaim.ts, mm.ts) written again in plain C with the same data
// layout (4 KiB tables of 512 x86-64 entries, 1 byte of frame state, counters in one array)
// and the same branches, compiled with gcc -O3 -march=native by scripts/build-native.js.
// src/kernels/runner.ts drives it over stdin/stdout so native samples interleave with the
// WebAssembly and TypeScript ones (one line per command, one line per answer):
//
//   pin CPU PID        -> ok            this program and thread PID on CPU only
//   unpin              -> ok            thread PID back on the CPUs it had before
//   setup N            -> ok            fresh mm, N tables at 16 TiB faulted full
//   prepare KERNEL     -> ok            the kernel's untimed input (all none or all present)
//   sample KERNEL NS   -> nsPerTable    timed calls until NS ns of kernel time
//   (a bad command     -> error MESSAGE)
//
//   ptreclaim-kernels --serve          the protocol above
//   ptreclaim-kernels --check N        JSON of checksums (tests)
//
// KERNEL is scan, zap, fault-fill, walk, reclaim-fast, reclaim-slow, or scan-128: the scan written in the WebAssembly
// build's shape and width (two accumulators of 128-bit ORs), for what 128-bit vectors can
// reach on this CPU.

#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <sched.h>
#include <sys/types.h>

typedef uint64_t u64;
typedef uint32_t u32;

// Geometry and entry bits (assembly/pgtable.ts).
#define PAGE_SHIFT 12
#define PMD_SHIFT 21
#define PUD_SHIFT 30
#define PGDIR_SHIFT 39
#define PTRS 512u
#define PMD_SIZE (1ull << PMD_SHIFT)
#define PUD_SIZE (1ull << PUD_SHIFT)
#define PGDIR_SIZE (1ull << PGDIR_SHIFT)
#define PMD_MASK (~(PMD_SIZE - 1))
#define P_PRESENT (1ull << 0)
#define P_RW (1ull << 1)
#define P_USER (1ull << 2)
#define P_ACCESSED (1ull << 5)
#define P_DIRTY (1ull << 6)
#define P_SPECIAL (1ull << 9)
#define P_SIM_FILE (1ull << 52)
#define P_NX (1ull << 63)
#define PFN_MASK ((((1ull << 52) - 1)) & ~0xfffull)
#define TABLE_FLAGS (P_PRESENT | P_RW | P_USER | P_ACCESSED | P_DIRTY)
#define ANON_FLAGS (P_PRESENT | P_RW | P_USER | P_ACCESSED | P_DIRTY | P_NX)
#define ZERO_FLAGS (P_PRESENT | P_USER | P_ACCESSED | P_SPECIAL | P_NX)
#define ZERO_PFN 1ull
#define FIRST_ANON_PFN 0x100ull
#define SWP_TYPE_SHIFT 59
#define SWP_OFFSET_MASK ((1ull << 50) - 1)
#define MAX_SWAPFILES 24u
#define SWP_HWPOISON 24u
#define SWP_MIGRATION_WRITE 27u
#define SWP_DEVICE_EXCLUSIVE 30u
#define SWP_PTE_MARKER 31u
#define MARKER_UFFD_WP 1ull
#define MARKER_POISONED 2ull
#define MARKER_GUARD 4ull
#define PFN_MAX ((1ull << 40) - 1)

// zap flags (assembly/zap.ts).
#define ZAP_RECLAIM_PT (1u << 0)
#define ZAP_DROP_MARKERS (1u << 1)
#define ZAP_EVEN_COWS (1u << 2)
#define VMA_ANON (1u << 3)
#define VMA_UFFD_WP (1u << 4)

// Counters the loops touch (a subset of enum Stat, same roles).
enum {
  RssFile, RssAnon, RssSwapEnts, NrPte, NrPmd, NrPud, EntriesReadZap, EntriesCleared, EntriesSkipped,
  FaultAnon, FaultZeroPage, FaultWpCopy, FaultSwapIn, FaultOther, FaultAccessOnly, TlbFlushes,
  ForceFlush, ForceBreak, ZapRetries, PagesGathered, PtlLocks, NextPfn, ReclaimFast, ReclaimSlow,
  ReclaimSlowFailed, EntriesReadScan, PmdLocks, PmdTrylockOk, PmdTrylockFail, StatCount
};
static u64 stats[StatCount];

// ---- arena (assembly/arena.ts): frames, 1 byte of state each, bump allocation, and a
// free list (LIFO, linked through the frames' first word) for tables PT_RECLAIM freed ----
static unsigned char *frames;
static unsigned char *frameState;
static u32 bumpTop, capFrames;
#define NIL 0xffffffffu
static u32 freeHead = NIL, freeCount;

static inline u64 *frame_addr(u32 f) { return (u64 *)(frames + ((size_t)f << 12)); }
static inline u64 *entry_table(u64 e) { return frame_addr((u32)((e & PFN_MASK) >> PAGE_SHIFT)); }
static inline u32 table_frame(u64 *t) { return (u32)(((unsigned char *)t - frames) >> 12); }
static u32 pgdFrame;

static u32 arena_alloc(unsigned char state) {
  u32 f;
  if (freeHead != NIL) {
    f = freeHead;
    freeHead = *(u32 *)frame_addr(f);
    freeCount--;
  } else {
    if (bumpTop >= capFrames) { fprintf(stderr, "ptreclaim-kernels: arena full\n"); exit(3); }
    f = bumpTop++;
  }
  memset(frame_addr(f), 0, 4096);
  frameState[f] = state;
  return f;
}

static void arena_free(u32 f) {
  frameState[f] = 0;
  *(u32 *)frame_addr(f) = freeHead;
  freeHead = f;
  freeCount++;
}

static inline u32 idx(u64 addr, int shift) { return (u32)((addr >> shift) & (PTRS - 1)); }
static inline u64 span_end(u64 addr, u64 end, u64 size) {
  u64 b = (addr + size) & ~(size - 1);
  return b - 1 < end - 1 ? b : end;
}
static inline u64 *pgd_offset(u64 a) { return frame_addr(pgdFrame) + idx(a, PGDIR_SHIFT); }

static u64 *table_alloc_populate(u64 *entryp, unsigned char level) {
  u32 f = arena_alloc(level);
  *entryp = ((u64)f << PAGE_SHIFT) | TABLE_FLAGS;
  stats[level == 4 ? NrPte : level == 3 ? NrPmd : NrPud]++;
  return frame_addr(f);
}

static u64 *walk_pte(u64 a) {
  u64 e = *pgd_offset(a);
  if (!e) return 0;
  e = entry_table(e)[idx(a, PUD_SHIFT)];
  if (!e) return 0;
  e = entry_table(e)[idx(a, PMD_SHIFT)];
  if (!e) return 0;
  return entry_table(e) + idx(a, PAGE_SHIFT);
}

static u32 count_missing_tables(u64 start, u64 end) {
  u32 missing = 0;
  for (u64 a = start; a < end;) {
    u64 g = *pgd_offset(a);
    if (!g) {
      u64 se = span_end(a, end, PGDIR_SIZE);
      missing += 1 + (u32)(((se - 1) >> PUD_SHIFT) - (a >> PUD_SHIFT) + 1) +
                 (u32)(((se - 1) >> PMD_SHIFT) - (a >> PMD_SHIFT) + 1);
      a = se;
      continue;
    }
    u64 u = entry_table(g)[idx(a, PUD_SHIFT)];
    if (!u) {
      u64 se = span_end(a, end, PUD_SIZE);
      missing += 1 + (u32)(((se - 1) >> PMD_SHIFT) - (a >> PMD_SHIFT) + 1);
      a = se;
      continue;
    }
    if (!entry_table(u)[idx(a, PMD_SHIFT)]) missing++;
    a = span_end(a, end, PMD_SIZE);
  }
  return missing;
}

// ---- fault (assembly/fault.ts) ----
static u64 *pte_alloc_walk(u64 a) {
  u64 *pgdp = pgd_offset(a);
  u64 *pud = *pgdp ? entry_table(*pgdp) : table_alloc_populate(pgdp, 2);
  u64 *pudp = pud + idx(a, PUD_SHIFT);
  u64 *pmd = *pudp ? entry_table(*pudp) : table_alloc_populate(pudp, 3);
  u64 *pmdp = pmd + idx(a, PMD_SHIFT);
  return *pmdp ? entry_table(*pmdp) : table_alloc_populate(pmdp, 4);
}

static inline u64 pfn_pte(u64 pfn, u64 flags) { return (pfn << PAGE_SHIFT) | flags; }
static inline u32 swp_type(u64 e) { return (u32)(e >> SWP_TYPE_SHIFT); }
static inline u64 swp_offset(u64 e) { return ~(e >> 9) & SWP_OFFSET_MASK; }

static int fault_range(u64 start, u64 end, int write) {
  if (count_missing_tables(start, end) > capFrames - bumpTop + freeCount) return -1;
  int allocOnRead = write; // zero page enabled
  u64 pfn = stats[NextPfn], anon = 0, zero = 0, wpCopy = 0, swapIn = 0, other = 0, accessOnly = 0;
  int result = 0;
  for (u64 addr = start; addr < end && result == 0;) {
    u64 next = span_end(addr, end, PMD_SIZE);
    u64 *table = pte_alloc_walk(addr);
    u64 *p = table + idx(addr, PAGE_SHIFT);
    u64 *last = p + ((next - addr) >> PAGE_SHIFT);
    while (p < last) {
      u64 e = *p;
      if (e == 0) {
        if (allocOnRead) {
          u64 *q = p; // do_anonymous_page for the run of none entries
          while (q < last && *q == 0) *q++ = pfn_pte(pfn++, ANON_FLAGS);
          anon += (u64)(q - p);
          p = q;
          continue;
        }
        *p = pfn_pte(ZERO_PFN, ZERO_FLAGS);
        zero++;
      } else if (e & P_PRESENT) {
        if (!write) {
          if (!(e & P_ACCESSED)) *p = e | P_ACCESSED;
          accessOnly++;
        } else if (!(e & P_RW)) {
          if (e & P_SPECIAL) { *p = pfn_pte(pfn++, ANON_FLAGS); wpCopy++; }
          else { *p = e | P_RW | P_DIRTY | P_ACCESSED; other++; }
        } else {
          if ((e & (P_DIRTY | P_ACCESSED)) != (P_DIRTY | P_ACCESSED)) *p = e | P_DIRTY | P_ACCESSED;
          accessOnly++;
        }
      } else {
        u32 type = swp_type(e);
        if (type < MAX_SWAPFILES) { *p = pfn_pte(pfn++, ANON_FLAGS); swapIn++; }
        else if (type == SWP_HWPOISON) result = -4;
        else if (type <= SWP_DEVICE_EXCLUSIVE) { *p = pfn_pte(swp_offset(e) & PFN_MAX, ANON_FLAGS); other++; }
        else {
          u64 m = swp_offset(e);
          if (m & MARKER_GUARD) result = -3;
          else if (m & MARKER_POISONED) result = -4;
          else if (allocOnRead) { *p = pfn_pte(pfn++, ANON_FLAGS); anon++; }
          else { *p = pfn_pte(ZERO_PFN, ZERO_FLAGS); zero++; }
        }
        if (result) break;
      }
      p++;
    }
    addr = next;
  }
  stats[NextPfn] = pfn;
  stats[FaultAnon] += anon;
  stats[FaultZeroPage] += zero;
  stats[FaultWpCopy] += wpCopy;
  stats[FaultSwapIn] += swapIn;
  stats[FaultOther] += other;
  stats[FaultAccessOnly] += accessOnly;
  stats[RssAnon] += anon + wpCopy + swapIn;
  stats[RssSwapEnts] -= swapIn;
  return result;
}

// ---- mmu_gather (assembly/mmu_gather.ts) ----
#define MMU_GATHER_BUNDLE 8u
#define MAX_GATHER_BATCH ((4096u - 16u) / 8u)
#define MAX_GATHER_BATCH_COUNT (10000u / MAX_GATHER_BATCH)
static u32 activeBatch, activeNr, activeMax = MMU_GATHER_BUNDLE, batchCount;
static int delayedRmap, rangeDirty;

static void tlb_gather_mmu(void) {
  activeBatch = 0; activeNr = 0; activeMax = MMU_GATHER_BUNDLE; batchCount = 0;
  delayedRmap = 0; rangeDirty = 0;
}
static __attribute__((noinline)) int tlb_next_batch(void) {
  if (delayedRmap && activeBatch != 0) return 0;
  if (activeBatch < batchCount) activeBatch++;
  else {
    if (batchCount == MAX_GATHER_BATCH_COUNT) return 0;
    batchCount++;
    activeBatch = batchCount;
  }
  activeNr = 0;
  activeMax = MAX_GATHER_BATCH;
  return 1;
}
static inline int tlb_remove_page(int delayRmap) {
  stats[PagesGathered]++;
  if (delayRmap) delayedRmap = 1;
  activeNr++;
  if (activeNr >= activeMax - 1) return !tlb_next_batch();
  return 0;
}
static void tlb_flush_mmu_tlbonly(void) {
  if (!rangeDirty) return;
  stats[TlbFlushes]++;
  rangeDirty = 0;
}
static void tlb_flush_mmu(void) {
  tlb_flush_mmu_tlbonly();
  activeBatch = 0; activeNr = 0; activeMax = MMU_GATHER_BUNDLE; delayedRmap = 0;
}
// Tables unhooked by PT_RECLAIM wait here (linked through their first word) until the final
// flush; the simulated grace period ends with the operation (assembly/mmu_gather.ts).
static u32 pendingHead = NIL;
static void tlb_remove_table(u32 frame) {
  *(u32 *)frame_addr(frame) = pendingHead;
  pendingHead = frame;
  rangeDirty = 1; // tlb_adjust_range_table: the freed table's span must be invalidated
}
static void tlb_finish_mmu(void) {
  tlb_flush_mmu();
  batchCount = 0;
  while (pendingHead != NIL) {
    u32 next = *(u32 *)frame_addr(pendingHead);
    arena_free(pendingHead);
    pendingHead = next;
  }
}

// ---- PT_RECLAIM (assembly/pt_reclaim.ts): the PMD trylock is forced by the path mode ----
static int pathSlow; // 1: every trylock fails (reclaim-slow); 0: every one succeeds
static int pte_table_all_none(const u64 *t);

static void free_pte(u64 pmdval) {
  tlb_remove_table(table_frame(entry_table(pmdval)));
  stats[NrPte]--;
}
static u64 try_get_and_clear_pmd(u64 *pmdp) {
  if (pathSlow) { stats[PmdTrylockFail]++; return 0; }
  stats[PmdTrylockOk]++;
  u64 v = *pmdp;
  *pmdp = 0;
  return v;
}
// try_to_free_pte: PMD lock, nested PTE lock, all 512 entries none, clear, free.
static void try_to_free_pte(u64 *pmdp) {
  stats[PmdLocks]++;
  u64 pmdval = *pmdp;
  if (!pmdval) { stats[ReclaimSlowFailed]++; return; }
  stats[PtlLocks]++;
  const u64 *t = entry_table(pmdval);
  if (!pte_table_all_none(t)) {
    u32 n = 0;
    while (n < PTRS && t[n] == 0) n++;
    stats[EntriesReadScan] += n < PTRS ? n + 1 : PTRS;
    stats[ReclaimSlowFailed]++;
    return;
  }
  stats[EntriesReadScan] += PTRS;
  *pmdp = 0;
  free_pte(pmdval);
  stats[ReclaimSlow]++;
}

// ---- zap (assembly/zap.ts), with the PT_RECLAIM decision (mainline) ----
static int64_t rssFile, rssAnon, rssSwap;
static int skippedAny, forceFlush, forceBreak;

static inline void note_skipped(void) { skippedAny = 1; stats[EntriesSkipped]++; }
static inline int should_zap_cows(u32 f) { return (f & (ZAP_RECLAIM_PT | ZAP_EVEN_COWS)) != 0; }
static inline int install_uffd_wp(u64 *p, u32 f) {
  if ((f & VMA_ANON) || (f & ZAP_DROP_MARKERS) || !(f & VMA_UFFD_WP)) return 0;
  *p = ((u64)SWP_PTE_MARKER << SWP_TYPE_SHIFT) | ((~MARKER_UFFD_WP & SWP_OFFSET_MASK) << 9);
  return 1;
}

static inline void zap_present_pte(u64 *p, u64 e, u32 f) {
  if (e & P_SPECIAL) { *p = 0; rangeDirty = 1; stats[EntriesCleared]++; return; }
  int anon = (e & P_SIM_FILE) == 0;
  if (!(should_zap_cows(f) || !anon)) { note_skipped(); return; }
  *p = 0;
  stats[EntriesCleared]++;
  int delay = 0;
  if (anon) rssAnon--;
  else { rssFile--; if (e & P_DIRTY) { delay = 1; forceFlush = 1; } }
  rangeDirty = 1;
  if (install_uffd_wp(p, f)) note_skipped();
  if (tlb_remove_page(delay)) { forceFlush = 1; forceBreak = 1; }
}

static __attribute__((noinline)) void zap_nonpresent_pte(u64 *p, u64 e, u32 f) {
  u32 type = swp_type(e);
  if (type < MAX_SWAPFILES) { if (!should_zap_cows(f)) { note_skipped(); return; } rssSwap--; }
  else if (type == SWP_HWPOISON) { if (!should_zap_cows(f)) { note_skipped(); return; } }
  else if (type <= SWP_DEVICE_EXCLUSIVE) { if (!should_zap_cows(f)) { note_skipped(); return; } rssAnon--; }
  else {
    u64 m = swp_offset(e);
    if (m & MARKER_GUARD) { if (!(f & ZAP_DROP_MARKERS)) { note_skipped(); return; } }
    else if (m & MARKER_POISONED) { if (!should_zap_cows(f)) { note_skipped(); return; } }
    else if (m & MARKER_UFFD_WP) { if (!(f & VMA_ANON) && !(f & ZAP_DROP_MARKERS)) { note_skipped(); return; } }
  }
  *p = 0;
  stats[EntriesCleared]++;
  if (install_uffd_wp(p, f)) note_skipped();
}

// 16-byte vectors at 8-byte alignment: table entries, like WASM's v128.load, need not be
// 16-byte aligned (a block may start at any entry).
typedef u64 v2u64 __attribute__((vector_size(16), aligned(8)));
static inline int lean_block_of_8(const u64 *p) {
  const v2u64 mask = {P_PRESENT | P_SPECIAL | P_SIM_FILE, P_PRESENT | P_SPECIAL | P_SIM_FILE};
  const v2u64 want = {P_PRESENT, P_PRESENT};
  const v2u64 *v = (const v2u64 *)p;
  v2u64 ok = ((v[0] & mask) == want) & ((v[1] & mask) == want) & ((v[2] & mask) == want) & ((v[3] & mask) == want);
  return ok[0] && ok[1];
}

static void zap_pte_range(u64 *pmdp, u64 addr, u64 end, u32 f) {
  u64 *table = entry_table(*pmdp);
  u64 spanBase = addr & PMD_MASK;
  int canReclaim = (f & ZAP_RECLAIM_PT) && end - addr >= PMD_SIZE;
  int directReclaim = 1;
  u64 pmdval = 0;
  for (;;) {
    forceFlush = forceBreak = skippedAny = 0;
    stats[PtlLocks]++;
    u64 *first = table + idx(addr, PAGE_SHIFT);
    u64 *last = first + ((end - addr) >> PAGE_SHIFT);
    u64 *p = first;
    // assembly/zap.ts's SIMD blocks: runs of present, normal, anonymous pages eight at a time
    // (128-bit compares), as many blocks as the active batch has room for (tlb_gather_room).
    int lean = should_zap_cows(f) && (f & VMA_ANON);
    u32 scalarLeft = 0;
    while (p < last) {
      u32 room = activeMax - 2 - activeNr;
      if (lean && !forceBreak && scalarLeft == 0 && room >= 8 && last - p >= 8) {
        u64 blocks = (u64)(last - p) >> 3;
        if (blocks > room >> 3) blocks = room >> 3;
        u64 *stop = p + (blocks << 3), *q = p;
        const v2u64 zero = {0, 0};
        while (q < stop && lean_block_of_8(q)) {
          v2u64 *v = (v2u64 *)q;
          v[0] = zero; v[1] = zero; v[2] = zero; v[3] = zero;
          q += 8;
        }
        if (q != p) {
          u64 n = (u64)(q - p);
          stats[EntriesCleared] += n;
          stats[PagesGathered] += n;
          rssAnon -= (int64_t)n;
          activeNr += (u32)n;
          rangeDirty = 1;
          p = q;
        }
        if (q < stop) scalarLeft = 8;
        continue;
      }
      if (scalarLeft) scalarLeft--;
      u64 e = *p++;
      if (e == 0) continue;
      if (e & P_PRESENT) zap_present_pte(p - 1, e, f);
      else zap_nonpresent_pte(p - 1, e, f);
      if (forceBreak) break;
    }
    stats[EntriesReadZap] += (u64)(p - first);
    if (skippedAny) canReclaim = 0;
    addr = spanBase + ((u64)(p - table) << PAGE_SHIFT);
    if (forceBreak) { directReclaim = 0; stats[ForceBreak]++; }
    // Fast path: the PMD trylock while the PTE lock is held.
    if (canReclaim && directReclaim && addr == end) {
      pmdval = try_get_and_clear_pmd(pmdp);
      directReclaim = pmdval != 0;
    }
    stats[RssFile] += (u64)rssFile; stats[RssAnon] += (u64)rssAnon; stats[RssSwapEnts] += (u64)rssSwap;
    rssFile = rssAnon = rssSwap = 0;
    if (forceFlush) { stats[ForceFlush]++; tlb_flush_mmu_tlbonly(); tlb_flush_mmu(); }
    if (addr == end) break;
    stats[ZapRetries]++;
  }
  if (canReclaim) {
    if (directReclaim) { free_pte(pmdval); stats[ReclaimFast]++; }
    else try_to_free_pte(pmdp);
  }
}

static void unmap_page_range(u64 addr, u64 end, u32 f) {
  while (addr != end) {
    u64 n1 = span_end(addr, end, PGDIR_SIZE);
    u64 g = *pgd_offset(addr);
    if (g) {
      u64 *pud = entry_table(g);
      for (u64 b = addr; b != n1;) {
        u64 n2 = span_end(b, n1, PUD_SIZE);
        u64 u = pud[idx(b, PUD_SHIFT)];
        if (u) {
          u64 *pmd = entry_table(u);
          for (u64 c = b; c != n2;) {
            u64 n3 = span_end(c, n2, PMD_SIZE);
            u64 *pmdp = pmd + idx(c, PMD_SHIFT);
            if (*pmdp) zap_pte_range(pmdp, c, n3, f);
            c = n3;
          }
        }
        b = n2;
      }
    }
    addr = n1;
  }
}

// ---- scan (pte_table_all_none) ----
static __attribute__((noinline)) int pte_table_all_none(const u64 *t) {
  u64 acc = 0;
  for (u32 i = 0; i < PTRS; i++) acc |= t[i];
  return acc == 0;
}

// The same check at WebAssembly SIMD's width, in assembly/pt_reclaim.ts's shape: 128-byte
// steps into two accumulators of 16-byte vectors (gcc keeps vector_size(16) at 128 bits).
static __attribute__((noinline)) int pte_table_all_none_128(const u64 *t) {
  v2u64 a = {0, 0}, b = {0, 0};
  for (u32 i = 0; i < PTRS; i += 16) {
    const v2u64 *p = (const v2u64 *)(t + i);
    a |= (p[0] | p[1]) | (p[2] | p[3]);
    b |= (p[4] | p[5]) | (p[6] | p[7]);
  }
  v2u64 c = a | b;
  return (c[0] | c[1]) == 0;
}

// ---- the kernels (assembly/kernels.ts) ----
#define KERNEL_BASE (1ull << 44)
#define ZAP_FLAGS (VMA_ANON | ZAP_EVEN_COWS)
#define RECLAIM_FLAGS (VMA_ANON | ZAP_RECLAIM_PT)
static u32 nTables;
static u32 walkRound; // kernel_walk's cache-line step
static u64 **tables;
static inline u64 table_va(u32 i) { return KERNEL_BASE + (u64)i * PMD_SIZE; }

static void kernel_setup(u32 n) {
  memset(stats, 0, sizeof stats);
  size_t nframes = (size_t)n + n / 512 + 16;
  if (nframes > capFrames) {
    free(frames);
    free(frameState);
    free(tables);
    frames = aligned_alloc(4096, nframes * 4096);
    frameState = calloc(nframes, 1);
    tables = calloc(n, sizeof *tables);
    if (!frames || !frameState || !tables) { fprintf(stderr, "ptreclaim-kernels: out of memory\n"); exit(3); }
    capFrames = (u32)nframes;
  }
  bumpTop = 0;
  freeHead = NIL;
  freeCount = 0;
  pgdFrame = arena_alloc(1);
  stats[NextPfn] = FIRST_ANON_PFN;
  if (fault_range(table_va(0), table_va(n), 1)) { fprintf(stderr, "ptreclaim-kernels: setup failed\n"); exit(3); }
  for (u32 i = 0; i < n; i++) tables[i] = walk_pte(table_va(i));
  nTables = n;
  walkRound = 0;
}
static void kernel_fill_present(void) {
  for (u32 i = 0; i < nTables; i++) {
    u64 pfn0 = FIRST_ANON_PFN + (u64)i * PTRS;
    for (u32 j = 0; j < PTRS; j++) tables[i][j] = pfn_pte(pfn0 + j, ANON_FLAGS);
  }
}
static void kernel_fill_none(void) {
  for (u32 i = 0; i < nTables; i++) memset(tables[i], 0, 4096);
}
static u32 kernel_scan(void) {
  u32 empty = 0;
  for (u32 i = 0; i < nTables; i++) empty += pte_table_all_none(tables[i]);
  return empty;
}
static u32 kernel_scan_128(void) {
  u32 empty = 0;
  for (u32 i = 0; i < nTables; i++) empty += pte_table_all_none_128(tables[i]);
  return empty;
}
static void kernel_zap(void) {
  for (u32 i = 0; i < nTables; i++) {
    tlb_gather_mmu();
    unmap_page_range(table_va(i), table_va(i + 1), ZAP_FLAGS);
    tlb_finish_mmu();
  }
}
static int kernel_fault_fill(void) {
  for (u32 i = 0; i < nTables; i++) {
    int s = fault_range(table_va(i), table_va(i + 1), 1);
    if (s) return s;
  }
  return 0;
}
// reclaim-fast / reclaim-slow: the zap with PT_RECLAIM, every table freed by one path.
static u32 kernel_reclaim(int slow) {
  u64 before = stats[ReclaimFast] + stats[ReclaimSlow];
  pathSlow = slow;
  for (u32 i = 0; i < nTables; i++) {
    tlb_gather_mmu();
    unmap_page_range(table_va(i), table_va(i + 1), RECLAIM_FLAGS);
    tlb_finish_mmu();
  }
  pathSlow = 0;
  return (u32)(stats[ReclaimFast] + stats[ReclaimSlow] - before);
}
static int kernel_fault_fill(void);
static void kernel_refill_reclaimed(void) {
  if (kernel_fault_fill()) { fprintf(stderr, "ptreclaim-kernels: refill after reclaim failed\n"); exit(3); }
  for (u32 i = 0; i < nTables; i++) tables[i] = walk_pte(table_va(i));
  kernel_fill_present();
}
static u64 kernel_walk(void) {
  u64 sum = 0;
  u32 shift = walkRound++ << 3; // one cache line on per call (assembly/kernels.ts)
  for (u32 i = 0; i < nTables; i++) {
    u64 *p = walk_pte(table_va(i) + ((u64)((i * 37 + shift) & (PTRS - 1)) << PAGE_SHIFT));
    if (p) sum += *p;
  }
  return sum;
}
static u64 kernel_checksum(void) {
  u64 sum = 0;
  for (u32 i = 0; i < nTables; i++)
    for (u32 j = 0; j < PTRS; j++) sum += tables[i][j] * (u64)(j + 1);
  return sum;
}

// ---- measuring ----
static volatile u64 sink;
static inline u64 now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (u64)ts.tv_sec * 1000000000ull + (u64)ts.tv_nsec;
}
enum { K_SCAN, K_ZAP, K_FAULT, K_WALK, K_RECLAIM_FAST, K_RECLAIM_SLOW, K_SCAN_128, K_COUNT };
static const char *KERNEL_NAMES[K_COUNT] = {"scan", "zap", "fault-fill", "walk", "reclaim-fast", "reclaim-slow", "scan-128"};

static int kernel_by_name(const char *name) {
  for (int k = 0; k < K_COUNT; k++)
    if (!strcmp(name, KERNEL_NAMES[k])) return k;
  return -1;
}
static void prepare(int k) {
  if (k == K_SCAN || k == K_SCAN_128 || k == K_FAULT) kernel_fill_none();
  else if (k == K_RECLAIM_FAST || k == K_RECLAIM_SLOW) kernel_refill_reclaimed();
  else kernel_fill_present();
}
static void prepare_each(int k) {
  if (k == K_ZAP) kernel_fill_present();
  else if (k == K_FAULT) kernel_fill_none();
  else if (k == K_RECLAIM_FAST || k == K_RECLAIM_SLOW) kernel_refill_reclaimed();
}
static void run_kernel(int k) {
  switch (k) {
    case K_SCAN: sink += kernel_scan(); break;
    case K_SCAN_128: sink += kernel_scan_128(); break;
    case K_ZAP: kernel_zap(); break;
    case K_FAULT: sink += (u64)kernel_fault_fill(); break;
    case K_RECLAIM_FAST: sink += kernel_reclaim(0); break;
    case K_RECLAIM_SLOW: sink += kernel_reclaim(1); break;
    default: sink += kernel_walk(); break;
  }
  __asm__ volatile("" ::: "memory");
}

static int cmp_u64(const void *a, const void *b) {
  u64 x = *(const u64 *)a, y = *(const u64 *)b;
  return x < y ? -1 : x > y;
}
#define MAX_CALL_TIMES 65536
static u64 callTimes[MAX_CALL_TIMES];

/**
 * One sample: enough timed calls to reach minNs of kernel time; ns per table. The reclaim
 * kernels report the median of their calls' times (the first MAX_CALL_TIMES), as
 * src/kernels/runner.ts does: one call is ~10 us, one preemption would outweigh a sample.
 */
static double sample(int k, u64 minNs) {
  u64 spent = 0, calls = 0;
  int medianOfCalls = k == K_RECLAIM_FAST || k == K_RECLAIM_SLOW;
  int consumes = k == K_ZAP || k == K_FAULT || k == K_RECLAIM_FAST || k == K_RECLAIM_SLOW;
  if (!consumes) {
    u64 t0 = now_ns();
    do { run_kernel(k); calls++; spent = now_ns() - t0; } while (spent < minNs);
  } else {
    do {
      prepare_each(k);
      u64 t0 = now_ns();
      run_kernel(k);
      u64 dt = now_ns() - t0;
      if (medianOfCalls && calls < MAX_CALL_TIMES) callTimes[calls] = dt;
      spent += dt;
      calls++;
    } while (spent < minNs);
  }
  if (medianOfCalls) {
    u64 n = calls < MAX_CALL_TIMES ? calls : MAX_CALL_TIMES;
    qsort(callTimes, n, sizeof callTimes[0], cmp_u64);
    double m = n % 2 ? (double)callTimes[n / 2] : ((double)callTimes[n / 2 - 1] + (double)callTimes[n / 2]) / 2;
    return m / (double)nTables;
  }
  return (double)spent / (double)(calls * nTables);
}

/** The thread `pin` moved, and its affinity before, for `unpin`. */
static pid_t pinnedPid;
static cpu_set_t pinnedMask;

/** The line protocol of --serve (see the top of this file). */
static int serve(void) {
  char line[256], name[64];
  unsigned long long a;
  unsigned cpu;
  setvbuf(stdout, NULL, _IOLBF, 0);
  while (fgets(line, sizeof line, stdin)) {
    int k;
    if (sscanf(line, "setup %llu", &a) == 1) {
      if (a == 0 || a > 262144) { printf("error setup: N must be 1..262144, not %llu\n", a); continue; }
      kernel_setup((u32)a);
      printf("ok\n");
    } else if (sscanf(line, "pin %u %llu", &cpu, &a) == 2) {
      // This program and the runner's main thread (its tid is the pid) on one CPU: samples
      // that alternate between the two then share that CPU's weather.
      cpu_set_t set;
      CPU_ZERO(&set);
      if (cpu >= CPU_SETSIZE) { printf("error pin: CPU %u out of range\n", cpu); continue; }
      CPU_SET(cpu, &set);
      if (!pinnedPid && sched_getaffinity((pid_t)a, sizeof pinnedMask, &pinnedMask)) {
        printf("error pin: cannot read the affinity of thread %llu: %s\n", a, strerror(errno));
        continue;
      }
      pinnedPid = (pid_t)a;
      if (sched_setaffinity(0, sizeof set, &set) || sched_setaffinity((pid_t)a, sizeof set, &set)) {
        printf("error pin: cannot run on CPU %u: %s\n", cpu, strerror(errno));
        continue;
      }
      printf("ok\n");
    } else if (!strcmp(line, "unpin\n")) {
      if (pinnedPid && sched_setaffinity(pinnedPid, sizeof pinnedMask, &pinnedMask)) {
        printf("error unpin: cannot restore the affinity of thread %d: %s\n", (int)pinnedPid, strerror(errno));
        continue;
      }
      pinnedPid = 0;
      printf("ok\n");
    } else if (sscanf(line, "prepare %63s", name) == 1) {
      if ((k = kernel_by_name(name)) < 0 || !nTables) { printf("error prepare: unknown kernel \"%s\" or no setup yet\n", name); continue; }
      prepare(k);
      printf("ok\n");
    } else if (sscanf(line, "sample %63s %llu", name, &a) == 2) {
      if ((k = kernel_by_name(name)) < 0 || !nTables) { printf("error sample: unknown kernel \"%s\" or no setup yet\n", name); continue; }
      if (a == 0 || a > 60000000000ull) { printf("error sample: NS must be 1..6e10, not %llu\n", a); continue; }
      printf("%.3f\n", sample(k, a));
    } else {
      line[strcspn(line, "\n")] = 0;
      printf("error unknown command \"%s\": expected pin CPU PID, unpin, setup N, prepare KERNEL or sample KERNEL NS\n", line);
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && !strcmp(argv[1], "--serve")) return serve();
  if (argc == 3 && !strcmp(argv[1], "--check")) {
    u32 n = (u32)strtoul(argv[2], 0, 10);
    if (n == 0 || n > 32768) { fprintf(stderr, "ptreclaim-kernels: --check N needs N in 1..32768\n"); return 2; }
    kernel_setup(n);
    // The same sequence as src/kernels/verify.ts runs on every implementation.
    u64 afterSetup = kernel_checksum();
    u64 walk = kernel_walk();
    u64 walkNext = kernel_walk();
    kernel_zap();
    u64 afterZap = kernel_checksum();
    u32 emptyAfterZap = kernel_scan();
    u32 emptyAfterZap128 = kernel_scan_128();
    kernel_fault_fill();
    u64 afterFault = kernel_checksum();
    u32 emptyAfterFault = kernel_scan();
    u32 emptyAfterFault128 = kernel_scan_128();
    kernel_fill_present();
    u32 freedFast = kernel_reclaim(0);
    kernel_refill_reclaimed();
    u32 freedSlow = kernel_reclaim(1);
    kernel_refill_reclaimed();
    u64 afterRefill = kernel_checksum();
    if (emptyAfterZap128 != emptyAfterZap || emptyAfterFault128 != emptyAfterFault) {
      fprintf(stderr, "ptreclaim-kernels: scan-128 disagrees with scan\n");
      return 3;
    }
    printf("{\"afterSetup\":\"%llu\",\"walk\":\"%llu\",\"walkNext\":\"%llu\",\"afterZap\":\"%llu\",\"emptyAfterZap\":%u,"
           "\"afterFault\":\"%llu\",\"emptyAfterFault\":%u,\"freedFast\":%u,\"freedSlow\":%u,\"afterRefill\":\"%llu\","
           "\"entriesCleared\":%llu,\"pagesGathered\":%llu,"
           "\"tlbFlushes\":%llu,\"forceBreak\":%llu,\"faultAnon\":%llu,\"reclaimFast\":%llu,\"reclaimSlow\":%llu,"
           "\"entriesReadScan\":%llu,\"pmdLocks\":%llu,\"nrPte\":%llu}\n",
           (unsigned long long)afterSetup, (unsigned long long)walk, (unsigned long long)walkNext, (unsigned long long)afterZap, emptyAfterZap,
           (unsigned long long)afterFault, emptyAfterFault, freedFast, freedSlow, (unsigned long long)afterRefill,
           (unsigned long long)stats[EntriesCleared],
           (unsigned long long)stats[PagesGathered], (unsigned long long)stats[TlbFlushes],
           (unsigned long long)stats[ForceBreak], (unsigned long long)stats[FaultAnon],
           (unsigned long long)stats[ReclaimFast], (unsigned long long)stats[ReclaimSlow],
           (unsigned long long)stats[EntriesReadScan], (unsigned long long)stats[PmdLocks], (unsigned long long)stats[NrPte]);
    return 0;
  }
  fprintf(stderr, "usage: ptreclaim-kernels --serve | --check N\n");
  return 2;
}
