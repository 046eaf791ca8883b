/**
 * The trace byte parser: reads trace text from a Buffer (or a file, streamed in fixed-size
 * chunks) into columnar batches of operations, without a string or an object per line.
 * Memory is bounded by the chunk and batch sizes, whatever the trace's size.
 *
 * The grammar is table-driven: an operation is its name and a list of argument specs
 * (numbers, words from a fixed set, mmap's options), found by one probe on (name length,
 * second byte). The `version` line selects the op table: v1's four operations, or format v2's
 * (issue 12) six, whose mmap takes `key=value` and bare-word options in any order. v2's
 * values go to more OpBatch columns (a flags byte, two numbers) and a table of file names
 * shared by the batches of one parse; v1 lines fill none of them but the flags byte.
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describeReadFailure, PtreclaimError, TraceSyntaxError } from '../errors.js';
import {
  ADVICES_V2,
  MODEL_ADVICES,
  PROTS,
  type Access,
  type Advice,
  type AdviceV2,
  type MmapOp,
  type Op,
  type OpKind,
  type Prot,
} from './ops.js';

/** The version formatTrace writes for v1 operations (and the reader's default). */
export const TRACE_VERSION = 1;
/** Trace format v2 (issue 12): what a trace using mprotect, mremap, mmap options or v2 advice declares. */
export const TRACE_VERSION_V2 = 2;
/** Largest value a trace number may have: well above any 47-bit address, exact in a double. */
export const MAX_TRACE_NUMBER = 2 ** 52;
/** Longest line a trace may have, in bytes: far above any real line; bounds memory on garbage. */
export const MAX_LINE_BYTES = 4096;
/** Bytes read from a trace file at a time. */
const CHUNK_BYTES = 1 << 20;
/** Operations per batch handed to the run loop. */
export const BATCH_OPS = 4096;
/** Longest token quoted whole in an error message; longer ones are cut. */
const MAX_QUOTED = 40;

/** Operation codes of a batch, in the order of OP_KINDS. */
export const OP_MMAP = 0;
export const OP_MUNMAP = 1;
export const OP_TOUCH = 2;
export const OP_MADVISE = 3;
export const OP_MPROTECT = 4;
export const OP_MREMAP = 5;
export const OP_CODE_KINDS: readonly OpKind[] = ['mmap', 'munmap', 'touch', 'madvise', 'mprotect', 'mremap'];
/**
 * `arg` of a touch: 0 write, 1 read; of a madvise: the index in ADVICE_WORDS_V2 (0 dontneed,
 * 1 free as in v1); of an mmap or mprotect: the index in PROT_WORDS (0 rw, the default).
 */
export const ACCESS_WORDS: readonly Access[] = ['write', 'read'];
export const ADVICE_WORDS: readonly Advice[] = ['dontneed', 'free'];
export const ADVICE_WORDS_V2: readonly AdviceV2[] = ADVICES_V2;
export const PROT_WORDS: readonly Prot[] = PROTS;
/** Per index of ADVICE_WORDS_V2: whether the model runs that advice (ops.ts MODEL_ADVICES). */
const ADVICE_MODELLED: readonly boolean[] = ADVICE_WORDS_V2.map((a) => MODEL_ADVICES.has(a));
/** `flags` bits: mmap `shared`, mmap `file=` (aux = offset, aux2 = name index), mremap NEWADDR (aux2). */
export const FLAG_SHARED = 1;
export const FLAG_FILE = 2;
export const FLAG_NEWADDR = 4;

/**
 * Operations in columns. A batch is reused: its contents are valid until the next one is
 * asked for. `line[i]` is the 1-based source line (0 when there is none).
 */
export class OpBatch {
  count = 0;
  file: string | undefined;
  readonly kind = new Uint8Array(BATCH_OPS);
  readonly arg = new Uint8Array(BATCH_OPS);
  readonly addr = new Float64Array(BATCH_OPS);
  readonly len = new Float64Array(BATCH_OPS);
  readonly line = new Float64Array(BATCH_OPS);
  /** FLAG_* bits; 0 for every v1 operation. */
  readonly flags = new Uint8Array(BATCH_OPS);
  /** mremap NEWLEN; mmap file offset. Valid only where the op's kind and flags say. */
  readonly aux = new Float64Array(BATCH_OPS);
  /** mremap NEWADDR (FLAG_NEWADDR); mmap file name index into `names` (FLAG_FILE). */
  readonly aux2 = new Float64Array(BATCH_OPS);
  /** The file names mmap `file=` options refer to, shared by the batches of one parse. */
  names: string[] = [];
  /** The first op using a trace v2 feature (see ops.ts v2Feature), -1 when there is none. */
  firstV2Feature = -1;

  get full(): boolean {
    return this.count === BATCH_OPS;
  }

