/**
 * File-backed and shmem mappings in the model (src/mm/filemap.ts, assembly/filemap.ts):
 * the fault-around window and its clamps, readahead marks and large folios, COW, shmem,
 * MADV_REMOVE, VMA merging by file and offset, every strategy with the checker on, and the
 * WebAssembly core held against the TypeScript reference on random traces mixing them.
 * Expected counts follow from the kernel's rules (mm/memory.c do_fault_around, mm/filemap.c,
 * mm/readahead.c) with the readahead and fault-around sizes each test sets.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Mm, type MmOptions } from '../src/mm/mm.js';
import { WasmCore } from '../src/core/wasm.js';
import { ReferenceCore } from '../src/core/reference.js';
import { STAT_NAMES, type PageTableCore, type StatName } from '../src/core/types.js';
import { applyOp, runOps } from '../src/run.js';
import type { Op } from '../src/trace/ops.js';
import { parseTrace } from '../src/trace/parse.js';

const B = 0x300000000000;
const K = 1024;
const M = 1024 * K;
const PAGE = 4096;

/** An mm with 128 KiB readahead (32 pages: read-around of 16 pages either side) and 64 KiB fault-around. */
function mm(opts: MmOptions = {}, core: PageTableCore = new WasmCore()): Mm {
  return new Mm(core, { readaheadBytes: 128 * K, faultAroundBytes: 64 * K, check: core.kind === 'wasm', ...opts });
}

function run(m: Mm, text: string): (string | undefined)[] {
  return parseTrace(`version 2\n${text}`).map((op, i) => applyOp(m, op, i)?.errno);
}

const rss = (m: Mm) => {
  const s = m.stats();
  return { anon: s.RssAnon, file: s.RssFile, shmem: s.RssShmem, tables: s.NrPte + s.NrPmd + s.NrPud };
};

describe('read faults on a file: fault-around and readahead', () => {
  it('maps the 16-page block of the fault, skips the readahead mark, and ramps up into large folios', () => {
    const m = mm();
    const touch = (page: number) => run(m, `touch ${B + page * PAGE} 4K read`);
    run(m, `mmap ${B} 4M file=a`);
    touch(5); // read-around caches pages 0..31, marks page 24; the block 0..15 is mapped
    expect(rss(m)).toEqual({ anon: 0, file: 16, shmem: 0, tables: 3 });
    touch(20); // block 16..31 without the marked page 24
    expect(rss(m).file).toBe(31);
    touch(24); // the mark: async readahead of 32..63 in 4-page folios, retried, 24 mapped
    expect(rss(m).file).toBe(32);
    touch(34); // block 32..47: the marked folio 32..35 first skipped, then mapped on the retry
    expect(rss(m).file).toBe(48);
    touch(70); // block 64..79 is one marked 16-page folio: mapped after the retry
    expect(rss(m).file).toBe(64);
    touch(100); // a 32-page folio 96..127 covers the block: mapped whole
    expect(rss(m).file).toBe(96);
    expect(m.takeViolations()).toEqual([]);
    expect(m.exit().problems).toEqual([]);
  });

  it('clamps the block to the VMA start, the PTE table and EOF', () => {
    const m = mm();
    run(m, `mmap ${B + 0x5000} 0x20000 file=c:0x5000\ntouch ${B + 0x9000} 4K read`);
    expect(rss(m).file).toBe(16); // pages 5..20: the block starts at the VMA
    run(m, `mmap ${B + 0x1f8000} 0x10000 file=d\ntouch ${B + 0x1fc000} 4K read`);
    expect(rss(m).file).toBe(16 + 8); // 504..511: the PTE table ends there
    const e = mm();
    expect(run(e, `mmap ${B} 0x3800 file=t\ntouch ${B} 0x3000 read\ntouch ${B} 0x4000 read`)).toEqual([
      undefined,
      undefined,
      'EFAULT', // the fourth page holds EOF; a range past it would SIGBUS
    ]);
    expect(rss(e).file).toBe(4); // the page holding EOF is mapped around too
  });

  it('maps only what the page cache holds: a read next to the readahead edge maps one page', () => {
    const m = mm();
    run(m, `mmap ${B} 4M file=a\ntouch ${B + 17 * PAGE} 4K read`); // caches 1..32, mark 25
    expect(rss(m).file).toBe(15); // block 16..31 less the mark
    run(m, `touch ${B + 32 * PAGE} 4K read`); // block 32..47: only 32 is cached
    expect(rss(m).file).toBe(16);
  });

  it('without fault-around a read maps only its page', () => {
    const m = mm({ faultAroundBytes: 4096 });
    run(m, `mmap ${B} 1M file=a\ntouch ${B} 8K read`);
    expect(rss(m).file).toBe(2);
  });
});

