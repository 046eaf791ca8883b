/** Number formats of the reports: digit grouping without Intl matches en-US's. */
import { describe, it, expect } from 'vitest';
import { fmtInt, groupDigits } from '../src/report/format.js';

describe('groupDigits', () => {
  it("groups as toLocaleString('en-US') does, rounding first", () => {
    const values = [
      0,
      1,
      12,
      999,
      1000,
      1234.5,
      99_999,
      100_000,
      102_604,
      13_107_200,
      -1,
      -999,
      -1000,
      -1_234_567.4,
      2 ** 53,
      1e20,
      1e21,
      1.5e22,
    ];
    for (const v of values) expect(groupDigits(v), String(v)).toBe(Math.round(v).toLocaleString('en-US'));
    expect(groupDigits(13_107_200)).toBe('13,107,200');
  });

  it('fmtInt keeps its dash for what is not a number', () => {
    expect(fmtInt(NaN)).toBe('—');
    expect(fmtInt(Infinity)).toBe('—');
    expect(fmtInt(1234)).toBe('1,234');
  });
});
