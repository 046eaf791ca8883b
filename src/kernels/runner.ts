/**
 * Runs the kernels and collects samples. Per footprint every implementation prepares N
 * tables; per kernel each one warms up for `warmupNs` of kernel time (V8 tiers WASM and JS up
 * to optimised code in the background: on this machine the walk needs ~30 ms before its
 * samples settle), then samples are taken round-robin across the implementations, so a
 * noisy neighbour or a frequency change hits all of them alike and the ratios compare like
 * with like. A sample is at least `minNs` of kernel time; the median ns per table is kept.
 * Kernels that consume their input (zap empties the tables, fault-fill fills them) get an
 * untimed refill before every timed call; scan and walk are timed over back-to-back calls.
 * The native program (bench/native/kernels.c --serve) runs the same protocol in C.
 */
import { cpus } from 'node:os';
import { checkKernelOptions } from '../api-schema.js';
import { readFileSync } from 'node:fs';
import { median } from '../bench/stats.js';
import {
  type BaselineName,
  type Footprint,
  type ImplName,
  type KernelBaseline,
  type KernelImpl,
  type KernelName,
  type KernelReport,
  type KernelResult,
  DEFAULT_TABLES,
  FOOTPRINTS,
  IMPLS,
  KERNELS,
  WIDTH_BASELINE,
} from './types.js';
import { WasmKernels } from './wasm.js';
import { TsKernels } from './ts.js';
import { NativeKernelServer, nativeKernelsStatus, type NativeKernel } from './native.js';
import { computePremiums, computeRatios } from './report.js';

export interface KernelRunOptions {
  impls?: readonly ImplName[];
  kernels?: readonly KernelName[];
  footprints?: readonly Footprint[];
  samples?: number;
  /** Kernel time per sample, in nanoseconds (default 2 ms). */
  minNs?: number;
  /** Kernel time of the warm-up before the samples, in nanoseconds (default 200 ms). */
  warmupNs?: number;
  tables?: Partial<Record<Footprint, number>>;
  /**
   * When native runs: the CPU it and this process's main thread are pinned to (undefined:
   * the CPU the main thread is on now; null: no pinning).
   */
  cpu?: number | null;
  /** Called after each result (progress output). */
  onResult?: (r: KernelResult | KernelBaseline) => void;
  /** Abort: stop after the current sample, keep the kernels that finished (report.partial). */
  signal?: AbortSignal;
}

const now = () => Number(process.hrtime.bigint());

/** What runs once before a kernel's samples, before each timed call, and the call itself. */
interface Plan {
  once?: () => void;
  each?: () => void;
  run: () => unknown;
  /**
   * The sample is the median of its calls' times, not their mean: one reclaim call (64
   * tables) lasts ~10 us, so a single preemption on a shared host (a 4 ms slice) would
   * otherwise outweigh a whole sample. bench/native/kernels.c does the same.
   */
  medianOfCalls?: boolean;
}

function plan(impl: KernelImpl, kernel: KernelName): Plan {
  switch (kernel) {
    case 'scan':
      return { once: () => impl.fillNone(), run: () => impl.scan() };
    case 'walk':
      return { once: () => impl.fillPresent(), run: () => impl.walk() };
    case 'zap':
      return { each: () => impl.fillPresent(), run: () => impl.zap() };
    case 'fault-fill':
      return { each: () => impl.fillNone(), run: () => impl.faultFill() };
    // Each call frees every table; the untimed refill faults them back full.
    case 'reclaim-fast':
      return { each: () => impl.refillReclaimed(), run: () => impl.reclaim(false), medianOfCalls: true };
    case 'reclaim-slow':
      return { each: () => impl.refillReclaimed(), run: () => impl.reclaim(true), medianOfCalls: true };
  }
}

/** One sample: timed calls until minNs of kernel time; ns per table. */
function sample(p: Plan, tables: number, minNs: number): number {
  let spent = 0;
  let calls = 0;
  const perCall: number[] = [];
  if (!p.each) {
    // Read the clock once per batch of calls, not per call: a short kernel (64 walks take
    // ~0.2 us) would otherwise carry the timer's own cost in every call.
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
      const dt = now() - t0;
      spent += dt;
      calls++;
      if (p.medianOfCalls) perCall.push(dt);
    } while (spent < minNs);
  }
  if (p.medianOfCalls) return median(perCall) / tables;
  return spent / (calls * tables);
}

/** The CPU this thread runs on now (Linux), from /proc/thread-self/stat field 39. */
function currentCpu(): number | undefined {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const cpu = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[36]);
    return Number.isInteger(cpu) ? cpu : undefined;
  } catch {
    return undefined;
  }
}

/** One implementation as the runner sees it: prepare a kernel's input, take a sample. */
interface Sampler {
  readonly name: ImplName | BaselineName;
  runs(kernel: KernelName): boolean;
  prepare(kernel: KernelName): Promise<void>;
  sample(kernel: KernelName, minNs: number): Promise<number>;
}

function jsSampler(impl: KernelImpl, tables: number): Sampler {
  const plans = new Map<KernelName, Plan>();
  const planOf = (k: KernelName) => plans.get(k) ?? plans.set(k, plan(impl, k)).get(k)!;
  return {
    name: impl.name,
    runs: () => true,
    prepare: (k) => Promise.resolve(planOf(k).once?.()),
    sample: (k, minNs) => Promise.resolve(sample(planOf(k), tables, minNs)),
  };
}