  /**
   * Append a v1 operation: only to a batch that never held a v1-incompatible one (a v1 file's
   * parse), whose v2 columns are still zero. The v1 parse's hot path: it writes nothing more.
   */
  push(kind: number, addr: number, len: number, arg: number, line: number): void {
    const i = this.count++;
    this.kind[i] = kind;
    this.addr[i] = addr;
    this.len[i] = len;
    this.arg[i] = arg;
    this.line[i] = line;
  }

  /** Append any operation, noting the first one that uses a v2 feature. */
  pushV2(kind: number, addr: number, len: number, arg: number, line: number, flags: number, aux: number, aux2: number): void {
    const i = this.count;
    if (i === 0) this.firstV2Feature = -1;
    this.push(kind, addr, len, arg, line);
    this.flags[i] = flags;
    this.aux[i] = aux;
    this.aux2[i] = aux2;
    // What ops.ts v2Feature names: mmap's options, mprotect, mremap and MODEL_ADVICES are modelled, the rest not yet.
    const feature = kind === OP_MADVISE && !ADVICE_MODELLED[arg];
    if (feature && this.firstV2Feature < 0) this.firstV2Feature = i;
  }

  /** Operation i as an object (the library's Op form). */
  op(i: number): Op {
    const pos = this.line[i] ? { file: this.file, line: this.line[i] } : {};
    const addr = this.addr[i]!;
    const len = this.len[i]!;
    const arg = this.arg[i]!;
    switch (this.kind[i]) {
      case OP_MMAP: {
        const flags = this.flags[i]!;
        if (arg === 0 && flags === 0) return { kind: 'mmap', addr, len, ...pos };
        const op: MmapOp = { kind: 'mmap', addr, len };
        if (arg !== 0) op.prot = PROT_WORDS[arg]!;
        if (flags & FLAG_SHARED) op.shared = true;
        if (flags & FLAG_FILE) {
          op.mapFile = this.names[this.aux2[i]!]!;
          op.offset = this.aux[i]!;
        }
        return { ...op, ...pos };
      }
      case OP_MUNMAP:
        return { kind: 'munmap', addr, len, ...pos };
      case OP_TOUCH:
        return { kind: 'touch', addr, len, access: ACCESS_WORDS[arg]!, ...pos };
      case OP_MADVISE:
        return { kind: 'madvise', addr, len, advice: ADVICE_WORDS_V2[arg]!, ...pos };
      case OP_MPROTECT:
        return { kind: 'mprotect', addr, len, prot: PROT_WORDS[arg]!, ...pos };
      default:
        return this.flags[i]! & FLAG_NEWADDR
          ? { kind: 'mremap', addr, len, newLen: this.aux[i]!, newAddr: this.aux2[i]!, ...pos }
          : { kind: 'mremap', addr, len, newLen: this.aux[i]!, ...pos };
    }
  }
}

/** An op object's batch columns: [code, arg, flags, aux, aux2], file names interned in `names`. */
function opColumns(op: Op, names: string[]): [number, number, number, number, number] {
  switch (op.kind) {
    case 'mmap': {
      const arg = op.prot === undefined ? 0 : PROT_WORDS.indexOf(op.prot);
      let flags = op.shared ? FLAG_SHARED : 0;
      let nameIndex = 0;
      if (op.mapFile !== undefined) {
        flags |= FLAG_FILE;
        nameIndex = names.indexOf(op.mapFile);
        if (nameIndex < 0) nameIndex = names.push(op.mapFile) - 1;
      }
      return [OP_MMAP, arg, flags, op.offset ?? 0, nameIndex];
    }
    case 'munmap':
      return [OP_MUNMAP, 0, 0, 0, 0];
    case 'touch':
      return [OP_TOUCH, op.access === 'read' ? 1 : 0, 0, 0, 0];
    case 'madvise':
      return [OP_MADVISE, ADVICE_WORDS_V2.indexOf(op.advice), 0, 0, 0];
    case 'mprotect':
      return [OP_MPROTECT, PROT_WORDS.indexOf(op.prot), 0, 0, 0];
    case 'mremap':
      return [OP_MREMAP, 0, op.newAddr === undefined ? 0 : FLAG_NEWADDR, op.newLen, op.newAddr ?? 0];
  }
}

/**
 * The ops of batches as objects, one at a time (opsOfBatches, lazily): batchesOfOps' inverse,
 * for workloads that write their operations straight into batch columns (Workload.batches).
 */
export function* streamOpsOfBatches(batches: Iterable<OpBatch>): Generator<Op> {
  for (const batch of batches) for (let i = 0; i < batch.count; i++) yield batch.op(i);
}

