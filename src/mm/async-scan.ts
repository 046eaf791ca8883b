/**
 * The driver half of async-scan (June 2024 RFC): the scheduler-tick hook and the task_work
 * that walks VMAs; the page-table half is assembly/async_scan.ts.
 *
 * Like NUMA balancing's task_numa_work: the tick queues the work when at least
 * scanPeriodMs passed since the last pass; it runs on return to user space (after the
 * current operation), takes mmap_read_trylock (always succeeds: nothing else runs), walks
 * VMAs from the offset where the last pass stopped and scans at most scanBytes of VA, then
 * wraps around to the lowest VMA. hugetlb, VM_HUGEPAGE and uffd-wp VMAs are skipped.
 */
import type { PageTableCore } from '../core/types.js';
import { PMD_SIZE } from '../core/types.js';
import { type VmaList, VM_HUGEPAGE, VM_UFFD_WP } from './vma.js';

export interface ScanPass {
  atNs: number;
  from: number;
  to: number;
  freed: number;
}

export class AsyncScanner {
  private lastScanNs = -Infinity;
  private queued = false;
  private offset = 0;
  readonly passes: ScanPass[] = [];

  constructor(
    private readonly core: PageTableCore,
    readonly periodNs: number,
    readonly scanBytes: number,
  ) {}

  /** task_tick hook: queue the task_work when the period has elapsed. */
  tick(nowNs: number): void {
    if (!this.queued && nowNs - this.lastScanNs >= this.periodNs) this.queued = true;
  }

  /** task_work on return to user space: one pass, if queued. Returns tables freed. */
  runIfQueued(vmas: VmaList, nowNs: number): number {
    if (!this.queued) return 0;
    this.queued = false;
    this.lastScanNs = nowNs;
    let budget = this.scanBytes;
    let freed = 0;
    const from = this.offset;
    const list = vmas.all();
    let i = vmas.findIndex(this.offset);
    let first = true;
    for (; i < list.length && budget > 0; i++) {
      const v = list[i]!;
      if (v.flags & (VM_HUGEPAGE | VM_UFFD_WP)) continue;
      const start = Math.max(v.start, this.offset);
      let end = v.end;
      if (end - start > budget) {
        // Stop on a PMD boundary so that no table is cut in half by the budget.
        end = Math.max(start, Math.floor((start + budget) / PMD_SIZE) * PMD_SIZE);
        if (end === start) end = Math.min(v.end, start + budget);
      }
      freed += this.core.scanRange(start, end, first);
      first = false;
      budget -= end - start;
      this.offset = end;
      if (end < v.end) break;
    }
    if (first) this.core.scanRange(0, 0, true); // a pass that found nothing to scan
    if (i >= list.length) this.offset = 0; // wrapped: next pass starts from the lowest VMA
    this.passes.push({ atNs: nowNs, from, to: this.offset, freed });
    return freed;
  }
}
