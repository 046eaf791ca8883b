/**
 * The invariant checker: quiet on correct designs, loud and precise on broken ones.
 */
import { describe, it, expect } from 'vitest';
import { runOps } from '../src/run.js';
import { Mm } from '../src/mm/mm.js';
import { WasmCore } from '../src/core/wasm.js';
import { ReferenceCore } from '../src/core/reference.js';
import { buildProgram } from '../src/cli/index.js';
import { getWorkload } from '../src/workloads/index.js';
import { UsageError } from '../src/errors.js';

const MiB = 2 ** 20;

describe('checker', () => {
  it('is clean for every correct design on every design workload', () => {
    for (const w of ['v1-robot', 'force-break', 'partial-dontneed', 'seed-5g']) {
      for (const strategy of ['none', 'pt-reclaim', 'async-scan', 'refcount']) {
        const ops = w === 'seed-5g' ? [...getWorkload(w).ops()].slice(0, 401) : getWorkload(w).ops();
        const r = runOps(ops, { strategy, check: true });
        expect(r.check, `${w} ${strategy}`).toMatchObject({ enabled: true, violationCount: 0 });
        expect(r.exit.problems, `${w} ${strategy}`).toEqual([]);
      }
    }
  });

  it('names the trace line, the address, the strategy and what broke', () => {
    const ops = [...getWorkload('v1-robot').ops()].map((op, i) => ({ ...op, file: 'robot.trace', line: i + 3 }));
    const r = runOps(ops, { strategy: 'pt-reclaim-v1', check: true });
    expect(r.check.violationCount).toBe(3);
    for (const v of r.check.violations) {
      expect(v).toMatchObject({ file: 'robot.trace', line: 5, op: 'madvise', strategy: 'pt-reclaim-v1' });
      expect(v.addr).toBeGreaterThanOrEqual(0x7f0000000000);
    }
    expect(r.check.violations.map((v) => v.check).sort()).toEqual(['pages-dropped', 'rss-mismatch', 'table-freed-not-empty']);
  });

  it('reports break-before-make when a PMD is repopulated before the flush', () => {
    // Replays the window v1's try_to_free_pte leaves: PMD cleared and locks dropped, no
    // TLB flush yet, and a concurrent fault on the same span populates a new table.
    const core = new WasmCore('debug');
    const mm = new Mm(core, { strategy: 'pt-reclaim', check: true });
    const base = 0x7f0000000000;
    mm.mmap(base, 2 * MiB);
    mm.touch(base, 0x1000, 'write');
    mm.madvise(base, 0x1000, 'dontneed'); // the table is empty but stays (sub-PMD call)
    mm.takeViolations();
    core.gatherBegin();
    expect(core.debugUnhookPteTable(base)).toBe(true);
    core.faultRange(base, base + 0x1000, true);
    core.gatherEnd();
    const v = core.takeViolations();
    expect(v).toEqual([{ kind: 'break-before-make', addr: 0, value: 0 }]);
    // After a flush the same sequence is fine.
    mm.madvise(base, 0x1000, 'dontneed');
    mm.takeViolations();
    core.gatherBegin();
    expect(core.debugUnhookPteTable(base)).toBe(true);
    core.gatherEnd();
    core.faultRange(base, base + 0x1000, true);
    expect(core.takeViolations()).toEqual([]);
  });

  it('reports a PMD left pointing at a freed table (use-after-free)', () => {
    const core = new WasmCore('debug');
    const mm = new Mm(core, { strategy: 'pt-reclaim', check: true });
    const base = 0x7f0000000000;
    mm.mmap(base, 4 * MiB);
    mm.touch(base, 0x1000, 'write');
    mm.madvise(base, 0x1000, 'dontneed'); // empty table, kept (sub-PMD call)
    expect(mm.takeViolations()).toEqual([]);
    core.gatherBegin();
    expect(core.debugFreePteTableKeepEntry(base)).toBe(true);
    core.gatherEnd(); // the frame is free now; the PMD still points at it
    expect(core.takeViolations().map((x) => x.kind)).toContain('table-freed-still-hooked');
    mm.touch(base, 0x1000, 'read'); // a walk through the stale PMD reaches the freed frame
    const v = mm.takeViolations();
    expect(v.map((x) => x.check)).toContain('dangling-entry');
    expect(v.find((x) => x.check === 'dangling-entry')!.addr).toBe(base);
  });

  it('flags the exit in the kernel words and the CLI exits non-zero with --check', async () => {
    let text = '';
    const program = buildProgram((s) => (text += s));
    program.exitOverride();
    const saved = process.exitCode;
    await program.parseAsync(['node', 'ptreclaim', 'run', 'v1-robot', '--strategy', 'pt-reclaim-v1,pt-reclaim', '--check']);
    expect(process.exitCode).toBe(1);
    process.exitCode = saved;
    expect(text).toMatch(/\[pt-reclaim-v1\] op 3 madvise: pages-dropped at 0x7f0000001000/);
    expect(text).toMatch(/\[pt-reclaim-v1\] BUG: Bad rss-counter state mm:\d+ type:MM_ANONPAGES val:511/);
    expect(text).not.toMatch(/\[pt-reclaim\] /);
  });

  it('refuses to run on the TypeScript reference with a clear error', () => {
    expect(() => new Mm(new ReferenceCore(), { strategy: 'pt-reclaim', check: true })).toThrow(UsageError);
    expect(() => new Mm(new ReferenceCore(), { strategy: 'refcount' })).toThrow(/models only the strategies none and pt-reclaim/);
  });
});
