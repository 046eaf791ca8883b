/**
 * CLI commands around the live kernel and real programs: `oracle`, `validate`, `import`,
 * `corpus`. Flags only; the work is in src/oracle/, src/validate.ts, src/import/, src/corpus/.
 *
 * Exit status: 0 ok / model and kernel agree, 1 they differ, 2 bad usage, 3 the oracle cannot
 * run here or refused the trace (the message says why).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';

import { generateTrace, writeCorpus, CORPUS_DEFAULTS, type CorpusTrace } from '../corpus/generate.js';
import { generateTraceV2, writeCorpusV2, CORPUS_V2_DEFAULTS, type CorpusTraceV2 } from '../corpus/generate-v2.js';
import { describeReadFailure, EXIT, InputError, UsageError } from '../errors.js';
import { parseIntegerArg, parseSeedArg } from '../args.js';
import { importStrace, STRACE_COMMAND, TOUCH_MODELS, type TouchModel } from '../import/strace.js';
import { checkOutputDirs, checkOutputPaths, writeTraceFile } from '../io.js';
import { describeHost, hostFacts } from '../oracle/host.js';
import { OracleUnavailableError, TraceRefusedError, killLiveHelpers } from '../oracle/live.js';
import { interruptOnSignals } from './interrupt.js';
import { runOracle } from '../oracle/oracle.js';
import { OP_KINDS, type Op } from '../trace/ops.js';
import { formatTrace, parseNumber, readTraceFile } from '../trace/parse.js';
import { formatHeader, formatOutcome, loadTargets, modelForHost, unmodelledSummary, validateTargets } from '../validate.js';
import { progressLine } from './progress.js';
import { WORKLOADS, getWorkload } from '../workloads/index.js';

const EXIT_DIFFER = EXIT.failure;
const EXIT_ORACLE_UNAVAILABLE = EXIT.oracleRefused;

function execArg(value: string): number | 'last' {
  return value.trim() === 'last' ? 'last' : parseIntegerArg(value, '--exec (or "last")', 1);
}

function addrArg(value: string): number {
  const v = parseNumber(value);
  if (typeof v === 'string') throw new InvalidArgumentError(v);
  return v;
}

/**
 * Runs an oracle-backed action; an unavailable oracle is exit 3 with its reason. A stop
 * signal kills the helper at once and exits (130, 143, 129): a replay cannot stop halfway
 * and still mean anything.
 */
async function withOracle(f: () => Promise<void>): Promise<void> {
  const interrupt = interruptOnSignals('traces', { onStop: killLiveHelpers, quitAtOnce: true });
  try {
    await f();
  } catch (e) {
    if (!(e instanceof OracleUnavailableError)) throw e;
    const what = e instanceof TraceRefusedError ? 'refused the trace' : 'cannot run';
    process.stderr.write(`ptreclaim: the live-kernel oracle ${what}: ${e.message}\n`);
    process.exitCode = EXIT_ORACLE_UNAVAILABLE;
  } finally {
    interrupt.dispose();
  }
}

interface ValidateFlags {
  trace?: string;
  dir?: string;
  suite?: string;
  strategy: string;
  force?: boolean;
  json?: boolean;
  capture?: string;
  live?: boolean;
}

/** `validate --capture FILE [--live]`: the model (and the live kernel) against a captured process. */
async function validateCaptureCommand(flags: ValidateFlags, out: (s: string) => void): Promise<void> {
  if (flags.capture === undefined) throw new UsageError('--live goes with --capture FILE');
  if (flags.trace !== undefined || flags.dir !== undefined || flags.suite !== undefined)
    throw new UsageError('give --capture FILE alone, not with --trace, --dir or --suite');
  if (flags.strategy !== 'auto')
    throw new UsageError("--capture configures the model from the capture's `# host` line: leave out --strategy");
  const { validateCapture, formatCaptureValidation } = await import('../capture/validate.js');
  await withOracle(async () => {
    const v = await validateCapture(flags.capture!, { live: flags.live, force: flags.force });
    out(flags.json ? JSON.stringify(v, null, 2) + '\n' : formatCaptureValidation(v) + '\n');
    if (!v.agree) process.exitCode = EXIT_DIFFER;
  });
}

