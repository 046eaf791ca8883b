/** Number formats shared by the terminal, Markdown and HTML reports. */
export const fmtInt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—');

/** Milliseconds with 3 significant digits and a unit that fits (µs, ms, s). */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  if (ms < 1) return `${(ms * 1000).toPrecision(3)} µs`;
  if (ms < 1000) return `${ms.toPrecision(3)} ms`;
  return `${(ms / 1000).toPrecision(3)} s`;
}

/** Rates with k/M/G suffixes. */
export function fmtRate(n: number): string {
  if (!Number.isFinite(n)) return '—';
  for (const [d, s] of [
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ] as const)
    if (Math.abs(n) >= d) return `${(n / d).toPrecision(3)}${s}`;
  return n.toPrecision(3);
}

export const fmtKb = (kb: number) => {
  if (!Number.isFinite(kb)) return '—';
  if (kb >= 1024 * 1024) return `${(kb / 1024 / 1024).toFixed(1)} GiB`;
  if (kb >= 10 * 1024) return `${(kb / 1024).toFixed(1)} MiB`;
  return `${fmtInt(kb)} kB`;
};
