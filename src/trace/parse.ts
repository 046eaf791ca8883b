/**
 * Trace format v1: plain text, one operation per line.
 *
 *   version 1                            # optional; must come before any operation
 *   mmap    <addr> <len>                 # private anonymous, at this fixed address
 *   munmap  <addr> <len>
 *   touch   <addr> <len> [write|read]    # fault every 4 KiB page; write is the default
 *   madvise <addr> <len> <dontneed|free>
 *
 * `#` starts a comment. Numbers are hex (0x...) or decimal with an optional binary suffix
 * K, M, G or T (case-insensitive). A line is at most MAX_LINE_BYTES long; UTF-16 and binary
 * input are refused as such (src/trace/reader.ts parses). Later versions may add operations; a v1 reader rejects
 * what it does not know with a clear message rather than guessing.
 */
import type { Op } from './ops.js';
import { checkParseTraceArgs } from '../api-schema.js';
import { TRACE_VERSION, opsOfBatches, parseTraceBytes, readTraceBatches } from './reader.js';

export { TRACE_VERSION, MAX_TRACE_NUMBER, MAX_LINE_BYTES, parseNumber } from './reader.js';

/** Parse trace text. `file` names the source in error messages. */
export function parseTrace(text: string, file = '<trace>'): Op[] {
  checkParseTraceArgs(text, file);
  return opsOfBatches(parseTraceBytes(Buffer.from(text, 'utf8'), file));
}

/** Read a whole trace file as op objects (streamed; for big traces use readTraceBatches). */
export function readTraceFile(path: string): Op[] {
  return opsOfBatches(readTraceBatches(path));
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** Write ops in canonical v1 form (hex numbers, one op per line). */
export function formatTrace(ops: Iterable<Op>, comment?: string): string {
  const out: string[] = [];
  if (comment) for (const l of comment.split('\n')) out.push(`# ${l}`);
  out.push(`version ${TRACE_VERSION}`);
  for (const op of ops) {
    switch (op.kind) {
      case 'mmap':
      case 'munmap':
        out.push(`${op.kind} ${hex(op.addr)} ${hex(op.len)}`);
        break;
      case 'touch':
        out.push(`touch ${hex(op.addr)} ${hex(op.len)} ${op.access}`);
        break;
      case 'madvise':
        out.push(`madvise ${hex(op.addr)} ${hex(op.len)} ${op.advice}`);
        break;
    }
  }
  return out.join('\n') + '\n';
}
