/**
 * The native yardstick: build/native/ptreclaim-kernels (bench/native/kernels.c, gcc -O3
 * -march=native, built by scripts/build-native.js when a C compiler exists). It measures
 * itself with the same protocol as src/kernels/runner.ts and prints JSON lines.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { buildPath } from '../paths.js';
import { PtreclaimError } from '../errors.js';
import { KERNELS, type KernelName } from './types.js';

export function nativeKernelsPath(): string {
  return buildPath('native', 'ptreclaim-kernels');
}

export type NativeStatus = { available: true; path: string } | { available: false; reason: string };

export function nativeKernelsStatus(): NativeStatus {
  const path = nativeKernelsPath();
  try {
    accessSync(path, constants.X_OK);
    return { available: true, path };
  } catch {
    return {
      available: false,
      reason: `${path} is not built (no C compiler when \`npm run build:native\` ran?); install gcc and rerun it`,
    };
  }
}

function run(args: string[]): string {
  const status = nativeKernelsStatus();
  if (!status.available) throw new PtreclaimError(status.reason);
  const r = spawnSync(status.path, args, { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.error) throw new PtreclaimError(`cannot run ${status.path}: ${r.error.message}`);
  if (r.status !== 0) throw new PtreclaimError(`${status.path} ${args.join(' ')} failed (exit ${r.status}): ${r.stderr.trim()}`);
  return r.stdout;
}

/** Median ns per table of every kernel over `tables` tables. */
export function runNativeKernels(tables: number, samples: number, minNs: number): Map<KernelName, number> {
  const out = new Map<KernelName, number>();
  for (const line of run(['--tables', String(tables), '--samples', String(samples), '--min-ns', String(Math.round(minNs))]).split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as { kernel: KernelName; nsPerTable: number };
    if (!KERNELS.includes(r.kernel)) throw new PtreclaimError(`unexpected kernel "${r.kernel}" from the native kernels`);
    out.set(r.kernel, r.nsPerTable);
  }
  return out;
}

/** The verification sequence of src/kernels/verify.ts, run natively. */
export function nativeCheck(tables: number): Record<string, string | number> {
  return JSON.parse(run(['--check', String(tables)])) as Record<string, string | number>;
}
