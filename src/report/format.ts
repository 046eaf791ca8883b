/** Number formats shared by the terminal, Markdown and HTML reports. */

/**
 * n rounded, its digits grouped in threes with commas as en-US writes them ("1,234,567"),
 * without Intl: the first toLocaleString call loads ICU's locale data, ~13 ms of CPU in
 * every short command that prints a table (`ptreclaim run seed`).
 */
export function groupDigits(n: number): string {
  const r = Math.round(n);
  // Beyond 1e21 String() writes an exponent; such values (and non-finite ones) are rare.
  if (!Number.isFinite(r) || Math.abs(r) >= 1e21) return r.toLocaleString('en-US');
  return String(r).replace(/\B(?=(\d{3})+$)/g, ',');
}

export const fmtInt = (n: number) => (Number.isFinite(n) ? groupDigits(n) : '—');

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
