// Page-table geometry and entry encoding: x86-64 with 4-level paging
// (arch/x86/include/asm/pgtable_types.h, pgtable_64_types.h, include/linux/swapops.h).
//
// A table is one 4 KiB page of 512 u64 entries. Levels and what one entry of each covers:
//
//   PGD entry -> PUD table   512 GiB   (PGDIR_SHIFT 39; the P4D level is folded at run time)
//   PUD entry -> PMD table     1 GiB   (PUD_SHIFT 30)
//   PMD entry -> PTE table     2 MiB   (PMD_SHIFT 21)
//   PTE entry -> 4 KiB page             (PAGE_SHIFT 12)
//
// Entry layout (present entries, as the MMU reads them):
//
//   63  62..56  55        54       53     52        51 ........ 12  11 10  9   8  7   6  5  4 3  2  1  0
//   NX  -       SIM_SHMEM SIM_ZERO SIM_LG SIM_FILE  page frame number  -  -   SPL -  PSE D  A  - -  US RW P
//
// Non-present, non-zero entries use the kernel's swap-entry format: a 5-bit type in bits
// 63..59 and a 50-bit offset stored inverted in bits 58..9 (the L1TF-safe layout).
// Types at the top of the type space are the special entries the zap loop tells apart.

export const PAGE_SHIFT: u64 = 12;
export const PAGE_SIZE: u64 = 1 << PAGE_SHIFT;
export const PAGE_MASK: u64 = ~(PAGE_SIZE - 1);

export const TABLE_SHIFT: u64 = 9;
export const PTRS_PER_TABLE: u32 = 1 << <u32>TABLE_SHIFT; // 512
export const TABLE_INDEX_MASK: u64 = <u64>PTRS_PER_TABLE - 1;
export const TABLE_BYTES: u32 = PTRS_PER_TABLE * 8; // 4096

export const PMD_SHIFT: u64 = PAGE_SHIFT + TABLE_SHIFT; // 21
export const PUD_SHIFT: u64 = PMD_SHIFT + TABLE_SHIFT; // 30
export const PGDIR_SHIFT: u64 = PUD_SHIFT + TABLE_SHIFT; // 39
export const PMD_SIZE: u64 = 1 << PMD_SHIFT;
export const PUD_SIZE: u64 = 1 << PUD_SHIFT;
export const PGDIR_SIZE: u64 = 1 << PGDIR_SHIFT;
export const PMD_MASK: u64 = ~(PMD_SIZE - 1);
export const PUD_MASK: u64 = ~(PUD_SIZE - 1);
export const PGDIR_MASK: u64 = ~(PGDIR_SIZE - 1);

/** One past the highest user address with 4-level paging (TASK_SIZE_MAX + PAGE_SIZE). */
export const USER_VA_END: u64 = <u64>1 << 47;

// Hardware bits.
export const _PAGE_PRESENT: u64 = 1 << 0;
export const _PAGE_RW: u64 = 1 << 1;
export const _PAGE_USER: u64 = 1 << 2;
export const _PAGE_ACCESSED: u64 = 1 << 5;
export const _PAGE_DIRTY: u64 = 1 << 6;
export const _PAGE_PSE: u64 = 1 << 7;
/** Software bit 1: pte_special(), e.g. the shared zero page. */
export const _PAGE_SPECIAL: u64 = 1 << 9;
/** Simulator-owned bit (ignored by the MMU): the mapped folio is file-backed, not anonymous. */
export const _PAGE_SIM_FILE: u64 = <u64>1 << 52;
/** Simulator-owned: the page is a subpage of a THP folio still large (mapped by PTEs after a PMD split). */
export const _PAGE_SIM_LARGE: u64 = <u64>1 << 53;
/** Simulator-owned: that subpage was never written (all zeros): a folio split maps the zero page instead. */
export const _PAGE_SIM_ZEROFILL: u64 = <u64>1 << 54;
/** Simulator-owned bit, with _PAGE_SIM_FILE: the folio is shmem (swap-backed: MM_SHMEMPAGES). */
export const _PAGE_SIM_SHMEM: u64 = <u64>1 << 55;
export const _PAGE_NX: u64 = <u64>1 << 63;
export const PTE_PFN_MASK: u64 = ((<u64>1 << 52) - 1) & PAGE_MASK;