/** The capture helpers for `oracle --trace`, when the trace is a capture (it has `# expect`). */
async function captureOf(path: string): Promise<
  | {
      move: (ops: Op[]) => Op[];
      describe: (r: { vmPteKb: number; rss: { anonPages: number; filePages: number; shmemPages: number } }) => string[];
    }
  | undefined
> {
  let head: string;
  try {
    head = readFileSync(path, 'utf8');
  } catch {
    return undefined; // readTraceFile reports it
  }
  if (!/^# expect vmpte_kb=/m.test(head)) return undefined;
  const { readCaptureFile, moveAwayFromHelper } = await import('../capture/validate.js');
  const c = readCaptureFile(path);
  let runs = 0;
  return {
    move: (ops) => {
      const m = moveAwayFromHelper(ops);
      runs = m.moves.length;
      return m.ops;
    },
    describe: (r) => {
      const e = c.expect;
      const d = (n: number) => (n > 0 ? `+${n}` : String(n));
      return [
        `  a capture: replayed with ${runs} run(s) of 512 GiB spans moved below the helper's mappings (every table keeps its shape)`,
        `  the real process ended with VmPTE ${e.vmPteKb} kB, RssAnon ${e.rssAnonKb} kB, RssFile ${e.rssFileKb} kB, RssShmem ${e.rssShmemKb} kB; replay minus real: VmPTE ${d(r.vmPteKb - e.vmPteKb)} kB, RssAnon ${d(r.rss.anonPages * 4 - e.rssAnonKb)} kB, RssFile ${d(r.rss.filePages * 4 - e.rssFileKb)} kB, RssShmem ${d(r.rss.shmemPages * 4 - e.rssShmemKb)} kB`,
      ];
    },
  };
}

const ms = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(2)} ms`);

export function registerOracleCommands(program: Command, out: (s: string) => void): void {
  program
    .command('oracle')
    .description('replay a trace on the live kernel (in a helper process) and report VmPTE, RSS, errors and time per op kind')
    .argument('[workload]', `built-in workload instead of --trace: ${Object.keys(WORKLOADS).join(', ')}`)
    .option('--trace <file>', 'the trace file to replay (format v1 or v2)')
    .option('--json', 'one JSON object; field names as in `ptreclaim run --json`')
    .option('--force', 'replay even if the trace would keep more than half of MemAvailable resident')
    .action(async (workload: string | undefined, flags: { trace?: string; json?: boolean; force?: boolean }) => {
      if (!!workload === !!flags.trace) throw new UsageError('give either --trace FILE or a workload name');
      const source = flags.trace ?? workload!;
      let ops = flags.trace ? readTraceFile(flags.trace) : [...getWorkload(workload!).ops()];
      // A capture (`ptreclaim capture`) lies where the real program did, over the helper's own
      // libraries and stack: replay it moved (tables keep their shape) and compare with the real process.
      const capture = flags.trace ? await captureOf(flags.trace) : undefined;
      if (capture) ops = capture.move(ops);
      await withOracle(async () => {
        // The helper reports the ops it has replayed about every 100 ms: counts and an ETA.
        const progress = progressLine('oracle', ops.length, { unit: 'ops' });
        const detail = `replaying ${source} on the live kernel`;
        const r = await runOracle(ops, { source, force: flags.force, onProgress: (done) => progress.update(done, detail) }).finally(() =>
          progress.stop(),
        );
        if (flags.json) {
          out(JSON.stringify(r, null, 2) + '\n');
          return;
        }
        const lines = [
          `host: ${describeHost(r.host)}`,
          `${r.source}: ${r.ops} ops replayed on the live kernel`,
          `  VmPTE delta ${r.vmPteKb} kB; RssAnon delta ${r.rss.anonPages * 4} kB; RssFile delta ${r.rss.filePages * 4} kB; RssShmem delta ${r.rss.shmemPages * 4} kB`,
          `  failed calls: ${r.errorCount}${r.errors
            .slice(0, 10)
            .map((e) => `\n    op #${e.index}${e.file ? ` (${e.file}:${String(e.line)})` : ''} ${e.op}: ${e.errno}`)
            .join('')}`,
          `  time: ${OP_KINDS.filter((k) => r.opCounts[k] !== undefined)
            .map((k) => `${k} ${r.opCounts[k] ?? 0} ops ${ms(r.timeMs[k] ?? 0)} (${(r.meanUsPerOp[k] ?? 0).toFixed(1)} µs/op)`)
            .join(', ')}; wall ${ms(r.wallMs)}`,
          ...r.sharedTables.map((s) => `  warning: ${s}`),
          ...(capture ? capture.describe(r) : []),
        ];
        out(lines.join('\n') + '\n');
      });
    });

  program
    .command('validate')
    .description('run traces through the model configured like this host and through the live kernel; compare VmPTE and RSS exactly')
    .option('--trace <file>', 'one trace file')
    .option('--dir <dir>', 'every *.trace file in a directory')
    .option('--suite <name>', `corpus (the committed validation corpus) or a built-in workload: ${Object.keys(WORKLOADS).join(', ')}`)
    .option('--strategy <name>', "model strategy; auto picks the host's (pt-reclaim or none)", 'auto')
    .option('--force', 'replay even traces that would keep more than half of MemAvailable resident')
    .option('--json', 'one JSON object: host, model choice, one outcome per trace')
    .option('--capture <file>', "a capture (`ptreclaim capture`): the model against the real process's `# expect` counters")
    .option('--live', 'with --capture: also replay the capture on this kernel and compare with the real process (checks the capture)')
    .action(async (flags: ValidateFlags) => {
      if (flags.capture !== undefined || flags.live) return validateCaptureCommand(flags, out);
      const targets = loadTargets(flags);
      await withOracle(async () => {
        if (!flags.json) {
          const host = await hostFacts();
          out(`${formatHeader(host, modelForHost(host, flags.strategy))}\n`);
        }
        // Counted in ops (the traces done plus the ops the kernel has replayed of the current
        // one), so that one long trace (the 50 GiB seed) gets an ETA too.
        const opsBefore = [0];
        for (const t of targets) opsBefore.push(opsBefore.at(-1)! + t.ops.length);
        const progress = progressLine('validate', opsBefore.at(-1)!, { unit: 'ops' });
        let done = 0;
        const traceDone = (source: string) => {
          done++;
          progress.update(opsBefore[done]!, `${source} (${done}/${targets.length} traces done)`);
        };
        const report = await validateTargets(targets, {
          strategy: flags.strategy,
          force: flags.force,
          onProgress: (p) => progress.update(opsBefore[p.index]! + p.doneOps, `${p.source} (trace ${p.index + 1}/${p.traces})`),
          onOutcome: (o) => {
            traceDone(o.source);
            if (!flags.json) out(formatOutcome(o) + '\n');
          },
          onRefused: (r) => {
            traceDone(r.source);
            process.stderr.write(`ptreclaim: the live-kernel oracle refused ${r.source}: ${r.reason}\n`);
          },
          onUnmodelled: (r) => {
            traceDone(r.source);
            process.stderr.write(`ptreclaim: ${r.reason}\n`);
          },
        }).finally(() => progress.stop());
        const bad = report.outcomes.filter((o) => !o.agree).length;
        if (flags.json) out(JSON.stringify(report, null, 2) + '\n');
        else {
          const refused =
            (report.refused.length ? `; ${report.refused.length} refused (${report.refused.map((r) => r.source).join(', ')})` : '') +
            (report.unmodelled.length ? `; ${unmodelledSummary(report.unmodelled)}` : '');
          out(
            bad === 0
              ? `${report.outcomes.length ? `all ${report.outcomes.length} trace(s) agree exactly` : 'no trace compared'}${refused}\n`
              : `${bad} of ${report.outcomes.length} trace(s) differ${refused}\n`,
          );
        }
        // A difference outranks a refusal: it is the finding validate exists for.
        // A trace the model cannot run yet is an input it cannot check: exit 1 like a difference.
        if (bad > 0 || report.unmodelled.length) process.exitCode = EXIT_DIFFER;
        else if (report.refused.length) process.exitCode = EXIT_ORACLE_UNAVAILABLE;
      });
    });

  program
    .command('import')
    .description('convert a log of a real program into a trace')
    .argument('<format>', 'log format: strace')
    .argument('<log>', `the log file (${STRACE_COMMAND})`)
    .requiredOption('-o, --output <file>', 'trace file to write (atomically)')
    .addOption(
      new Option('--touch <model>', 'how to fill in the page faults strace cannot see')
        .choices([...TOUCH_MODELS])
        .default('dontneed-ranges'),
    )
    .option(
      '--rebase <addr>',
      'move the trace by a multiple of 512 GiB so it starts in the 512 GiB span at ADDR (keeps every table shape)',
      addrArg,
    )
    .option('--exec <n>', 'the log has several address spaces (execve, strace -f): import the Nth (1-based) or "last" (default)', execArg)
    .addOption(
      new Option(
        '--format <n>',
        'trace format: 2 (file and shared mappings, prot, mprotect, mremap, every advice) or 1 (private anonymous memory only)',
      )
        .choices(['1', '2'])
        .default('2'),
    )
    .action(
      (
        format: string,
        log: string,
        flags: { output: string; touch: TouchModel; rebase?: number; exec?: number | 'last'; format: '1' | '2' },
      ) => {
        if (format !== 'strace') throw new UsageError(`unknown log format "${format}": expected strace`);
        checkOutputPaths([{ flag: '--output', path: flags.output }]);
        let text: string;
        try {
          text = readFileSync(log, 'utf8');
        } catch (e) {
          throw new InputError(`cannot read ${log}: ${describeReadFailure(e)}`);
        }
        let r: ReturnType<typeof importStrace>;
        try {
          r = importStrace(text, {
            file: log,
            touch: flags.touch,
            rebase: flags.rebase,
            exec: flags.exec,
            format: flags.format === '1' ? 1 : 2,
          });
        } catch (e) {
          // What the log holds is an input error (exit 1), as for a trace; only --rebase and --exec are usage.
          if (e instanceof UsageError && !e.message.includes('--rebase') && !e.message.includes('--exec')) throw new InputError(e.message);
          throw e;
        }
        writeTraceFile(flags.output, formatTrace(r.ops, r.header.join('\n')));
        out(r.summary.join('\n') + `\nwrote ${r.ops.length} ops to ${flags.output}\n`);
      },
    );

  const corpus = program.command('corpus').description('the seeded validation corpora (trace format 1 and 2)');
  corpus
    .command('generate')
    .description('write a seeded set of random traces around every corner the model must get right')
    .requiredOption('-o, --output <dir>', 'directory to write the traces and manifest.json into')
    .addOption(new Option('--format <n>', 'trace format: 1 (corpus/validation) or 2 (corpus/v2/random)').choices(['1', '2']).default('1'))
    .option('--seed <n>', `PRNG seed (default ${CORPUS_DEFAULTS.seed}; format 2: ${CORPUS_V2_DEFAULTS.seed})`, (v) => parseSeedArg(v))
    .option('--count <n>', `number of traces (default ${CORPUS_DEFAULTS.count})`, (v) => parseIntegerArg(v, '--count', 0))
    .action(async (flags: { output: string; format: '1' | '2'; seed?: number; count?: number }) => {
      checkOutputDirs([{ flag: '--output', path: flags.output }]);
      const v2 = flags.format === '2';
      const seed = flags.seed ?? (v2 ? CORPUS_V2_DEFAULTS.seed : CORPUS_DEFAULTS.seed);
      const count = flags.count ?? (v2 ? CORPUS_V2_DEFAULTS.count : CORPUS_DEFAULTS.count);
      const progress = progressLine('corpus generate', 2 * count, { unit: 'steps' });
      // Steps: generating each trace, then writing each file (writing is most of the time).
      await progress.ready;
      const traces: (CorpusTrace | CorpusTraceV2)[] = [];
      try {
        for (let i = 0; i < count; i++) {
          traces.push(v2 ? generateTraceV2(seed, i) : generateTrace(seed, i));
          progress.update(i + 1, `generating ${traces.at(-1)!.name}`);
        }
        const written = (i: number) => progress.update(count + i + 1, `writing ${traces[i]!.name}`);
        if (v2) writeCorpusV2(flags.output, traces as CorpusTraceV2[], { seed, count }, written);
        else writeCorpus(flags.output, traces as CorpusTrace[], { seed, count }, written);
      } finally {
        progress.stop();
      }
      const pages = traces.reduce((a, t) => a + ('touchedPages' in t ? t.touchedPages : t.residentPages), 0);
      out(
        `wrote ${traces.length} traces (${traces.reduce((a, t) => a + t.ops.length, 0)} ops, ${pages} pages ${v2 ? 'resident at most' : 'touched'}) to ${flags.output}\n`,
      );
    });
}
