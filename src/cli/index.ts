/**
 * The `ptreclaim` command line: declares commands and flags, validates them into typed
 * options, and calls the library. Everything here is also available as a typed API.
 */
import { Command, Option } from 'commander';
import { readFileSync, statSync } from 'node:fs';
import { resolveRunOptions, runTraceFile, runWorkload, type RunOptions, type RunResult } from '../run.js';
import { formatTrace } from '../trace/parse.js';
import {
  ARENA_LIMIT_MAX_BYTES,
  CPUS_MAX,
  SEED_MAX,
  formatBytes,
  parseArenaLimitArg,
  parseCpusArg,
  parsePositiveArg,
  parseProbabilityArg,
  parseSeedArg,
  parseSizeArg,
} from '../args.js';
import { getWorkload, WORKLOADS } from '../workloads/index.js';
import { parseStrategyList } from '../strategies.js';
import { formatRunTable } from '../report/text.js';
import { TABLE_FORMATS, stdoutLayout, type TableFormat } from '../report/layout.js';
import { EXIT, UsageError, describeErrno, exitCodeFor } from '../errors.js';
import { checkOutputPaths, writeTraceFile } from '../io.js';
import { loadCostChoice } from '../mm/cost-profile.js';
import { packageRoot } from '../paths.js';
import { PATH_MODES, TABLE_FREE_MODES, TASK_SIZE, type ReclaimPath, type TableFree } from '../core/types.js';
import { DEFAULTS, SHMEM_THP_MODES, THP_MODES, type ShmemThpMode, type ThpMode } from '../options.js';
import { hostFaultAroundBytes, hostReadaheadBytes } from '../oracle/filemap-host.js';

