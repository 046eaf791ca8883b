/** ptreclaim's public library API: everything the CLI does, typed. */
export * from './core/types.js';
export { WasmCore, wasmBuildHash, type WasmFlavor } from './core/wasm.js';
export { ReferenceCore } from './core/reference.js';
export { Mm, type MmOptions, type SyscallResult, type Errno, type ExitReport, DEFAULT_MMAP_BASE, MMAP_MIN_ADDR } from './mm/mm.js';
export { type Vma, VmaList, placeTopDown } from './mm/vma.js';
export { STRATEGIES, STRATEGY_NAMES, getStrategy, parseStrategyList, type Strategy, type StrategyName } from './strategies.js';
export { runOps, applyOp, makeCore, type RunOptions, type RunResult, type OpError, RUN_SCHEMA_VERSION } from './run.js';
export { parseTrace, readTraceFile, formatTrace, parseNumber, TRACE_VERSION } from './trace/parse.js';
export type { Op, OpKind, Access, Advice } from './trace/ops.js';
export { seedWorkload, getWorkload, WORKLOADS, type Workload } from './workloads/index.js';
export { formatRunTable } from './report/text.js';
export { PtreclaimError, TraceSyntaxError, ArenaFullError, UsageError } from './errors.js';
export { writeFileAtomic } from './io.js';
