/**
 * The benchmark commands: `bench`, `compare`, `report`, `merge`. Flags only; typed options
 * live in src/bench/options.ts, the work in src/bench/ and src/report/.
 */
import { Command, Option } from 'commander';
import { createRequire } from 'node:module';
import type CliProgress from 'cli-progress';
import pc from 'picocolors';
import { basename, dirname, extname, join } from 'node:path';
import { EXIT, UsageError } from '../errors.js';
import { checkOutputDirs, checkOutputPaths, writeOutputFile } from '../io.js';
import { BenchOutputs } from '../report/outputs.js';
import { STRATEGY_NAMES } from '../strategies.js';
import { benchOptions, type BenchFlags } from '../bench/options.js';
import { BenchCellError, runBench } from '../bench/run.js';
import { SUITES, DELEGATED_SUITES, DEFAULT_SUITE_PARAMS } from '../bench/suites.js';
import { describeAllocEstimate } from '../workloads/alloc.js';
import { readResults } from '../bench/schema.js';
import { compareResults, parsePercent } from '../bench/compare.js';
import { mergeResults } from '../bench/merge.js';
import { EXPORTERS } from '../report/exporters.js';
import { renderCompareReport, renderReport } from '../report/html.js';
import { loadCostChoice } from '../mm/cost-profile.js';
import { buildKernelsCommand } from './kernels.js';
import { interruptOnSignals } from './interrupt.js';
import { formatBenchTables, formatComparison } from '../report/terminal.js';
import type { BenchResults } from '../bench/types.js';
import { TABLE_FORMATS, stdoutLayout, type TableFormat } from '../report/layout.js';
import { DEFAULTS } from '../options.js';

type Out = (s: string) => void;

