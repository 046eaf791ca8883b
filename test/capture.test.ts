/**
 * `ptreclaim capture` and `validate --capture` (issue 13). The record conversion is tested on
 * synthetic helper records everywhere; the live part (a small C program built here, captured
 * with perf tracepoints and ptrace, replayed on this kernel) needs root, a C compiler and the
 * fault tracepoints, and is skipped visibly otherwise.
 */
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { captureCommand, captureHelperStatus, CaptureCommandError, convertRecords, LostEventsError } from '../src/capture/capture.js';
import { formatCaptureValidation, moveAwayFromHelper, parseCapture, readCaptureFile, validateCapture } from '../src/capture/validate.js';
import { formatTrace } from '../src/trace/parse.js';
import type { Op } from '../src/trace/ops.js';
import { liveSkipReason, reportSkip } from './fixtures/live.js';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'ptreclaim.js');
const lines = (ops: Op[]) => formatTrace(ops).trimEnd().split('\n').slice(1);

/** An address space at exec: a binary page, a stack with its top page present. */
const EXEC = [
  'X 1',
  'K 555555559000',
  'M 555555554000 555555556000 r-xp 0 42 /usr/bin/prog',
  'M 7ffffffde000 7ffffffff000 rw-p 0 0 [stack]',
  'R 7fffffffe000 1 a',
];
const END = ['W 0', 'E 16 8 4 0', 'C 0', 'L 0'];

describe('capture records to trace ops', () => {
  it('writes the address space at exec as mmaps and touches of the present pages', () => {
    const c = convertRecords([...EXEC, ...END].join('\n'));
    expect(lines(c.ops)).toEqual([
      'mmap 0x555555554000 0x2000 prot=r file=prog',
      'mmap 0x7ffffffde000 0x21000',
      'touch 0x7fffffffe000 0x1000 write',
    ]);
    expect(c.expect).toEqual({ vmPteKb: 16, rssAnonKb: 8, rssFileKb: 4, rssShmemKb: 0 });
    expect(c.files.get('prog')).toBe('/usr/bin/prog');
  });

  it('turns faults into one-page touches (read/write from error_code bit 1), merging adjacent ones', () => {
    const c = convertRecords(
      [...EXEC, 'F 7fffffffd010 6 u', 'F 7fffffffc000 6 u', 'F 555555554123 4 u', 'F 555555555000 14 u', 'F 555555555000 7 u', ...END].join(
        '\n',
      ),
    );
    expect(lines(c.ops).slice(3)).toEqual([
      'touch 0x7fffffffd000 0x1000 write',
      'touch 0x7fffffffc000 0x1000 write',
      'touch 0x555555554000 0x2000 read',
    ]);
    // The write to the read-only binary is a fault the kernel refused: left out, counted.
    expect(Object.entries(c.counts).some(([k, n]) => k.startsWith('faults the kernel refused') && n === 1)).toBe(true);
  });

  it('grows the stack, follows brk answers, unmaps before MAP_FIXED, drops failed calls', () => {
    const c = convertRecords(
      [
        ...EXEC,
        'F 7ffffffdc008 6 u', // below [stack]: the kernel grows it
        'S 12 93824992251904 0 0 0 0 0 0', // brk(NULL) = 0x555555559000: the current break
        'S 12 93824992387072 55555557a000 0 0 0 0 0', // brk grows to 0x55555557a000
        'S 9 93824992235520 555555555000 1000 3 32 ffffffffffffffff 0', // MAP_FIXED|MAP_ANONYMOUS over the binary
        'Q 20 12 4 0',
        'S 11 -22 1000 1000 0 0 0 0', // munmap failed: EINVAL
        'S 9 139637976727552 0 2000 3 8022 ffffffffffffffff 0', // MAP_POPULATE
        ...END,
      ].join('\n'),
    );
    expect(lines(c.ops).slice(3)).toEqual([
      'mmap 0x7ffffffdc000 0x2000',
      'touch 0x7ffffffdc000 0x1000 write',
      'mmap 0x555555559000 0x21000',
      'munmap 0x555555555000 0x1000',
      'mmap 0x555555555000 0x1000',
      'mmap 0x7f0000000000 0x2000',
      'madvise 0x7f0000000000 0x2000 populate-write',
    ]);
    expect(c.samples).toEqual([{ opIndex: 7, vmPteKb: 20, rssAnonKb: 12, rssFileKb: 4, rssShmemKb: 0 }]);
  });

  it('keeps the last exec only and counts the earlier ones', () => {
    const c = convertRecords([...EXEC, 'F 555555554000 4 u', 'X 2', 'M 600000000000 600000001000 rw-p 0 0 ', ...END].join('\n'));
    expect(c.execs).toBe(2);
    expect(lines(c.ops)).toEqual(['mmap 0x600000000000 0x1000']);
  });

  it('refuses a capture that lost events, naming the flag that raises the buffer', () => {
    expect(() => convertRecords([...EXEC, 'W 0', 'E 0 0 0 0', 'C 0', 'L 17'].join('\n'))).toThrow(LostEventsError);
    expect(() => convertRecords([...EXEC, 'W 0', 'E 0 0 0 0', 'C 0', 'L 17'].join('\n'))).toThrow(/dropped 17 .*--buffer-pages/);
  });

  it('reads VmSwap at exit when the helper gives it', () => {
    expect(convertRecords([...EXEC, 'W 0', 'E 16 8 4 0 12', 'C 0', 'L 0'].join('\n')).swapKb).toBe(12);
    expect(convertRecords([...EXEC, ...END].join('\n')).swapKb).toBeUndefined();
  });

  it('refuses records cut short (the helper was killed)', () => {
    expect(() => convertRecords(EXEC.join('\n'))).toThrow(/stopped before its last record/);
  });

  it('moves each run of 512 GiB spans as a whole for a live replay', () => {
    const ops: Op[] = [
      { kind: 'mmap', addr: 0x400000, len: 0x1000 },
      { kind: 'mmap', addr: 0x7f8000000000 - 0x1000, len: 0x2000 },
      { kind: 'mmap', addr: 0x7ffffffde000, len: 0x21000 },
    ];
    const { ops: moved, moves } = moveAwayFromHelper(ops);
    expect(moves.map((m) => [m.from, m.to])).toEqual([
      [0, 0x8000000000],
      [0x7f0000000000, 0x10000000000],
    ]);
    // Offsets inside a 512 GiB span (hence every table's shape) are unchanged.
    for (const [i, op] of moved.entries()) expect(op.addr % 0x8000000000).toBe(ops[i]!.addr % 0x8000000000);
    expect(moved[2]!.addr - moved[1]!.addr).toBe(ops[2]!.addr - ops[1]!.addr);
  });
});

