/**
 * The benchmark kernels compute the same thing in every implementation (so a speed ratio
 * compares equal work), the SIMD and scalar scans agree on every position of a lone
 * non-none entry, and the report/CLI layer keeps its JSON shape and refuses bad flags.
 */
import { describe, expect, it } from 'vitest';
import { WasmKernels } from '../src/kernels/wasm.js';
import { TsKernels } from '../src/kernels/ts.js';
import { verifySequence } from '../src/kernels/verify.js';
import { nativeCheck, nativeKernelsStatus } from '../src/kernels/native.js';
import { runKernels } from '../src/kernels/runner.js';
import { computeRatios, formatKernelTable } from '../src/kernels/report.js';
import { runKernelsCommand } from '../src/cli/kernels.js';
import { UsageError } from '../src/errors.js';
import type { KernelResult } from '../src/kernels/types.js';

const TABLES = 40;

describe('kernels: every implementation does the same work', () => {
  const simd = verifySequence(new WasmKernels('simd'), TABLES);

  it('wasm-simd: zap clears every entry through the real mmu_gather, fault-fill refills every page', () => {
    expect(simd.afterZap).toBe('0');
    expect(simd.emptyAfterZap).toBe(TABLES);
    expect(simd.emptyAfterFault).toBe(0);
    expect(simd.entriesCleared).toBe(TABLES * 512);
    expect(simd.pagesGathered).toBe(TABLES * 512);
    expect(simd.tlbFlushes).toBe(TABLES); // one per MADV_DONTNEED gather
    expect(simd.faultAnon).toBe(2 * TABLES * 512); // setup + fault-fill
    expect(simd.afterSetup).not.toBe(simd.afterFault); // fresh frame numbers after the refill
  });

  it('wasm-scalar == wasm-simd', () => {
    expect(verifySequence(new WasmKernels('scalar'), TABLES)).toEqual(simd);
  });

  it('ts reference == wasm-simd', () => {
    expect(verifySequence(new TsKernels(), TABLES)).toEqual(simd);
  });

  const native = nativeKernelsStatus();
  it.skipIf(!native.available)(`native == wasm-simd${native.available ? '' : ` (skipped: ${native.reason})`}`, () => {
    expect(nativeCheck(TABLES)).toEqual(simd);
  });
});

describe('kernels: scan finds a lone non-none entry anywhere', () => {
  it('SIMD and scalar builds agree with the reference for every slot and bit half', () => {
    for (const impl of [new WasmKernels('simd'), new WasmKernels('scalar'), new TsKernels()]) {
      impl.setup(2);
      impl.fillNone();
      expect(impl.scan()).toBe(2);
      for (let j = 0; j < 512; j++) {
        for (const e of [1n, 1n << 63n]) {
          impl.poke(1, j, e);
          expect(impl.scan(), `${impl.name} slot ${j} entry ${e}`).toBe(1);
          impl.poke(1, j, 0n);
        }
      }
      expect(impl.scan()).toBe(2);
    }
  });
});

describe('kernels: report', () => {
  const r = (kernel: KernelResult['kernel'], impl: KernelResult['impl'], ns: number): KernelResult =>
    ({ kernel, impl, footprint: 'in-cache', nsPerTable: ns, tables: 64, samples: 3 });

  it('ratios are wasm-simd/native and ts/wasm-simd, checked against the issue targets', () => {
    const ratios = computeRatios([r('scan', 'wasm-simd', 50), r('scan', 'native', 40), r('scan', 'ts', 500), r('zap', 'wasm-simd', 300), r('zap', 'native', 100)]);
    expect(ratios.wasmNative).toEqual([
      { kernel: 'scan', footprint: 'in-cache', of: 'wasm-simd', to: 'native', ratio: 1.25, target: { max: 1.3, met: true } },
      { kernel: 'zap', footprint: 'in-cache', of: 'wasm-simd', to: 'native', ratio: 3, target: { max: 1.5, met: false } },
    ]);
    expect(ratios.tsWasm).toEqual([{ kernel: 'scan', footprint: 'in-cache', of: 'ts', to: 'wasm-simd', ratio: 10, target: { min: 8, met: true } }]);
  });

  it('a short real run has the JSON shape the issue asks for', () => {
    const report = runKernels({ impls: ['wasm-simd', 'ts'], footprints: ['in-cache'], samples: 1, minNs: 1e5, tables: { 'in-cache': 4 } });
    expect(report.results).toHaveLength(8);
    for (const res of report.results) {
      expect(['scan', 'zap', 'fault-fill', 'walk']).toContain(res.kernel);
      expect(['wasm-simd', 'ts']).toContain(res.impl);
      expect(res.footprint).toBe('in-cache');
      expect(res.nsPerTable).toBeGreaterThan(0);
    }
    expect(report.ratios.tsWasm).toHaveLength(4);
    expect(formatKernelTable(report)).toMatch(/^kernel\s+footprint\s+wasm-simd ns/);
  });
});

describe('kernels: CLI flags', () => {
  it('refuses an unknown implementation with the list of valid ones', async () => {
    await expect(runKernelsCommand(['--impl', 'wasm-gpu'])).rejects.toThrow(UsageError);
    await expect(runKernelsCommand(['--impl', 'wasm-gpu'])).rejects.toThrow(/unknown implementation "wasm-gpu": expected a comma list of wasm-simd, wasm-scalar, ts, native/);
  });
  it('refuses an out-of-range table count', async () => {
    await expect(runKernelsCommand(['--in-cache-tables', '0'])).rejects.toThrow(/--in-cache-tables must be an integer from 1 to 32768/);
  });
});
