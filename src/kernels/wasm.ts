/**
 * The WebAssembly kernels: build/kernels.simd.wasm and build/kernels.scalar.wasm, the core's
 * own loops compiled twice from the same source (assembly/kernels.ts; asconfig targets
 * kernels-simd and kernels-scalar).
 */
import { existsSync, readFileSync } from 'node:fs';
import { buildPath } from '../paths.js';
import { PtreclaimError } from '../errors.js';
import { CORE_OK, coreStatusErrno } from '../core/types.js';
import type { KernelImpl } from './types.js';

interface KernelExports {
  memory: WebAssembly.Memory;
  kernel_setup(n: number): number;
  kernel_fill_present(): void;
  kernel_fill_none(): void;
  kernel_scan(): number;
  kernel_zap(): void;
  kernel_fault_fill(): number;
  kernel_walk(): bigint;
  kernel_checksum(): bigint;
  kernel_simd(): number;
  kernel_poke(i: number, j: number, e: bigint): void;
  kernel_reclaim(slow: number): number;
  kernel_refill_reclaimed(): number;
  stats_ptr(): number;
  [name: string]: unknown;
}

export type WasmKernelFlavor = 'simd' | 'scalar';

export function wasmKernelsPath(flavor: WasmKernelFlavor): string {
  return buildPath(`kernels.${flavor}.wasm`);
}

export class WasmKernels implements KernelImpl {
  readonly name;
  private readonly x: KernelExports;

  constructor(readonly flavor: WasmKernelFlavor) {
    this.name = flavor === 'simd' ? ('wasm-simd' as const) : ('wasm-scalar' as const);
    const file = wasmKernelsPath(flavor);
    if (!existsSync(file)) throw new PtreclaimError(`benchmark kernels not built: ${file} is missing (run \`npm run build:wasm\`)`);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(file)), {
      env: {
        abort(): never {
          throw new Error('ptreclaim internal error: WASM assertion failed in the benchmark kernels');
        },
      },
    });
    this.x = instance.exports as unknown as KernelExports;
    if (Boolean(this.x.kernel_simd()) !== (flavor === 'simd')) {
      throw new PtreclaimError(`${file} was built ${flavor === 'simd' ? 'without' : 'with'} SIMD; rebuild with \`npm run build:wasm\``);
    }
  }

  setup(n: number): void {
    const status = this.x.kernel_setup(n);
    if (status !== CORE_OK)
      throw new PtreclaimError(
        `cannot prepare ${n} tables in the ${this.name} kernels (status ${status}, ${coreStatusErrno(status) ?? 'unknown'})`,
      );
  }
  fillPresent(): void {
    this.x.kernel_fill_present();
  }
  fillNone(): void {
    this.x.kernel_fill_none();
  }
  scan(): number {
    return this.x.kernel_scan();
  }
  zap(): void {
    this.x.kernel_zap();
  }
  faultFill(): void {
    const status = this.x.kernel_fault_fill();
    if (status !== CORE_OK)
      throw new PtreclaimError(`fault-fill failed in the ${this.name} kernels (status ${status}, ${coreStatusErrno(status) ?? 'unknown'})`);
  }
  walk(): bigint {
    return BigInt.asUintN(64, this.x.kernel_walk());
  }
  reclaim(slow: boolean): number {
    return this.x.kernel_reclaim(slow ? 1 : 0);
  }
  refillReclaimed(): void {
    const status = this.x.kernel_refill_reclaimed();
    if (status !== 0) throw new PtreclaimError(`refill after reclaim failed in the ${this.name} kernels (status ${status})`);
  }
  poke(i: number, j: number, entry: bigint): void {
    this.x.kernel_poke(i, j, BigInt.asIntN(64, entry));
  }
  checksum(): bigint {
    return BigInt.asUintN(64, this.x.kernel_checksum());
  }

  /** A counter by its `enum Stat` name, located through the module's exported enum. */
  private stat(name: string): number {
    const g = this.x[`Stat.${name}`];
    if (!(g instanceof WebAssembly.Global)) throw new Error(`ptreclaim internal error: kernels export no Stat.${name}`);
    const view = new BigUint64Array(this.x.memory.buffer, this.x.stats_ptr() + (g.value as number) * 8, 1);
    return Number(view[0]!);
  }

  counters(): ReturnType<KernelImpl['counters']> {
    return {
      entriesCleared: this.stat('EntriesCleared'),
      pagesGathered: this.stat('PagesGathered'),
      tlbFlushes: this.stat('TlbFlushes'),
      forceBreak: this.stat('ForceBreak'),
      faultAnon: this.stat('FaultAnon'),
      reclaimFast: this.stat('ReclaimFast'),
      reclaimSlow: this.stat('ReclaimSlow'),
      entriesReadScan: this.stat('EntriesReadScan'),
      pmdLocks: this.stat('PmdLocks'),
      nrPte: this.stat('NrPte'),
    };
  }
}
