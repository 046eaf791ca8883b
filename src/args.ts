/**
 * One validated parser per kind of numeric option, shared by `run`, `bench`, `corpus`, `import`
 * and the library's input schemas: no value wraps (u32 seeds, CPU counts) or is clamped silently
 * (arena limit). Each returns the number or throws a UsageError naming the flag and the range.
 */
import { ARENA_HARD_MAX_FRAMES, PAGE_SIZE } from './core/types.js';
import { UsageError } from './errors.js';
import { parseNumber } from './trace/parse.js';

/** Seeds feed a 32-bit PRNG state: larger values would wrap onto smaller ones. */
export const SEED_MAX = 0xffff_ffff;
/** x86-64's largest NR_CPUS (CONFIG_MAXSMP): the IPI count per shootdown is cpus - 1. */
export const CPUS_MAX = 8192;
/** The arena cannot hold more than 4 GiB of wasm32 memory allows. */
export const ARENA_LIMIT_MAX_BYTES = ARENA_HARD_MAX_FRAMES * PAGE_SIZE;
/** The PGD and one table. */
export const ARENA_LIMIT_MIN_BYTES = 2 * PAGE_SIZE;

const shown = (text: string) => (text.length > 40 ? `${text.slice(0, 40)}...` : text);

/** An integer in [min, max] written in decimal (or hex with 0x). */
export function parseIntegerArg(text: string, flag: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const t = text.trim();
  const v = /^0x[0-9a-f]+$/i.test(t) ? Number.parseInt(t.slice(2), 16) : /^[+-]?\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new UsageError(`${flag} must be an integer ${range}, not "${shown(text)}"`);
  }
  return v;
}

/** A finite number in [min, max]. */
export function parseRealArg(text: string, flag: string, min: number, max = Infinity, what = 'a number'): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v < min || v > max) {
    throw new UsageError(`${flag} must be ${what} from ${min} to ${max === Infinity ? 'any size' : max}, not "${shown(text)}"`);
  }
  return v;
}

/** A finite number > 0. */
export function parsePositiveArg(text: string, flag: string): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v <= 0) throw new UsageError(`${flag} must be a positive number, not "${shown(text)}"`);
  return v;
}

/** A byte count as traces write it (hex, or decimal with K/M/G/T), in [min, max]. */
export function parseSizeArg(text: string, flag: string, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const v = parseNumber(text);
  if (typeof v === 'string') throw new UsageError(`${flag}: ${v}`);
  if (v < min || v > max) throw new UsageError(`${flag} ${shown(text)} is out of range: give ${formatBytes(min)} to ${formatBytes(max)}`);
  return v;
}

export const parseSeedArg = (text: string, flag = '--seed') => parseIntegerArg(text, flag, 0, SEED_MAX);
export const parseCpusArg = (text: string, flag = '--cpus') => parseIntegerArg(text, flag, 1, CPUS_MAX);
export const parseArenaLimitArg = (text: string, flag = '--arena-limit') =>
  parseSizeArg(text, flag, ARENA_LIMIT_MIN_BYTES, ARENA_LIMIT_MAX_BYTES);
export const parseProbabilityArg = (text: string, flag: string) => parseRealArg(text, flag, 0, 1, 'a probability');

/** "4094.75 MiB (4293656576 bytes)": exact bytes, readable size. */
export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  // Not a round figure in this unit (4 GiB less 1.25 MiB): one unit down shows it exactly.
  if (i > 0 && Math.round(v * 100) / 100 !== v) {
    v *= 1024;
    i--;
  }
  return i === 0 ? `${n} bytes` : `${Number(v.toFixed(2))} ${units[i]!} (${n} bytes)`;
}
