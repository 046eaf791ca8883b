/** The context block of a results file: what ran, where, with which build. */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { cpus, platform, arch, release } from 'node:os';
import { packageRoot } from '../paths.js';
import { wasmBuildHash } from '../core/wasm.js';
import type { BenchContext, BenchOptions } from './types.js';

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(`${packageRoot()}/package.json`, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** HEAD of the checkout ptreclaim runs from, when it is a git checkout (and "-dirty" if modified). */
function gitCommit(): string | null {
  try {
    const opts = {
      cwd: packageRoot(),
      encoding: 'utf8' as const,
      stdio: ['ignore', 'pipe', 'ignore'] as ['ignore', 'pipe', 'ignore'],
      timeout: 5000,
    };
    const head = execFileSync('git', ['rev-parse', 'HEAD'], opts).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], opts).trim() !== '';
    return dirty ? `${head}-dirty` : head;
  } catch {
    return null;
  }
}

export function benchContext(options: BenchOptions, now: Date = new Date()): BenchContext {
  const cpu = cpus();
  return {
    ptreclaimVersion: packageVersion(),
    gitCommit: gitCommit(),
    node: process.version,
    platform: `${platform()} ${arch()} ${release()}`,
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    wasmSha256: wasmBuildHash('release'),
    date: now.toISOString(),
    options,
  };
}