describe('validate --capture through the model', () => {
  const capture = (expectPte: number, samplePte: number) =>
    [
      '# host kernel=test zero_page=on pt_reclaim_config=y thp=madvise',
      `# expect vmpte_kb=${expectPte} rssanon_kb=8 rssfile_kb=0 rssshmem_kb=0`,
      'version 1',
      'mmap 0x300000000000 0x400000',
      '# sample vmpte_kb=0 rssanon_kb=0 rssfile_kb=0 rssshmem_kb=0',
      'touch 0x300000000000 0x2000 write',
      'madvise 0x300000200000 0x1000 dontneed',
      `# sample vmpte_kb=${samplePte} rssanon_kb=8 rssfile_kb=0 rssshmem_kb=4`,
      '',
    ].join('\n');

  it('agrees when the model ends where the real process did', async () => {
    const v = await validateCapture(parseCapture(capture(12, 12), 'ok.trace'));
    expect(v.model.ran && v.model.agree).toBe(true);
    expect(v.agree).toBe(true);
  });

  it('names the first sample where the model parts from the real process', async () => {
    const v = await validateCapture(parseCapture(capture(16, 16), 'bad.trace'));
    expect(v.agree).toBe(false);
    expect(v.model.ran).toBe(true);
    if (!v.model.ran) return;
    expect(v.model.differences).toEqual(['VmPTE: model 12 kB, real process 16 kB']);
    expect(v.model.divergence).toMatchObject({ opIndex: 2, line: 7, lastAgreed: 0, replay: { vmPteKb: 12, rssAnonKb: 8 } });
    expect(formatCaptureValidation(v)).toMatch(
      /first sample where they part: after op #2 \(bad.trace:7\): madvise 0x300000200000 0x1000 dontneed/,
    );
  });

  it('refuses a trace without an expect line', () => {
    expect(() => parseCapture('version 1\nmmap 0x300000000000 0x1000\n', 'plain.trace')).toThrow(/not a capture: no "# expect/);
  });
});

const helper = captureHelperStatus();
const compiler = spawnSync('cc', ['--version']).status === 0;
const tracepoints = existsSync('/sys/kernel/tracing/events/exceptions/page_fault_user/id');
const captureSkip =
  liveSkipReason ??
  (process.getuid?.() !== 0
    ? 'not root (capturing needs CAP_PERFMON and ptrace)'
    : !helper.available
      ? helper.reason
      : !compiler
        ? 'no C compiler to build the test program'
        : !tracepoints
          ? 'no exceptions:page_fault_user tracepoint under /sys/kernel/tracing'
          : undefined);

const PROGRAM = String.raw`
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "many")) {
    /* 256 MiB of read faults: far more records than a one-page ring buffer holds. */
    volatile char *q = mmap(0, 256 << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    long s = 0;
    for (long i = 0; i < (256L << 20); i += 4096) s += q[i];
    return (int)(s & 1);
  }
  char *p = mmap((void *)0x300000000000, 4 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (p == MAP_FAILED) return 10;
  p[0] = 1;
  p[4096] = 1;
  volatile char c = p[2 << 20];
  (void)c;
  p[(2 << 20) + 8192] = 1;
  int fd = open("/dev/zero", O_RDONLY);
  if (read(fd, p + (3 << 20), 8192) != 8192) return 11; /* faults taken in kernel mode */
  close(fd);
  madvise(p, 2 << 20, MADV_DONTNEED);
  munmap(p + (3 << 20), 1 << 20);
  return 0;
}
`;

describe('ptreclaim capture on the live kernel', () => {
  reportSkip('live capture tests', captureSkip);
  if (captureSkip) return;
  const dir = mkdtempSync(join(tmpdir(), 'ptreclaim-capture-test-'));
  const prog = join(dir, 'prog');
  writeFileSync(join(dir, 'prog.c'), PROGRAM);
  const built = spawnSync('cc', ['-O0', '-o', prog, join(dir, 'prog.c')], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`cc failed: ${built.stderr}`);

  it('records the mmap, the faults (user and kernel mode), madvise and munmap in order, and the exit counters', async () => {
    const r = await captureCommand([prog]);
    expect(r.exit).toEqual({ code: 0, signal: null });
    const text = r.text.split('\n');
    const wanted = [
      'mmap 0x300000000000 0x400000',
      'touch 0x300000000000 0x2000 write',
      'touch 0x300000200000 0x1000 read',
      'touch 0x300000202000 0x1000 write',
      'touch 0x300000300000 0x2000 write',
      'madvise 0x300000000000 0x200000 dontneed',
      'munmap 0x300000300000 0x100000',
    ];
    const at = wanted.map((l) => text.indexOf(l));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    // Nothing else touched the test mapping.
    expect(text.filter((l) => l.startsWith('touch 0x3000003'))).toEqual(['touch 0x300000300000 0x2000 write']);
    expect(r.counts['page faults in kernel mode (on user buffers)']).toBeGreaterThanOrEqual(2);
    const expectLine = text.find((l) => l.startsWith('# expect '));
    expect(expectLine).toMatch(/^# expect vmpte_kb=\d+ rssanon_kb=\d+ rssfile_kb=\d+ rssshmem_kb=\d+$/);
    expect(text.some((l) => /^# host kernel=\S+ .*thp=\w+/.test(l))).toBe(true);
    // The sample after the mmap line, and one after the munmap.
    expect(text[text.indexOf('mmap 0x300000000000 0x400000') + 1]).toMatch(/^# sample vmpte_kb=\d+ /);
    expect(text[text.indexOf('munmap 0x300000300000 0x100000') + 1]).toMatch(/^# sample vmpte_kb=\d+ /);

    // A replay of the capture on this kernel ends where the real process did.
    const file = join(dir, 'prog.trace');
    writeFileSync(file, r.text);
    expect(readCaptureFile(file).expect).toEqual(r.expect);
    const v = await validateCapture(file, { live: true });
    expect(v.live && !('error' in v.live)).toBe(true);
    if (v.live && !('error' in v.live)) {
      expect(v.live.vmPteKb).toBe(r.expect!.vmPteKb);
      expect(v.live.rssAnonKb).toBe(r.expect!.rssAnonKb);
    }
    // The model does not run file mappings yet: validate names the feature instead of crashing.
    if (!v.model.ran) expect(v.model.features.map((f) => f.feature)).toContain('mmap file=');
  });

  it('fails with the flag to raise the buffer when the kernel drops events', async () => {
    await expect(captureCommand([prog, 'many'], { bufferPages: 1 })).rejects.toThrow(/--buffer-pages/);
  });

  it('refuses a command that cannot run', async () => {
    await expect(captureCommand([join(dir, 'no-such-program')])).rejects.toThrow(CaptureCommandError);
    await expect(captureCommand([join(dir, 'no-such-program')])).rejects.toThrow(/cannot execute .*no-such-program: No such file/);
  });

  it('checks the output path before running the command', () => {
    const marker = join(dir, 'ran');
    const r = spawnSync(process.execPath, [BIN, 'capture', '-o', join(dir, 'no-dir', 'x.trace'), '--', 'touch', marker], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/--output .*no-dir.* does not exist/);
    expect(existsSync(marker)).toBe(false);
  });

  it('SIGINT kills the traced command and writes nothing (exit 130)', async () => {
    const out = join(dir, 'interrupted.trace');
    const pidFile = join(dir, 'sleeper.pid');
    const child = spawn(process.execPath, [BIN, 'capture', '-o', out, '--', 'sh', '-c', `echo $$ > ${pidFile}; exec sleep 30`], {
      stdio: 'ignore',
    });
    const deadline = Date.now() + 20_000;
    while (!existsSync(pidFile) || readFileSync(pidFile, 'utf8').trim() === '') {
      if (Date.now() > deadline) throw new Error('the command did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
    const sleeper = Number(readFileSync(pidFile, 'utf8'));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    expect(code).toBe(130);
    expect(existsSync(out)).toBe(false);
    // The traced command (sleep, the same pid after exec) is gone: killed, not left running.
    await new Promise((r) => setTimeout(r, 200));
    const alive = (() => {
      try {
        return !readFileSync(`/proc/${sleeper}/stat`, 'utf8').split(') ')[1]!.startsWith('Z');
      } catch {
        return false;
      }
    })();
    expect(alive).toBe(false);
  });

  it('says what is needed when perf events are not permitted (an unprivileged user)', () => {
    if (spawnSync('setpriv', ['--version']).status !== 0) return;
    const r = spawnSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', process.execPath, BIN, 'capture', '--', 'true'],
      { encoding: 'utf8', cwd: tmpdir() },
    );
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/not permitted.*CAP_PERFMON.*perf_event_paranoid/);
  });

  it('validate --capture runs the model on the capture (file mappings included) and agrees; --live adds the replay', () => {
    const file = join(dir, 'cli.trace');
    const cap = spawnSync(process.execPath, [BIN, 'capture', '-o', file, '--', prog], { encoding: 'utf8' });
    expect(cap.status).toBe(0);
    const r = spawnSync(process.execPath, [BIN, 'validate', '--capture', file, '--live'], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/model \(pt-reclaim, zero page on\): agree: VmPTE \d+ kB, RssAnon \d+ kB/);
    expect(r.stdout).toMatch(/replay minus real process: VmPTE 0 kB, RssAnon 0 kB/);
    expect(readFileSync(file, 'utf8')).toMatch(/^# expect /m);
    // oracle --trace of a capture moves it away from the helper and compares with the real process.
    const o = spawnSync(process.execPath, [BIN, 'oracle', '--trace', file], { encoding: 'utf8' });
    expect(o.status).toBe(0);
    expect(o.stdout).toMatch(/a capture: replayed with \d+ run\(s\) of 512 GiB spans moved/);
    expect(o.stdout).toMatch(/replay minus real: VmPTE 0 kB, RssAnon 0 kB/);
    rmSync(dir, { recursive: true, force: true });
  });
});
