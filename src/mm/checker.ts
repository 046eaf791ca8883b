/**
 * The invariant checker, driver half: wraps each operation, compares what the page tables
 * map with what the RSS counters say, and words the core's own findings
 * (assembly/checker.ts: tables freed non-empty or still hooked, dangling upper entries,
 * break-before-make). Incremental: each operation walks only the PMD spans it covers,
 * which is where any table or page it could change lives.
 */
import { type PageTableCore, type RawStats, type CoreViolation, PMD_SIZE, PAGE_SIZE } from '../core/types.js';

export interface Violation {
  /** Short name of the broken invariant. */
  check: CoreViolation['kind'] | 'rss-mismatch' | 'vmpte-mismatch' | 'not-freed-at-exit';
  addr: number;
  message: string;
}

const hex = (n: number) => `0x${n.toString(16)}`;
const LEVEL_ENTRY: Record<number, string> = { 4: 'PMD entry', 3: 'PUD entry', 2: 'PGD entry' };

/** Word a violation the core recorded. */
export function describeCoreViolation(v: CoreViolation): Violation {
  switch (v.kind) {
    case 'table-freed-not-empty':
      return {
        check: v.kind,
        addr: v.addr,
        message: `page table covering ${hex(v.addr)} freed with ${Math.floor(v.value / 256)} non-none entries`,
      };
    case 'pages-dropped':
      return {
        check: v.kind,
        addr: v.addr,
        message: `${v.value} mapped page(s) dropped without a zap: the PTE table for ${hex(v.addr)} was freed while mapping them (the data is lost; touching them again faults in fresh zero-filled pages)`,
      };
    case 'table-freed-still-hooked':
      return { check: v.kind, addr: v.addr, message: `page table covering ${hex(v.addr)} freed while its upper entry still points to it` };
    case 'dangling-entry':
      return {
        check: v.kind,
        addr: v.addr,
        message: `${LEVEL_ENTRY[v.value] ?? 'entry'} for ${hex(v.addr)} points to a freed or reused table (use-after-free)`,
      };
    case 'break-before-make':
      return {
        check: v.kind,
        addr: v.addr,
        message: `PMD for ${hex(v.addr)} repopulated while a stale TLB translation to its freed table may still be cached (no TLB flush since pmd_clear: break-before-make)`,
      };
  }
}

export interface CheckSnapshot {
  lo: number;
  hi: number;
  pages: { anon: number; file: number; swap: number; shmem: number } | undefined;
  stats: CheckedCounters;
}

/** The counters the checker compares: a few, read one by one (a full snapshot costs more). */
const CHECKED = ['RssAnon', 'RssFile', 'RssSwapEnts', 'RssShmem', 'NrPte', 'NrPmd', 'NrPud', 'ArenaFramesLive'] as const;
type CheckedCounters = Pick<RawStats, (typeof CHECKED)[number]>;

function readChecked(core: PageTableCore): CheckedCounters {
  const out = {} as CheckedCounters;
  for (const name of CHECKED) out[name] = core.stat(name);
  return out;
}

export class Checker {
  constructor(private readonly core: PageTableCore) {
    core.checkEnable(true);
  }

  /** Before an operation on [addr, addr + len): snapshot the PMD spans it covers. */
  begin(addr: number, len: number): CheckSnapshot {
    const stats = readChecked(this.core);
    if (len <= 0) return { lo: 0, hi: 0, pages: undefined, stats };
    const lo = Math.floor(addr / PMD_SIZE) * PMD_SIZE;
    const hi = Math.ceil((addr + len) / PMD_SIZE) * PMD_SIZE;
    return { lo, hi, pages: this.core.checkWalk(lo, hi), stats };
  }

  /** After the operation: every invariant it could have broken. */
  end(snap: CheckSnapshot): Violation[] {
    const stats = readChecked(this.core);
    const out: Violation[] = [];
    if (snap.pages) {
      const after = this.core.checkWalk(snap.lo, snap.hi);
      const pairs: [keyof typeof after, keyof CheckedCounters, string][] = [
        ['anon', 'RssAnon', 'MM_ANONPAGES'],
        ['file', 'RssFile', 'MM_FILEPAGES'],
        ['swap', 'RssSwapEnts', 'MM_SWAPENTS'],
        ['shmem', 'RssShmem', 'MM_SHMEMPAGES'],
      ];
      for (const [k, stat, name] of pairs) {
        const mapped = after[k] - snap.pages[k];
        const counted = stats[stat] - snap.stats[stat];
        if (mapped !== counted) {
          out.push({
            check: 'rss-mismatch',
            addr: snap.lo,
            message: `${name} changed by ${counted} but the pages mapped in [${hex(snap.lo)}, ${hex(snap.hi)}) changed by ${mapped}: ${Math.abs(mapped - counted)} page(s) ${mapped < counted ? 'disappeared without a zap' : 'appeared without a fault'}`,
          });
        }
      }
    }
    for (const v of this.core.takeViolations()) out.push(describeCoreViolation(v));
    out.push(...this.vmPte(stats));
    return out;
  }

  /** VmPTE must equal the tables that are live (frames held minus the PGD). */
  vmPte(stats: CheckedCounters): Violation[] {
    const tables = stats.NrPte + stats.NrPmd + stats.NrPud;
    const frames = stats.ArenaFramesLive - 1;
    if (tables === frames) return [];
    return [
      {
        check: 'vmpte-mismatch',
        addr: 0,
        message: `VmPTE says ${tables * (PAGE_SIZE / 1024)} kB of tables but ${frames} table frames are allocated`,
      },
    ];
  }
}
