#!/usr/bin/env node
// Builds the optional native helpers (the live-kernel oracle, later maybe a bench program).
//
// - Uses `cc` (or `gcc`) found on PATH; with no C compiler it prints one line and exits 0,
//   so a missing compiler never breaks `npm install`.
// - Rebuilds a target only when its source is newer than its output (or with --force).
// - To add a program, append one entry to TARGETS.
//
// ESM, Node >= 20, no dependencies.

import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const COMMON_FLAGS = ['-O2', '-std=gnu11', '-Wall', '-Wextra'];

/** @type {{ source: string, output: string, flags: string[] }[]} */
const TARGETS = [
  { source: 'native/oracle/ptreclaim-oracle.c', output: 'build/native/ptreclaim-oracle', flags: COMMON_FLAGS },
  // `ptreclaim capture`: ptrace + perf_event_open, a ring-buffer drain thread.
  { source: 'native/capture/ptreclaim-capture.c', output: 'build/native/ptreclaim-capture', flags: [...COMMON_FLAGS, '-pthread'] },
  // The native yardstick of `ptreclaim bench kernels`: tuned for this machine on purpose.
  {
    source: 'bench/native/kernels.c',
    output: 'build/native/ptreclaim-kernels',
    flags: ['-O3', '-march=native', '-std=gnu11', '-Wall', '-Wextra'],
  },
];

/** First executable named `name` on PATH, or null. */
function which(name) {
  const exts = process.platform === 'win32' ? ['.exe', '.cmd', ''] : [''];
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const candidate = join(dir, name + ext);
      try {
        accessSync(candidate, constants.X_OK);
        if (statSync(candidate).isFile()) return candidate;
      } catch {
        // not here
      }
    }
  }
  return null;
}

function mtimeMs(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

function main() {
  const force = process.argv.includes('--force');
  const compiler = which('cc') ?? which('gcc');
  if (!compiler) {
    console.log('build-native: no C compiler (cc or gcc) found on PATH; the live-kernel oracle is unavailable (skipping native build).');
    return 0;
  }

  let failed = 0;
  for (const t of TARGETS) {
    const source = join(ROOT, t.source);
    const output = join(ROOT, t.output);
    const srcTime = mtimeMs(source);
    if (srcTime === null) {
      console.error(`build-native: source ${t.source} is missing`);
      failed++;
      continue;
    }
    const outTime = mtimeMs(output);
    if (!force && outTime !== null && outTime >= srcTime) {
      console.log(`build-native: ${t.output} is up to date`);
      continue;
    }
    mkdirSync(dirname(output), { recursive: true });
    const args = [...t.flags, '-o', output, source];
    console.log(`build-native: ${compiler} ${args.join(' ')}`);
    const r = spawnSync(compiler, args, { cwd: ROOT, stdio: 'inherit' });
    if (r.error || r.status !== 0) {
      console.error(`build-native: compiling ${t.source} failed (${r.error ? r.error.message : `exit ${r.status ?? r.signal}`})`);
      failed++;
    }
  }
  return failed ? 1 : 0;
}

process.exitCode = main();
