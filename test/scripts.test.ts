// scripts/programs-table.js and scripts/alloc-vs-real.js (README tables) on bad arguments:
// one line and the ptreclaim exit status, never a stack dump or an ignored typo.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRIPTS = join(import.meta.dirname, '..', 'scripts');
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
});
