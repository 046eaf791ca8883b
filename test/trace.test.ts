import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTrace, formatTrace, parseNumber, readTraceFile, MAX_LINE_BYTES } from '../src/trace/parse.js';
import { runOps, runTraceFile } from '../src/run.js';
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
    const ops = parseTrace(
      `# a comment
version 1
mmap 0x200000000000 50G     # trailing comment
touch 0x200000000000 2M
touch 0x200000000000 4k read

madvise 0x200000000000 0x200000 dontneed
madvise 0x200000000000 2097152 free
munmap 0x200000000000 1T
`,
      't',
    );
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
    ['\n\n  mremap 0x1000 0x1000', 3, 3, 'mremap needs `version 2` as the first line'],
    ['\n\n  mwrap 0x1000 0x1000', 3, 3, 'unknown operation "mwrap": trace version 1 knows mmap, munmap, touch, madvise'],
    ['touch 0x1000 12Q', 1, 14, '"12Q" is not a number'],
    ['touch 0x1000 0x1000 execute', 1, 21, 'access must be "write" or "read"'],
    ['munmap 0x1000 0x1000 extra', 1, 22, 'unexpected extra argument "extra"'],
    ['mmap 0x10000000000000000 1', 1, 6, 'too large'],
    ['mmap 0x1000 0x1000\nversion 1', 2, 1, '"version" must be the first line'],
    ['version 3', 1, 9, 'unsupported trace version "3": this ptreclaim reads versions 1 and 2'],
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

describe('trace reader: limits, encodings, streaming', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ptreclaim-trace-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, data: string | Uint8Array) => {
    const p = join(dir, name);
    writeFileSync(p, data);
    return p;
  };
  const fileError = (path: string): TraceSyntaxError => {
    try {
      readTraceFile(path);
    } catch (e) {
      expect(e).toBeInstanceOf(TraceSyntaxError);
      return e as TraceSyntaxError;
    }
    throw new Error('expected a syntax error');
  };

  it('counts columns after a UTF-8 byte-order mark from the first character', () => {
    const e = errorOf('\uFEFFmmap 0x1000');
    expect([e.line, e.column]).toEqual([1, 12]);
    expect(parseTrace('\uFEFFmmap 0x10000 4K', 't')).toEqual([{ kind: 'mmap', addr: 0x10000, len: 4096, file: 't', line: 1 }]);
  });

  it('accepts zero-padded hex and still refuses values above 2^52', () => {
    expect(parseNumber('0x0000100000000000')).toBe(2 ** 44);
    expect(parseNumber('0x00000000000000000000000000001000')).toBe(0x1000);
    expect(parseTrace('mmap 0x0000300000000000 0x0000000000001000', 't')[0]).toMatchObject({ addr: 0x300000000000, len: 4096 });
    expect(parseNumber('0x10000000000001')).toMatch(/too large/);
    expect(parseNumber(`${2 ** 52}`)).toBe(2 ** 52);
    expect(parseNumber(`${2 ** 52 + 1}`)).toMatch(/too large/);
    expect(parseNumber('4096T')).toBe(2 ** 52);
    expect(parseNumber('4097T')).toMatch(/too large/);
  });

  it('cuts a long bad token in the message', () => {
    const e = errorOf(`mmap 0x1000 ${'9'.repeat(100)}x`);
    expect(e.message.length).toBeLessThan(250);
    expect(e.message).toContain('(101 characters)');
    const op = errorOf(`${'z'.repeat(3000)} 1 2`);
    expect(op.message.length).toBeLessThan(250);
    expect(op.column).toBe(1);
  });

  it(`refuses lines longer than ${MAX_LINE_BYTES} bytes, in text and in files`, () => {
    const long = `mmap 0x10000 4K ${' '.repeat(MAX_LINE_BYTES)}\nmmap 0x20000 4K\n`;
    expect(errorOf(long).message).toMatch(new RegExp(`^my.trace:1:1: line longer than ${MAX_LINE_BYTES} bytes`));
    expect(errorOf(`mmap 0x10000 4K\n#${'c'.repeat(MAX_LINE_BYTES)}`).line).toBe(2);
    // One 1 MiB token with no line feed: refused as over-long, with a short message.
    const e = fileError(file('long.trace', 'x'.repeat(2 ** 20 + 5)));
    expect(e.message).toMatch(/line longer than 4096 bytes/);
    expect(e.message.length).toBeLessThan(200);
  });

  it('names UTF-16 input (with or without a byte-order mark) and binary input', () => {
    const text = 'mmap 0x10000 4K\ntouch 0x10000 4K\n';
    const bom = fileError(file('bom16.trace', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])));
    expect(bom.message).toMatch(/:1:1: the trace is UTF-16 text/);
    expect(fileError(file('le16.trace', Buffer.from(text, 'utf16le'))).message).toMatch(/looks like UTF-16 text/);
    expect(fileError(file('bin.trace', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 0, 1, 2, 3]))).message).toMatch(
      /binary data, not text .*; expected trace text \(format v1 or v2\)$/,
    );
    expect(errorOf('mmap 0x10000 4K\ntouch\u0000 0x10000 4K').message).toMatch(/^my.trace:1:1: the trace is binary data/);
    // Past the first 4 KiB the line holding the NUL is named.
    expect(errorOf(`${'touch 0x10000 4K\n'.repeat(400)}touch\u0000 0x10000 4K`).message).toMatch(
      /^my.trace:401:1: the trace is binary data/,
    );
    expect(errorOf('mmap\u0001 0x10000 4K').message).toMatch(/control character \(byte 0x01\)/);
  });

  it('refuses /dev/zero at once, in bounded memory', () => {
    expect(fileError('/dev/zero').message).toMatch(/^\/dev\/zero:1:1: the trace is binary data/);
  });

  it('streams files larger than its read buffer: same ops, lines and errors as parsing the text', () => {
    const ops = [...seedWorkload(64 * 2 ** 30).ops()];
    const text = formatTrace(ops, 'big');
    expect(text.length).toBeGreaterThan(2 ** 21); // several read chunks, lines cut at chunk ends
    const path = file('big.trace', text);
    expect(readTraceFile(path)).toEqual(parseTrace(text, path));
    const lines = text.split('\n');
    const bad = lines.length - 10;
    lines[bad - 1] = 'touch 0x200000000000 2M wrte';
    const e = fileError(file('bad.trace', lines.join('\n')));
    expect([e.line, e.column]).toEqual([bad, 25]);
    const r = runTraceFile(path, { strategy: 'pt-reclaim' });
    const { wallMs: _a, opsPerSec: _b, ...fromFile } = r;
    const { wallMs: _c, opsPerSec: _d, ...fromOps } = runOps(ops, { strategy: 'pt-reclaim', source: path });
    expect(fromFile).toEqual(fromOps);
  });

  it('says which file cannot be read', () => {
    expect(() => readTraceFile(join(dir, 'missing.trace'))).toThrow(
      /cannot read trace .*missing.trace: ENOENT \(no such file or directory\)/,
    );
    expect(() => readTraceFile(dir)).toThrow(/cannot read trace .*: EISDIR \(is a directory\)/);
    expect(() => parseTrace(123 as unknown as string)).toThrow(/parseTrace: text must be the trace as a string, not number 123/);
  });
});
