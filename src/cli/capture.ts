/**
 * `ptreclaim capture [-o FILE] [--] CMD [ARGS...]`: flags only; the work is in src/capture/.
 *
 * Exit status: 0 written, 1 CMD could not run / events were lost / output unwritable,
 * 2 bad usage, 3 capturing is not possible here (permissions, no tracepoints), 130/143/129
 * stopped by a signal (CMD killed, nothing written).
 */
import { Command } from 'commander';

import { parseIntegerArg } from '../args.js';
import { captureCommand, DEFAULT_BUFFER_PAGES, killCaptures } from '../capture/capture.js';
import { checkOutputPaths, writeTraceFile } from '../io.js';
import { interruptOnSignals } from './interrupt.js';

export function registerCaptureCommand(program: Command, out: (s: string) => void): void {
  program
    .command('capture')
    .description('run a command and write a trace v2 of its address space (page faults, mm syscalls) with its real VmPTE/Rss at exit')
    .argument('<command...>', 'the command and its arguments (put -- before it when it has options)')
    .option(
      '-o, --output <file>',
      'write the trace here (atomically); default: standard output, after the command (its own output then goes to standard error)',
    )
    .option(
      '--buffer-pages <n>',
      `perf ring buffer per CPU in 4 KiB pages, a power of two (default ${DEFAULT_BUFFER_PAGES}); raise it when events are lost`,
      (v) => parseIntegerArg(v, '--buffer-pages', 1),
      DEFAULT_BUFFER_PAGES,
    )
    .option('--no-samples', 'leave out the VmPTE/Rss sample after each mm syscall (validate then cannot say where a replay parts)')
    .passThroughOptions()
    .action(async (command: string[], flags: { output?: string; bufferPages: number; samples: boolean }) => {
      // An empty -o is refused, not taken for standard output.
      if (flags.output !== undefined) checkOutputPaths([{ flag: '--output', path: flags.output }]);
      const interrupt = interruptOnSignals('nothing: the command was killed', { onStop: killCaptures, quitAtOnce: true });
      try {
        const r = await captureCommand(command, {
          bufferPages: flags.bufferPages,
          samples: flags.samples,
          commandStdout: flags.output !== undefined ? 'inherit' : 'stderr',
          signal: interrupt.signal,
        });
        for (const w of r.warnings) process.stderr.write(`ptreclaim: warning: ${w}\n`);
        if (flags.output !== undefined) writeTraceFile(flags.output, r.text);
        else out(r.text);
        const exit = r.exit.signal ?? `exit ${r.exit.code ?? '?'}`;
        const faults = Object.entries(r.counts)
          .filter(([k]) => k.startsWith('page faults'))
          .reduce((a, [, n]) => a + n, 0);
        process.stderr.write(
          `ptreclaim: captured ${command[0]!} (${exit}): ${r.ops.length} ops from ${faults} page faults, ${r.samples.length} samples` +
            (r.expect ? `; at exit VmPTE ${r.expect.vmPteKb} kB, RssAnon ${r.expect.rssAnonKb} kB` : '') +
            `${r.execs > 1 ? `; the last of ${r.execs} execs` : ''}${r.children ? `; ${r.children} child process(es) not traced` : ''}` +
            `; ${(r.wallMs / 1000).toFixed(2)} s${flags.output ? `; wrote ${flags.output}` : ''}\n`,
        );
      } finally {
        interrupt.dispose();
      }
    });
}
