/**
 * A progress line with an ETA on stderr, for commands that may run for more than a couple of
 * seconds. Shown only when stderr is a terminal (never in pipes, files or CI logs), and only
 * once the work has lasted `delayMs` (a command that finishes sooner prints nothing extra).
 * cli-progress is loaded only on a terminal, in the background (await `ready` before a
 * synchronous loop so the line can be drawn from inside it).
 */
import type { SingleBar } from 'cli-progress';

export interface Progress {
  /** `done` of `total` units finished; `detail` names the current one. Synchronous: draws at once. */
  update(done: number, detail?: string): void;
  stop(): void;
  /** Settles when the line can be drawn (cli-progress loaded), at once when nothing is shown. */
  ready: Promise<void>;
}

export interface ProgressOptions {
  stream?: NodeJS.WriteStream | (NodeJS.WritableStream & { isTTY?: boolean; columns?: number });
  /** Show nothing until the work has run this long (default 2000 ms). */
  delayMs?: number;
  /** Clock in ms (tests). */
  now?: () => number;
  /** Unit of the counts ("traces", "ops"). */
  unit?: string;
  /**
   * False when the work reports no steps (one call into a helper): the line then shows the
   * elapsed time only, since no ETA can be honest.
   */
  eta?: boolean;
}

const NONE: Progress = { update: () => undefined, stop: () => undefined, ready: Promise.resolve() };

/** A progress line for `total` units of `label`, or a no-op when stderr is not a TTY. */
export function progressLine(label: string, total: number, opts: ProgressOptions = {}): Progress {
  const stream = opts.stream ?? process.stderr;
  if (!stream.isTTY || total <= 0) return NONE;
  const now = opts.now ?? Date.now;
  const t0 = now();
  const delayMs = opts.delayMs ?? 2000;
  const unit = opts.unit ?? '';
  const withEta = opts.eta ?? true;
  let bar: SingleBar | undefined;
  let stopped = false;
  let last = { done: 0, detail: '' };
  let cliProgress: typeof import('cli-progress') | undefined;
  // Since the command started (cli-progress's own clock starts when the line appears).
  const elapsed = () => `${Math.floor((now() - t0) / 1000)}s`;
  const ready = import('cli-progress').then(
    (m) => {
      cliProgress = m.default;
    },
    () => undefined,
  );
  const line: Progress = {
    ready,
    update(done, detail = last.detail) {
      if (stopped) return;
      last = { done, detail };
      if (!bar) {
        if (now() - t0 < delayMs || !cliProgress) return;
        const counts = withEta ? `{bar} {value}/{total}${unit ? ` ${unit}` : ''} | ` : '';
        bar = new cliProgress.SingleBar(
          {
            format: `${counts}${label} {detail} | {elapsed}${withEta ? ' | ETA {eta_formatted}' : ''}`,
            hideCursor: true,
            clearOnComplete: true,
            stream: stream,
            barsize: 20,
            etaBuffer: 20,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, last.done, { detail: last.detail, elapsed: elapsed() });
        return;
      }
      bar.update(done, { detail, elapsed: elapsed() });
    },
    stop() {
      stopped = true;
      clearInterval(timer);
      bar?.stop();
    },
  };
  // Redraw now and then even when no step finishes (the elapsed time moves; the line appears
  // once delayMs has passed even if the work reports nothing).
  const timer = setInterval(() => line.update(last.done, last.detail), 250);
  timer.unref();
  return line;
}
