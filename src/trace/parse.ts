/**
 * Trace format v1: plain text, one operation per line (v2, issue 12, below).
 *
 *   version 1                            # optional; must come before any operation
 *   mmap    <addr> <len>                 # private anonymous, at this fixed address
 *   munmap  <addr> <len>
 *   touch   <addr> <len> [write|read]    # fault every 4 KiB page; write is the default
 *   madvise <addr> <len> <dontneed|free>
 *
 * `#` starts a comment. Numbers are hex (0x...) or decimal with an optional binary suffix
 * K, M, G or T (case-insensitive). A line is at most MAX_LINE_BYTES long; UTF-16 and binary
 * input are refused as such (src/trace/reader.ts parses).
 *
 * Trace format v2 (first line with content `version 2`): v1's lines plus
 *
 *   mmap     <addr> <len> [prot=rw|r|none] [shared] [file=NAME[:OFFSET]]   # options in any order
 *   mprotect <addr> <len> <rw|r|none>
 *   mremap   <addr> <oldlen> <newlen> [<newaddr>]
 *   madvise  <addr> <len> <dontneed|free|hugepage|nohugepage|collapse|guard-install|guard-remove|
 *            populate-read|populate-write|dontneed-locked|remove|willneed|cold|pageout>
 *
 * A v2 operation in a file without `version 2` is an error naming the line.
 */
import { needsFormatV2, type Op } from './ops.js';
import { checkParseTraceArgs } from '../api-schema.js';
import { TRACE_VERSION, TRACE_VERSION_V2, opsOfBatches, parseTraceBytes, readTraceBatches } from './reader.js';

export { TRACE_VERSION, TRACE_VERSION_V2, MAX_TRACE_NUMBER, MAX_LINE_BYTES, parseNumber } from './reader.js';

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

/**
 * Write ops in canonical form (lowercase 0x hex numbers, one op per line, defaults left out:
 * what the live helper reads): `version 1` when every op is v1, else `version 2`.
 */
export function formatTrace(ops: Iterable<Op>, comment?: string): string {
  const out: string[] = [];
  if (comment) for (const l of comment.split('\n')) out.push(`# ${l}`);
  const header = out.length;
  out.push(`version ${TRACE_VERSION}`);
  let v2 = false;
  for (const op of ops) {
    if (!v2 && needsFormatV2(op)) v2 = true;
    switch (op.kind) {
      case 'mmap': {
        let line = `mmap ${hex(op.addr)} ${hex(op.len)}`;
        if (op.prot !== undefined && op.prot !== 'rw') line += ` prot=${op.prot}`;
        if (op.shared) line += ' shared';
        if (op.mapFile !== undefined) line += ` file=${op.mapFile}${op.offset ? `:${hex(op.offset)}` : ''}`;
        out.push(line);
        break;
      }
      case 'munmap':
        out.push(`munmap ${hex(op.addr)} ${hex(op.len)}`);
        break;
      case 'mprotect':
        out.push(`mprotect ${hex(op.addr)} ${hex(op.len)} ${op.prot}`);
        break;
      case 'mremap':
        out.push(`mremap ${hex(op.addr)} ${hex(op.len)} ${hex(op.newLen)}${op.newAddr === undefined ? '' : ` ${hex(op.newAddr)}`}`);
        break;
      case 'touch':
        out.push(`touch ${hex(op.addr)} ${hex(op.len)} ${op.access}`);
        break;
      case 'madvise':
        out.push(`madvise ${hex(op.addr)} ${hex(op.len)} ${op.advice}`);
        break;
    }
  }
  if (v2) out[header] = `version ${TRACE_VERSION_V2}`;
  return out.join('\n') + '\n';
}