describe('writes, shmem, MADV_REMOVE', () => {
  it('copies on write in a private mapping and writes through in a shared one', () => {
    const m = mm();
    run(m, `mmap ${B} 2M file=a\ntouch ${B} 4K read\ntouch ${B} 4K write\ntouch ${B + M} 4K write`);
    expect(rss(m)).toMatchObject({ anon: 2, file: 15 }); // one mapped page COWed, one unmapped copied
    run(m, `mmap ${B + 0x40000000} 2M shared file=b\ntouch ${B + 0x40000000} 4K write\ntouch ${B + 0x40010000} 4K read`);
    // A shared write maps one page (no fault-around); the read maps 16..31 less the mark at 24.
    expect(rss(m)).toMatchObject({ anon: 2, file: 15 + 1 + 15 });
    run(m, `touch ${B + 0x40010000} 4K write`); // wp_page_shared: no counter moves
    expect(rss(m)).toMatchObject({ anon: 2, file: 31 });
    expect(m.takeViolations()).toEqual([]);
    expect(m.exit().problems).toEqual([]);
  });

  it('shmem maps one page per fault, and around only pages the object already holds', () => {
    const m = mm();
    run(m, `mmap ${B} 2M shared\ntouch ${B} 4K read\ntouch ${B + PAGE} 12K write\ntouch ${B + 5 * PAGE} 4K read`);
    expect(rss(m)).toMatchObject({ anon: 0, file: 0, shmem: 5 });
    run(m, `madvise ${B} 64K dontneed\ntouch ${B + 9 * PAGE} 4K read`);
    expect(rss(m).shmem).toBe(6); // pages 0-3 and 5 mapped around, 9 allocated
    expect(run(m, `madvise ${B} 4K free`)).toEqual(['EINVAL']);
  });

  it('MADV_REMOVE punches the hole in every mapping, keeps COWed pages and tables, refuses private memory', () => {
    const m = mm();
    run(m, `mmap ${B} 2M file=big\nmmap ${B + 0x40000000} 2M shared file=big\ntouch ${B} 64K read\ntouch ${B + 0x40000000} 64K read`);
    run(m, `touch ${B} 4K write`);
    expect(rss(m)).toMatchObject({ anon: 1, file: 31, tables: 5 });
    expect(run(m, `madvise ${B + 0x40000000} 32K remove`)).toEqual([undefined]);
    expect(rss(m)).toMatchObject({ anon: 1, file: 31 - 7 - 8, tables: 5 });
    // The punched pages left the cache: page 1 reads them back, the retry maps 1..7 around.
    run(m, `touch ${B} 64K read`);
    expect(rss(m)).toMatchObject({ anon: 1, file: 15 + 8 });
    expect(run(m, `madvise ${B} 4K remove\nmmap ${B + 0x80000000} 2M\nmadvise ${B + 0x80000000} 4K remove`)).toEqual([
      'EACCES',
      undefined,
      'EINVAL',
    ]);
    expect(run(m, `mmap ${B + 0xc0000000} 2M shared\nmadvise ${B + 0xc0000000} 4M remove`)).toEqual([undefined, 'ENOMEM']);
    expect(m.takeViolations()).toEqual([]);
    expect(m.exit().problems).toEqual([]);
  });

  it('PAGEOUT unmaps page-cache pages mapped only here and evicts the clean file ones; WILLNEED reads ahead', () => {
    const m = mm();
    run(m, `mmap ${B} 2M file=a\nmmap ${B + 0x40000000} 2M file=a\ntouch ${B} 64K read\ntouch ${B} 4K write`);
    run(m, `touch ${B + 0x40000000} 16K read`); // pages 0..15 once more: 1..3 mapped twice now
    expect(rss(m)).toMatchObject({ anon: 1, file: 15 + 16 });
    const a = m.objects.get('file:a')!;
    expect(a.cachedPages(0, 32)).toBe(32);
    run(m, `madvise ${B} 2M pageout`); // 1..15 are mapped twice: skipped
    expect(rss(m)).toMatchObject({ anon: 1, file: 31 });
    run(m, `madvise ${B + 0x40000000} 2M pageout`); // only page 0 is mapped once (the COW copy is elsewhere)
    expect(rss(m)).toMatchObject({ anon: 1, file: 30 });
    expect(a.cachedPages(0, 32)).toBe(31); // page 0 was clean: evicted
    run(m, `munmap ${B + 0x40000000} 2M\nmadvise ${B} 2M pageout`);
    expect(rss(m)).toMatchObject({ anon: 1, file: 0 });
    expect(a.cachedPages(0, 32)).toBe(16); // 0..15 evicted, 16..31 were never mapped
    expect(m.stats().NrPte).toBe(1); // the table stays
    run(m, `madvise ${B + M} 64K willneed`);
    expect(a.cachedPages(256, 272)).toBe(16);
    expect(rss(m).file).toBe(0);
    const s = mm();
    run(s, `mmap ${B} 2M shared\ntouch ${B} 16K write\nmadvise ${B} 2M pageout`);
    expect(rss(s)).toMatchObject({ shmem: 0, tables: 3 });
    expect(s.objects.get('shmem:1')!.cachedPages()).toBe(4); // no swap: shmem stays in the object
    run(s, `mmap ${B + 0x40000000} 2M\ntouch ${B + 0x40000000} 4K write\nmadvise ${B + 0x40000000} 2M cold`);
    run(s, `madvise ${B + 0x40000000} 2M pageout`); // anonymous, no swap: the written page stays
    expect(rss(s)).toMatchObject({ anon: 1, shmem: 0 });
  });

  it('COLD or a hole cutting a clean large folio splits it, which unmaps it; a dirty one stays whole', () => {
    const m = mm();
    const at = (page: number) => B + page * PAGE;
    // Pages 0..31 read around, 32..63 read ahead in 4-page folios; the block 32..47 less the marked folio.
    run(m, `mmap ${B} 2M shared file=a\ntouch ${at(5)} 4K read\ntouch ${at(24)} 4K read\ntouch ${at(40)} 4K read`);
    expect(rss(m).file).toBe(16 + 16 + 12);
    run(m, `touch ${at(41)} 4K write\nmadvise ${at(41)} 8K cold`); // folio 40..43 is dirty: not split
    expect(rss(m).file).toBe(44);
    run(m, `madvise ${at(37)} 8K cold`); // folio 36..39 is clean: split, all four pages unmapped
    expect(rss(m).file).toBe(40);
    run(m, `touch ${at(36)} 16K read\nmadvise ${at(44)} 4K remove`); // mapped again; the hole splits 44..47
    expect(rss(m).file).toBe(44 - 4);
    expect(m.objects.get('file:a')!.cachedPages(44, 48)).toBe(3);
    expect(m.takeViolations()).toEqual([]);
  });

  it('merges file VMAs of one file with contiguous offsets, never shmem objects or private with shared', () => {
    const m = mm();
    run(m, `mmap ${B} 1M file=f\nmmap ${B + M} 1M file=f:0x100000\nmmap ${B + 2 * M} 1M file=f`);
    expect(m.vmas.size).toBe(2);
    run(m, `mmap ${B + 3 * M} 1M shared file=f:0x300000\nmmap ${B + 4 * M} 1M shared\nmmap ${B + 5 * M} 1M shared`);
    expect(m.vmas.size).toBe(5);
    run(m, `mprotect ${B + 4 * M + 0x40000} 4K r\nmprotect ${B + 4 * M + 0x40000} 4K rw`);
    expect(m.vmas.size).toBe(5); // a split shmem VMA merges back with itself
  });
});

