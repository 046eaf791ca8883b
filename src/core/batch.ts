/**
 * Batched operations across the core boundary (assembly/batch.ts): the mm writes a run of
 * faults, zaps and MADV_FREEs that each lie inside one VMA into the core's batch buffer and
 * applies them with one call. Every entry is charged to the simulated clock as Mm charges a
 * single operation, so a batch changes no counter and no simulated time.
 *
 *   entry i: buffer[i * BATCH_STRIDE + 0..3] = code, start, end, zap flags
 */
import { CORE_ARENA_FULL, CORE_GROW_FAILED, CORE_OK, type PageTableCore } from './types.js';

// Buffer geometry and operation codes: shared with assembly/batch.ts (schema/vocab.js).
export { BATCH_CAPACITY, BATCH_STRIDE, BATCH_FAULT_READ, BATCH_FAULT_WRITE, BATCH_ZAP, BATCH_MADV_FREE } from '../generated/vocab.js';
import { BATCH_CAPACITY, BATCH_STRIDE, BATCH_FAULT_WRITE, BATCH_ZAP } from '../generated/vocab.js';

/** The reference semantics of applyBatch, on any core's one-operation methods. */
export class BatchRunner {
  readonly buffer = new Float64Array(BATCH_CAPACITY * BATCH_STRIDE);
  nowNs = 0;
  status = CORE_OK;

  constructor(private readonly core: PageTableCore) {}

  apply(n: number, now: number, syscallNs: number): number {
    const core = this.core;
    const b = this.buffer;
    this.status = CORE_OK;
    for (let i = 0; i < n; i++) {
      const p = i * BATCH_STRIDE;
      const code = b[p]!;
      const w0 = core.weightedStats();
      let cost = 0;
      if (code <= BATCH_FAULT_WRITE) {
        // A touch reaching a guard marker stops the batch before it: the driver refuses it.
        if (core.findGuardMarker(b[p + 1]!, b[p + 2]!) >= 0) {
          this.nowNs = now;
          return i;
        }
        const status = core.faultRange(b[p + 1]!, b[p + 2]!, code === BATCH_FAULT_WRITE);
        if (status !== CORE_OK) {
          this.status = status;
          if (status === CORE_ARENA_FULL || status === CORE_GROW_FAILED) {
            this.nowNs = now;
            return i;
          }
          now += core.weightedStats() - w0;
          core.setNow(now);
          this.nowNs = now;
          return i + 1;
        }
      } else {
        cost = syscallNs;
        core.gatherBegin();
        if (code === BATCH_ZAP) core.zapRange(b[p + 1]!, b[p + 2]!, b[p + 3]!);
        else core.madviseFree(b[p + 1]!, b[p + 2]!);
        core.gatherEnd();
      }
      now += cost + (core.weightedStats() - w0);
      core.setNow(now);
    }
    this.nowNs = now;
    return n;
  }
}