function nativeSamplers(server: NativeKernelServer): Sampler[] {
  const as = (name: ImplName | BaselineName, kernelOf: (k: KernelName) => NativeKernel, runs: (k: KernelName) => boolean): Sampler => ({
    name,
    runs,
    prepare: (k) => server.prepare(kernelOf(k)),
    sample: (k, minNs) => server.sample(kernelOf(k), minNs),
  });
  return [
    as(
      'native',
      (k) => k,
      () => true,
    ),
    as(
      WIDTH_BASELINE,
      () => 'scan-128',
      (k) => k === 'scan',
    ),
  ];
}

/**
 * Warm every sampler up on every kernel of the group, then `samples` rounds, each sampling
 * every implementation once per kernel (the order rotates so none always runs first after
 * another's cache footprint). A group of several kernels (reclaim-fast with reclaim-slow)
 * interleaves them too, so the two paths see the same machine weather and their difference
 * is not a drift between two measurement periods; only kernels whose input is rebuilt
 * before every call may share a group.
 */
async function measure(
  samplers: readonly Sampler[],
  group: readonly KernelName[],
  samples: number,
  minNs: number,
  warmupNs: number,
  signal?: AbortSignal,
): Promise<Map<KernelName, Map<Sampler, number[]>> | undefined> {
  const xs = new Map(group.map((k) => [k, new Map<Sampler, number[]>(samplers.filter((s) => s.runs(k)).map((s) => [s, []]))]));
  for (const kernel of group) {
    for (const s of xs.get(kernel)!.keys()) {
      await s.prepare(kernel);
      await s.sample(kernel, warmupNs);
    }
  }
  for (let round = 0; round < samples; round++) {
    // Let a Ctrl-C through: JS samples are synchronous, so give the event loop a turn.
    await new Promise(setImmediate);
    if (signal?.aborted) return undefined;
    for (let g = 0; g < group.length; g++) {
      const kernel = group[(round + g) % group.length]!;
      const bySampler = xs.get(kernel)!;
      const list = [...bySampler.keys()];
      for (let i = 0; i < list.length; i++) {
        const s = list[(round + i) % list.length]!;
        bySampler.get(s)!.push(await s.sample(kernel, minNs));
      }
    }
  }
  return xs;
}

/** Kernels in measuring order: reclaim-fast and reclaim-slow together when both are asked for. */
function kernelGroups(kernels: readonly KernelName[]): KernelName[][] {
  const paired = kernels.includes('reclaim-fast') && kernels.includes('reclaim-slow');
  const out: KernelName[][] = [];
  for (const k of kernels) {
    if (paired && k === 'reclaim-slow') continue;
    out.push(paired && k === 'reclaim-fast' ? ['reclaim-fast', 'reclaim-slow'] : [k]);
  }
  return out;
}

export async function runKernels(opts: KernelRunOptions = {}): Promise<KernelReport> {
  checkKernelOptions(opts);
  const impls = opts.impls ?? IMPLS;
  const kernels = opts.kernels ?? KERNELS;
  const footprints = opts.footprints ?? FOOTPRINTS;
  const samples = opts.samples ?? 11;
  const minNs = opts.minNs ?? 2e6;
  const warmupNs = opts.warmupNs ?? 2e8;
  const tables = { ...DEFAULT_TABLES, ...opts.tables };
  const results: KernelResult[] = [];
  const baselines: KernelBaseline[] = [];
  const skipped: KernelReport['skipped'] = [];
  const native = impls.includes('native') ? nativeKernelsStatus() : undefined;
  if (native && !native.available) skipped.push({ impl: 'native', reason: native.reason });
  const pinCpu = native?.available ? (opts.cpu === undefined ? currentCpu() : (opts.cpu ?? undefined)) : undefined;

  for (const footprint of footprints) {
    if (opts.signal?.aborted) break;
    const n = tables[footprint];
    const samplers: Sampler[] = [];
    let server: NativeKernelServer | undefined;
    try {
      for (const name of impls) {
        if (name === 'native') {
          if (!native?.available) continue;
          server = NativeKernelServer.start();
          if (pinCpu !== undefined) await server.pin(pinCpu);
          await server.setup(n);
          samplers.push(...nativeSamplers(server));
          continue;
        }
        const impl: KernelImpl = name === 'ts' ? new TsKernels() : new WasmKernels(name === 'wasm-simd' ? 'simd' : 'scalar');
        impl.setup(n);
        samplers.push(jsSampler(impl, n));
      }
      for (const group of kernelGroups(kernels)) {
        if (opts.signal?.aborted) break;
        const measured = await measure(samplers, group, samples, minNs, warmupNs, opts.signal);
        if (!measured) break;
        for (const [kernel, bySampler] of measured)
          for (const [s, sampleNs] of bySampler) {
            const common = { footprint, nsPerTable: median(sampleNs), tables: n, samples, sampleNs };
            if (s.name === WIDTH_BASELINE) {
              baselines.push({ ...common, kernel: 'scan', impl: WIDTH_BASELINE });
              opts.onResult?.(baselines.at(-1)!);
            } else {
              results.push({ ...common, kernel, impl: s.name });
              opts.onResult?.(results.at(-1)!);
            }
          }
      }
    } finally {
      await server?.close();
    }
  }
  return {
    schemaVersion: 1,
    context: {
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpu: cpus()[0]?.model ?? 'unknown',
      date: new Date().toISOString(),
      samples,
      tables,
      warmupMs: warmupNs / 1e6,
      pinnedCpu: pinCpu ?? null,
    },
    results,
    baselines,
    ratios: computeRatios(results, baselines),
    premiums: computePremiums(results),
    skipped,
    partial: Boolean(opts.signal?.aborted),
  };
}
