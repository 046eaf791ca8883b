/**
 * `ptreclaim calibrate`: fit the cost model's weights to this host's kernel and write a
 * profile that `run`, `bench` and `report` take with `--cost-profile FILE`. Flags only; the
 * work is in src/calibrate/. Exit 3 when the live-kernel oracle cannot run here; a stop
 * signal kills the running helper and exits (a half-done calibration means nothing).
 */
import { Command, InvalidArgumentError } from 'commander';
import { EXIT } from '../errors.js';
import { checkOutputPaths, writeOutputFile } from '../io.js';
import { OracleUnavailableError, TraceRefusedError, killLiveHelpers } from '../oracle/live.js';
import { validateCostProfile } from '../mm/cost-profile.js';
import { interruptOnSignals } from './interrupt.js';

function intArg(min: number) {
  return (value: string): number => {
    const v = Number(value);
    if (!Number.isSafeInteger(v) || v < min) throw new InvalidArgumentError(`"${value}" is not an integer >= ${min}`);
    return v;
  };
}

export function registerCalibrateCommand(program: Command, out: (s: string) => void): void {
  program
    .command('calibrate')
    .description("fit the cost model's weights to this host's kernel (live replays timed per operation) and write a profile")
    .option('-o, --output <file>', 'write the profile (JSON) here, for --cost-profile FILE')
    .option('--repeats <n>', 'live replays per trace (the per-operation median is fitted)', intArg(1), 5)
    .option('--bootstrap <n>', "bootstrap replicates for the weights' uncertainty", intArg(0), 200)
    .option('--seed <n>', 'seed of the targeted traces and the bootstrap', intArg(0), 1)
    .option('--corpus <dir>', 'corpus traces (even-numbered fitted, odd-numbered held out)')
    .option('--no-corpus', 'only the targeted traces')
    .option('--json', 'print the profile as JSON instead of the table')
    .action(
      async (flags: { output?: string; repeats: number; bootstrap: number; seed: number; corpus?: string | false; json?: boolean }) => {
        if (flags.output) checkOutputPaths([{ flag: '--output', path: flags.output }]);
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-conversion -- isTTY is undefined, not false, when stderr is not a terminal (@types/node says boolean)
        const tty = Boolean(process.stderr.isTTY);
        // The fit pulls in ml-matrix: loaded only when this command runs.
        const { calibrate, formatCalibration } = await import('../calibrate/calibrate.js');
        const interrupt = interruptOnSignals('traces', { onStop: killLiveHelpers, quitAtOnce: true });
        try {
          const profile = await calibrate({
            repeats: flags.repeats,
            bootstrap: flags.bootstrap,
            seed: flags.seed,
            corpusDir: flags.corpus === false ? null : flags.corpus,
            progress: (m) => process.stderr.write(tty ? `\r\x1b[K${m}` : `${m}\n`),
          });
          if (tty) process.stderr.write('\r\x1b[K');
          validateCostProfile(profile, 'calibrate'); // what we write must read back
          if (flags.json) out(JSON.stringify(profile, null, 2) + '\n');
          else out(formatCalibration(profile) + '\n');
          if (flags.output) {
            writeOutputFile(flags.output, JSON.stringify(profile, null, 2) + '\n');
            process.stderr.write(`wrote ${flags.output} (use it with --cost-profile ${flags.output})\n`);
          }
        } catch (e) {
          if (!(e instanceof OracleUnavailableError)) throw e;
          const what = e instanceof TraceRefusedError ? 'refused a calibration trace' : 'cannot run';
          process.stderr.write(`ptreclaim: calibrate needs the live-kernel oracle, which ${what}: ${e.message}\n`);
          process.exitCode = EXIT.oracleRefused;
        } finally {
          interrupt.dispose();
        }
      },
    );
}
