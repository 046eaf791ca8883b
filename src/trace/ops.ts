/**
 * The operations a trace (and every workload) is made of. Addresses and lengths are
 * byte counts held in JS numbers: user addresses are below 2^47, so they are exact.
 *
 * Trace format v2 (issue 12) adds mprotect, mremap, mmap options and twelve more madvise
 * advices. The model runs the v1 subset plus mmap's options (`prot=`, `shared`, `file=`),
 * mprotect, mremap and the advices of {@link Advice}; {@link v2Feature} names what it does not model,
 * so that every caller refuses it the same way instead of approximating.
 */

/** Every advice of trace format v2, in the order of the format's word list. */
export const ADVICES_V2 = [
  'dontneed',
  'free',
  'hugepage',
  'nohugepage',
  'collapse',
  'guard-install',
  'guard-remove',
  'populate-read',
  'populate-write',
  'dontneed-locked',
  'remove',
  'willneed',
  'cold',
  'pageout',
] as const;
export type AdviceV2 = (typeof ADVICES_V2)[number];
/**
 * The advice the model follows: today every advice of trace format v2 (combinations it does
 * not follow are refused where the run meets them, see {@link v2Feature}).
 */
export type Advice = AdviceV2;
/** The advices the model follows, as a set (v2Feature): where an advice the model does not run would be left out. */
export const MODEL_ADVICES: ReadonlySet<string> = new Set<Advice>(ADVICES_V2);
export type Access = 'write' | 'read';
/** Protection words of mmap's `prot=` and of mprotect: PROT_READ|PROT_WRITE, PROT_READ, PROT_NONE. */
export const PROTS = ['rw', 'r', 'none'] as const;
export type Prot = (typeof PROTS)[number];

/** Where an operation came from, for error messages: file and 1-based line. */
export interface SourcePos {
  file?: string;
  line?: number;
}

/**
 * mmap at a fixed address. Left out means the v1 default: `prot` rw, private (`shared`
 * absent), anonymous (`mapFile` absent). The mapped file is `mapFile` because `file` is the
 * trace's own name (SourcePos).
 */
export interface MmapOp extends SourcePos {
  kind: 'mmap';
  addr: number;
  len: number;
  prot?: Prot;
  shared?: true;
  /** The mapped regular file's name ([A-Za-z0-9._-]+), created by whoever replays the trace. */
  mapFile?: string;
  /** Page-aligned offset into mapFile (present exactly when mapFile is). */
  offset?: number;
}

export type Op =
  | MmapOp
  | ({ kind: 'munmap'; addr: number; len: number } & SourcePos)
  | ({ kind: 'mprotect'; addr: number; len: number; prot: Prot } & SourcePos)
  /** mremap: `len` is OLDLEN; `newAddr` given means MREMAP_MAYMOVE|MREMAP_FIXED to it. */
  | ({ kind: 'mremap'; addr: number; len: number; newLen: number; newAddr?: number } & SourcePos)
  | ({ kind: 'touch'; addr: number; len: number; access: Access } & SourcePos)
  | ({ kind: 'madvise'; addr: number; len: number; advice: AdviceV2 } & SourcePos);

export type OpKind = Op['kind'];
/** Operation kinds of trace format v1: the ones the model runs. */
export type ModelOpKind = 'mmap' | 'munmap' | 'touch' | 'madvise';
export const OP_KINDS: readonly OpKind[] = ['mmap', 'munmap', 'touch', 'madvise', 'mprotect', 'mremap'];
export const MODEL_OP_KINDS: readonly ModelOpKind[] = ['mmap', 'munmap', 'touch', 'madvise'];

/** The ops the model runs: trace format v1's, mmap's options, mprotect and mremap. */
export type ModelOp =
  | MmapOp
  | ({ kind: 'mprotect'; addr: number; len: number; prot: Prot } & SourcePos)
  | ({ kind: 'mremap'; addr: number; len: number; newLen: number; newAddr?: number } & SourcePos)
  | ({ kind: 'munmap'; addr: number; len: number } & SourcePos)
  | ({ kind: 'touch'; addr: number; len: number; access: Access } & SourcePos)
  | ({ kind: 'madvise'; addr: number; len: number; advice: Advice } & SourcePos);

/**
 * The trace v2 feature an op uses that the model does not run, as a short phrase ("mremap",
 * "madvise remove"), or undefined for an op the model runs. Every v2 op is modelled today; combinations it
 * does not follow (THP advice on a file or shmem mapping, mremap of one) are refused when the run meets them.
 */
export function v2Feature(op: Op): string | undefined {
  switch (op.kind) {
    case 'madvise':
      return MODEL_ADVICES.has(op.advice) ? undefined : `madvise ${op.advice}`;
    default:
      return undefined;
  }
}

/** Whether an op needs trace format v2 to be written (`version 2`): any v2 syntax, modelled or not. */
export function needsFormatV2(op: Op): boolean {
  if (op.kind === 'mprotect' || op.kind === 'mremap') return true;
  if (op.kind === 'mmap' && ((op.prot !== undefined && op.prot !== 'rw') || op.shared || op.mapFile !== undefined)) return true;
  if (op.kind === 'madvise' && op.advice !== 'dontneed' && op.advice !== 'free') return true;
  return v2Feature(op) !== undefined;
}

/** The op as the model takes it, or undefined when it uses a v2 feature ({@link v2Feature}). */
export function modelOp(op: Op): ModelOp | undefined {
  if (v2Feature(op) !== undefined) return undefined;
  return op;
}

/** The error every model entry point gives for a v2 feature: what, where, and what to use instead. */
export function unmodelledMessage(op: Op, index?: number): string {
  const where = op.file !== undefined && op.line ? `${op.file}:${op.line}: ` : index !== undefined ? `operation ${index + 1}: ` : '';
  return `${where}trace v2: ${v2Feature(op) ?? op.kind} is not modelled yet (issue 12); \`ptreclaim oracle --trace\` replays it on the live kernel`;
}