/** Ops as batches: a file's parse, or object ops packed (a new batch when the file changes). */
export function* batchesOfOps(ops: Iterable<Op>): Generator<OpBatch> {
  const batch = new OpBatch();
  for (const op of ops) {
    if (batch.full || (batch.count > 0 && batch.file !== op.file)) {
      yield batch;
      batch.count = 0;
    }
    if (batch.count === 0) batch.file = op.file;
    const [kind, arg, flags, aux, aux2] = opColumns(op, batch.names);
    batch.pushV2(kind, op.addr, op.len, arg, op.line ?? 0, flags, aux, aux2);
  }
  if (batch.count > 0) yield batch;
}

// --- grammar --------------------------------------------------------------------------

interface NumberArg {
  type: 'number';
  what: string;
  /** May be left out (mremap's NEWADDR); it is the last argument then. */
  optional?: boolean;
}
interface WordArg {
  type: 'word';
  what: string;
  words: readonly string[];
  /** Index used when the word is left out; undefined = required. */
  fallback?: number;
}
/** mmap's v2 options: `prot=rw|r|none`, `shared`, `file=NAME[:OFFSET]`, any order, each once. */
interface MmapOptionsArg {
  type: 'mmap-options';
}
type ArgSpec = NumberArg | WordArg | MmapOptionsArg;

interface OpSpec {
  name: string;
  code: number;
  args: readonly ArgSpec[];
}

const ADDR: NumberArg = { type: 'number', what: 'address' };
const LEN: NumberArg = { type: 'number', what: 'length' };

const TOUCH: OpSpec = {
  name: 'touch',
  code: OP_TOUCH,
  args: [ADDR, LEN, { type: 'word', what: 'access', words: ACCESS_WORDS, fallback: 0 }],
};
const MUNMAP: OpSpec = { name: 'munmap', code: OP_MUNMAP, args: [ADDR, LEN] };

/** Trace format v1. */
const V1_OPS: readonly OpSpec[] = [
  { name: 'mmap', code: OP_MMAP, args: [ADDR, LEN] },
  MUNMAP,
  TOUCH,
  { name: 'madvise', code: OP_MADVISE, args: [ADDR, LEN, { type: 'word', what: 'advice', words: ADVICE_WORDS }] },
];

/** Trace format v2: a superset of v1; numbers, blanks and comments as in v1. */
const V2_OPS: readonly OpSpec[] = [
  { name: 'mmap', code: OP_MMAP, args: [ADDR, LEN, { type: 'mmap-options' }] },
  MUNMAP,
  TOUCH,
  { name: 'madvise', code: OP_MADVISE, args: [ADDR, LEN, { type: 'word', what: 'advice', words: ADVICE_WORDS_V2 }] },
  { name: 'mprotect', code: OP_MPROTECT, args: [ADDR, LEN, { type: 'word', what: 'protection', words: PROT_WORDS }] },
  {
    name: 'mremap',
    code: OP_MREMAP,
    args: [
      ADDR,
      { type: 'number', what: 'old length' },
      { type: 'number', what: 'new length' },
      { type: 'number', what: 'new address', optional: true },
    ],
  },
];

const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
/** Every operation name of any version, by index; V1_SPECS/V2_SPECS give each version's spec. */
const OP_NAMES = V2_OPS.map((o) => ascii(o.name));
const V1_SPECS = V2_OPS.map((o) => V1_OPS.find((v1) => v1.name === o.name));
const VERSION_WORD = ascii('version');
const SHARED_WORD = ascii('shared');
const PROT_KEY = ascii('prot=');
const FILE_KEY = ascii('file=');
/**
 * Op name index + 1 by (name length << 8 | second byte): one probe finds the candidate
 * (the first byte would not do: munmap and mremap).
 */
const OP_BY_KEY = new Uint8Array(16 << 8);
OP_NAMES.forEach((n, i) => (OP_BY_KEY[(n.length << 8) | n[1]!] = i + 1));
const WORD_BYTES = new Map<readonly string[], Uint8Array[]>(
  V2_OPS.concat(V1_OPS)
    .flatMap((o) => o.args)
    .filter((a): a is WordArg => a.type === 'word')
    .map((a) => [a.words, a.words.map(ascii)]),
);
const PROT_BYTES = PROT_WORDS.map(ascii);
/** Longest mapped file name (the live helper's limit). */
export const MAX_FILE_NAME = 128;
/** Bytes a mapped file's name may hold: [A-Za-z0-9._-]. */
const NAME_BYTE = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-') NAME_BYTE[c.charCodeAt(0)] = 1;
const PAGE_BYTES = 4096;

const expectedWords = (spec: WordArg) =>
  spec.words.length > 3 ? `one of ${spec.words.join(' ')}` : spec.words.map((w) => `"${w}"`).join(' or ');
const NEEDS_V2 = 'needs `version 2` as the first line';

const SPACE = 0x20;
const TAB = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const HASH = 0x23;

