/** What the bench scripts share: their flags, and writing their JSON results. */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { parseNumber } from '../src/trace/parse.js';
import { writeOutputFile } from '../src/io.js';

/**
 * Parse `--name value` flags, each with a default; an unknown flag or a bad number ends the
 * script with a message naming the flag (exit 2). Numbers read as trace numbers do
 * (hex, or decimal with K/M/G/T).
 */
export function benchArgs<N extends string, S extends string>(
  numbers: Record<N, number>,
  strings: Record<S, string>,
): Record<N, number> & Record<S, string> {
  const options: Record<string, { type: 'string' }> = {};
  for (const k of [...Object.keys(numbers), ...Object.keys(strings)]) options[k] = { type: 'string' };
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({ options, strict: true }).values;
  } catch (e) {
    return fail((e as Error).message);
  }
  const out: Record<string, number | string> = { ...strings };
  for (const [k, dflt] of Object.entries<number>(numbers)) {
    const text = values[k];
    const v = text === undefined ? dflt : parseNumber(text);
    if (typeof v === 'string' || v <= 0)
      return fail(`--${k}: ${typeof v === 'string' ? v : `expected a positive number, not ${String(text)}`}`);
    out[k] = v;
  }
  for (const k of Object.keys(strings)) if (values[k] !== undefined) out[k] = values[k]!;
  return out as Record<N, number> & Record<S, string>;
}

/** End a bench script: the message, exit 2 (bad usage) or the status given (1: an input cannot be read). */
export function fail(message: string, status = 2): never {
  process.stderr.write(`${message}\n`);
  process.exit(status);
}

/** Write a results object as JSON, atomically, creating its directory. */
export function writeResults(file: string, data: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  writeOutputFile(file, JSON.stringify(data, null, 2) + '\n');
}

export interface ProcessRun {
  ms: number;
  /** user + system CPU seconds of the process, as the kernel accounted them. */
  cpuS: number;
  peakRssKb: number;
  stdout: string;
}

const TIME = '/usr/bin/time';
const TIME_FORMAT = 'PTRECLAIM-TIME %U %S %M';

/**
 * One whole process, run under /usr/bin/time: wall time, CPU time and peak RSS (the child's
 * maxrss) as the kernel accounted them. On a shared host wall time includes waiting for a CPU;
 * CPU time does not.
 */
export function runProcess(argv: string[]): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(TIME, ['-f', TIME_FORMAT, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - t0;
      const m = /PTRECLAIM-TIME ([\d.]+) ([\d.]+) (\d+)/.exec(stderr);
      if (code !== 0 || !m) reject(new Error(`${argv.join(' ')} failed (exit ${String(code)}): ${stderr.trim()}`));
      else resolve({ ms, cpuS: Number(m[1]) + Number(m[2]), peakRssKb: Number(m[3]), stdout });
    });
  });
}
