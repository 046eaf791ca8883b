/**
 * Facts about the running kernel that decide how the model must be configured to match it:
 * is PT_RECLAIM built in (config) and active (probe), does a read fault map the zero page,
 * THP mode, page size and paging depth. Read from /proc and /sys, plus two short probes in
 * the helper (`--host`, `--probe-pt-reclaim`).
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { release } from 'node:os';

import { OracleUnavailableError, liveOracleStatus, probeHost, probePtReclaim } from './live.js';
import { DEFAULTS } from '../options.js';

export type Tristate = 'y' | 'n' | 'unknown';

export interface HostFacts {
  os: string;
  arch: string;
  /** uname -r */
  kernel: string;
  pageSize: number;
  /** 4 or 5 (from the user address width a fresh process gets). */
  pagingLevels: number;
  ptReclaim: {
    /** CONFIG_PT_RECLAIM from /proc/config.gz or /boot/config-<release>. */
    config: Tristate;
    configSource: string;
    /** Did MADV_DONTNEED of a whole touched 2 MiB range free its PTE table? */
    probe: boolean;
    probeVmPteKb: [number, number];
    /** What the model should assume: the probe decides; the config only explains. */
    enabled: boolean;
  };
  /** /sys/kernel/mm/transparent_hugepage/enabled, the selected mode. */
  thp: string;
  /** The rest of /sys/kernel/mm/transparent_hugepage/ that decides what a trace v2 replay does. */
  thpSettings: ThpSettings;
  /**
   * Read faults map the shared zero page (upstream). False when the kernel command line has
   * the non-upstream `pvm_no_zero_page=1`: reads allocate real pages there.
   */
  zeroPage: boolean;
  zeroPageReason: string;
  /** The lowest address the replaying helper may map at, and what decides it. */
  mmapMinAddr: MmapMinAddr;
  memAvailableKb: number;
}

/**
 * What security_mmap_addr enforces for the replaying helper (a fixed mmap, an mremap
 * destination): cap_mmap_addr refuses an address below vm.mmap_min_addr (dac_mmap_min_addr)
 * unless the process has CAP_SYS_RAWIO; SELinux, when active, also refuses below
 * CONFIG_LSM_MMAP_MIN_ADDR unless its policy grants mmap_zero (assumed not granted). No other
 * LSM has an mmap_addr hook. CONFIG_LSM_MMAP_MIN_ADDR raises only the kernel's own
 * mmap_min_addr, which bounds top-down placement, not a fixed address (measured: without
 * CAP_SYS_RAWIO, MAP_FIXED_NOREPLACE at 0x1000 works here, mmap_min_addr 4096, LSM 65536).
 */
export interface MmapMinAddr {
  /** /proc/sys/vm/mmap_min_addr; null when unreadable. */
  sysctl: number | null;
  /** The helper will hold CAP_SYS_RAWIO (it inherits this process's capabilities across execve). */
  capSysRawio: boolean;
  /** SELinux is active (/sys/fs/selinux/enforce, or selinux in /sys/kernel/security/lsm). */
  selinux: boolean;
  /** CONFIG_LSM_MMAP_MIN_ADDR from the kernel config; null when unknown. */
  lsmMinAddr: number | null;
  /** The floor the model takes (option mmapMinAddr). */
  effective: number;
  reason: string;
}

/** CAP_SYS_RAWIO's bit in the /proc/PID/status capability masks. */
const CAP_SYS_RAWIO = 17n;

/**
 * Whether a program this process execs (no file capabilities, not setuid) holds CAP_SYS_RAWIO:
 * with effective uid 0 it gets the bounding set, otherwise only the ambient set (capabilities(7)).
 */
export function execHasCapSysRawio(status: string): boolean {
  const field = (name: string) => new RegExp(`^${name}:\\s+(.*)$`, 'm').exec(status)?.[1]?.trim();
  const euid = field('Uid')?.split(/\s+/)[1];
  const mask = field(euid === '0' ? 'CapBnd' : 'CapAmb');
  if (mask === undefined || !/^[0-9a-f]+$/i.test(mask)) return false;
  return ((BigInt(`0x${mask}`) >> CAP_SYS_RAWIO) & 1n) === 1n;
}