/** Blanks between tokens: space, tab, CR (a CRLF file's line end), VT, FF. */
const isBlank = (b: number) => b === SPACE || b === TAB || b === CR || b === 0x0b || b === 0x0c;

function startsWith(buf: Uint8Array, s: number, e: number, prefix: Uint8Array): boolean {
  return e - s >= prefix.length && bytesEqual(buf, s, s + prefix.length, prefix);
}

function bytesEqual(buf: Uint8Array, s: number, e: number, word: Uint8Array): boolean {
  if (e - s !== word.length) return false;
  for (let k = 0; k < word.length; k++) if (buf[s + k] !== word[k]) return false;
  return true;
}

/** A token for a message: JSON-quoted, cut to MAX_QUOTED characters with its length said. */
export function quoteToken(text: string): string {
  if (text.length <= MAX_QUOTED) return JSON.stringify(text);
  return `${JSON.stringify(text.slice(0, MAX_QUOTED))}... (${text.length} characters)`;
}

const TOO_LARGE = -1;
const NOT_A_NUMBER = -2;
/** Where the token parseNumberBytes last read ended. */
let numberEnd = 0;

/** Digit values by byte: 0-15 for hex digits (0-9 for DIGIT), -1 for a token end, -2 otherwise. */
const HEX_DIGIT = new Int8Array(256).fill(-2);
const DEC_DIGIT = new Int8Array(256).fill(-2);
for (const table of [HEX_DIGIT, DEC_DIGIT]) {
  for (let c = 0; c <= SPACE; c++) table[c] = -1;
  table[HASH] = -1;
}
for (let d = 0; d < 10; d++) HEX_DIGIT[0x30 + d] = DEC_DIGIT[0x30 + d] = d;
for (let d = 0; d < 6; d++) HEX_DIGIT[0x41 + d] = HEX_DIGIT[0x61 + d] = 10 + d;

/**
 * Parse the number token starting at s (it ends at a blank, `#`, or e): hex 0x... (leading
 * zeros allowed) or decimal with an optional K/M/G/T suffix. Returns the value, TOO_LARGE or
 * NOT_A_NUMBER; numberEnd is set to the token's end. Values only grow digit by digit, so one
 * comparison at the end finds those too large (inexact or infinite ones included).
 */
function parseNumberBytes(buf: Uint8Array, s: number, e: number): number {
  let value = 0;
  let k = s;
  let d = -1;
  if (e - s > 2 && buf[s] === 0x30 && (buf[s + 1]! | 0x20) === 0x78) {
    for (k = s + 2; k < e && (d = HEX_DIGIT[buf[k]!]!) >= 0; k++) value = value * 16 + d;
    if (k === s + 2 || (k < e && d === -2)) return badNumber(buf, k, e);
    numberEnd = k;
    return value > MAX_TRACE_NUMBER ? TOO_LARGE : value;
  }
  for (; k < e && (d = DEC_DIGIT[buf[k]!]!) >= 0; k++) value = value * 10 + d;
  if (k === s) return badNumber(buf, k, e);
  if (k < e && d === -2) {
    // One suffix letter, then the token must end.
    const c = buf[k]! | 0x20;
    const shift = c === 0x6b ? 10 : c === 0x6d ? 20 : c === 0x67 ? 30 : c === 0x74 ? 40 : -1;
    if (shift < 0 || (k + 1 < e && DEC_DIGIT[buf[k + 1]!] !== -1)) return badNumber(buf, k, e);
    value *= 2 ** shift;
    k++;
  }
  numberEnd = k;
  return value > MAX_TRACE_NUMBER ? TOO_LARGE : value;
}

/** Skip to the end of a token that is not a number. */
function badNumber(buf: Uint8Array, k: number, e: number): number {
  while (k < e && HEX_DIGIT[buf[k]!] !== -1) k++;
  numberEnd = k;
  return NOT_A_NUMBER;
}

function numberMessage(text: string, code: number): string {
  return code === TOO_LARGE
    ? `${quoteToken(text)} is too large (at most 0x${MAX_TRACE_NUMBER.toString(16)}; user addresses are below 2^47)`
    : `${quoteToken(text)} is not a number (expected hex like 0x200000 or decimal like 2M)`;
}

/** Parse one number token; returns an error message instead of throwing. */
export function parseNumber(text: string): number | string {
  const buf = Buffer.from(text, 'utf8');
  const v = parseNumberBytes(buf, 0, buf.length);
  return v >= 0 && numberEnd === buf.length ? v : numberMessage(text, v >= 0 ? NOT_A_NUMBER : v);
}

/**
 * What a trace looks like when it is not UTF-8 text: UTF-16 (a byte-order mark, or NULs in
 * every other byte) or binary (other NULs). Checked on a file's first bytes, and on any line
 * that fails to parse.
 */
