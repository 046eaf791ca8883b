// scripts/programs-table.js and scripts/alloc-vs-real.js (README tables) on bad arguments:
// one line and the ptreclaim exit status, never a stack dump or an ignored typo.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRIPTS = join(import.meta.dirname, '..', 'scripts');
const STARTUP = join(import.meta.dirname, '..', 'dist', 'bench', 'startup.js');
const script = (name: string, ...args: string[]) => spawnSync(process.execPath, [join(SCRIPTS, name), ...args], { encoding: 'utf8' });

describe('README table scripts refuse bad input clearly', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ptreclaim-scripts-'));

  it('programs-table: a missing file, a trace that is not a capture, an unknown option', () => {
    const missing = script('programs-table.js', join(dir, 'none.trace'));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^programs-table: cannot read capture .*none\.trace: ENOENT \(no such file or directory\)\n$/);

    const plain = join(dir, 'plain.trace');
    writeFileSync(plain, 'version 1\nmmap 0x200000000000 0x200000\n');
    const notCapture = script('programs-table.js', plain);
    expect(notCapture.status).toBe(1);
    expect(notCapture.stderr).toMatch(/^programs-table: .*plain\.trace: not a capture: no "# expect/);
    expect(notCapture.stderr).not.toMatch(/\n\s+at /);

    const typo = script('programs-table.js', '--jsn');
    expect(typo.status).toBe(2);
    expect(typo.stderr).toMatch(/^programs-table: unknown option --jsn/);
  });

  it('alloc-vs-real: an unknown argument is refused, not ignored', () => {
    const typo = script('alloc-vs-real.js', '--jsn');
    expect(typo.status).toBe(2);
    expect(typo.stdout).toBe('');
    expect(typo.stderr).toMatch(/^alloc-vs-real: unknown argument --jsn/);
  });

  it('bench/startup: every flag is checked before the first run, in one line', () => {
    const out = join(dir, 'startup.json');
    const notJson = join(dir, 'oracle.json');
    writeFileSync(notJson, '# not json\n');
    const cases: [string[], number, RegExp][] = [
      [['--oracle', '2'], 2, /^--oracle: expected 0 or 1, not 2\n$/],
      [['--runs', '0'], 2, /^--runs: expected a positive integer, not 0\n$/],
      [['--bogus'], 2, /^Unknown option '--bogus'/],
      [['--live-json', join(dir, 'none.json')], 1, /^--live-json .*none\.json: ENOENT \(no such file or directory\); expected the JSON of/],
      [['--live-json', notJson], 1, /^--live-json .*oracle\.json: not JSON; expected the JSON of/],
    ];
    for (const [args, status, message] of cases) {
      const r = spawnSync(process.execPath, [STARTUP, ...args, '--json', out], { encoding: 'utf8', timeout: 20_000 });
      expect([args, r.status, r.stderr]).toEqual([args, status, expect.stringMatching(message)]);
      expect(r.stdout).toBe(''); // refused before the first timed run
    }
  });
});
