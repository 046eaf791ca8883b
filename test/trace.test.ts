import { describe, it, expect } from 'vitest';
import { parseTrace, formatTrace, parseNumber } from '../src/trace/parse.js';
import { TraceSyntaxError } from '../src/errors.js';
import { seedWorkload } from '../src/workloads/index.js';

const errorOf = (text: string): TraceSyntaxError => {
  try {
    parseTrace(text, 'my.trace');
  } catch (e) {
    expect(e).toBeInstanceOf(TraceSyntaxError);
    return e as TraceSyntaxError;
  }
  throw new Error('expected a syntax error');
};

describe('trace format v1', () => {
  it('parses every operation, comments, hex and suffixed decimals', () => {
    const ops = parseTrace(`# a comment
version 1
mmap 0x200000000000 50G     # trailing comment
touch 0x200000000000 2M
touch 0x200000000000 4k read

madvise 0x200000000000 0x200000 dontneed
madvise 0x200000000000 2097152 free
munmap 0x200000000000 1T
`, 't');
    expect(ops).toEqual([
      { kind: 'mmap', addr: 0x200000000000, len: 50 * 2 ** 30, file: 't', line: 3 },
      { kind: 'touch', addr: 0x200000000000, len: 2 * 2 ** 20, access: 'write', file: 't', line: 4 },
      { kind: 'touch', addr: 0x200000000000, len: 4096, access: 'read', file: 't', line: 5 },
      { kind: 'madvise', addr: 0x200000000000, len: 0x200000, advice: 'dontneed', file: 't', line: 7 },
      { kind: 'madvise', addr: 0x200000000000, len: 0x200000, advice: 'free', file: 't', line: 8 },
      { kind: 'munmap', addr: 0x200000000000, len: 2 ** 40, file: 't', line: 9 },
    ]);
  });

  it('round-trips through the canonical writer', () => {
    const ops = [...seedWorkload(64 * 2 ** 20).ops()];
    const back = parseTrace(formatTrace(ops, 'header'), 'x').map(({ file, line, ...op }) => op);
    expect(back).toEqual(ops);
  });

  it.each([
    ['mmap 0x1000', 1, 12, 'mmap: missing length'],
    ['madvise 0x1000 0x1000 dontned', 1, 23, 'advice must be "dontneed" or "free", not "dontned"'],
    ['madvise 0x1000 0x1000', 1, 22, 'missing advice'],
    ['\n\n  mremap 0x1000 0x1000', 3, 3, 'unknown operation "mremap"'],
    ['touch 0x1000 12Q', 1, 14, '"12Q" is not a number'],
    ['touch 0x1000 0x1000 execute', 1, 21, 'access must be "write" or "read"'],
    ['munmap 0x1000 0x1000 extra', 1, 22, 'unexpected extra argument "extra"'],
    ['mmap 0x10000000000000000 1', 1, 6, 'too large'],
    ['mmap 0x1000 0x1000\nversion 1', 2, 1, '"version" must be the first line'],
    ['version 2', 1, 9, 'unsupported trace version "2"'],
  ])('rejects %j with file, line and column', (text, line, column, message) => {
    const e = errorOf(text);
    expect(e.line).toBe(line);
    expect(e.column).toBe(column);
    expect(e.message).toContain(message);
    expect(e.message.startsWith(`my.trace:${line}:${column}: `)).toBe(true);
  });

  it('parses numbers', () => {
    expect(parseNumber('0x1F')).toBe(31);
    expect(parseNumber('3k')).toBe(3072);
    expect(parseNumber('1G')).toBe(2 ** 30);
    expect(typeof parseNumber('-1')).toBe('string');
    expect(typeof parseNumber('1.5M')).toBe('string');
  });
});