function describeNonText(buf: Uint8Array, s: number, e: number, atFileStart: boolean): string | undefined {
  if (atFileStart && e - s >= 2 && ((buf[s] === 0xff && buf[s + 1] === 0xfe) || (buf[s] === 0xfe && buf[s + 1] === 0xff))) {
    return 'the trace is UTF-16 text (it starts with a UTF-16 byte-order mark); ptreclaim reads UTF-8 or ASCII: convert it, e.g. `iconv -f UTF-16 -t UTF-8`';
  }
  let nul = -1;
  let evenNuls = 0;
  let oddNuls = 0;
  const stop = Math.min(e, s + MAX_LINE_BYTES);
  for (let k = s; k < stop; k++) {
    if (buf[k] === 0) {
      if (nul < 0) nul = k;
      if ((k - s) & 1) oddNuls++;
      else evenNuls++;
    }
  }
  if (nul < 0) return undefined;
  const half = (stop - s) / 2;
  if (atFileStart && stop - s >= 4 && (oddNuls >= half * 0.9 || evenNuls >= half * 0.9) && (oddNuls === 0 || evenNuls === 0)) {
    return 'the trace looks like UTF-16 text (a NUL in every other byte); ptreclaim reads UTF-8 or ASCII: convert it, e.g. `iconv -f UTF-16 -t UTF-8`';
  }
  return `the trace is binary data, not text (a NUL byte at offset ${nul - s} of this line); expected trace text (format v${TRACE_VERSION} or v${TRACE_VERSION_V2})`;
}

/** Parser state carried across chunks and batches. */
export class TraceParser {
  private lineNo = 0;
  private versionSeen = false;
  private opsSeen = false;
  private atFileStart = true;
  /** 1 or 2: from the `version` line. */
  private version = TRACE_VERSION;
  /** mapped file names in order of first use, and their indexes */
  private readonly names: string[] = [];
  private readonly nameIndex = new Map<string, number>();
  /** mmap options of the line being parsed: prot index, FLAG_* bits, file offset, name index */
  private optProt = 0;
  private optFlags = 0;
  private optOffset = 0;
  private optName = 0;

  constructor(readonly file: string) {}

  /**
   * Parse the complete lines in buf[s, e) (e at a line end, or the end of input) into batch,
   * stopping early when the batch fills. Returns where parsing stopped.
   */
  parse(buf: Uint8Array, s: number, e: number, batch: OpBatch): number {
    batch.names = this.names;
    if (this.atFileStart && s < e) {
      const bad = describeNonText(buf, s, Math.min(e, s + MAX_LINE_BYTES), true);
      if (bad) throw new TraceSyntaxError(this.file, 1, 1, bad);
      // A UTF-8 byte-order mark is not part of the first line's columns.
      if (e - s >= 3 && buf[s] === 0xef && buf[s + 1] === 0xbb && buf[s + 2] === 0xbf) s += 3;
      this.atFileStart = false;
    }
    let p = s;
    while (p < e && !batch.full) {
      this.lineNo++;
      p = this.parseLine(buf, p, e, batch);
    }
    return p;
  }