describe('every strategy handles file and shmem pages', () => {
  const trace = `
mmap ${B} 4M file=lib
touch ${B} 2M read
touch ${B + 0x100000} 4K write
mmap ${B + 0x40000000} 4M shared
touch ${B + 0x40000000} 2M write
mmap ${B + 0x80000000} 2M shared file=data
touch ${B + 0x80000000} 1M read
madvise ${B} 2M dontneed
madvise ${B + 0x40000000} 2M dontneed
madvise ${B + 0x80000000} 4K remove
madvise ${B + 0x80000000} 2M dontneed
touch ${B + 0x200000} 64K read
madvise ${B + 0x200000} 64K dontneed
munmap ${B} 4M
`;
  const ops = parseTrace(`version 2\n${trace}`);
  const base = { readaheadBytes: 128 * K, faultAroundBytes: 64 * K, check: true } as const;

  it.each(['none', 'pt-reclaim', 'async-scan', 'refcount'])('%s: checker clean, exit clean', (strategy) => {
    const r = runOps(ops, { ...base, strategy });
    expect(r.check.violations).toEqual([]);
    expect(r.exit.problems).toEqual([]);
    expect(r.errorCount).toBe(0);
  });

  it('pt-reclaim frees the emptied table of a whole 2 MiB span of each kind; none keeps it; refcount frees a partly zapped one', () => {
    const tables = (strategy: string, upto: number) => {
      const m = new Mm(new WasmCore(), { ...base, strategy });
      ops.slice(0, upto).forEach((op, i) => applyOp(m, op, i));
      return m.stats().NrPte;
    };
    // Before the dontneeds: 3 PTE tables (private file with a COWed page, shmem, shared file).
    expect(tables('pt-reclaim', 7)).toBe(3);
    expect(tables('pt-reclaim', 11)).toBe(0); // each whole 2 MiB span freed, whatever backs it
    expect(tables('none', 11)).toBe(3);
    const m = new Mm(new WasmCore(), { ...base, strategy: 'refcount' });
    run(m, `mmap ${B} 2M file=x\ntouch ${B} 4K read\nmadvise ${B} 64K dontneed`);
    expect(m.stats().NrPte).toBe(0); // the count reached zero: refcount frees it, a sub-PMD range
    const p = new Mm(new WasmCore(), { ...base, strategy: 'pt-reclaim' });
    run(p, `mmap ${B} 2M file=x\ntouch ${B} 4K read\nmadvise ${B} 64K dontneed`);
    expect(p.stats().NrPte).toBe(1);
  });

  it('pt-reclaim-v1 drops mapped file pages with its table on a sub-PMD range, and the checker says so', () => {
    const m = new Mm(new WasmCore(), { ...base, strategy: 'pt-reclaim-v1' });
    run(m, `mmap ${B} 2M file=x\ntouch ${B} 4K read\nmadvise ${B + PAGE} 4K dontneed`);
    const v = m.takeViolations();
    expect(v.map((x) => x.check)).toContain('pages-dropped');
  });
});

