import type { Op } from '../trace/ops.js';

/** A built-in workload: a named generator of trace operations. */
export interface Workload {
  readonly name: string;
  readonly description: string;
  /** Operations in order; generated lazily so large workloads need no big arrays. */
  ops(): Iterable<Op>;
}
