/**
 * The host settings file mappings follow: fault_around_bytes and the read_ahead_kb of the
 * file system the replayer creates its files on. A module of its own so `ptreclaim run`
 * can read them for its defaults without loading the live oracle.
 */
import { readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';

function readNumber(path: string): number {
  try {
    return Number(readFileSync(path, 'utf8').trim());
  } catch {
    return NaN;
  }
}

/**
 * fault_around_bytes from debugfs, or undefined when debugfs is not mounted or not
 * readable (the kernel's default, 64 KiB, then stands).
 */
export function hostFaultAroundBytes(path = '/sys/kernel/debug/fault_around_bytes'): number | undefined {
  const v = readNumber(path);
  return Number.isInteger(v) && v >= 0 && v <= 2 ** 21 ? v : undefined;
}

/**
 * read_ahead_kb of the block device holding `dir` (where the replayer creates its files:
 * the system temporary directory), in bytes; undefined when /sys does not say.
 */
export function hostReadaheadBytes(dir = tmpdir()): number | undefined {
  let dev: number;
  try {
    dev = statSync(dir).dev;
  } catch {
    return undefined;
  }
  // Linux dev_t: major in bits 8..19 (and 32..), minor in bits 0..7 and 20..31.
  const major = Math.floor(dev / 256) % 4096;
  const minor = (dev % 256) + (Math.floor(dev / 2 ** 20) % 4096) * 256;
  const kb = readNumber(`/sys/class/bdi/${major}:${minor}/read_ahead_kb`);
  return Number.isInteger(kb) && kb >= 0 ? kb * 1024 : undefined;
}
