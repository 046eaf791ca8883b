/**
 * mmap_min_addr as a model option (`mmapMinAddr`, `--mmap-min-addr`): the floor of a fixed mmap
 * and of an mremap destination (security_mmap_addr: EPERM below it), what validate reads from
 * the host for the replaying helper (vm.mmap_min_addr, CAP_SYS_RAWIO, SELinux), and the live
 * kernel agreeing with the model on maps and moves below 0x10000, as root and without
 * CAP_SYS_RAWIO.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Mm } from '../src/mm/mm.js';
import { WasmCore } from '../src/core/wasm.js';
import { ReferenceCore } from '../src/core/reference.js';
import { DEFAULTS, resolveRunOptions } from '../src/options.js';
import { runOps } from '../src/run.js';
import { execHasCapSysRawio, mmapMinAddrFor } from '../src/oracle/host.js';
import { parseTrace } from '../src/trace/parse.js';
import { liveSkipReason, reportSkip } from './fixtures/live.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'ptreclaim.js');
const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

describe.each(['wasm', 'ts'] as const)('the mmapMinAddr option (%s core)', (core) => {
  const mmWith = (mmapMinAddr?: number) => new Mm(core === 'ts' ? new ReferenceCore() : new WasmCore('debug'), { mmapMinAddr });

  it('defaults to 0x10000: a fixed mmap below it is EPERM, at it succeeds', () => {
    const mm = mmWith();
    expect(DEFAULTS.mmapMinAddr).toBe(0x10000);
    expect(mm.mmap(0xf000, 0x1000)).toMatchObject({ ok: false, errno: 'EPERM' });
    expect(mm.mmap(0x10000, 0x1000)).toMatchObject({ ok: true });
    expect(mm.exit().problems).toEqual([]);
  });

  it('0 (a CAP_SYS_RAWIO process): maps at address 0, moves to 0x1000, touches there', () => {
    const mm = mmWith(0);
    expect(mm.mmap(0, 0x1000)).toMatchObject({ ok: true });
    expect(mm.mmap(0x4000, 0x1000)).toMatchObject({ ok: true });
    expect(mm.touch(0x4000, 0x1000, 'write')).toMatchObject({ ok: true });
    expect(mm.mremap(0x4000, 0x1000, 0x1000, 0x1000)).toMatchObject({ ok: true, addr: 0x1000 });
    expect(mm.stats().RssAnon).toBe(1);
    expect(mm.exit().problems).toEqual([]);
  });

  it('4096 (this kind of host, no CAP_SYS_RAWIO): the floor moves for mmap and mremap alike', () => {
    const mm = mmWith(4096);
    expect(mm.mmap(0, 0x1000)).toMatchObject({ ok: false, errno: 'EPERM' });
    expect(mm.mmap(0x1000, 0x1000)).toMatchObject({ ok: true });
    expect(mm.mmap(0x20000, 0x2000)).toMatchObject({ ok: true });
    expect(mm.mremap(0x20000, 0x1000, 0x1000, 0x8000)).toMatchObject({ ok: true, addr: 0x8000 });
    const high = mmWith(0x100000);
    expect(high.mmap(0x200000, 0x1000)).toMatchObject({ ok: true });
    expect(high.mremap(0x200000, 0x1000, 0x1000, 0x80000)).toMatchObject({ ok: false, errno: 'EPERM' });
    expect(high.mmap(0x80000, 0x1000)).toMatchObject({ ok: false, errno: 'EPERM' });
  });

  it('top-down placement stays above the kernel mmap_min_addr (the option raised to 64 KiB)', () => {
    const mm = mmWith(0);
    // Fill everything from 64 KiB to mmap_base: nothing is left for a placed mapping.
    expect(mm.mmap(0x10000, DEFAULTS.mmapBase - 0x10000)).toMatchObject({ ok: true });
    expect(mm.mmap(null, 0x1000)).toMatchObject({ ok: false, errno: 'ENOMEM' });
  });
});

describe('mmapMinAddr in the API and on the command line', () => {
  it('is checked: a negative, fractional or too large value is a clear error', () => {
    expect(() => resolveRunOptions({ mmapMinAddr: -1 })).toThrow(/--mmap-min-addr -1: expected a whole number of bytes/);
    expect(() => resolveRunOptions({ mmapMinAddr: 0.5 })).toThrow(/--mmap-min-addr/);
    expect(() => runOps([], { mmapMinAddr: 'low' as unknown as number })).toThrow(/mmapMinAddr/);
    const r = run('run', 'seed', '--mmap-min-addr', '-4');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--mmap-min-addr/);
  });

  it('`run --trace T --mmap-min-addr 0x1000` maps at 0x1000 and refuses 0; the default refuses both', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ptreclaim-minaddr-'));
    const path = join(dir, 'low.trace');
    writeFileSync(path, 'version 2\nmmap 0x0 0x1000\nmmap 0x1000 0x1000\ntouch 0x1000 0x1000 write\n');
    const errnos = (...flags: string[]) => {
      const r = run('run', '--trace', path, '--json', ...flags);
      const j = JSON.parse(r.stdout) as { errors: { index: number; errno: string }[]; rss: { anonPages: number } };
      return { errors: j.errors.map((e) => [e.index, e.errno]), anon: j.rss.anonPages };
    };
    expect(errnos('--mmap-min-addr', '0x1000')).toEqual({ errors: [[0, 'EPERM']], anon: 1 });
    expect(errnos('--mmap-min-addr', '0')).toEqual({ errors: [], anon: 1 });
    expect(errnos()).toEqual({
      errors: [
        [0, 'EPERM'],
        [1, 'EPERM'],
        [2, 'EFAULT'],
      ],
      anon: 0,
    });
  });
});

describe('what validate reads from the host', () => {
  const status = (uid: string, bnd: string, amb: string) =>
    `Name:\tnode\nUid:\t${uid}\t${uid}\t${uid}\t${uid}\nCapInh:\t0000000000000000\nCapBnd:\t${bnd}\nCapAmb:\t${amb}\n`;

  it('CAP_SYS_RAWIO across execve: the bounding set for root, the ambient set otherwise', () => {
    expect(execHasCapSysRawio(status('0', '000001ffffffffff', '0000000000000000'))).toBe(true);
    expect(execHasCapSysRawio(status('0', '000001fffffdffff', '0000000000000000'))).toBe(false); // bit 17 dropped
    expect(execHasCapSysRawio(status('1000', '000001ffffffffff', '0000000000000000'))).toBe(false);
    expect(execHasCapSysRawio(status('1000', '000001ffffffffff', '0000000000020000'))).toBe(true);
    expect(execHasCapSysRawio('')).toBe(false);
  });

  it('the floor: 0 with CAP_SYS_RAWIO, else the sysctl; SELinux adds CONFIG_LSM_MMAP_MIN_ADDR', () => {
    const f = (sysctl: number | null, capSysRawio: boolean, selinux = false) =>
      mmapMinAddrFor({ sysctl, capSysRawio, selinux, lsmMinAddr: 65536 }).effective;
    expect(f(4096, true)).toBe(0);
    expect(f(4096, false)).toBe(4096);
    expect(f(65536, false)).toBe(65536);
    expect(f(4096, false, true)).toBe(65536);
    expect(f(4096, true, true)).toBe(65536);
    expect(f(1 << 20, false, true)).toBe(1 << 20);
    expect(f(null, false)).toBe(DEFAULTS.mmapMinAddr);
    expect(mmapMinAddrFor({ sysctl: 4096, capSysRawio: true, selinux: false, lsmMinAddr: null }).reason).toMatch(/CAP_SYS_RAWIO/);
  });
});

// Maps and moves below 0x10000 (the old hard-coded floor), and one below 0x1000.
const LOW = `version 2
mmap 0x0 0x1000
mmap 0x1000 0x1000
touch 0x1000 0x1000 write
mremap 0x1000 0x1000 0x1000 0x3000
mmap 0x10000 0x2000
touch 0x10000 0x2000 write
mremap 0x10000 0x1000 0x1000 0x8000
mremap 0x11000 0x1000 0x1000 0x0
munmap 0x0 0x20000
`;

interface Out {
  outcomes: { agree: boolean; differences: string[]; model: { errors: { index: number; errno: string }[] } }[];
}

const setprivOk = spawnSync('setpriv', ['--version'], { encoding: 'utf8' }).status === 0;
const notRoot = process.getuid?.() !== 0 ? 'needs root (to replay with and without CAP_SYS_RAWIO)' : undefined;
const lowSkip = liveSkipReason ?? notRoot ?? (setprivOk ? undefined : 'needs setpriv (util-linux) to drop CAP_SYS_RAWIO');

describe('live kernel: mmap_min_addr', () => {
  reportSkip('live mmap_min_addr validation', lowSkip);
  const live = it.skipIf(lowSkip !== undefined);

  live('validate agrees on maps and moves below 0x10000, with CAP_SYS_RAWIO (root) and without it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ptreclaim-minaddr-live-'));
    const path = join(dir, 'low.trace');
    writeFileSync(path, LOW);
    expect(parseTrace(LOW, path)).toHaveLength(9);
    const validate = (prefix: string[]) => {
      const cmd = [...prefix, process.execPath, BIN, 'validate', '--trace', path, '--json'];
      const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', timeout: 60_000 });
      const o = (JSON.parse(r.stdout) as Out).outcomes[0]!;
      return { status: r.status, differences: o.differences, errors: o.model.errors.map((e) => [e.index, e.errno]) };
    };
    // Root: the helper has CAP_SYS_RAWIO, every call succeeds (the model used to say EPERM).
    expect(validate([])).toEqual({ status: 0, differences: [], errors: [] });
    // Without CAP_SYS_RAWIO (dropped from the bounding set for ptreclaim and so its helper):
    // vm.mmap_min_addr applies. The errors depend on this host's sysctl; both sides must agree.
    const sysctl = Number(spawnSync('cat', ['/proc/sys/vm/mmap_min_addr'], { encoding: 'utf8' }).stdout.trim());
    const dropped = validate(['setpriv', '--bounding-set=-sys_rawio', '--inh-caps=-sys_rawio']);
    expect({ status: dropped.status, differences: dropped.differences }).toEqual({ status: 0, differences: [] });
    expect(dropped.errors.some(([i]) => i === 0)).toBe(sysctl > 0); // mmap at 0
  });
});