  /**
   * Parse the line starting at ls (input ends at e); returns where the next line starts.
   * One pass over the bytes: tokens end at a blank, `#` or the line feed.
   */
  private parseLine(buf: Uint8Array, ls: number, e: number, batch: OpBatch): number {
    let k = this.skipBlanks(buf, ls, ls, e);
    let c = k < e ? buf[k]! : LF;
    if (c === LF || c === HASH) return this.endLine(buf, ls, k, e);
    let ts = k;
    while (k < e && (c = buf[k]!) > SPACE && c !== HASH) k++;
    let te = k;

    const key = te - ts < 16 && te - ts >= 2 ? ((te - ts) << 8) | buf[ts + 1]! : 0;
    const candidate = OP_BY_KEY[key]!;
    const known = candidate > 0 && bytesEqual(buf, ts, te, OP_NAMES[candidate - 1]!);
    const v2 = this.version === TRACE_VERSION_V2;
    const spec = known ? (v2 ? V2_OPS[candidate - 1] : V1_SPECS[candidate - 1]) : undefined;
    if (!spec) return this.lineWithoutOp(buf, ls, e, ts, te, known ? candidate - 1 : -1);
    const name = spec.name;
    let addr = 0;
    let len = 0;
    let arg = 0;
    let flags = 0;
    let aux = 0;
    let aux2 = 0;
    const args = spec.args;
    for (let a = 0; a < args.length; a++) {
      const argSpec = args[a]!;
      k = this.skipBlanks(buf, ls, k, e);
      c = k < e ? buf[k]! : LF;
      const present = c !== LF && c !== HASH;
      ts = k;
      if (argSpec.type === 'number') {
        if (!present) {
          if (argSpec.optional) continue;
          this.fail(buf, ls, e, -1, `${name}: missing ${argSpec.what}`);
        }
        const v = parseNumberBytes(buf, ts, e);
        k = numberEnd;
        if (v < 0) this.fail(buf, ls, e, ts, `${name}: ${argSpec.what}: ${numberMessage(this.text(buf, ts, k), v)}`);
        if (a === 0) addr = v;
        else if (a === 1) len = v;
        else if (a === 2) aux = v;
        else {
          aux2 = v;
          flags |= FLAG_NEWADDR;
        }
      } else if (argSpec.type === 'word') {
        if (!present) {
          if (argSpec.fallback !== undefined) {
            arg = argSpec.fallback;
            continue;
          }
          this.fail(buf, ls, e, -1, `${name}: missing ${argSpec.what} (expected ${expectedWords(argSpec)})`);
        }
        while (k < e && (c = buf[k]!) > SPACE && c !== HASH) k++;
        te = k;
        const words = WORD_BYTES.get(argSpec.words)!;
        let w = 0;
        while (w < words.length && !bytesEqual(buf, ts, te, words[w]!)) w++;
        if (w === words.length) this.failWord(buf, ls, e, ts, te, name, argSpec);
        arg = w;
      } else {
        k = this.parseMmapOptions(buf, ls, k, e);
        arg = this.optProt;
        flags = this.optFlags;
        aux = this.optOffset;
        aux2 = this.optName;
      }
    }
    k = this.skipBlanks(buf, ls, k, e);
    c = k < e ? buf[k]! : LF;
    if (c !== LF && c !== HASH) {
      this.failExtra(buf, ls, e, k, name);
    }
    const next = this.endLine(buf, ls, k, e);
    this.opsSeen = true;
    if (v2) batch.pushV2(spec.code, addr, len, arg, this.lineNo, flags, aux, aux2);
    else batch.push(spec.code, addr, len, arg, this.lineNo);
    return next;
  }

  /** A line whose first word is no operation of this version: `version`, or an error. */
  private lineWithoutOp(buf: Uint8Array, ls: number, e: number, ts: number, te: number, opIndex: number): number {
    if (opIndex >= 0) this.fail(buf, ls, e, ts, `${V2_OPS[opIndex]!.name} ${NEEDS_V2}`);
    if (bytesEqual(buf, ts, te, VERSION_WORD)) return this.parseVersion(buf, ls, e, te);
    const ops = this.version === TRACE_VERSION_V2 ? V2_OPS : V1_OPS;
    this.fail(
      buf,
      ls,
      e,
      ts,
      `unknown operation ${quoteToken(this.text(buf, ts, te))}: trace version ${this.version} knows ${ops.map((o) => o.name).join(', ')}`,
    );
  }

  /** A word argument buf[ts, te) that is none of its words (a v2 advice in a v1 file says so). */
  private failWord(buf: Uint8Array, ls: number, e: number, ts: number, te: number, name: string, spec: WordArg): never {
    const word = this.text(buf, ts, te);
    if (this.version !== TRACE_VERSION_V2 && name === 'madvise' && (ADVICE_WORDS_V2 as readonly string[]).includes(word))
      this.fail(buf, ls, e, ts, `madvise: advice ${quoteToken(word)} ${NEEDS_V2}`);
    this.fail(buf, ls, e, ts, `${name}: ${spec.what} must be ${expectedWords(spec)}, not ${quoteToken(word)}`);
  }

  /** A token at ts after the last argument (a v2 mmap option in a v1 file says so). */
  private failExtra(buf: Uint8Array, ls: number, e: number, ts: number, name: string): never {
    let k = ts;
    while (k < e && buf[k]! > SPACE && buf[k] !== HASH) k++;
    const extra = this.text(buf, ts, k);
    if (
      this.version !== TRACE_VERSION_V2 &&
      name === 'mmap' &&
      (extra === 'shared' || extra.startsWith('prot=') || extra.startsWith('file='))
    )
      this.fail(buf, ls, e, ts, `mmap: option ${quoteToken(extra)} ${NEEDS_V2}`);
    this.fail(buf, ls, e, ts, `${name}: unexpected extra argument ${quoteToken(extra)}`);
  }

