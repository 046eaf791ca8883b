/** The CLI as a user runs it: a real process, real files, exit codes and messages. */
import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

const BIN = join(import.meta.dirname, '..', 'bin', 'ptreclaim.js');
const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
const dir = mkdtempSync(join(tmpdir(), 'ptreclaim-cli-'));

describe('ptreclaim CLI', () => {
  it('run seed-5g --json prints one object with the documented fields', () => {
    const r = run('run', 'seed-5g', '--json');
    expect(r.status, r.stderr).toBe(0);
    const j: unknown = JSON.parse(r.stdout);
    expect(j).toMatchObject({
      schemaVersion: 2,
      strategy: 'pt-reclaim',
      vmPteKb: 24,
      peakVmPteKb: 28,
      tables: { pte: 0, pmd: 5, pud: 1 },
      reclaim: { fast: 2560, slow: 0 },
      exit: { clean: true },
    });
    for (const k of ['rss', 'wallMs', 'tablesAllocated', 'tablesFreed', 'entries', 'tlb', 'locks']) expect(j).toHaveProperty(k);
  });

  it('refuses a pipe as --trace for several strategies (each reads it again), and reads a .gz trace', () => {
    const f = join(dir, 'p.trace');
    writeFileSync(f, 'mmap 0x300000000000 8M\ntouch 0x300000000000 8M\nmadvise 0x300000000000 8M dontneed\n');
    const piped = spawnSync(process.execPath, [BIN, 'run', '--trace', '/dev/stdin', '--strategy', 'none,pt-reclaim', '--json'], {
      encoding: 'utf8',
      input: readFileSync(f),
    });
    expect(piped.status).toBe(2);
    expect(piped.stderr).toMatch(/--trace \/dev\/stdin is not a regular file .* 2 strategies read it once each/);
    writeFileSync(`${f}.gz`, gzipSync(readFileSync(f)));
    const r = run('run', '--trace', `${f}.gz`, '--strategy', 'none,pt-reclaim', '--json');
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { vmPteKb: number }[]).map((x) => x.vmPteKb)).toEqual([24, 8]);
  });

  it('trace -o and import -o gzip a name ending in .gz, so run --trace reads what they wrote', () => {
    const gz = join(dir, 'seed-5g.trace.gz');
    const t = run('trace', 'seed-5g', '-o', gz);
    expect(t.status, t.stderr).toBe(0);
    expect(gunzipSync(readFileSync(gz)).toString('utf8')).toBe(run('trace', 'seed-5g').stdout);
    const r = run('run', '--trace', gz, '--json');
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { vmPteKb: number }).vmPteKb).toBe(24);
    const log = join(dir, 'gz.strace');
    writeFileSync(log, '1 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000\n');
    const i = run('import', 'strace', log, '-o', join(dir, 'imported.trace.gz'));
    expect(i.status, i.stderr).toBe(0);
    expect(gunzipSync(readFileSync(join(dir, 'imported.trace.gz'))).toString('utf8')).toMatch(/^mmap 0x7f0000000000 0x2000$/m);
  });

  it('runs a trace file; several strategies give an array', () => {
    const f = join(dir, 'a.trace');
    writeFileSync(f, 'mmap 0x300000000000 8M\ntouch 0x300000000000 8M\nmadvise 0x300000000000 8M dontneed\n');
    const r = run('run', '--trace', f, '--strategy', 'none,pt-reclaim', '--json');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { strategy: string; vmPteKb: number }[];
    expect(j.map((x) => [x.strategy, x.vmPteKb])).toEqual([
      ['none', 24],
      ['pt-reclaim', 8],
    ]);
  });

  it('prints a table for humans', () => {
    const r = run('run', 'seed-5g', '--strategy', 'none,pt-reclaim');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('VmPTE final');
    expect(r.stdout).toContain('10,264 kB');
    expect(r.stdout).toContain('24 kB');
  });

  it('reports a bad trace with file, line and column, and no stack trace', () => {
    const f = join(dir, 'bad.trace');
    writeFileSync(f, 'mmap 0x300000000000 8M\nmadvise 0x300000000000 8M dontned\n');
    const r = run('run', '--trace', f);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`ptreclaim: ${f}:2:27: madvise: advice must be "dontneed" or "free", not "dontned"\n`);
  });

  it('refuses bad usage with exit status 2', () => {
    expect(run('run').status).toBe(2);
    expect(run('run', 'nosuch').stderr).toContain('unknown workload "nosuch"');
    expect(run('run', 'seed', '--strategy', 'bogus').stderr).toContain('unknown strategy "bogus"');
    const p = run('run', 'seed', '--path', 'sideways');
    expect(p.status).toBe(2);
    expect(p.stderr).toContain('Allowed choices are auto, fast, slow');
    expect(run('run', 'seed', '--arena-limit', '-5').status).toBe(2);
    expect(run('nosuchcommand').status).toBe(2);
    expect(run('--help').status).toBe(0);
    expect(run('run', '--trace', join(dir, 'missing.trace')).stderr).toContain('cannot read trace');
  });

  it('exceeding --arena-limit is a clear error naming the operation', () => {
    const r = run('run', 'seed-5g', '--strategy', 'none', '--arena-limit', '1M');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^ptreclaim: operation \d+ \(touch\): arena full: \d+ tables live, limit 256 frames/);
  });

  it('writes a workload as a trace that runs to the same result', () => {
    const f = join(dir, 'seed5.trace');
    expect(run('trace', 'seed-5g', '-o', f).status).toBe(0);
    expect(readFileSync(f, 'utf8').split('\n')[1]).toBe('version 1');
    const r = run('run', '--trace', f, '--json');
    expect((JSON.parse(r.stdout) as { vmPteKb: unknown }).vmPteKb).toBe(24);
  });
});

