/** ptreclaim's public library API: everything the CLI does, typed. */
export * from './core/types.js';
export { WasmCore, wasmBuildHash, type WasmFlavor } from './core/wasm.js';
export { ReferenceCore } from './core/reference.js';
export {
  Mm,
  type MmOptions,
  type MmapOptions,
  type SyscallResult,
  type Errno,
  type ExitReport,
  DEFAULT_MMAP_BASE,
  MMAP_MIN_ADDR,
} from './mm/mm.js';
export { MappedObject, type FilemapConfig } from './mm/filemap.js';
export { type Vma, VmaList, placeTopDown } from './mm/vma.js';
export { STRATEGIES, STRATEGY_NAMES, getStrategy, parseStrategyList, type Strategy, type StrategyName } from './strategies.js';
export {
  runOps,
  runTraceFile,
  runWorkload,
  runBatches,
  applyOp,
  makeCore,
  type RunResult,
  type OpError,
  RUN_SCHEMA_VERSION,
} from './run.js';
export {
  resolveRunOptions,
  limitFramesFor,
  DEFAULTS,
  THP_MODES,
  type ThpMode,
  type RunOptions,
  type ResolvedRunOptions,
} from './options.js';
export {
  COUNTERS,
  COUNTER_KEYS,
  COST_WEIGHTS,
  buildRunCounters,
  flattenCounters,
  type CounterInfo,
  type RunCounters,
} from './generated/counters.js';
export { parseTrace, readTraceFile, formatTrace, parseNumber, TRACE_VERSION, TRACE_VERSION_V2, MAX_LINE_BYTES } from './trace/parse.js';
export { readTraceBatches, parseTraceBytes, OpBatch } from './trace/reader.js';
export type { Op, OpKind, Access, Advice, AdviceV2, Prot, MmapOp, ModelOp, ModelOpKind } from './trace/ops.js';
export { ADVICES_V2, MODEL_ADVICES, PROTS, needsFormatV2, v2Feature } from './trace/ops.js';
export { seedWorkload, getWorkload, WORKLOADS, type Workload } from './workloads/index.js';
export { v1RobotWorkload, forceBreakWorkload, partialDontneedWorkload, tableChurnWorkload } from './workloads/designs.js';
export {
  allocWorkload,
  allocChurnWorkload,
  allocChurnProgramEvents,
  ALLOCATOR_KINDS,
  type AllocatorKind,
  type AllocEvent,
} from './workloads/alloc.js';
export { type CheckViolation } from './run.js';
export { type Violation } from './mm/checker.js';
export { DEFAULT_COST_MODEL, type CostModel } from './mm/cost.js';
export {
  loadCostChoice,
  readCostProfile,
  validateCostProfile,
  builtinCostModel,
  COST_PROFILE_JSON_SCHEMA,
  type CostProfile,
  type CostChoice,
} from './mm/cost-profile.js';
export { calibrate, formatCalibration, calibrationSets, type CalibrateOptions } from './calibrate/calibrate.js';
export { fitWeights, nnls, type FitRow, type FitResult } from './calibrate/fit.js';
export { formatRunTable } from './report/text.js';
export {
  PtreclaimError,
  TraceSyntaxError,
  ArenaFullError,
  UsageError,
  InputError,
  OutputError,
  UnmodelledTraceError,
  EXIT,
  exitCodeFor,
} from './errors.js';
export { writeOutputFile, writeTraceFile, writeFileAtomic, checkOutputPaths, type OutputPath } from './io.js';
export {
  runLiveTrace,
  liveOracleStatus,
  OracleUnavailableError,
  TraceRefusedError,
  AddressInUseError,
  killLiveHelpers,
  type LiveResult,
  type LiveRunOptions,
} from './oracle/live.js';
export { hostFacts, type HostFacts } from './oracle/host.js';
export { hostFaultAroundBytes, hostReadaheadBytes } from './oracle/filemap-host.js';
export { runOracle, type OracleResult } from './oracle/oracle.js';
export {
  validateTargets,
  validateTrace,
  modelForHost,
  loadTargets,
  formatOutcome,
  unmodelledSummary,
  compareEnds,
  CORPUS_DIRS,
  type UnmodelledTrace,
  type ValidateOutcome,
  type ValidateProgress,
  type ModelChoice,
} from './validate.js';
export { importStrace, TOUCH_MODELS, type TouchModel } from './import/strace.js';
export { generateCorpus, generateTrace } from './corpus/generate.js';
export { generateCorpusV2, generateTraceV2, corpusTraceTextV2, type CorpusTraceV2 } from './corpus/generate-v2.js';
export { runBench, BenchCellError, type BenchEvents } from './bench/run.js';
export { benchOptions, type BenchFlags } from './bench/options.js';
export { type BenchOptions, type BenchResults, type CellResult, BENCH_SCHEMA_VERSION } from './bench/types.js';
export { type HarnessEvents } from './bench/harness.js';
export { compareResults, type Comparison, type CompareOptions } from './bench/compare.js';
export { mergeResults } from './bench/merge.js';
export { readResults, validateResults, BENCH_JSON_SCHEMA } from './bench/schema.js';
export { EXPORTERS } from './report/exporters.js';
export { renderReport, renderCompareReport, chartSpecs, compareSpecs, type ReportSpec, type ReportOptions } from './report/html.js';
export { runKernels, type KernelRunOptions } from './kernels/runner.js';
export { computeRatios, formatKernelTable } from './kernels/report.js';
export type { KernelReport, KernelResult, KernelBaseline, KernelRatio, KernelName, ImplName, Footprint } from './kernels/types.js';
export {
  captureCommand,
  captureText,
  captureHelperStatus,
  convertRecords,
  killCaptures,
  expectLine,
  hostLine,
  CaptureUnavailableError,
  CaptureCommandError,
  LostEventsError,
  DEFAULT_BUFFER_PAGES,
  type CaptureOptions,
  type CaptureResult,
  type CaptureCounters,
  type CaptureSample,
  type ConvertedCapture,
} from './capture/capture.js';
export {
  validateCapture,
  readCaptureFile,
  parseCapture,
  formatCaptureValidation,
  unmodelledFeatures,
  moveAwayFromHelper,
  type CaptureFile,
  type CaptureValidation,
  type CaptureDivergence,
} from './capture/validate.js';