/** Flags of an entry that points to a lower-level table (_PAGE_TABLE). */
export const _PAGE_TABLE: u64 = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY;
/** A private anonymous page after a write fault. */
export const ANON_PTE_FLAGS: u64 =
  _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_NX;
/** The shared zero page after a read fault: read-only and special. */
export const ZERO_PTE_FLAGS: u64 = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_SPECIAL | _PAGE_NX;
/** Page frame number of the shared zero page. */
export const ZERO_PFN: u64 = 1;
/** First page frame number handed to anonymous pages. */
export const FIRST_ANON_PFN: u64 = 0x100;

// Swap-entry format of non-present entries.
export const SWP_TYPE_BITS: u64 = 5;
export const SWP_TYPE_SHIFT: u64 = 64 - SWP_TYPE_BITS; // 59
export const SWP_OFFSET_FIRST_BIT: u64 = 9;
export const SWP_OFFSET_BITS: u64 = SWP_TYPE_SHIFT - SWP_OFFSET_FIRST_BIT; // 50
export const SWP_OFFSET_MASK: u64 = (<u64>1 << SWP_OFFSET_BITS) - 1;

// Special swap types, counted down from the top of the 32 types (include/linux/swap.h).
export const SWP_PTE_MARKER: u32 = 31;
export const SWP_DEVICE_EXCLUSIVE: u32 = 30;
export const SWP_DEVICE_READ: u32 = 29;
export const SWP_DEVICE_WRITE: u32 = 28;
export const SWP_MIGRATION_WRITE: u32 = 27;
export const SWP_MIGRATION_READ_EXCLUSIVE: u32 = 26;
export const SWP_MIGRATION_READ: u32 = 25;
export const SWP_HWPOISON: u32 = 24;
/** Types below this are genuine swap devices (MAX_SWAPFILES). */
export const MAX_SWAPFILES: u32 = 24;

// PTE marker bits, carried in the offset of an SWP_PTE_MARKER entry (include/linux/swapops.h).
export const PTE_MARKER_UFFD_WP: u64 = 1 << 0;
export const PTE_MARKER_POISONED: u64 = 1 << 1;
export const PTE_MARKER_GUARD: u64 = 1 << 2;

/** What an entry is, as the zap loop tells kinds apart: shared with the driver (schema/vocab.js). */
import { EntryKind } from "./generated/vocab";
export { EntryKind };

@inline export function pte_none(e: u64): bool {
  return e == 0;
}
@inline export function pte_present(e: u64): bool {
  return (e & _PAGE_PRESENT) != 0;
}
@inline export function pte_pfn(e: u64): u64 {
  return (e & PTE_PFN_MASK) >> PAGE_SHIFT;
}
@inline export function pte_special(e: u64): bool {
  return (e & _PAGE_SPECIAL) != 0;
}
@inline export function pfn_pte(pfn: u64, flags: u64): u64 {
  return (pfn << PAGE_SHIFT) | flags;
}

@inline export function swp_entry(type: u32, offset: u64): u64 {
  return (<u64>type << SWP_TYPE_SHIFT) | ((~offset & SWP_OFFSET_MASK) << SWP_OFFSET_FIRST_BIT);
}
@inline export function swp_type(e: u64): u32 {
  return <u32>(e >> SWP_TYPE_SHIFT);
}
@inline export function swp_offset(e: u64): u64 {
  return ~(e >> SWP_OFFSET_FIRST_BIT) & SWP_OFFSET_MASK;
}
@inline export function non_swap_entry(e: u64): bool {
  return swp_type(e) >= MAX_SWAPFILES;
}