describe('the library API', () => {
  it('every command has a typed function behind it in the package entry point', async () => {
    const api = await import('../src/index.js');
    const byCommand = {
      run: api.runOps,
      trace: api.formatTrace,
      bench: api.runBench,
      compare: api.compareResults,
      // eslint-disable-next-line @typescript-eslint/unbound-method -- only its typeof is checked; it is never called
      report: api.EXPORTERS.html.render,
      merge: api.mergeResults,
      'bench kernels': api.runKernels,
      oracle: api.runOracle,
      validate: api.validateTargets,
      'import strace': api.importStrace,
      'corpus generate': api.generateCorpus,
      calibrate: api.calibrate,
    };
    for (const [command, fn] of Object.entries(byCommand)) expect(typeof fn, command).toBe('function');
  });
});

describe('numbers never wrap or clamp silently (issue 11 item 8): one parser per kind for run and bench', () => {
  it.each([
    [['run', 'seed-5g', '--cpus', '4294967297'], /--cpus must be an integer from 1 to 8192, not "4294967297"/],
    [
      ['run', 'seed-5g', '--arena-limit', '0x100000002000'],
      /--arena-limit 0x100000002000 is out of range: give 8 KiB \(8192 bytes\) to 4094\.75 MiB \(4293656576 bytes\)/,
    ],
    [['run', 'seed-5g', '--arena-limit', '5G'], /--arena-limit 5G is out of range/],
    [['run', 'seed-5g', '--seed', '1.5'], /--seed must be an integer from 0 to 4294967295, not "1\.5"/],
    [['run', 'seed-5g', '--seed', '-1'], /--seed must be an integer from 0 to 4294967295, not "-1"/],
    [['bench', 'paths', '--seed', '4294967297'], /--seed must be an integer from 0 to 4294967295, not "4294967297"/],
    [['bench', 'paths', '--seed', '-1'], /--seed must be an integer from 0 to 4294967295, not "-1"/],
    [['corpus', 'generate', '-o', join(dir, 'c'), '--seed', '1.5'], /--seed must be an integer from 0 to 4294967295/],
  ])('%j exits 2 naming the flag and its range', (args, message) => {
    const r = run(...args);
    expect(r.status, r.stdout).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('the largest arena limit is accepted', () => {
    const r = run('run', 'seed-5g', '--arena-limit', '4293656576', '--cpus', '8192', '--seed', '4294967295', '--json');
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { config: unknown }).config).toMatchObject({ cpus: 8192, seed: 4294967295 });
  });
});
