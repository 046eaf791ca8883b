/**
 * Output files (README "Output files" and "Partial results"): what a path points to is never
 * replaced, every path is checked before any work, and benchmark results survive any stop.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeOutputFile, checkOutputPaths } from '../src/io.js';
import { OutputError, UsageError } from '../src/errors.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'ptreclaim.js');
const dir = mkdtempSync(join(tmpdir(), 'ptreclaim-out-'));
const p = (name: string) => join(dir, name);
const run = (...args: string[]) =>
  spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });

afterAll(() => {
  // Whatever happened above, the system's /dev/null and /dev/stdout are untouched.
  expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
  expect(lstatSync('/dev/stdout').isSymbolicLink()).toBe(true);
});

describe('the output writer', () => {
  it('writes a regular file atomically and keeps its mode', () => {
    const f = p('mode600.txt');
    writeFileSync(f, 'old\n');
    chmodSync(f, 0o600);
    writeOutputFile(f, 'new\n');
    expect(readFileSync(f, 'utf8')).toBe('new\n');
    expect(statSync(f).mode & 0o777).toBe(0o600);
  });

  it('follows a symlink: the target is written, the link stays', () => {
    writeFileSync(p('target.txt'), 'old\n');
    symlinkSync('target.txt', p('link.txt'));
    writeOutputFile(p('link.txt'), 'new\n');
    expect(lstatSync(p('link.txt')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(p('link.txt'))).toBe('target.txt');
    expect(readFileSync(p('target.txt'), 'utf8')).toBe('new\n');
  });

  it('creates the target of a dangling symlink', () => {
    symlinkSync('later.txt', p('dangling.txt'));
    writeOutputFile(p('dangling.txt'), 'x\n');
    expect(lstatSync(p('dangling.txt')).isSymbolicLink()).toBe(true);
    expect(readFileSync(p('later.txt'), 'utf8')).toBe('x\n');
  });

  // A private device node (as root) stands for /dev/null: the test never risks the real one.
  const mknod = spawnSync('mknod', [p('null'), 'c', '1', '3']);
  it.skipIf(mknod.status !== 0)('writes into a character device in place (`trace -o` a /dev/null node)', () => {
    const r = run('trace', 'seed-5g', '-o', p('null'));
    expect(r.status, r.stderr).toBe(0);
    expect(statSync(p('null')).isCharacterDevice()).toBe(true);
  });

  it('writes into a FIFO in place; a reader gets the whole file', async () => {
    const fifo = p('fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'inherit'] });
    const chunks: Buffer[] = [];
    reader.stdout.on('data', (b: Buffer) => chunks.push(b));
    const done = new Promise((resolve) => reader.on('close', resolve));
    const r = run('trace', 'seed-5g', '-o', fifo);
    await done;
    expect(r.status, r.stderr).toBe(0);
    expect(Buffer.concat(chunks).toString('utf8')).toBe(run('trace', 'seed-5g').stdout);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });

  it('bench --json /dev/stdout works (through a private link like /dev/stdout)', () => {
    // A link of our own to /proc/self/fd/1: code that renames over outputs replaces only this one.
    const stdout = p('stdout');
    symlinkSync('/proc/self/fd/1', stdout);
    const r = run('bench', 'paths', '--strategy', 'none', '--time', '10', '--iterations', '2', '--warmup', '0', '-q', '--json', stdout);
    expect(lstatSync(stdout).isSymbolicLink()).toBe(true);
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { cells: unknown[]; matrixSize: number };
    expect(j.cells.length).toBe(j.matrixSize);
  });

  it('checks every path before work: missing directory, a directory, the same file twice', () => {
    expect(() => checkOutputPaths([{ flag: '--json', path: p('nodir/x.json') }])).toThrow(OutputError);
    expect(() => checkOutputPaths([{ flag: '--json', path: dir }])).toThrow(/--json .*: is a directory/);
    expect(() =>
      checkOutputPaths([
        { flag: '--json', path: p('a') },
        { flag: '--csv', path: p('a') },
      ]),
    ).toThrow(UsageError);
    // The same file through a symlink is still the same file.
    expect(() =>
      checkOutputPaths([
        { flag: '--json', path: p('target.txt') },
        { flag: '--md', path: p('link.txt') },
      ]),
    ).toThrow(/name the same file/);
    expect(() =>
      checkOutputPaths([
        { flag: '--json', path: p('a.json') },
        { flag: '--csv', path: p('a.csv') },
      ]),
    ).not.toThrow();
  });

  it('bench: a bad --csv with a good --json is refused before the run, writing nothing', () => {
    const r = run('bench', 'paths', '-q', '--json', p('good.json'), '--csv', p('nodir/x.csv'), '--md', p('good.md'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/--csv .*nodir\/x\.csv: directory .* does not exist/);
    expect(existsSync(p('good.json'))).toBe(false);
    expect(existsSync(p('good.md'))).toBe(false);
  });
});

// Cells of ~0.3 s each (15 in all): a stop after a second or two lands mid-run.
const SLOW_BENCH = ['bench', 'paths', '--time', '300', '--iterations', '2', '--warmup', '0', '-q'];

/** Starts bench, waits until `ready` says so (or `ms`), sends `signal`, and resolves with the exit. */
function benchStoppedBy(args: string[], signal: NodeJS.Signals, ready: () => boolean): Promise<{ code: number | null; stderr: string }> {
  const child: ChildProcess = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  return new Promise((resolve) => {
    const poll = setInterval(() => {
      if (ready()) {
        clearInterval(poll);
        child.kill(signal);
      }
    }, 20);
    child.on('close', (code) => {
      clearInterval(poll);
      resolve({ code, stderr });
    });
  });
}