function version(): string {
  try {
    return (JSON.parse(readFileSync(`${packageRoot()}/package.json`, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

interface RunFlags {
  trace?: string;
  strategy: string;
  path: ReclaimPath;
  json?: boolean;
  core: 'wasm' | 'ts';
  wasm: 'release' | 'debug';
  arenaLimit?: number;
  trylockFail: number;
  resched: number;
  nowaitFail: number;
  seed: number;
  cpus: number;
  tableFree: TableFree;
  tickMs: number;
  gracePeriodMs: number;
  scanPeriodMs: number;
  scanBytes: number;
  faultAround: number;
  readahead: number;
  check?: boolean;
  costProfile?: string;
  thp: ThpMode;
  thpZeroPage: 'on' | 'off';
  mmapMinAddr: number;
  shmemThp: ShmemThpMode;
}

/** Adds a module's commands to the program (src/cli/oracle.ts, bench.ts, calibrate.ts). */
export type RegisterCommands = (program: Command, out: (s: string) => void) => void;

/** The commands buildProgram defines itself; any other is in loadCommandModules' modules. */
const CORE_COMMANDS = new Set(['run', 'trace']);

/**
 * The oracle, bench and calibrate commands' modules, imported only when the command line may
 * name one of them: they load the live oracle, tinybench, the report renderers, the kernels
 * benchmark, ... which `run` never uses.
 */
export async function loadCommandModules(): Promise<RegisterCommands[]> {
  const [oracle, bench, calibrate, capture] = await Promise.all([
    import('./oracle.js'),
    import('./bench.js'),
    import('./calibrate.js'),
    import('./capture.js'),
  ]);
  return [oracle.registerOracleCommands, bench.registerBenchCommands, calibrate.registerCalibrateCommand, capture.registerCaptureCommand];
}

/**
 * The program with `run` and `trace`, then the commands of `more` (loadCommandModules: all of
 * them, as main() builds it for any other command line).
 */
export function buildProgram(out: (s: string) => void = (s) => process.stdout.write(s), more: readonly RegisterCommands[] = []): Command {
  const program = new Command('ptreclaim')
    .description('Simulate and benchmark Linux user page-table reclaim (PT_RECLAIM) in WebAssembly')
    .version(version())
    .showHelpAfterError('(run with --help for usage)')
    // Each command's flags follow its name: `bench kernels --json F` goes to kernels, not bench.
    .enablePositionalOptions()
    // Subcommands inherit this only if it is set before they are added.
    .exitOverride();

  program
    .command('run')
    .description('run a built-in workload or a trace file and report page-table memory')
    .argument('[workload]', `built-in workload: ${Object.keys(WORKLOADS).join(', ')}`)
    .option('--trace <file>', 'run a trace file (format v1, see README) instead of a workload')
    // Defaults come from DEFAULTS (src/options.ts), shown here and applied by resolveRunOptions.
    .option('--strategy <names>', 'strategy, comma list, or "all"', DEFAULTS.strategy)
    .addOption(new Option('--path <path>', 'force the PT_RECLAIM path').choices(Object.keys(PATH_MODES)).default(DEFAULTS.path))
    .option('--json', 'print one JSON object (or an array for several strategies) on stdout')
    .addOption(new Option('--core <impl>', 'hot-loop implementation').choices(['wasm', 'ts']).default(DEFAULTS.core))
    .addOption(new Option('--wasm <build>', 'WASM build').choices(['release', 'debug']).default(DEFAULTS.wasm))
    .option(
      '--arena-limit <bytes>',
      `most page-table memory the arena may use (e.g. 512M, 3G; at most ${formatBytes(ARENA_LIMIT_MAX_BYTES)})`,
      (v) => parseArenaLimitArg(v),
    )
    .option(
      '--trylock-fail <p>',
      "probability that the fast path's PMD trylock fails (path auto)",
      (v) => parseProbabilityArg(v, '--trylock-fail'),
      DEFAULTS.trylockFail,
    )
    .option(
      '--resched <p>',
      'probability that need_resched() interrupts a zap_pte_range pass',
      (v) => parseProbabilityArg(v, '--resched'),
      DEFAULTS.resched,
    )
    .option(
      '--nowait-fail <p>',
      'probability that no table batch page can be had (single-table fallback)',
      (v) => parseProbabilityArg(v, '--nowait-fail'),
      DEFAULTS.nowaitFail,
    )
    .option('--seed <n>', `seed of the probabilities above (integer 0 to ${SEED_MAX})`, (v) => parseSeedArg(v), DEFAULTS.seed)
    .option(
      '--cpus <n>',
      `CPUs that ran the mm (each TLB shootdown IPIs the others; 1 to ${CPUS_MAX})`,
      (v) => parseCpusArg(v),
      DEFAULTS.cpus,
    )
    .addOption(
      new Option('--table-free <mode>', 'single-table fallback: IPI + free at once, or call_rcu')
        .choices(Object.keys(TABLE_FREE_MODES))
        .default(DEFAULTS.tableFree),
    )
    .option('--tick-ms <ms>', 'scheduler tick period of the simulated clock', (v) => parsePositiveArg(v, '--tick-ms'), DEFAULTS.tickMs)
    .option(
      '--grace-period-ms <ms>',
      'length of a simulated RCU grace period',
      (v) => parsePositiveArg(v, '--grace-period-ms'),
      DEFAULTS.gracePeriodMs,
    )
    .option(
      '--scan-period-ms <ms>',
      'async-scan: least time between passes',
      (v) => parsePositiveArg(v, '--scan-period-ms'),
      DEFAULTS.scanPeriodMs,
    )
    .option(
      '--scan-bytes <bytes>',
      'async-scan: VA scanned per pass (e.g. 256M)',
      (v) => parseSizeArg(v, '--scan-bytes'),
      DEFAULTS.scanBytes,
    )
    .addOption(
      new Option('--thp <mode>', 'PMD-sized THP for anonymous memory, as /sys/kernel/mm/transparent_hugepage/enabled')
        .choices([...THP_MODES])
        .default(DEFAULTS.thp),
    )
    .addOption(
      new Option('--thp-zero-page <on|off>', 'read faults in a THP area map the huge zero page (use_zero_page)')
        .choices(['on', 'off'])
        .default('on'), // DEFAULTS.thpZeroPage
    )
    .addOption(
      new Option('--shmem-thp <mode>', 'PMD-sized THP for shmem, as transparent_hugepage/shmem_enabled (only never and deny are modelled)')
        .choices([...SHMEM_THP_MODES])
        .default(DEFAULTS.shmemThp),
    )
    .option(
      '--fault-around <bytes>',
      "fault_around_bytes: a file read fault maps the cached pages of this aligned block (default: the host's, else 64K)",
      (v) => parseSizeArg(v, '--fault-around', 0, 2 * 1024 * 1024),
      hostFaultAroundBytes() ?? DEFAULTS.faultAroundBytes,
    )
    .option(
      '--readahead <bytes>',
      "read_ahead_kb of the mapped files' device, in bytes (default: the temporary directory's, else 128K)",
      (v) => parseSizeArg(v, '--readahead', 0, 2 ** 40),
      hostReadaheadBytes() ?? DEFAULTS.readaheadBytes,
    )
    .option(
      '--mmap-min-addr <addr>',
      'lowest address a fixed mmap or mremap destination may use (EPERM below; vm.mmap_min_addr, 0 for a CAP_SYS_RAWIO process)',
      (v) => parseSizeArg(v, '--mmap-min-addr', 0, TASK_SIZE),
      DEFAULTS.mmapMinAddr,
    )
    .option('--check', 'check invariants after every operation (slower; exit status 1 on a violation)')
    .option('--cost-profile <file>', 'weights of simulated time from `ptreclaim calibrate -o FILE` (default: built-in)')
    .addOption(
      new Option(
        '--format <layout>',
        'table layout: wide (strategies side by side), long (one table per strategy), auto (wide if it fits the terminal)',
      )
        .choices([...TABLE_FORMATS])
        .default('auto'),
    )
    .action((workload: string | undefined, flags: RunFlags & { format: TableFormat }) => {
      if (workload && flags.trace) throw new UsageError('give either a workload name or --trace FILE, not both');
      if (!workload && !flags.trace)
        throw new UsageError(`nothing to run: give a workload (${Object.keys(WORKLOADS).join(', ')}) or --trace FILE`);
      const strategies = parseStrategyList(flags.strategy);
      const source = flags.trace ?? workload!;
      // Each strategy reads the trace again: a pipe (/dev/stdin, <(...)) would give the second
      // one an empty trace and a silently wrong column.
      if (flags.trace && strategies.length > 1) {
        let regular = true;
        try {
          regular = statSync(flags.trace).isFile();
        } catch {
          // A missing file is reported by the first run, with its name.
        }
        if (!regular)
          throw new UsageError(
            `--trace ${flags.trace} is not a regular file (a pipe or device can be read once), and ${strategies.length} strategies read it once each: ` +
              'write it to a file first (a .gz trace is read as is), or give one --strategy',
          );
      }
      // A trace is streamed, once per strategy: memory stays flat whatever its size.
      // The flags were checked as they were parsed: resolved here, the options skip the
      // library's schema check (and its ajv load, ~70 ms of start-up).
      const runOne = (options: RunOptions) => {
        const o = resolveRunOptions(options);
        return flags.trace ? runTraceFile(flags.trace, o) : runWorkload(getWorkload(workload!), o);
      };
      const cost = loadCostChoice(flags.costProfile);
      const results: RunResult[] = strategies.map((strategy) =>
        runOne({
          strategy,
          path: flags.path,
          core: flags.core,
          wasm: flags.wasm,
          arenaLimitBytes: flags.arenaLimit,
          source,
          trylockFail: flags.trylockFail,
          resched: flags.resched,
          nowaitFail: flags.nowaitFail,
          seed: flags.seed,
          cpus: flags.cpus,
          tableFree: flags.tableFree,
          tickMs: flags.tickMs,
          gracePeriodMs: flags.gracePeriodMs,
          scanPeriodMs: flags.scanPeriodMs,
          scanBytes: flags.scanBytes,
          faultAroundBytes: flags.faultAround,
          readaheadBytes: flags.readahead,
          check: flags.check,
          thp: flags.thp,
          thpZeroPage: flags.thpZeroPage === 'on',
          mmapMinAddr: flags.mmapMinAddr,
          shmemThp: flags.shmemThp,
          cost,
        }),
      );
      if (flags.json) out(JSON.stringify(results.length === 1 ? results[0] : results, null, 2) + '\n');
      else out(formatRunTable(results, stdoutLayout(flags.format)) + '\n');
      if (results.some((r) => !r.exit.clean || r.check.violationCount > 0)) process.exitCode = 1;
    });

  program
    .command('trace')
    .description('write a built-in workload as a trace file (format v1)')
    .argument('<workload>', `built-in workload: ${Object.keys(WORKLOADS).join(', ')}`)
    .option('-o, --output <file>', 'write here (atomically) instead of stdout')
    .action((name: string, flags: { output?: string }) => {
      // An empty -o is refused, not taken for standard output.
      if (flags.output !== undefined) checkOutputPaths([{ flag: '--output', path: flags.output }]);
      const w = getWorkload(name);
      const text = formatTrace(w.ops(), `ptreclaim workload ${w.name}: ${w.description}`);
      if (flags.output !== undefined) writeTraceFile(flags.output, text);
      else out(text);
    });

  for (const register of more) register(program, out);
  return program;
}

/**
 * Standard output and error failing is the user's business, not a crash: a closed pipe
 * (`ptreclaim trace seed | head -1`) ends the command quietly with the status it had (0),
 * as a process killed by SIGPIPE would but without the shell's 141; any other failure
 * (`> /dev/full`: ENOSPC) is one line on stderr and exit 1.
 */
function guardStdio(): void {
  process.stderr.on('error', () => {
    // Nowhere left to report to.
  });
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit();
    process.stderr.write(`ptreclaim: cannot write to standard output: ${describeErrno(e) ?? e.message}\n`);
    process.exit(EXIT.failure);
  });
}

/** The message and exit status for an error that stopped a command (the table in src/errors.ts). */
export function reportError(e: unknown, err: (s: string) => void = (s) => process.stderr.write(s)): number {
  const code = exitCodeFor(e);
  if (code !== EXIT.internal) {
    // Also an errno error a command did not wrap (its message names the code and path):
    // the user's environment, not a bug.
    err(`ptreclaim: ${(e as Error).message}\n`);
    return code;
  }
  err(`ptreclaim: internal error: ${String((e as { message?: unknown } | null | undefined)?.message ?? e)}\n`);
  if (process.env.PTRECLAIM_DEBUG) err(`${String((e as { stack?: unknown } | null | undefined)?.stack)}\n`);
  else err('(set PTRECLAIM_DEBUG=1 for a stack trace; please report this)\n');
  return code;
}

/** Entry point of bin/ptreclaim.js: clear messages, no stack dumps for user errors. */
export async function main(argv = process.argv): Promise<void> {
  guardStdio();
  // `run` and `trace` (the command is the first word: the program has no options of its own
  // but --help and --version) need none of the other commands' modules.
  const program = buildProgram(undefined, CORE_COMMANDS.has(argv[2] ?? '') ? [] : await loadCommandModules());
  try {
    await program.parseAsync(argv);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code?.startsWith('commander.')) {
      // commander already printed its message; help and --version are not errors.
      const ok = code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help';
      process.exitCode = ok ? EXIT.ok : EXIT.usage;
      return;
    }
    process.exitCode = reportError(e);
  }
}
