/**
 * Runs the kernels and collects samples: for each implementation and footprint, prepare N
 * tables, then per kernel take `samples` samples of at least `minNs` of kernel time each and
 * keep the median ns per table. Kernels that consume their input (zap empties the tables,
 * fault-fill fills them) get an untimed refill before every timed call; scan and walk are
 * timed over back-to-back calls. bench/native/kernels.c follows the same protocol.
 */
import { cpus } from 'node:os';
import { median } from '../bench/stats.js';
import {
  type Footprint, type ImplName, type KernelImpl, type KernelName, type KernelReport, type KernelResult,
  DEFAULT_TABLES, FOOTPRINTS, IMPLS, KERNELS,
} from './types.js';
import { WasmKernels } from './wasm.js';
import { TsKernels } from './ts.js';
import { nativeKernelsStatus, runNativeKernels } from './native.js';
import { computeRatios } from './report.js';

export interface KernelRunOptions {
  impls?: readonly ImplName[];
  kernels?: readonly KernelName[];
  footprints?: readonly Footprint[];
  samples?: number;
  /** Kernel time per sample, in nanoseconds (default 2 ms). */
  minNs?: number;
  tables?: Partial<Record<Footprint, number>>;
  /** Called after each result (progress output). */
  onResult?: (r: KernelResult) => void;
}

const now = () => Number(process.hrtime.bigint());

/** What runs once before a kernel's samples, before each timed call, and the call itself. */
function plan(impl: KernelImpl, kernel: KernelName): { once?: () => void; each?: () => void; run: () => unknown } {
  switch (kernel) {
    case 'scan':
      return { once: () => impl.fillNone(), run: () => impl.scan() };
    case 'walk':
      return { once: () => impl.fillPresent(), run: () => impl.walk() };
    case 'zap':
      return { each: () => impl.fillPresent(), run: () => impl.zap() };
    case 'fault-fill':
      return { each: () => impl.fillNone(), run: () => impl.faultFill() };
  }
}

/** One sample: timed calls until minNs of kernel time; ns per table. */
function sample(p: ReturnType<typeof plan>, tables: number, minNs: number): number {
  let spent = 0;
  let calls = 0;
  if (!p.each) {
    // Read the clock once per batch of calls, not per call: a short kernel (64 walks take
    // ~0.5 us) would otherwise carry the timer's own cost in every call.
    let batch = 1;
    const t0 = now();
    do {
      for (let i = 0; i < batch; i++) p.run();
      calls += batch;
      spent = now() - t0;
      if (spent < minNs / 64) batch *= 2;
    } while (spent < minNs);
  } else {
    do {
      p.each();
      const t0 = now();
      p.run();
      spent += now() - t0;
      calls++;
    } while (spent < minNs);
  }
  return spent / (calls * tables);
}

export function measureKernel(impl: KernelImpl, kernel: KernelName, tables: number, samples: number, minNs: number): number {
  const p = plan(impl, kernel);
  p.once?.();
  // Warm-up as long as a sample: V8 tiers WASM up to optimised code in the background, and
  // the first implementation measured would otherwise pay for it.
  sample(p, tables, minNs);
  const xs: number[] = [];
  for (let i = 0; i < samples; i++) xs.push(sample(p, tables, minNs));
  return median(xs);
}

function makeImpl(name: Exclude<ImplName, 'native'>): KernelImpl {
  return name === 'ts' ? new TsKernels() : new WasmKernels(name === 'wasm-simd' ? 'simd' : 'scalar');
}

export function runKernels(opts: KernelRunOptions = {}): KernelReport {
  const impls = opts.impls ?? IMPLS;
  const kernels = opts.kernels ?? KERNELS;
  const footprints = opts.footprints ?? FOOTPRINTS;
  const samples = opts.samples ?? 11;
  const minNs = opts.minNs ?? 2e6;
  const tables = { ...DEFAULT_TABLES, ...opts.tables };
  const results: KernelResult[] = [];
  const skipped: KernelReport['skipped'] = [];
  const push = (r: KernelResult) => {
    results.push(r);
    opts.onResult?.(r);
  };
  for (const footprint of footprints) {
    const n = tables[footprint];
    for (const name of impls) {
      if (name === 'native') {
        const status = nativeKernelsStatus();
        if (!status.available) {
          if (!skipped.some((s) => s.impl === 'native')) skipped.push({ impl: 'native', reason: status.reason });
          continue;
        }
        const ns = runNativeKernels(n, samples, minNs);
        for (const kernel of kernels) push({ kernel, impl: name, footprint, nsPerTable: ns.get(kernel)!, tables: n, samples });
        continue;
      }
      const impl = makeImpl(name);
      impl.setup(n);
      for (const kernel of kernels) push({ kernel, impl: name, footprint, nsPerTable: measureKernel(impl, kernel, n, samples, minNs), tables: n, samples });
    }
  }
  return {
    schemaVersion: 1,
    context: {
      node: process.version, platform: `${process.platform}-${process.arch}`, cpu: cpus()[0]?.model ?? 'unknown',
      date: new Date().toISOString(), samples, tables,
    },
    results,
    ratios: computeRatios(results),
    skipped,
  };
}
