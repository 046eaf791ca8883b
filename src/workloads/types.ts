import type { Op } from '../trace/ops.js';
import type { OpBatch } from '../trace/reader.js';

/** A built-in workload: a named generator of trace operations. */
export interface Workload {
  readonly name: string;
  readonly description: string;
  /** Operations in order; generated lazily so large workloads need no big arrays. */
  ops(): Iterable<Op>;
  /**
   * The same operations written straight into batch columns (src/trace/reader.ts), when the
   * workload can: runWorkload then builds no object per operation. A batch is reused, as a
   * trace parse's is.
   */
  batches?(): Iterable<OpBatch>;
}
