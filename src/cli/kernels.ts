/**
 * `ptreclaim bench kernels [--json FILE] ...`: flags only; `ptreclaim bench` delegates here.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { writeFileAtomic } from '../io.js';
import { UsageError } from '../errors.js';
import { type Footprint, type ImplName, type KernelName, FOOTPRINTS, IMPLS, KERNELS, MAX_TABLES } from '../kernels/types.js';
import { runKernels } from '../kernels/runner.js';
import { formatKernelTable } from '../kernels/report.js';

function listOf<T extends string>(what: string, allowed: readonly T[]) {
  return (value: string): T[] => {
    const items = value.split(',').map((s) => s.trim()).filter(Boolean);
    if (items.length === 1 && items[0] === 'all') return [...allowed];
    for (const it of items) {
      if (!allowed.includes(it as T)) throw new InvalidArgumentError(`unknown ${what} "${it}": expected a comma list of ${allowed.join(', ')} (or "all")`);
    }
    if (!items.length) throw new InvalidArgumentError(`empty ${what} list`);
    return items as T[];
  };
}

function intIn(what: string, lo: number, hi: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < lo || n > hi) throw new InvalidArgumentError(`${what} must be an integer from ${lo} to ${hi}, not "${value}"`);
    return n;
  };
}

interface KernelFlags {
  json?: string;
  impl: ImplName[];
  kernel: KernelName[];
  footprint: Footprint[];
  samples: number;
  sampleMs: number;
  inCacheTables: number;
  outOfCacheTables: number;
}

export function buildKernelsCommand(out: (s: string) => void, err: (s: string) => void): Command {
  return new Command('kernels')
    .description('ns per 4 KiB table of the hot loops (scan, zap, fault-fill, walk): wasm-simd, wasm-scalar, ts, native')
    .option('--json <file>', 'also write the results as JSON (atomically)')
    .addOption(new Option('--impl <list>', `implementations: ${IMPLS.join(',')} or all`).argParser(listOf('implementation', IMPLS)).default([...IMPLS], 'all'))
    .addOption(new Option('--kernel <list>', `kernels: ${KERNELS.join(',')} or all`).argParser(listOf('kernel', KERNELS)).default([...KERNELS], 'all'))
    .addOption(new Option('--footprint <list>', `footprints: ${FOOTPRINTS.join(',')} or all`).argParser(listOf('footprint', FOOTPRINTS)).default([...FOOTPRINTS], 'all'))
    .addOption(new Option('--samples <n>', 'samples per measurement (the median is reported)').argParser(intIn('--samples', 1, 1000)).default(11))
    .addOption(new Option('--sample-ms <ms>', 'kernel time per sample').argParser(intIn('--sample-ms', 1, 10000)).default(2))
    .addOption(new Option('--in-cache-tables <n>', 'tables in the in-cache footprint').argParser(intIn('--in-cache-tables', 1, MAX_TABLES)).default(64))
    .addOption(new Option('--out-of-cache-tables <n>', 'tables in the out-of-cache footprint (32768 = 128 MiB)').argParser(intIn('--out-of-cache-tables', 1, MAX_TABLES)).default(32768))
    .action((flags: KernelFlags) => {
      if (flags.outOfCacheTables < 32768 && flags.footprint.includes('out-of-cache')) {
        err(`note: --out-of-cache-tables ${flags.outOfCacheTables} is below 128 MiB; the footprint may fit in cache\n`);
      }
      const report = runKernels({
        impls: flags.impl, kernels: flags.kernel, footprints: flags.footprint, samples: flags.samples,
        minNs: flags.sampleMs * 1e6, tables: { 'in-cache': flags.inCacheTables, 'out-of-cache': flags.outOfCacheTables },
        onResult: (r) => err(`  ${r.footprint} ${r.impl} ${r.kernel}: ${r.nsPerTable.toFixed(1)} ns/table\n`),
      });
      out(formatKernelTable(report) + '\n');
      if (flags.json) {
        writeFileAtomic(flags.json, JSON.stringify(report, null, 2) + '\n');
        out(`wrote ${flags.json}\n`);
      }
    });
}

/**
 * Run `kernels` with its own arguments (argv without "ptreclaim bench kernels"). Usage errors
 * become UsageError with commander's message, so the caller reports them like any other.
 */
export async function runKernelsCommand(argv: string[]): Promise<void> {
  const cmd = buildKernelsCommand((s) => process.stdout.write(s), (s) => process.stderr.write(s));
  cmd.exitOverride().configureOutput({ writeErr: () => {}, writeOut: (s) => process.stdout.write(s) });
  try {
    await cmd.parseAsync(argv, { from: 'user' });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version') return;
    if (code?.startsWith('commander.')) throw new UsageError(`bench kernels: ${(e as Error).message.replace(/^error: /, '')}`);
    throw e;
  }
}
