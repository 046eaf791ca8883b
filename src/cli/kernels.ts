/**
 * `ptreclaim bench kernels [--json FILE] ...`: flags only (a subcommand of `bench`, src/cli/bench.ts);
 * the work is in src/kernels/.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { cpus } from 'node:os';
import { checkOutputPaths, writeOutputFile } from '../io.js';
import { type Footprint, type ImplName, type KernelName, FOOTPRINTS, IMPLS, KERNELS, MAX_TABLES } from '../kernels/types.js';
import { runKernels } from '../kernels/runner.js';
import { formatKernelTable } from '../kernels/report.js';
import { interruptOnSignals } from './interrupt.js';

function listOf<T extends string>(what: string, allowed: readonly T[]) {
  return (value: string): T[] => {
    const items = value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (items.length === 1 && items[0] === 'all') return [...allowed];
    for (const it of items) {
      if (!allowed.includes(it as T))
        throw new InvalidArgumentError(`unknown ${what} "${it}": expected a comma list of ${allowed.join(', ')} (or "all")`);
    }
    if (!items.length) throw new InvalidArgumentError(`empty ${what} list`);
    return items as T[];
  };
}

function intIn(what: string, lo: number, hi: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < lo || n > hi)
      throw new InvalidArgumentError(`${what} must be an integer from ${lo} to ${hi}, not "${value}"`);
    return n;
  };
}

/** 'none' stays a string here: commander turns a parser's null into '' (then "pin  PID"). */
function cpuArg(value: string): number | 'none' {
  if (value.trim() === 'none') return 'none';
  const max = cpus().length - 1;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > max)
    throw new InvalidArgumentError(`--cpu must be a CPU number from 0 to ${max} or "none", not "${value}"`);
  return n;
}

interface KernelFlags {
  json?: string;
  impl: ImplName[];
  kernel: KernelName[];
  footprint: Footprint[];
  samples: number;
  sampleMs: number;
  warmupMs: number;
  cpu?: number | 'none';
  inCacheTables: number;
  outOfCacheTables: number;
}

export function buildKernelsCommand(out: (s: string) => void, err: (s: string) => void): Command {
  return new Command('kernels')
    .description(
      'ns per 4 KiB table of the hot loops (scan, zap, fault-fill, walk, reclaim-fast, reclaim-slow): wasm-simd, wasm-scalar, ts, native',
    )
    .option('--json <file>', 'also write the results as JSON (atomically)')
    .addOption(
      new Option('--impl <list>', `implementations: ${IMPLS.join(',')} or all`)
        .argParser(listOf('implementation', IMPLS))
        .default([...IMPLS], 'all'),
    )
    .addOption(
      new Option('--kernel <list>', `kernels: ${KERNELS.join(',')} or all`)
        .argParser(listOf('kernel', KERNELS))
        .default([...KERNELS], 'all'),
    )
    .addOption(
      new Option('--footprint <list>', `footprints: ${FOOTPRINTS.join(',')} or all`)
        .argParser(listOf('footprint', FOOTPRINTS))
        .default([...FOOTPRINTS], 'all'),
    )
    .addOption(
      new Option('--samples <n>', 'samples per measurement (the median is reported)').argParser(intIn('--samples', 1, 1000)).default(11),
    )
    .addOption(new Option('--sample-ms <ms>', 'kernel time per sample').argParser(intIn('--sample-ms', 1, 10000)).default(2))
    .addOption(
      new Option('--warmup-ms <ms>', 'kernel time each implementation runs before its samples (JIT tier-up)')
        .argParser(intIn('--warmup-ms', 0, 60000))
        .default(200),
    )
    .addOption(
      new Option('--cpu <n|none>', "CPU that native and this process's main thread share (default: the one it starts on)").argParser(
        cpuArg,
      ),
    )
    .addOption(
      new Option('--in-cache-tables <n>', 'tables in the in-cache footprint')
        .argParser(intIn('--in-cache-tables', 1, MAX_TABLES))
        .default(64),
    )
    .addOption(
      new Option('--out-of-cache-tables <n>', 'tables in the out-of-cache footprint (32768 = 128 MiB)')
        .argParser(intIn('--out-of-cache-tables', 1, MAX_TABLES))
        .default(32768),
    )
    .action(async (flags: KernelFlags) => {
      if (flags.json) checkOutputPaths([{ flag: '--json', path: flags.json }]);
      if (flags.outOfCacheTables < 32768 && flags.footprint.includes('out-of-cache')) {
        err(`note: --out-of-cache-tables ${flags.outOfCacheTables} is below 128 MiB; the footprint may fit in cache\n`);
      }
      const interrupt = interruptOnSignals('kernels');
      const report = await runKernels({
        impls: flags.impl,
        kernels: flags.kernel,
        footprints: flags.footprint,
        samples: flags.samples,
        minNs: flags.sampleMs * 1e6,
        warmupNs: flags.warmupMs * 1e6,
        cpu: flags.cpu === 'none' ? null : flags.cpu,
        tables: { 'in-cache': flags.inCacheTables, 'out-of-cache': flags.outOfCacheTables },
        onResult: (r) => err(`  ${r.footprint} ${r.impl} ${r.kernel}: ${r.nsPerTable.toFixed(1)} ns/table\n`),
        signal: interrupt.signal,
      }).finally(() => {
        interrupt.dispose();
      });
      out(formatKernelTable(report) + '\n');
      if (flags.json) {
        writeOutputFile(flags.json, JSON.stringify(report, null, 2) + '\n');
        out(`wrote ${flags.json}${report.partial ? ' (partial)' : ''}\n`);
      }
      if (report.partial) process.exitCode = interrupt.exitCode() ?? 130;
    });
}
