// Batched operations: the driver writes a run of page-level operations (faults, zaps,
// MADV_FREE) that each lie inside one VMA into this buffer and applies them with one call,
// so a fault-granular trace costs one JS -> WASM crossing per batch instead of several per
// operation. Each operation is charged to the simulated clock exactly as the driver charges
// a single one (src/mm/mm.ts, Mm.syscall): a fixed system-call cost for madvise, plus the
// change of the weighted counters; RCU then sees the new time.
//
//   one entry, BATCH_STRIDE f64:  | code | start | end | zap flags |

// Buffer geometry and operation codes: shared with src/core/batch.ts (schema/vocab.js).
import {
  BATCH_CAPACITY, BATCH_STRIDE, BATCH_FAULT_READ, BATCH_FAULT_WRITE, BATCH_ZAP, BATCH_MADV_FREE,
} from "./generated/vocab";
export { BATCH_CAPACITY, BATCH_STRIDE, BATCH_FAULT_READ, BATCH_FAULT_WRITE, BATCH_ZAP, BATCH_MADV_FREE };

export const batchBuffer: usize = memory.data(BATCH_CAPACITY * BATCH_STRIDE * 8, 16);

@inline export function batch_entry(i: i32): usize {
  return batchBuffer + (<usize>(i * BATCH_STRIDE) << 3);
}
