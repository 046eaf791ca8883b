/** What the bench scripts share: their flags, and writing their JSON results. */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
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

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

/** Write a results object as JSON, atomically, creating its directory. */
export function writeResults(file: string, data: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  writeOutputFile(file, JSON.stringify(data, null, 2) + '\n');
}