  /**
   * mmap's options from k to the line's end (a comment or the line feed): `prot=WORD`,
   * `shared`, `file=NAME[:OFFSET]`, in any order, each at most once. Results in opt*.
   */
  private parseMmapOptions(buf: Uint8Array, ls: number, k: number, e: number): number {
    let prot = -1;
    let flags = 0;
    this.optOffset = 0;
    this.optName = 0;
    for (;;) {
      k = this.skipBlanks(buf, ls, k, e);
      let c = k < e ? buf[k]! : LF;
      if (c === LF || c === HASH) break;
      const ts = k;
      while (k < e && (c = buf[k]!) > SPACE && c !== HASH) k++;
      const te = k;
      const duplicate = () =>
        this.fail(buf, ls, e, ts, `mmap: duplicate option ${quoteToken(this.text(buf, ts, te))} (each option at most once)`);
      if (bytesEqual(buf, ts, te, SHARED_WORD)) {
        if (flags & FLAG_SHARED) duplicate();
        flags |= FLAG_SHARED;
      } else if (startsWith(buf, ts, te, PROT_KEY)) {
        if (prot >= 0) duplicate();
        const vs = ts + PROT_KEY.length;
        prot = 0;
        while (prot < PROT_BYTES.length && !bytesEqual(buf, vs, te, PROT_BYTES[prot]!)) prot++;
        if (prot === PROT_BYTES.length)
          this.fail(buf, ls, e, vs, `mmap: prot must be "rw", "r" or "none", not ${quoteToken(this.text(buf, vs, te))}`);
      } else if (startsWith(buf, ts, te, FILE_KEY)) {
        if (flags & FLAG_FILE) duplicate();
        flags |= FLAG_FILE;
        this.parseFileOption(buf, ls, e, ts + FILE_KEY.length, te);
      } else {
        this.fail(
          buf,
          ls,
          e,
          ts,
          `mmap: unknown option ${quoteToken(this.text(buf, ts, te))} (expected prot=rw|r|none, shared or file=NAME[:OFFSET])`,
        );
      }
    }
    this.optProt = prot < 0 ? 0 : prot;
    this.optFlags = flags;
    return k;
  }

  /** `NAME[:OFFSET]` of a file= option in buf[s, te): sets optName and optOffset. */
  private parseFileOption(buf: Uint8Array, ls: number, e: number, s: number, te: number): void {
    let ne = s;
    while (ne < te && buf[ne] !== 0x3a) ne++;
    let good = ne > s && ne - s <= MAX_FILE_NAME;
    for (let k = s; good && k < ne; k++) good = NAME_BYTE[buf[k]!] === 1;
    const fileName = this.text(buf, s, ne);
    if (!good || fileName === '.' || fileName === '..')
      this.fail(
        buf,
        ls,
        e,
        s,
        `mmap: bad file name ${quoteToken(fileName)} (1-${MAX_FILE_NAME} characters of [A-Za-z0-9._-], not . or ..)`,
      );
    if (ne < te) {
      const os = ne + 1;
      const v = parseNumberBytes(buf, os, te);
      if (v < 0) this.fail(buf, ls, e, os, `mmap: file offset: ${numberMessage(this.text(buf, os, te), v)}`);
      if (v % PAGE_BYTES !== 0)
        this.fail(buf, ls, e, os, `mmap: file offset ${this.text(buf, os, te)} is not page aligned (a multiple of 0x1000)`);
      this.optOffset = v;
    }
    let index = this.nameIndex.get(fileName);
    if (index === undefined) {
      index = this.names.push(fileName) - 1;
      this.nameIndex.set(fileName, index);
    }
    this.optName = index;
  }

  /** Skip blanks from k; a control byte that is not a blank means binary input. */
  private skipBlanks(buf: Uint8Array, ls: number, k: number, e: number): number {
    let c: number;
    while (k < e && (c = buf[k]!) <= SPACE && c !== LF) {
      if (c !== SPACE && !isBlank(c))
        this.fail(buf, ls, e, k, `unexpected control character (byte 0x${c.toString(16).padStart(2, '0')}): a trace is text`);
      k++;
    }
    return k;
  }

  /** At k only a comment or the line feed is left: skip to the next line, checking the length. */
  private endLine(buf: Uint8Array, ls: number, k: number, e: number): number {
    let nl = k < e && buf[k] === LF ? k : buf.indexOf(LF, k);
    if (nl < 0 || nl > e) nl = e;
    if (nl - ls > MAX_LINE_BYTES) this.fail(buf, ls, e, -1, 'line too long');
    return nl < e ? nl + 1 : e;
  }

  private parseVersion(buf: Uint8Array, ls: number, e: number, te: number): number {
    if (this.versionSeen || this.opsSeen)
      this.fail(buf, ls, e, te - VERSION_WORD.length, '"version" must be the first line with content and appear once');
    const toks: [number, number][] = [];
    let k = te;
    for (;;) {
      k = this.skipBlanks(buf, ls, k, e);
      const c = k < e ? buf[k]! : LF;
      if (c === LF || c === HASH) break;
      const s = k;
      while (k < e && buf[k]! > SPACE && buf[k] !== HASH) k++;
      toks.push([s, k]);
      if (toks.length > 1) break;
    }
    if (toks.length !== 1)
      this.fail(buf, ls, e, toks.length ? toks[1]![0] : -1, `expected "version ${TRACE_VERSION}" or "version ${TRACE_VERSION_V2}"`);
    const v = this.text(buf, toks[0]![0], toks[0]![1]);
    if (v !== String(TRACE_VERSION) && v !== String(TRACE_VERSION_V2)) {
      this.fail(
        buf,
        ls,
        e,
        toks[0]![0],
        `unsupported trace version ${quoteToken(v)}: this ptreclaim reads versions ${TRACE_VERSION} and ${TRACE_VERSION_V2}`,
      );
    }
    this.version = v === String(TRACE_VERSION_V2) ? TRACE_VERSION_V2 : TRACE_VERSION;
    this.versionSeen = true;
    return this.endLine(buf, ls, k, e);
  }

