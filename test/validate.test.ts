import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { hostFacts } from '../src/oracle/host.js';
import { packageRoot } from '../src/paths.js';
import { parseTrace } from '../src/trace/parse.js';
import { UsageError } from '../src/errors.js';
import { formatOutcome, loadTargets, modelForHost, validateTargets, validateTrace } from '../src/validate.js';
import { fullSkipReason, liveSkipReason, reportSkip } from './fixtures/live.js';

// Line 3 is the first MADV_DONTNEED of a whole PMD: where PT_RECLAIM and `none` part ways.
const TEXT = `mmap    0x300000000000 0x600000
touch   0x300000000000 0x600000 write
madvise 0x300000000000 0x100000 dontneed
madvise 0x300000200000 0x200000 dontneed
touch   0x300000000000 0x1000 read
munmap  0x300000400000 0x200000
`;
const OPS = parseTrace(TEXT, 'split.trace');

describe('validate: target selection', () => {
  it('wants exactly one of --trace, --dir, --suite', () => {
    expect(() => loadTargets({})).toThrow(UsageError);
    expect(() => loadTargets({ trace: 'a', suite: 'seed' })).toThrow(/exactly one/);
    expect(() => loadTargets({ suite: 'nope' })).toThrow(/unknown suite "nope"/);
  });
  it('finds the committed corpus', () => {
    const t = loadTargets({ suite: 'corpus' });
    expect(t.length).toBeGreaterThan(10);
    expect(t[0]!.source).toMatch(/corpus\/validation\/c000-pmd\.trace$/);
  });
});

describe('validate against the live kernel', () => {
  reportSkip('live validation tests', liveSkipReason);
  const live = it.skipIf(liveSkipReason !== undefined);

  live('the model configured like the host agrees exactly', async () => {
    const r = await validateTargets([{ source: 'split.trace', ops: OPS }]);
    const o = r.outcomes[0]!;
    expect(o.differences).toEqual([]);
    expect(o.agree).toBe(true);
    expect(r.choice.zeroPage).toBe(r.host.zeroPage);
    expect(r.choice.strategy).toBe(r.host.ptReclaim.enabled ? 'pt-reclaim' : 'none');
  });

  live('a deliberately wrong strategy is caught at the first diverging line', async () => {
    const host = await hostFacts();
    const wrong = host.ptReclaim.enabled ? 'none' : 'pt-reclaim';
    const o = await validateTrace({ source: 'split.trace', ops: OPS }, modelForHost(host, wrong));
    expect(o.agree).toBe(false);
    expect(o.differences.join()).toMatch(/VmPTE: model \d+ kB, kernel \d+ kB/);
    const d = o.divergence!;
    expect(d.index).toBe(3);
    expect(d.line).toBe(4);
    expect(d.text).toBe('madvise 0x300000200000 0x200000 dontneed');
    // Before the op both agree; after it the PTE table is gone in one and not the other.
    expect(d.before.model.vmPteKb).toBe(d.before.kernel.vmPteKb);
    expect(Math.abs(d.after.model.vmPteKb - d.after.kernel.vmPteKb)).toBe(4);
    expect(d.after.model.tables.pte).toBe(host.ptReclaim.enabled ? 3 : 2);
    const text = formatOutcome(o);
    expect(text).toContain('first divergence after op #3 (split.trace:4): madvise 0x300000200000 0x200000 dontneed');
    expect(text).toMatch(/before +model +VmPTE/);
    expect(text).toMatch(/after +model +VmPTE .*tables pte\/pmd\/pud/);
  });

  live('a wrong zero-page assumption is caught too', async () => {
    const host = await hostFacts();
    const choice = { ...modelForHost(host), zeroPage: !host.zeroPage };
    const o = await validateTrace({ source: 'split.trace', ops: OPS }, choice);
    expect(o.agree).toBe(false);
    expect(o.differences.join()).toMatch(/RssAnon/);
    expect(o.divergence!.line).toBe(5);
  });

  const cli = join(packageRoot(), 'bin', 'ptreclaim.js');
  it.skipIf(liveSkipReason !== undefined)('the CLI exits 0 when they agree and 1 with the diverging line when not', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ptreclaim-validate-'));
    const file = join(dir, 'split.trace');
    writeFileSync(file, TEXT);
    const good = spawnSync(process.execPath, [cli, 'validate', '--trace', file], { encoding: 'utf8' });
    expect(good.stderr).toBe('');
    expect(good.stdout).toMatch(/^host: Linux .* 4-level paging/m);
    expect(good.stdout).toMatch(/^model: strategy (pt-reclaim|none): /m);
    expect(good.stdout).toMatch(/^model: zeroPage (true|false): /m);
    expect(good.stdout).toContain('all 1 trace(s) agree exactly');
    expect(good.status).toBe(0);
    const bad = spawnSync(process.execPath, [cli, 'validate', '--trace', file, '--strategy', 'none'], { encoding: 'utf8' });
    if (bad.stdout.includes('auto would pick pt-reclaim')) {
      expect(bad.status).toBe(1);
      expect(bad.stdout).toContain(`first divergence after op #3 (${file}:4): madvise 0x300000200000 0x200000 dontneed`);
    }
  });

  reportSkip('full seed validation (50 GiB on the live kernel)', fullSkipReason);
  it.skipIf(fullSkipReason !== undefined)(
    'validate --suite seed: model and kernel agree exactly (204 kB with PT_RECLAIM)',
    async () => {
      const r = await validateTargets(loadTargets({ suite: 'seed' }));
      const o = r.outcomes[0]!;
      process.stderr.write(`[ptreclaim tests] ${formatOutcome(o)}\n`);
      expect(o.agree).toBe(true);
      if (r.host.ptReclaim.enabled) expect(o.kernel.vmPteKb).toBe(204);
      expect(formatOutcome(o)).toMatch(/time model [\d.]+ m?s, kernel [\d.]+ s/);
    },
    600_000,
  );
});
