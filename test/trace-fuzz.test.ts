/**
 * Fuzz target for the trace parser (fast-check, fixed seed and budget, part of the normal
 * suite): whatever the bytes, parsing either returns operations within the format's limits
 * or throws a TraceSyntaxError with a position and a short message. Nothing else: no
 * TypeError, no RangeError, no unbounded message.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { TraceSyntaxError } from '../src/errors.js';
import { MAX_TRACE_NUMBER, parseTraceBytes, opsOfBatches } from '../src/trace/reader.js';
import { parseTrace } from '../src/trace/parse.js';

const WORDS = [
  'version',
  '1',
  '2',
  'mmap',
  'munmap',
  'touch',
  'madvise',
  'read',
  'write',
  'dontneed',
  'free',
  '#',
  '0x',
  '0x1000',
  '0x0000300000000000',
  '4K',
  '2M',
  '1G',
  '4097T',
  '18446744073709551616',
  '-1',
  '1.5',
  '=',
  'prot=rw',
  '\uFEFF',
  '\u0000',
  '\r',
  '\t',
  'é',
];

/** Lines made of the grammar's own words, numbers and separators: reaches deep into the parser. */
const tokenLine = fc
  .array(fc.oneof(fc.constantFrom(...WORDS), fc.integer({ min: 0, max: 2 ** 53 }).map(String), fc.string({ maxLength: 6 })), {
    maxLength: 6,
  })
  .map((t) => t.join(' '));
const traceText = fc.array(tokenLine, { maxLength: 12 }).map((lines) => lines.join('\n'));

function check(parse: () => unknown): void {
  let ops: unknown;
  try {
    ops = parse();
  } catch (e) {
    if (!(e instanceof TraceSyntaxError)) throw e;
    expect(e.line).toBeGreaterThanOrEqual(1);
    expect(e.column).toBeGreaterThanOrEqual(1);
    expect(e.message.length).toBeLessThan(400);
    return;
  }
  for (const op of ops as { addr: number; len: number }[]) {
    expect(Number.isSafeInteger(op.addr) && op.addr >= 0 && op.addr <= MAX_TRACE_NUMBER).toBe(true);
    expect(Number.isSafeInteger(op.len) && op.len >= 0 && op.len <= MAX_TRACE_NUMBER).toBe(true);
  }
}

describe('trace parser fuzz target', () => {
  it('grammar-shaped text: operations within limits, or a TraceSyntaxError', () => {
    fc.assert(
      fc.property(traceText, (text) => check(() => parseTrace(text, 'fuzz.trace'))),
      { numRuns: 1500, seed: 0xf022 },
    );
  });

  it('arbitrary bytes: the same', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => check(() => opsOfBatches(parseTraceBytes(bytes, 'fuzz.trace')))),
      { numRuns: 1500, seed: 0xb17e5 },
    );
  });
});