describe('the WebAssembly core and the TypeScript reference agree on file and shmem mappings', () => {
  const WIN = B + 0x40000000 - 4 * M; // straddles a PMD-table boundary
  const page = fc.integer({ min: 0, max: (8 * M) / PAGE - 1 });
  const len = fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 1024 })).map((n) => n * PAGE);
  const file = fc.constantFrom('a', 'b');
  const step: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 3,
      arbitrary: fc
        .record({
          p: page,
          len,
          kind: fc.constantFrom('anon', 'shared', 'file', 'shared-file'),
          file,
          off: fc.integer({ min: 0, max: 600 }),
        })
        .map(({ p, len, kind, file, off }): Op => ({
          kind: 'mmap',
          addr: WIN + p * PAGE,
          len,
          ...(kind === 'shared' || kind === 'shared-file' ? { shared: true as const } : {}),
          ...(kind === 'file' || kind === 'shared-file' ? { mapFile: file, offset: off * PAGE } : {}),
        })),
    },
    {
      weight: 5,
      arbitrary: fc
        .record({ p: page, len, w: fc.boolean() })
        .map(({ p, len, w }): Op => ({ kind: 'touch', addr: WIN + p * PAGE, len, access: w ? 'write' : 'read' })),
    },
    {
      weight: 3,
      arbitrary: fc
        .record({ p: page, len, advice: fc.constantFrom('dontneed' as const, 'free' as const, 'remove' as const) })
        .map(({ p, len, advice }): Op => ({ kind: 'madvise', addr: WIN + p * PAGE, len, advice })),
    },
    { weight: 1, arbitrary: fc.record({ p: page, len }).map(({ p, len }): Op => ({ kind: 'munmap', addr: WIN + p * PAGE, len })) },
    {
      weight: 1,
      arbitrary: fc
        .record({ p: page, len, r: fc.boolean() })
        .map(({ p, len, r }): Op => ({ kind: 'mprotect', addr: WIN + p * PAGE, len, prot: r ? 'r' : 'rw' })),
    },
  );
  const compared = STAT_NAMES.filter((n: StatName) => n !== 'ArenaFramesCapacity');

  it('same results, counters and entries after every operation', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 30 }), fc.constantFrom(64 * K, 8 * M), (ops, readaheadBytes) => {
        const w = new Mm(new WasmCore(), { readaheadBytes, check: true });
        const t = new Mm(new ReferenceCore(), { readaheadBytes, core: 'ts' });
        ops.forEach((op, i) => {
          expect(applyOp(t, op, i)).toEqual(applyOp(w, op, i));
          const sw = w.stats();
          const st = t.stats();
          for (const n of compared) expect([n, st[n]]).toEqual([n, sw[n]]);
        });
        expect(t.core.leafEntries()).toEqual(w.core.leafEntries());
        expect(w.takeViolations()).toEqual([]);
        expect(w.exit().problems).toEqual([]);
        expect(t.exit().problems).toEqual([]);
      }),
      { numRuns: 60, seed: 12 },
    );
  });
});
