/**
 * Stopping long runs: SIGINT (Ctrl-C), SIGTERM (CI timeouts, Slurm, Kubernetes) and SIGHUP
 * (a closed terminal). The first one aborts the returned signal, so the run stops at its
 * next boundary and keeps what finished; a second one quits at once. Either way the exit
 * status is 128 + the signal's number (130, 143, 129).
 */
import { EXIT } from '../errors.js';

export const STOP_SIGNALS = { SIGINT: EXIT.sigint, SIGTERM: EXIT.sigterm, SIGHUP: EXIT.sighup } as const;
export type StopSignal = keyof typeof STOP_SIGNALS;

export interface Interrupt {
  signal: AbortSignal;
  /** The first stop signal received, if any. */
  received(): StopSignal | undefined;
  /** 128 + the received signal's number, if one came. */
  exitCode(): number | undefined;
  dispose(): void;
}

/**
 * `onStop` runs on every stop signal before anything else (e.g. to kill a helper process);
 * `quitAtOnce` makes the first signal exit too, for work that cannot stop at a boundary.
 */
export function interruptOnSignals(kept: string, opts: { onStop?: (s: StopSignal) => void; quitAtOnce?: boolean } = {}): Interrupt {
  const abort = new AbortController();
  let first: StopSignal | undefined;
  const handlers = (Object.keys(STOP_SIGNALS) as StopSignal[]).map((name) => {
    const handler = () => {
      opts.onStop?.(name);
      if (first || opts.quitAtOnce) process.exit(STOP_SIGNALS[first ?? name]);
      first = name;
      abort.abort();
      const again = name === 'SIGINT' ? 'Ctrl-C again' : `${name} again`;
      process.stderr.write(
        `\nptreclaim: ${name === 'SIGINT' ? 'interrupted' : `stopped by ${name}`}; keeping the finished ${kept} (${again} to quit now)\n`,
      );
    };
    process.on(name, handler);
    return [name, handler] as const;
  });
  return {
    signal: abort.signal,
    received: () => first,
    exitCode: () => (first ? STOP_SIGNALS[first] : undefined),
    dispose: () => {
      for (const [name, h] of handlers) process.off(name, h);
    },
  };
}