const readJson = (f: string) =>
  JSON.parse(readFileSync(f, 'utf8')) as { partial: boolean; partialReason?: string; cells: unknown[]; matrixSize: number };

describe('bench results survive any stop', () => {
  it.each([
    ['SIGTERM', 143],
    ['SIGHUP', 129],
    ['SIGINT', 130],
  ] as const)('%s after some cells: JSON, CSV and MD hold them, marked partial; exit %i', async (signal, status) => {
    const base = p(`stop-${signal}`);
    const json = `${base}.json`;
    // Stop once a snapshot holds at least one cell.
    const r = await benchStoppedBy([...SLOW_BENCH, '--json', json, '--csv', `${base}.csv`, '--md', `${base}.md`], signal, () =>
      existsSync(json),
    );
    expect(r.code, r.stderr).toBe(status);
    const j = readJson(json);
    expect(j.partial).toBe(true);
    expect(j.partialReason).toBe('interrupted');
    expect(j.cells.length).toBeGreaterThan(0);
    expect(j.cells.length).toBeLessThan(j.matrixSize);
    const csv = readFileSync(`${base}.csv`, 'utf8').trim().split('\n');
    expect(csv).toHaveLength(j.cells.length + 1);
    const cols = csv[0]!.split(',');
    const partialCol = cols.indexOf('partial');
    expect(partialCol).toBeGreaterThan(0);
    for (const row of csv.slice(1)) expect(row.split(',')[partialCol]).toBe('true');
    expect(csv[1]!.split(',')[cols.indexOf('partial_reason')]).toBe('interrupted');
    expect(readFileSync(`${base}.md`, 'utf8')).toContain('**Partial**: interrupted');
  });

  it('a stop before the first cell finishes leaves an existing results file untouched', async () => {
    const json = p('keep.json');
    writeFileSync(json, '{"an": "earlier complete run"}\n');
    // The first cell takes 5 s or more; the stop comes 2 s after the start.
    const start = Date.now();
    const r = await benchStoppedBy(
      ['bench', 'paths', '--time', '5000', '--iterations', '2', '--warmup', '0', '-q', '--json', json],
      'SIGINT',
      () => Date.now() - start > 2000,
    );
    expect(r.code).toBe(130);
    expect(readFileSync(json, 'utf8')).toBe('{"an": "earlier complete run"}\n');
    expect(existsSync(p('keep.partial.json'))).toBe(false);
  });

  it('an existing file is kept until the run completes: a stopped run goes to NAME.partial.EXT', async () => {
    const json = p('earlier.json');
    writeFileSync(json, '{"an": "earlier complete run"}\n');
    const beside = p('earlier.partial.json');
    const r = await benchStoppedBy([...SLOW_BENCH, '--json', json], 'SIGTERM', () => existsSync(beside));
    expect(r.code).toBe(143);
    expect(readFileSync(json, 'utf8')).toBe('{"an": "earlier complete run"}\n');
    expect(readJson(beside).partialReason).toBe('interrupted');
    expect(r.stderr).toContain(`${json} holds an earlier run and was kept`);
    // A complete run replaces it and removes the partial file.
    const done = run('bench', 'paths', '--strategy', 'none', '--time', '10', '--iterations', '2', '--warmup', '0', '-q', '--json', json);
    expect(done.status, done.stderr).toBe(0);
    expect(readJson(json).partial).toBe(false);
  });

  it('an error in a later cell names the cell and keeps the cells before it (exit 1)', () => {
    // The third cell's profile path is a directory: writing it fails in that cell.
    const profiles = p('profiles');
    mkdirSync(join(profiles, 'paths-paths-reclaim-fast-pt-reclaim-v1.cpuprofile'), { recursive: true });
    const json = p('error.json');
    const r = run(
      'bench',
      'paths',
      '--time',
      '10',
      '--iterations',
      '2',
      '--warmup',
      '0',
      '-q',
      '--cpu-prof',
      profiles,
      '--json',
      json,
      '--csv',
      p('error.csv'),
    );
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^ptreclaim: bench cell paths\/paths-reclaim\/fast\/pt-reclaim-v1: cannot write .*: it is a directory$/m);
    const j = readJson(json);
    expect(j.cells).toHaveLength(2);
    expect(j.partialReason).toBe('stopped by an error in cell paths/paths-reclaim/fast/pt-reclaim-v1');
    expect(readFileSync(p('error.csv'), 'utf8').trim().split('\n')).toHaveLength(3);
  });
});
