/**
 * Ctrl-C for long runs: the first one aborts the returned signal, so the run stops at its
 * next boundary and keeps what finished; a second one quits at once (exit 130).
 */
export function interruptOnSigint(kept: string): { signal: AbortSignal; dispose: () => void } {
  const abort = new AbortController();
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130);
    abort.abort();
    process.stderr.write(`\nptreclaim: interrupted; keeping the finished ${kept} (Ctrl-C again to quit now)\n`);
  };
  process.on('SIGINT', onSigint);
  return { signal: abort.signal, dispose: () => process.off('SIGINT', onSigint) };
}
