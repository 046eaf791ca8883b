/**
 * One fixed sequence every implementation runs on the same data: the tests compare the
 * outcomes (checksums of every entry, walk sums, counters) across wasm-simd, wasm-scalar,
 * ts and native, so a benchmark never times a kernel that computes something else.
 */
import type { KernelCounters, KernelImpl } from './types.js';

export interface VerifyOutcome extends KernelCounters {
  afterSetup: string;
  walk: string;
  /** The second walk: every address one cache line on. */
  walkNext: string;
  afterZap: string;
  emptyAfterZap: number;
  afterFault: string;
  emptyAfterFault: number;
  /** Tables freed by reclaim-fast, then by reclaim-slow (each: every table). */
  freedFast: number;
  freedSlow: number;
  /** Checksum after the refill that follows each reclaim. */
  afterRefill: string;
}

/**
 * setup -> walk -> walk -> zap -> scan -> fault-fill -> scan -> reclaim-fast -> refill ->
 * reclaim-slow -> refill (bench/native/kernels.c --check does the same).
 */
export function verifySequence(impl: KernelImpl, tables: number): VerifyOutcome {
  impl.setup(tables);
  const afterSetup = impl.checksum().toString();
  const walk = impl.walk().toString();
  const walkNext = impl.walk().toString();
  impl.zap();
  const afterZap = impl.checksum().toString();
  const emptyAfterZap = impl.scan();
  impl.faultFill();
  const afterFault = impl.checksum().toString();
  const emptyAfterFault = impl.scan();
  impl.fillPresent();
  const freedFast = impl.reclaim(false);
  impl.refillReclaimed();
  const freedSlow = impl.reclaim(true);
  impl.refillReclaimed();
  const afterRefill = impl.checksum().toString();
  return {
    afterSetup,
    walk,
    walkNext,
    afterZap,
    emptyAfterZap,
    afterFault,
    emptyAfterFault,
    freedFast,
    freedSlow,
    afterRefill,
    ...impl.counters(),
  };
}