  private text(buf: Uint8Array, s: number, e: number): string {
    return Buffer.from(buf.buffer, buf.byteOffset + s, e - s).toString('utf8');
  }

  /**
   * Throw a TraceSyntaxError for the line starting at ls (input ends at e) at byte `at` (-1:
   * just past the line's end). Columns count characters, not bytes. A line longer than
   * MAX_LINE_BYTES is reported as such, one holding NULs as binary input.
   */
  private fail(buf: Uint8Array, ls: number, e: number, at: number, detail: string): never {
    let le = buf.indexOf(LF, ls);
    if (le < 0 || le > e) le = e;
    if (le - ls > MAX_LINE_BYTES) {
      const nonText = describeNonText(buf, ls, le, false);
      throw new TraceSyntaxError(
        this.file,
        this.lineNo,
        1,
        nonText ?? `line longer than ${MAX_LINE_BYTES} bytes (a trace line is one short operation; is this a trace file?)`,
      );
    }
    const nonText = describeNonText(buf, ls, le, false);
    if (nonText) throw new TraceSyntaxError(this.file, this.lineNo, 1, nonText);
    const lineEnd = le > ls && buf[le - 1] === CR ? le - 1 : le;
    const upTo = at < 0 ? lineEnd : Math.min(at, lineEnd);
    const column = this.text(buf, ls, upTo).length + 1;
    throw new TraceSyntaxError(this.file, this.lineNo, column, detail);
  }
}

/** Parse trace bytes held in memory, batch by batch. */
export function* parseTraceBytes(buf: Uint8Array, file = '<trace>'): Generator<OpBatch> {
  const parser = new TraceParser(file);
  const batch = new OpBatch();
  batch.file = file;
  let p = 0;
  while (p < buf.length) {
    batch.count = 0;
    p = parser.parse(buf, p, buf.length, batch);
    if (batch.count > 0) yield batch;
  }
}

/**
 * Stream a trace file, batch by batch, in constant memory: CHUNK_BYTES are read at a time and
 * a line cut by a chunk's end is carried over to the next read. A name ending in `.gz` (the
 * captures of corpus/programs/) is decompressed whole first.
 */
export function* readTraceBatches(path: string): Generator<OpBatch> {
  if (path.endsWith('.gz')) {
    let text: Buffer;
    try {
      text = gunzipSync(readFileSync(path));
    } catch (e) {
      throw new PtreclaimError(`cannot read trace ${path}: ${describeReadFailure(e)}`);
    }
    yield* parseTraceBytes(text, path);
    return;
  }
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new PtreclaimError(`cannot read trace ${path}: ${describeReadFailure(e)}`);
  }
  try {
    const parser = new TraceParser(path);
    const batch = new OpBatch();
    batch.file = path;
    const buf = Buffer.allocUnsafe(CHUNK_BYTES + MAX_LINE_BYTES + 2);
    let have = 0; // bytes in buf[0, have)
    // Each pass reads once; the pass that reads nothing parses what is left and ends the loop.
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, have, buf.length - have, null);
      } catch (e) {
        throw new PtreclaimError(`cannot read trace ${path}: ${describeReadFailure(e)}`);
      }
      const eof = n === 0;
      have += n;
      // Parse only complete lines unless the file has ended; carry the cut line over.
      const end = eof ? have : buf.lastIndexOf(LF, have - 1) + 1;
      let p = 0;
      while (p < end) {
        batch.count = 0;
        p = parser.parse(buf, p, end, batch);
        if (batch.count > 0) yield batch;
      }
      buf.copy(buf, 0, end, have);
      have -= end;
      if (eof) break;
      // A carried-over part longer than any line may be: parse it to report it.
      if (have > MAX_LINE_BYTES) parser.parse(buf, 0, have, batch);
    }
  } finally {
    closeSync(fd);
  }
}

/** Every op of some batches, as objects. */
export function opsOfBatches(batches: Iterable<OpBatch>): Op[] {
  const out: Op[] = [];
  for (const b of batches) for (let i = 0; i < b.count; i++) out.push(b.op(i));
  return out;
}
