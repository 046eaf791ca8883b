// Batched operations: the driver writes a run of page-level operations (faults, zaps,
// MADV_FREE) that each lie inside one VMA into this buffer and applies them with one call,
// so a fault-granular trace costs one JS -> WASM crossing per batch instead of several per
// operation. Each operation is charged to the simulated clock exactly as the driver charges
// a single one (src/mm/mm.ts, Mm.syscall): a fixed system-call cost for madvise, plus the
// change of the weighted counters; RCU then sees the new time.
//
//   one entry, BATCH_STRIDE f64:  | code | start | end | zap flags |

/** Entries the buffer holds. */
export const BATCH_CAPACITY: i32 = 1024;
export const BATCH_STRIDE: i32 = 4;
// Operation codes (src/core/batch.ts has the same).
export const BATCH_FAULT_READ: i32 = 0;
export const BATCH_FAULT_WRITE: i32 = 1;
export const BATCH_ZAP: i32 = 2;
export const BATCH_MADV_FREE: i32 = 3;

export const batchBuffer: usize = memory.data(BATCH_CAPACITY * BATCH_STRIDE * 8, 16);

@inline export function batch_entry(i: i32): usize {
  return batchBuffer + (<usize>(i * BATCH_STRIDE) << 3);
}