/** The floor security_mmap_addr puts under a fixed mapping of the helper, from the facts that decide it. */
export function mmapMinAddrFor(f: Omit<MmapMinAddr, 'effective' | 'reason'>): MmapMinAddr {
  const hex = (n: number) => `0x${n.toString(16)}`;
  let effective: number;
  let reason: string;
  if (f.sysctl === null) {
    effective = DEFAULTS.mmapMinAddr;
    reason = `/proc/sys/vm/mmap_min_addr unreadable: the run default ${hex(effective)}`;
  } else if (f.capSysRawio) {
    effective = 0;
    reason = `vm.mmap_min_addr ${f.sysctl}, but the replaying helper has CAP_SYS_RAWIO (it may map at any address)`;
  } else {
    effective = f.sysctl;
    reason = `vm.mmap_min_addr ${f.sysctl} (the replaying helper has no CAP_SYS_RAWIO)`;
  }
  if (f.selinux) {
    const lsm = f.lsmMinAddr ?? DEFAULTS.mmapMinAddr;
    if (lsm > effective) {
      effective = lsm;
      reason += `; SELinux is active: CONFIG_LSM_MMAP_MIN_ADDR ${lsm} (assuming its policy grants no mmap_zero)`;
    }
  }
  return { ...f, effective, reason };
}

function readMmapMinAddr(configText: string | undefined): MmapMinAddr {
  const sysctl = Number(readText('/proc/sys/vm/mmap_min_addr')?.trim() ?? NaN);
  const lsm = configText === undefined ? null : /^CONFIG_LSM_MMAP_MIN_ADDR=(\d+)$/m.exec(configText);
  return mmapMinAddrFor({
    sysctl: Number.isInteger(sysctl) ? sysctl : null,
    capSysRawio: execHasCapSysRawio(readText('/proc/self/status') ?? ''),
    selinux: readText('/sys/fs/selinux/enforce') !== null || /(^|,)selinux(,|$)/m.test(readText('/sys/kernel/security/lsm') ?? ''),
    lsmMinAddr: lsm ? Number(lsm[1]) : null,
  });
}

/** THP settings of the host; selected words ("madvise"), numbers, null where unreadable. */
export interface ThpSettings {
  enabled: string;
  defrag: string;
  /** use_zero_page: read faults in a THP area map the huge zero page. */
  useZeroPage: boolean | null;
  shmemEnabled: string;
  /** hugepages-2048kB/shmem_enabled: `inherit` (follow shmemEnabled) or a mode of its own for PMD-sized shmem THP. */
  shmemEnabledPmd: string;
  khugepaged: {
    defrag: boolean | null;
    maxPtesNone: number | null;
    maxPtesShared: number | null;
    maxPtesSwap: number | null;
    pagesToScan: number | null;
    scanSleepMillisecs: number | null;
    allocSleepMillisecs: number | null;
    /** Host-wide counters at the time of reading. */
    pagesCollapsed: number | null;
    fullScans: number | null;
  };
}

/** Reads the THP settings under `root` (the sysfs directory; a test can pass its own). */
export function readThpSettings(root = '/sys/kernel/mm/transparent_hugepage'): ThpSettings {
  const num = (name: string): number | null => {
    const t = readText(`${root}/${name}`);
    const v = t === null ? NaN : Number(t.trim());
    return Number.isFinite(v) ? v : null;
  };
  const bool = (name: string): boolean | null => {
    const v = num(name);
    return v === null ? null : v !== 0;
  };
  return {
    enabled: thpMode(readText(`${root}/enabled`)),
    defrag: thpMode(readText(`${root}/defrag`)),
    useZeroPage: bool('use_zero_page'),
    shmemEnabled: thpMode(readText(`${root}/shmem_enabled`)),
    shmemEnabledPmd: thpMode(readText(`${root}/hugepages-2048kB/shmem_enabled`)),
    khugepaged: {
      defrag: bool('khugepaged/defrag'),
      maxPtesNone: num('khugepaged/max_ptes_none'),
      maxPtesShared: num('khugepaged/max_ptes_shared'),
      maxPtesSwap: num('khugepaged/max_ptes_swap'),
      pagesToScan: num('khugepaged/pages_to_scan'),
      scanSleepMillisecs: num('khugepaged/scan_sleep_millisecs'),
      allocSleepMillisecs: num('khugepaged/alloc_sleep_millisecs'),
      pagesCollapsed: num('khugepaged/pages_collapsed'),
      fullScans: num('khugepaged/full_scans'),
    },
  };
}