export function registerBenchCommands(program: Command, out: Out = (s) => process.stdout.write(s)): void {
  const bench = program
    .command('bench')
    .enablePositionalOptions() // as the program's: bench's flags stop at `kernels`
    .description('run benchmark suites: every workload x strategy cell with tinybench')
    .argument('[suite...]', `suites: ${[...Object.keys(SUITES), ...DELEGATED_SUITES].join(', ')} (default: seed)`)
    .option('--strategy <names>', `strategies: comma list or "all" (${STRATEGY_NAMES.join(', ')})`, 'all')
    .option('--time <ms>', 'time budget per cell in ms (with --iterations, both are minimums)', '1000')
    .option('--iterations <n>', 'minimum measured iterations per cell', '10')
    .option('--warmup <n>', 'warm-up iterations per cell', '2')
    .option('--seed <n>', 'seed of generated workloads and injected contention', String(DEFAULTS.seed))
    .option('--scale <fraction>', 'sparse: fraction of the production snapshot (e.g. 1/1024)')
    .option('--heap <bytes>', 'alloc: live heap size (e.g. 256M)')
    .option('--churn <n>', 'alloc: allocation/free events')
    .option('--shard <K/N>', 'run only slice K of N of the cell matrix (merge slices with `ptreclaim merge`)')
    .option('--timeline-points <n>', 'VmPTE samples per workload run for the report chart', '200')
    .option('--json <file>', 'write results as JSON (schemaVersion, context, raw samples)')
    .option('--csv <file>', 'write one CSV row per cell')
    .option('--md <file>', 'write Markdown tables')
    .option('--cpu-prof [dir]', "write a .cpuprofile of each cell's measured phase (default dir: profiles)")
    .option('--heap-prof [dir]', "write a .heapprofile of each cell's measured phase (default dir: profiles)")
    .addOption(
      new Option(
        '--format <layout>',
        'terminal tables: wide (strategies side by side), long (one table per strategy), auto (wide if it fits the terminal)',
      )
        .choices([...TABLE_FORMATS])
        .default('auto'),
    )
    .option('--cost-profile <file>', 'weights of simulated time from `ptreclaim calibrate -o FILE` (default: built-in)')
    .option('-q, --quiet', 'no tables, no progress bar')
    .action(
      async (suites: string[], flags: BenchFlags & { json?: string; csv?: string; md?: string; quiet?: boolean; format: TableFormat }) => {
        if (suites.includes('kernels')) throw new UsageError('the "kernels" suite runs on its own: `ptreclaim bench kernels ...`');
        const o = benchOptions(suites, flags);
        const quiet = Boolean(flags.quiet);
        // Every output path is checked before the first cell runs.
        const outputs = new BenchOutputs(flags);
        checkOutputDirs([
          ...(o.cpuProfDir ? [{ flag: '--cpu-prof', path: o.cpuProfDir }] : []),
          ...(o.heapProfDir ? [{ flag: '--heap-prof', path: o.heapProfDir }] : []),
        ]);
        const say = (lines: string[], always = false) => {
          for (const l of lines) if (always || !quiet) process.stderr.write(pc.dim(`${l}\n`));
        };
        // A large alloc heap: say up front what a run reserves, writes and holds in tables.
        if (!quiet && o.suites.includes('alloc') && (o.heapBytes >= 2 ** 36 || o.churn > 10 * DEFAULT_SUITE_PARAMS.churn)) {
          process.stderr.write(pc.dim(describeAllocEstimate({ heapBytes: o.heapBytes, churn: o.churn }) + '\n'));
        }
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-conversion -- isTTY is undefined, not false, when stderr is not a terminal (@types/node says boolean)
        const tty = Boolean(process.stderr.isTTY) && !quiet;
        const cliProgress = tty ? (createRequire(import.meta.url)('cli-progress') as typeof CliProgress) : undefined;
        const bar = cliProgress
          ? new cliProgress.SingleBar(
              {
                format: `${pc.cyan('{bar}')} {value}/{total} cells | {cell} {phase} {samples} | {duration_formatted}`,
                hideCursor: true,
                clearOnComplete: true,
                stream: process.stderr,
                barsize: 20,
              },
              cliProgress.Presets.shades_classic,
            )
          : undefined;
        const interrupt = interruptOnSignals('cells');
        let snapshotFailed = false;
        let results: BenchResults;
        try {
          results = await runBench(
            o,
            {
              cellStart: (cell, i, total) => {
                if (i === 0) bar?.start(total, 0, { cell: cell.id, phase: '', samples: '' });
                bar?.update(i, { cell: cell.id, phase: 'warm-up', samples: '' });
              },
              iteration: (_cell, phase, n) => bar?.update({ phase: phase === 'warmup' ? 'warm-up' : 'samples', samples: String(n) }),
              cellDone: (_r, i) => bar?.update(i + 1),
              snapshot: (partial) => {
                try {
                  outputs.snapshot(partial);
                } catch (e) {
                  // The cells are still in memory; the files are written again when the run ends.
                  if (!snapshotFailed)
                    process.stderr.write(`ptreclaim: warning: ${(e as Error).message}; trying again when the run ends\n`);
                  snapshotFailed = true;
                }
              },
              pathsStart: (strategy) => bar?.update({ cell: `paths comparison ${strategy}`, phase: '', samples: '' }),
            },
            interrupt.signal,
          );
        } catch (e) {
          bar?.stop();
          if (e instanceof BenchCellError) say(outputs.finish(e.partial, false), true);
          throw e;
        } finally {
          bar?.stop();
          interrupt.dispose();
        }
        const stopped = results.partialReason === 'interrupted';
        if (!quiet) out(formatBenchTables(results, stdoutLayout(flags.format)) + '\n');
        say(outputs.finish(results, !stopped), stopped);
        if (stopped) process.exitCode = interrupt.exitCode() ?? EXIT.sigint;
        else if (results.cells.some((c) => !c.exitClean)) process.exitCode = EXIT.failure;
      },
    );

  // Its own flags and help (`ptreclaim bench kernels --help`); errors reported like bench's.
  bench.addCommand(buildKernelsCommand(out, (s) => process.stderr.write(s)).copyInheritedSettings(bench));

  program
    .command('compare')
    .description('compare two results files like benchstat: medians, 95% CI, delta, Mann-Whitney U p-value')
    .argument('<base>', 'results of the baseline (ptreclaim bench --json)')
    .argument('<new>', 'results to compare against it')
    .option('--threshold <pct>', 'slowdown that counts as a regression when significant', '5%')
    .option('--alpha <p>', 'significance level of the U test', '0.05')
    .option('--fail-on-regression', 'exit 1 if any cell regressed significantly beyond --threshold')
    .option('--json', 'print the comparison as JSON')
    .action(
      (basePath: string, newPath: string, flags: { threshold: string; alpha: string; failOnRegression?: boolean; json?: boolean }) => {
        const threshold = parsePercent(flags.threshold, '--threshold');
        const alpha = Number(flags.alpha);
        if (!(alpha > 0 && alpha < 1)) throw new UsageError(`--alpha must be between 0 and 1, not "${flags.alpha}"`);
        const cmp = compareResults(readResults(basePath), readResults(newPath), { alpha, threshold });
        if (flags.json) out(JSON.stringify(cmp, null, 2) + '\n');
        else out(formatComparison(cmp, alpha) + '\n');
        if (flags.failOnRegression && cmp.regressions.length) {
          process.stderr.write(
            `ptreclaim: ${cmp.regressions.length} significant regression(s) beyond ${(100 * threshold).toFixed(1)}%: ${cmp.regressions.map((r) => r.id).join(', ')}\n`,
          );
          process.exitCode = 1;
        }
      },
    );

  program
    .command('report')
    .description('write a self-contained HTML page with charts from a results file (or, with --compare, from two)')
    .argument('<results...>', 'results file (ptreclaim bench --json); with --compare: BASE.json NEW.json')
    .addOption(new Option('-o, --output <file>', 'HTML file to write (default: RESULTS with .html)'))
    .option('--compare', 'compare BASE.json NEW.json like `ptreclaim compare`, as a page with charts')
    .option('--alpha <p>', 'significance level of the U test (--compare)', '0.05')
    .option('--threshold <pct>', 'slowdown that counts as a regression when significant (--compare)', '5%')
    .option('--cost-profile <file>', "recompute simulated kernel time from the counters with this profile's weights")
    .action((paths: string[], flags: { output?: string; compare?: boolean; alpha: string; threshold: string; costProfile?: string }) => {
      const want = flags.compare ? 2 : 1;
      if (paths.length !== want) {
        throw new UsageError(
          flags.compare
            ? `report --compare needs two results files, BASE.json NEW.json (got ${paths.length})`
            : `report takes one results file (got ${paths.length}); to compare two, add --compare`,
        );
      }
      const cost = flags.costProfile ? loadCostChoice(flags.costProfile) : undefined;
      const file =
        flags.output ??
        join(dirname(paths.at(-1)!), `${basename(paths.at(-1)!, extname(paths.at(-1)!))}${flags.compare ? '-compare' : ''}.html`);
      checkOutputPaths([{ flag: flags.output ? '--output' : 'report (default output)', path: file }]);
      if (flags.compare) {
        const alpha = Number(flags.alpha);
        if (!(alpha > 0 && alpha < 1)) throw new UsageError(`--alpha must be between 0 and 1, not "${flags.alpha}"`);
        const base = readResults(paths[0]!);
        const next = readResults(paths[1]!);
        const cmp = compareResults(base, next, { alpha, threshold: parsePercent(flags.threshold, '--threshold') });
        writeOutputFile(file, renderCompareReport(base, next, cmp, alpha));
      } else {
        writeOutputFile(file, renderReport(readResults(paths[0]!), { cost }));
      }
      process.stderr.write(`wrote ${file}\n`);
    });

  program
    .command('merge')
    .description('join results of --shard K/N runs (or any disjoint runs of one sweep) into one file')
    .argument('<files...>', 'results files to merge')
    .requiredOption('-o, --output <file>', 'merged results file to write')
    .action((files: string[], flags: { output: string }) => {
      checkOutputPaths([{ flag: '--output', path: flags.output }]);
      const merged = mergeResults(files.map((path) => ({ path, results: readResults(path) })));
      writeOutputFile(flags.output, EXPORTERS.json.render(merged));
      process.stderr.write(
        `wrote ${flags.output}: ${merged.cells.length} of ${merged.matrixSize} cells${merged.partial ? ' (partial)' : ''}\n`,
      );
    });
}
