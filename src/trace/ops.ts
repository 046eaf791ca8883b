/**
 * The operations a trace (and every workload) is made of. Addresses and lengths are
 * byte counts held in JS numbers: user addresses are below 2^47, so they are exact.
 */

export type Advice = 'dontneed' | 'free';
export type Access = 'write' | 'read';

/** Where an operation came from, for error messages: file and 1-based line. */
export interface SourcePos {
  file?: string;
  line?: number;
}

export type Op =
  | ({ kind: 'mmap'; addr: number; len: number } & SourcePos)
  | ({ kind: 'munmap'; addr: number; len: number } & SourcePos)
  | ({ kind: 'touch'; addr: number; len: number; access: Access } & SourcePos)
  | ({ kind: 'madvise'; addr: number; len: number; advice: Advice } & SourcePos);

export type OpKind = Op['kind'];
export const OP_KINDS: readonly OpKind[] = ['mmap', 'munmap', 'touch', 'madvise'];
