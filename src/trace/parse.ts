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
 * K, M, G or T (case-insensitive). Later versions may add operations; a v1 reader rejects
 * what it does not know with a clear message rather than guessing.
 */
import { readFileSync } from 'node:fs';
import { TraceSyntaxError, PtreclaimError } from '../errors.js';
import type { Op } from './ops.js';
import { checkParseTraceArgs } from '../api-schema.js';

export const TRACE_VERSION = 1;
/** Largest value a trace number may have: well above any 47-bit address, exact in a double. */
export const MAX_TRACE_NUMBER = 2 ** 52;

const SUFFIX: Record<string, number> = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };
const OPS = ['mmap', 'munmap', 'touch', 'madvise'] as const;

interface Token {
  text: string;
  column: number;
}

function tokenize(line: string): Token[] {
  const hash = line.indexOf('#');
  const body = hash >= 0 ? line.slice(0, hash) : line;
  const tokens: Token[] = [];
  const re = /\S+/g;
  for (let m = re.exec(body); m; m = re.exec(body)) tokens.push({ text: m[0], column: m.index + 1 });
  return tokens;
}

/** Parse one number token; returns an error message instead of throwing. */
export function parseNumber(text: string): number | string {
  let value: number;
  if (/^0x[0-9a-f]+$/i.test(text)) {
    value = text.length > 16 ? Infinity : Number.parseInt(text.slice(2), 16);
  } else {
    const m = /^([0-9]+)([kmgt])?$/i.exec(text);
    if (!m) return `"${text}" is not a number (expected hex like 0x200000 or decimal like 2M)`;
    value = Number(m[1]) * (m[2] ? SUFFIX[m[2].toLowerCase()]! : 1);
  }
  if (!Number.isSafeInteger(value) || value > MAX_TRACE_NUMBER) {
    return `"${text}" is too large (at most 0x${MAX_TRACE_NUMBER.toString(16)}; user addresses are below 2^47)`;
  }
  return value;
}

/** Parse trace text. `file` names the source in error messages. */
export function parseTrace(text: string, file = '<trace>'): Op[] {
  checkParseTraceArgs(text, file);
  const ops: Op[] = [];
  let versionSeen = false;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const tokens = tokenize(lines[i]!);
    if (tokens.length === 0) continue;
    const err = (tok: Token | undefined, msg: string) =>
      new TraceSyntaxError(file, lineNo, tok ? tok.column : lines[i]!.length + 1, msg);
    const [opTok, ...args] = tokens as [Token, ...Token[]];
    const name = opTok.text;

    if (name === 'version') {
      if (versionSeen || ops.length > 0) throw err(opTok, '"version" must be the first line with content and appear once');
      const v = args[0];
      if (!v || args.length > 1) throw err(args[1] ?? v, 'expected "version 1"');
      if (v.text !== String(TRACE_VERSION)) {
        throw err(v, `unsupported trace version "${v.text}": this ptreclaim reads version ${TRACE_VERSION}`);
      }
      versionSeen = true;
      continue;
    }
    if (!(OPS as readonly string[]).includes(name)) {
      throw err(opTok, `unknown operation "${name}": trace version ${TRACE_VERSION} knows ${OPS.join(', ')}`);
    }
    const num = (k: number, what: string): number => {
      const tok = args[k];
      if (!tok) throw err(undefined, `${name}: missing ${what}`);
      const v = parseNumber(tok.text);
      if (typeof v === 'string') throw err(tok, `${name}: ${what}: ${v}`);
      return v;
    };
    const addr = num(0, 'address');
    const len = num(1, 'length');
    const maxArgs = name === 'mmap' || name === 'munmap' ? 2 : 3;
    if (args.length > maxArgs) throw err(args[maxArgs], `${name}: unexpected extra argument "${args[maxArgs]!.text}"`);
    const pos = { file, line: lineNo };
    switch (name) {
      case 'mmap':
        ops.push({ kind: 'mmap', addr, len, ...pos });
        break;
      case 'munmap':
        ops.push({ kind: 'munmap', addr, len, ...pos });
        break;
      case 'touch': {
        const a = args[2]?.text ?? 'write';
        if (a !== 'write' && a !== 'read') throw err(args[2], `touch: access must be "write" or "read", not "${a}"`);
        ops.push({ kind: 'touch', addr, len, access: a, ...pos });
        break;
      }
      case 'madvise': {
        const a = args[2];
        if (!a) throw err(undefined, 'madvise: missing advice (expected "dontneed" or "free")');
        if (a.text !== 'dontneed' && a.text !== 'free') {
          throw err(a, `madvise: advice must be "dontneed" or "free", not "${a.text}"`);
        }
        ops.push({ kind: 'madvise', addr, len, advice: a.text, ...pos });
        break;
      }
    }
  }
  return ops;
}

export function readTraceFile(path: string): Op[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new PtreclaimError(`cannot read trace ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseTrace(text, path);
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
