/**
 * The native yardstick: build/native/ptreclaim-kernels (bench/native/kernels.c, gcc -O3
 * -march=native, built by scripts/build-native.js when a C compiler exists). The runner
 * drives it over a line protocol (`--serve`), so its samples interleave with the
 * WebAssembly and TypeScript ones and all see the same machine weather.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createInterface, type Interface } from 'node:readline';
import { buildPath } from '../paths.js';
import { PtreclaimError, UsageError } from '../errors.js';
import type { KernelName } from './types.js';

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

function requirePath(): string {
  const status = nativeKernelsStatus();
  if (!status.available) throw new PtreclaimError(status.reason);
  return status.path;
}

/** What the native program can run: the four kernels, and scan at WebAssembly's 128-bit width. */
export type NativeKernel = KernelName | 'scan-128';

/** One `ptreclaim-kernels --serve` process: one command out, one answer line back. */
export class NativeKernelServer {
  private readonly lines: Interface;
  private readonly waiting: { resolve: (line: string) => void; reject: (e: Error) => void }[] = [];
  private failure?: Error;
  private stderr = '';
  private pinned = false;

  private constructor(
    private readonly path: string,
    private readonly child: ChildProcessWithoutNullStreams,
  ) {
    this.lines = createInterface({ input: child.stdout });
    this.lines.on('line', (line) => this.waiting.shift()?.resolve(line));
    child.stderr.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    const fail = (why: string) => {
      this.failure ??= new PtreclaimError(`${this.path} ${why}${this.stderr.trim() ? `: ${this.stderr.trim()}` : ''}`);
      for (const w of this.waiting.splice(0)) w.reject(this.failure);
    };
    child.on('error', (e) => fail(`could not run (${e.message})`));
    child.on('exit', (code, signal) => fail(`exited (${signal ?? `status ${String(code)}`}) in the middle of a benchmark`));
    child.stdin.on('error', () => fail('stopped reading its commands'));
  }

  static start(): NativeKernelServer {
    const path = requirePath();
    return new NativeKernelServer(path, spawn(path, ['--serve'], { stdio: ['pipe', 'pipe', 'pipe'] }));
  }

  private ask(command: string): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<string>((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.child.stdin.write(command + '\n');
    }).then((line) => {
      if (line.startsWith('error ')) throw new PtreclaimError(`${this.path}: ${line.slice(6)} (command "${command}")`);
      return line;
    });
  }

  /**
   * Run this program and the caller's main thread on `cpu` only, so samples that alternate
   * between the two processes share one CPU's weather (a busy host sibling, a frequency
   * dip). unpin() (and close()) restore the main thread's previous affinity.
   */
  async pin(cpu: number): Promise<void> {
    if (!Number.isInteger(cpu) || cpu < 0) throw new UsageError(`cannot pin to CPU ${JSON.stringify(cpu)}: expected a CPU number`);
    await this.ask(`pin ${cpu} ${process.pid}`);
    this.pinned = true;
  }
  async unpin(): Promise<void> {
    if (!this.pinned) return;
    await this.ask('unpin');
    this.pinned = false;
  }

  /** Fresh mm with n tables faulted full. */
  async setup(n: number): Promise<void> {
    await this.ask(`setup ${n}`);
  }
  /** The kernel's untimed input: all none (scan, fault-fill) or all present (zap, walk). */
  async prepare(kernel: NativeKernel): Promise<void> {
    await this.ask(`prepare ${kernel}`);
  }
  /** One sample: timed calls until minNs of kernel time; ns per table. */
  async sample(kernel: NativeKernel, minNs: number): Promise<number> {
    const line = await this.ask(`sample ${kernel} ${Math.max(1, Math.round(minNs))}`);
    const ns = Number(line);
    if (!Number.isFinite(ns) || ns <= 0)
      throw new PtreclaimError(`${this.path}: "${line}" is not a time per table (command "sample ${kernel}")`);
    return ns;
  }

  /**
   * Restore the main thread's affinity (if pinned) and end the program. Never throws: it runs
   * in `finally` blocks, and if the program already died the affinity cannot be restored
   * anyway (it only narrows the CPUs this process may use).
   */
  async close(): Promise<void> {
    await this.unpin().catch(() => undefined);
    this.failure ??= new PtreclaimError(`${this.path} was closed`);
    this.lines.close();
    this.child.stdin.end();
  }
}

/** The verification sequence of src/kernels/verify.ts, run natively. */
export function nativeCheck(tables: number): Record<string, string | number> {
  const path = requirePath();
  const r = spawnSync(path, ['--check', String(tables)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.error) throw new PtreclaimError(`cannot run ${path}: ${r.error.message}`);
  if (r.status !== 0)
    throw new PtreclaimError(`${path} --check ${tables} failed (${r.signal ?? `exit ${String(r.status)}`}): ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as Record<string, string | number>;
}
