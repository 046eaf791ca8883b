/**
 * The exit-code table (src/errors.ts EXIT, README "Exit status"), command by command, as a
 * user meets it: 0 ok, 1 input/check/write failure, 2 usage, 3 oracle refusal, 70 only for
 * bugs; stdout failures (ENOSPC, EPIPE) without a stack trace.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { liveSkipReason } from './fixtures/live.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'ptreclaim.js');
const dir = mkdtempSync(join(tmpdir(), 'ptreclaim-exit-'));
const p = (name: string) => join(dir, name);
const NODIR = join(dir, 'no-such-dir');

interface Outcome {
  status: number | null;
  stdout: string;
  stderr: string;
}

const run = (args: string[], stdout: 'pipe' | number = 'pipe'): Outcome => {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', stdio: ['ignore', stdout, 'pipe'] });
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- stdout is null when it is not piped (an fd), which @types/node does not express
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr };
};

/** Runs with standard output on /dev/full: every write fails with ENOSPC. */
const toFull = (args: string[]): Outcome => {
  const fd = openSync('/dev/full', 'w');
  try {
    return run(args, fd);
  } finally {
    closeSync(fd);
  }
};

/** Runs with standard output into a pipe whose reader quits after one byte (EPIPE). */
const toClosedPipe = (args: string[]): Outcome => {
  const cmd = `set -o pipefail; "${process.execPath}" "${BIN}" ${args.map((a) => `'${a}'`).join(' ')} | head -c 1 >/dev/null`;
  const r = spawnSync('bash', ['-c', cmd], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

/** Resident memory the oracle refuses on this host: more than half of MemAvailable. */
function refusedTraceText(): string | undefined {
  const m = /MemAvailable:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'));
  if (!m) return undefined;
  const gib = Math.ceil(Number(m[1]) / 2 ** 20) + 1;
  if (gib > 128) return undefined; // the model's estimate of such a trace would take long
  return `mmap 0x300000000000 ${gib}G\ntouch 0x300000000000 ${gib}G write\n`;
}

const FAST_BENCH = ['bench', 'paths', '--strategy', 'none', '--time', '10', '--iterations', '2', '--warmup', '0', '-q'];
const RESULTS = p('results.json');

beforeAll(() => {
  const r = run([...FAST_BENCH, '--json', RESULTS]);
  if (r.status !== 0) throw new Error(`bench for the fixtures failed: ${r.stderr}`);
  writeFileSync(p('a.trace'), 'mmap 0x300000000000 4M\ntouch 0x300000000000 4M write\n');
  writeFileSync(p('garbage.log'), 'this is not an strace log\n');
  writeFileSync(p('cut.trace.gz'), gzipSync('# expect vmpte_kb=0 rssanon_kb=0 rssfile_kb=0 rssshmem_kb=0\n'.repeat(64)).subarray(0, 20));
  writeFileSync(p('regular-file'), 'x\n');
  mkdirSync(p('empty-dir'));
  mkdirSync(p('refused-dir'));
  const big = refusedTraceText();
  if (big) {
    writeFileSync(p('refused.trace'), big);
    writeFileSync(join(p('refused-dir'), 'refused.trace'), big);
  }
}, 120_000);

const noStack = (o: Outcome) => {
  expect(o.stderr).not.toMatch(/\n\s+at |internal error|please report/);
};

// [command, args, exit status, stderr pattern]
const TABLE: [string, string[], number, RegExp?][] = [
  ['run', ['run', 'seed-5g', '--json'], 0],
  ['run', ['run', 'seed-5g', '--path', 'sideways'], 2, /Allowed choices/],
  ['run', ['run', '--trace', p('missing.trace')], 1, /cannot read trace/],
  ['trace', ['trace', 'seed-5g', '-o', p('seed-5g.trace')], 0],
  ['trace', ['trace', 'seed-5g', '-o', join(NODIR, 'x.trace')], 1, /--output .*no-such-dir\/x\.trace: directory .* does not exist/],
  ['trace', ['trace', 'seed-5g', '-o', dir], 1, /is a directory/],
  ['trace', ['trace', 'nosuch'], 2, /unknown workload/],
  ['bench', [...FAST_BENCH, '--json', join(NODIR, 'x.json')], 1, /--json .* does not exist/],
  ['bench', [...FAST_BENCH, '--json', p('same'), '--csv', p('same')], 2, /name the same file/],
  ['bench', ['bench', 'nosuch'], 2, /unknown suite/],
  ['bench kernels', ['bench', 'kernels', '--json', join(NODIR, 'k.json')], 1, /--json .* does not exist/],
  ['bench kernels', ['bench', 'kernels', '--samples', '0'], 2],
  ['compare', ['compare', RESULTS, RESULTS], 0],
  ['compare', ['compare', RESULTS, RESULTS, '--alpha', '2'], 2, /--alpha/],
  ['report', ['report', RESULTS, '-o', p('r.html')], 0],
  ['report', ['report', RESULTS, '-o', join(NODIR, 'r.html')], 1, /does not exist/],
  ['report', ['report', '--compare', RESULTS, RESULTS, '-o', p('cmp.html')], 0],
  ['report', ['report', '--compare', RESULTS, '-o', p('cmp.html')], 2, /needs two results files/],
  [
    'report',
    ['report', RESULTS, '--cost-profile', p('missing.json'), '-o', p('r.html')],
    1,
    /cannot read cost profile .*missing\.json: ENOENT/,
  ],
  ['run', ['run', 'seed-5g', '--cost-profile', p('garbage.log')], 1, /not JSON/],
  ['calibrate', ['calibrate', '--repeats', '0'], 2, /--repeats/],
  ['calibrate', ['calibrate', '-o', join(NODIR, 'profile.json')], 1, /--output .* does not exist/],
  ['merge', ['merge', RESULTS, '-o', p('merged.json')], 0],
  ['merge', ['merge', RESULTS, '-o', dir], 1, /is a directory/],
  ['import', ['import', 'strace', p('missing.log'), '-o', p('i.trace')], 1, /cannot read .*missing\.log: ENOENT/],
  ['import', ['import', 'strace', p('garbage.log'), '-o', p('i.trace')], 1, /no mmap, munmap/],
  ['import', ['import', 'strace', p('garbage.log'), '-o', join(NODIR, 'i.trace')], 1, /does not exist/],
  ['import', ['import', 'ltrace', p('garbage.log'), '-o', p('i.trace')], 2, /unknown log format/],
  ['oracle', ['oracle'], 2],
  ['oracle', ['oracle', '--trace', p('missing.trace')], 1, /cannot read trace/],
  ['validate', ['validate', '--dir', join(NODIR)], 1, /cannot read directory/],
  ['validate', ['validate', '--dir', p('regular-file')], 1, /is not a directory/],
  ['validate', ['validate', '--dir', p('empty-dir')], 1, /no \*\.trace files/],
  ['validate', ['validate', '--suite', 'nope'], 2, /unknown suite/],
  [
    'corpus generate',
    ['corpus', 'generate', '-o', p('regular-file'), '--count', '1'],
    1,
    /--output .*regular-file: exists and is not a directory/,
  ],
  ['bench', [...FAST_BENCH, '--cpu-prof', join(p('regular-file'), 'profiles')], 1, /--cpu-prof .*regular-file is not a directory/],
  ['corpus generate', ['corpus', 'generate', '-o', p('corpus'), '--count', '2'], 0],
  ['capture', ['capture'], 2, /missing required argument 'command'/],
  ['capture', ['capture', '--buffer-pages', '3', '--', 'true'], 2, /--buffer-pages must be a power of two/],
  ['capture', ['capture', '-o', join(NODIR, 'c.trace'), '--', 'true'], 1, /--output .* does not exist/],
  // An empty -o is refused before the command runs, never taken for standard output.
  ['capture', ['capture', '-o', '', '--', 'true'], 2, /^ptreclaim: --output: the output path is empty\n$/],
  ['trace', ['trace', 'seed-5g', '-o', ''], 2, /^ptreclaim: --output: the output path is empty\n$/],
  ['corpus generate', ['corpus', 'generate', '-o', '', '--count', '1'], 2, /^ptreclaim: --output: the output path is empty\n$/],
  ['validate', ['validate', '--capture', p('cut.trace.gz')], 1, /cut\.trace\.gz: Z_BUF_ERROR \(the gzip data ends early/],
  ['validate', ['validate', '--capture', p('a.trace')], 1, /not a capture: no "# expect/],
  ['validate', ['validate', '--capture', p('a.trace'), '--trace', p('a.trace')], 2, /give --capture FILE alone/],
  ['validate', ['validate', '--live', '--trace', p('a.trace')], 2, /--live goes with --capture/],
];

describe('exit status table, per command', () => {
  it.each(TABLE)('%s %j exits %i', (_cmd, args, status, stderr) => {
    const r = run(args);
    expect(r.status, r.stderr).toBe(status);
    if (stderr) expect(r.stderr).toMatch(stderr);
    noStack(r);
  });

  const live = it.skipIf(liveSkipReason !== undefined || !refusedTraceText());
  live('oracle and validate: a refused trace is exit 3, named', () => {
    const o = run(['oracle', '--trace', p('refused.trace')]);
    expect(o.status, o.stderr).toBe(3);
    expect(o.stderr).toMatch(/refused the trace: .*refused\.trace: the replay would keep/);
    const v = run(['validate', '--dir', p('refused-dir')]);
    expect(v.status, v.stderr).toBe(3);
    expect(v.stderr).toMatch(/refused .*refused\.trace: the replay would keep/);
  });
});

describe('standard output failing', () => {
  it.each([
    ['run', ['run', 'seed-5g', '--json']],
    ['trace', ['trace', 'seed-5g']],
    ['help', ['--help']],
    ['compare', ['compare', RESULTS, RESULTS]],
  ])('%s > /dev/full: one line, exit 1', (_cmd, args) => {
    const r = toFull(args);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('ptreclaim: cannot write to standard output: ENOSPC (no space left on device)\n');
  });

  // 2 MB of output: more than a pipe holds, so the write after head quits fails with EPIPE.
  it('trace seed | head -c 1: quiet, exit 0', () => {
    const r = toClosedPipe(['trace', 'seed']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