/** One line on THP for humans. */
export function describeThp(t: ThpSettings): string {
  const k = t.khugepaged;
  const zp = t.useZeroPage === null ? 'unknown' : t.useZeroPage ? 'on' : 'off';
  return `THP ${t.enabled} (defrag ${t.defrag}, huge zero page ${zp}, shmem ${t.shmemEnabled}; khugepaged every ${k.scanSleepMillisecs ?? '?'} ms, ${k.pagesToScan ?? '?'} pages per pass, max_ptes_none ${k.maxPtesNone ?? '?'})`;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** CONFIG_<name> from a kernel config text: 'y' / 'm' count as on, "is not set" as off. */
export function configValue(configText: string, name: string): Tristate {
  const on = new RegExp(`^CONFIG_${name}=(y|m)$`, 'm');
  const off = new RegExp(`^# CONFIG_${name} is not set$`, 'm');
  if (on.test(configText)) return 'y';
  if (off.test(configText)) return 'n';
  return 'n'; // absent from a complete config: the option does not exist in this kernel
}

/** The kernel config: /proc/config.gz (CONFIG_IKCONFIG_PROC) or /boot/config-<release>. */
export function readKernelConfig(kernel = release()): { text: string; source: string } | null {
  try {
    return { text: gunzipSync(readFileSync('/proc/config.gz')).toString('utf8'), source: '/proc/config.gz' };
  } catch {
    // not built with IKCONFIG_PROC, or unreadable
  }
  const boot = `/boot/config-${kernel}`;
  const text = readText(boot);
  return text === null ? null : { text, source: boot };
}

/** The zero-page behaviour the kernel command line asks for. */
export function zeroPageFromCmdline(cmdline: string): { zeroPage: boolean; reason: string } {
  const m = /(?:^|\s)pvm_no_zero_page=(\S+)/.exec(cmdline);
  if (m && m[1] !== '0' && m[1] !== 'n' && m[1] !== 'off') {
    return { zeroPage: false, reason: `pvm_no_zero_page=${m[1]!} on the kernel command line: read faults allocate pages` };
  }
  return { zeroPage: true, reason: 'no pvm_no_zero_page flag on the kernel command line: read faults map the zero page' };
}

/** The selected THP mode, e.g. "madvise" from "always [madvise] never". */
export function thpMode(text: string | null): string {
  if (text === null) return 'unknown';
  const m = /\[([\w+-]+)\]/.exec(text); // "defer+madvise" too
  return m ? m[1]! : 'unknown';
}

let cached: Promise<HostFacts> | undefined;

/**
 * Collects the host facts (once per process). Rejects with OracleUnavailableError when the
 * helper cannot run here.
 */
export function hostFacts(): Promise<HostFacts> {
  cached ??= collect();
  return cached;
}

async function collect(): Promise<HostFacts> {
  const st = liveOracleStatus();
  if (!st.available) throw new OracleUnavailableError(`live-kernel oracle unavailable: ${st.reason}`);
  const kernel = release();
  const [probe, pt] = [await probeHost(), await probePtReclaim()];
  const cfg = readKernelConfig(kernel);
  const config = cfg ? configValue(cfg.text, 'PT_RECLAIM') : 'unknown';
  const zp = zeroPageFromCmdline(readText('/proc/cmdline') ?? '');
  const mem = /^MemAvailable:\s+(\d+) kB$/m.exec(readText('/proc/meminfo') ?? '');
  return {
    os: process.platform,
    arch: process.arch,
    kernel,
    pageSize: probe.pageSize,
    pagingLevels: probe.vaBits > 47 ? 5 : 4,
    ptReclaim: {
      config,
      configSource: cfg ? cfg.source : 'no /proc/config.gz and no /boot/config-' + kernel,
      probe: pt.ptReclaim,
      probeVmPteKb: [pt.vmPteBeforeKb, pt.vmPteAfterKb],
      enabled: pt.ptReclaim,
    },
    thp: thpMode(readText('/sys/kernel/mm/transparent_hugepage/enabled')),
    thpSettings: readThpSettings(),
    zeroPage: zp.zeroPage,
    zeroPageReason: zp.reason,
    mmapMinAddr: readMmapMinAddr(cfg?.text),
    memAvailableKb: mem ? Number(mem[1]) : 0,
  };
}

/** One line for humans. */
export function describeHost(h: HostFacts): string {
  const pt = h.ptReclaim;
  const ptText = `PT_RECLAIM ${pt.enabled ? 'on' : 'off'} (config ${pt.config} from ${pt.configSource}; probe: MADV_DONTNEED of 2 MiB took VmPTE ${pt.probeVmPteKb[0]} -> ${pt.probeVmPteKb[1]} kB)`;
  return `Linux ${h.kernel} ${h.arch}, ${h.pageSize / 1024} KiB pages, ${h.pagingLevels}-level paging, ${describeThp(h.thpSettings)}, ${ptText}, zero page ${h.zeroPage ? 'on' : 'off'} (${h.zeroPageReason}), mmap_min_addr 0x${h.mmapMinAddr.effective.toString(16)} for the replay (${h.mmapMinAddr.reason})`;
}