/** Classify an entry (present or not) into the kinds the zap loop distinguishes. */
export function entry_kind(e: u64): EntryKind {
  if (e == 0) return EntryKind.None;
  if (pte_present(e)) {
    if (pte_special(e)) return EntryKind.ZeroPage;
    if ((e & _PAGE_SIM_FILE) == 0) return EntryKind.Page;
    return (e & _PAGE_SIM_SHMEM) != 0 ? EntryKind.ShmemPage : EntryKind.FilePage;
  }
  const type = swp_type(e);
  if (type < MAX_SWAPFILES) return EntryKind.Swap;
  if (type == SWP_HWPOISON) return EntryKind.Hwpoison;
  if (type <= SWP_MIGRATION_WRITE) return EntryKind.Migration;
  if (type == SWP_DEVICE_EXCLUSIVE) return EntryKind.DeviceExclusive;
  if (type <= SWP_DEVICE_READ) return EntryKind.DevicePrivate;
  const marker = swp_offset(e);
  if ((marker & PTE_MARKER_GUARD) != 0) return EntryKind.GuardMarker;
  if ((marker & PTE_MARKER_POISONED) != 0) return EntryKind.PoisonedMarker;
  return EntryKind.UffdWpMarker;
}

/** Build an entry of a given kind mapping `pfn` (or swap offset); used by tests and workloads. */
export function make_entry(kind: EntryKind, pfn: u64): u64 {
  switch (kind) {
    case EntryKind.Page: return pfn_pte(pfn, ANON_PTE_FLAGS);
    case EntryKind.FilePage: return pfn_pte(pfn, ANON_PTE_FLAGS | _PAGE_SIM_FILE);
    case EntryKind.ShmemPage: return pfn_pte(pfn, ANON_PTE_FLAGS | _PAGE_SIM_FILE | _PAGE_SIM_SHMEM);
    case EntryKind.ZeroPage: return pfn_pte(ZERO_PFN, ZERO_PTE_FLAGS);
    case EntryKind.Swap: return swp_entry(0, pfn);
    case EntryKind.Migration: return swp_entry(SWP_MIGRATION_WRITE, pfn);
    case EntryKind.DevicePrivate: return swp_entry(SWP_DEVICE_WRITE, pfn);
    case EntryKind.DeviceExclusive: return swp_entry(SWP_DEVICE_EXCLUSIVE, pfn);
    case EntryKind.UffdWpMarker: return swp_entry(SWP_PTE_MARKER, PTE_MARKER_UFFD_WP);
    case EntryKind.GuardMarker: return swp_entry(SWP_PTE_MARKER, PTE_MARKER_GUARD);
    case EntryKind.Hwpoison: return swp_entry(SWP_HWPOISON, pfn);
    case EntryKind.PoisonedMarker: return swp_entry(SWP_PTE_MARKER, PTE_MARKER_POISONED);
    default: return 0;
  }
}

@inline export function pte_index(addr: u64): u32 {
  return <u32>((addr >> PAGE_SHIFT) & TABLE_INDEX_MASK);
}
@inline export function pmd_index(addr: u64): u32 {
  return <u32>((addr >> PMD_SHIFT) & TABLE_INDEX_MASK);
}
@inline export function pud_index(addr: u64): u32 {
  return <u32>((addr >> PUD_SHIFT) & TABLE_INDEX_MASK);
}
@inline export function pgd_index(addr: u64): u32 {
  return <u32>((addr >> PGDIR_SHIFT) & TABLE_INDEX_MASK);
}

/** End of the span of one `size`-aligned block containing addr, clamped to end (pmd_addr_end & co). */
@inline export function span_end(addr: u64, end: u64, size: u64): u64 {
  const boundary = (addr + size) & ~(size - 1);
  return boundary - 1 < end - 1 ? boundary : end;
}
