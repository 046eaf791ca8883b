/**
 * Entry layout and table geometry of the reference core (assembly/pgtable.ts), over
 * tables stored as Uint32Array of 1024 words: entry i is (lo = words[2i], hi = words[2i+1]).
 * Entry bits are split into their low and high 32-bit words.
 */
import { EntryKind } from '../types.js';

// The sizes of src/core/types.ts, as this module's own constants (see the note in zap.ts
// on why the hot modules keep local copies).
export const PAGE_SIZE = 4096;
export const PMD_SIZE = 2 ** 21;
export const PUD_SIZE = 2 ** 30;
export const PGDIR_SIZE = 2 ** 39;
export const PTRS_PER_TABLE = 512;

export const _PAGE_PRESENT = 1 << 0;
export const _PAGE_RW = 1 << 1;
export const _PAGE_USER = 1 << 2;
export const _PAGE_ACCESSED = 1 << 5;
export const _PAGE_DIRTY = 1 << 6;
export const _PAGE_SPECIAL = 1 << 9;
/** Bit 52 (high word bit 20): the simulator's file-backed page mark. */
export const HI_SIM_FILE = 1 << 20;
/** Bit 53 (high word bit 21): a subpage of a THP folio still large (mapped by PTEs). */
export const HI_SIM_LARGE = 1 << 21;
/** Bit 54 (high word bit 22): that subpage was never written. */
export const HI_SIM_ZEROFILL = 1 << 22;
/** Bit 55 (high word bit 23): with HI_SIM_FILE, the page is shmem (MM_SHMEMPAGES). */
export const HI_SIM_SHMEM = 1 << 23;
/** Bit 63 (high word bit 31). */
export const HI_NX = 1 << 31;
export const TABLE_LO = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY;
export const ANON_LO = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY;
export const ZERO_LO = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_SPECIAL;
export const ZERO_PFN = 1;
/** The frame the first anonymous page of a fresh mm gets (NextPfn after reset). */
export const FIRST_ANON_PFN = 0x100;

// Swap types (top 5 bits) and PTE markers.
export const MAX_SWAPFILES = 24;
export const SWP_HWPOISON = 24;
export const SWP_MIGRATION_WRITE = 27;
export const SWP_DEVICE_WRITE = 28;
export const SWP_DEVICE_EXCLUSIVE = 30;
export const SWP_PTE_MARKER = 31;
export const PTE_MARKER_UFFD_WP = 1;
export const PTE_MARKER_POISONED = 2;
export const PTE_MARKER_GUARD = 4;

const TWO32 = 2 ** 32;

export const swp_type = (hi: number): number => hi >>> 27;
/** The 50-bit offset of a swap-format entry (stored inverted in bits 9..58). */
export function swp_offset(lo: number, hi: number): number {
  const low = ~((lo >>> 9) | (hi << 23)) >>> 0;
  const high = ~(hi >>> 9) & 0x3ffff;
  return high * TWO32 + low;
}
export function swp_entry(type: number, offset: number): [number, number] {
  const inv = 2 ** 50 - 1 - offset; // ~offset within 50 bits
  const invLow = inv % TWO32;
  const invHigh = Math.floor(inv / TWO32);
  return [(invLow << 9) >>> 0, ((invLow >>> 23) | (invHigh << 9) | (type << 27)) >>> 0];
}
/** pfn_pte: the entry mapping frame pfn with flags (lo, hi), as its two words. */
export function pfn_pte(pfn: number, lo: number, hi: number): [number, number] {
  return [(((pfn % 0x100000) << 12) | lo) >>> 0, (Math.floor(pfn / 0x100000) | hi) >>> 0];
}
export const pte_pfn = (lo: number, hi: number): number => (hi & 0xfffff) * 0x100000 + (lo >>> 12);
export const pte_none = (lo: number, hi: number): boolean => lo === 0 && hi === 0;
export const pte_present = (lo: number): boolean => (lo & _PAGE_PRESENT) !== 0;
export const pte_special = (lo: number): boolean => (lo & _PAGE_SPECIAL) !== 0;
/** A swap-format entry that is not a genuine swap entry (migration, device, marker, poison). */
export const non_swap_entry = (hi: number): boolean => swp_type(hi) >= MAX_SWAPFILES;

/** Entry i of table t := (lo, hi). */
export function set_pte(t: Uint32Array, i: number, [lo, hi]: [number, number]): void {
  t[2 * i] = lo;
  t[2 * i + 1] = hi;
}
/** pte_clear / pmd_clear on the reference's tables: the entry becomes none. */
export function pte_clear(t: Uint32Array, i: number): void {
  t[2 * i] = 0;
  t[2 * i + 1] = 0;
}
export const pte_to_bigint = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);

/**
 * Index of addr's entry in a table whose entries each span `size` bytes: floor(addr / size)
 * mod 512. `& 511` truncates the quotient and wraps it modulo 2^32 (ToInt32), which leaves its
 * low 9 bits intact (addr is never negative), so this stays in integer arithmetic.
 */
export const index_in = (addr: number, size: number): number => (addr / size) & 511;
export const pte_index = (addr: number): number => (addr / PAGE_SIZE) & 511;
export const pmd_index = (addr: number): number => (addr / PMD_SIZE) & 511;
export const pud_index = (addr: number): number => (addr / PUD_SIZE) & 511;
export const pgd_index = (addr: number): number => (addr / PGDIR_SIZE) & 511;
/** End of the aligned `size` block containing addr, clamped to end (pXd_addr_end). */
export const span_end = (addr: number, end: number, size: number): number => Math.min((Math.floor(addr / size) + 1) * size, end);

/** The entry `install_entry` writes for one kind (assembly/pgtable.ts make_entry). */
export function make_entry(kind: EntryKind, pfn: number): [number, number] {
  switch (kind) {
    case EntryKind.Page:
      return pfn_pte(pfn, ANON_LO, HI_NX);
    case EntryKind.FilePage:
      return pfn_pte(pfn, ANON_LO, HI_NX | HI_SIM_FILE);
    case EntryKind.ShmemPage:
      return pfn_pte(pfn, ANON_LO, HI_NX | HI_SIM_FILE | HI_SIM_SHMEM);
    case EntryKind.ZeroPage:
      return pfn_pte(ZERO_PFN, ZERO_LO, HI_NX);
    case EntryKind.Swap:
      return swp_entry(0, pfn);
    case EntryKind.Migration:
      return swp_entry(SWP_MIGRATION_WRITE, pfn);
    case EntryKind.DevicePrivate:
      return swp_entry(SWP_DEVICE_WRITE, pfn);
    case EntryKind.DeviceExclusive:
      return swp_entry(SWP_DEVICE_EXCLUSIVE, pfn);
    case EntryKind.UffdWpMarker:
      return swp_entry(SWP_PTE_MARKER, PTE_MARKER_UFFD_WP);
    case EntryKind.GuardMarker:
      return swp_entry(SWP_PTE_MARKER, PTE_MARKER_GUARD);
    case EntryKind.Hwpoison:
      return swp_entry(SWP_HWPOISON, pfn);
    case EntryKind.PoisonedMarker:
      return swp_entry(SWP_PTE_MARKER, PTE_MARKER_POISONED);
    default:
      return [0, 0];
  }
}
