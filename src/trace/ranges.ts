/** A set of address ranges [start, end), kept sorted and merged. */
export class RangeSet {
  list: [number, number][] = [];

  add(s: number, e: number): void {
    const all = [...this.list, [s, e] as [number, number]].sort((a, b) => a[0] - b[0]);
    const out: [number, number][] = [];
    for (const r of all) {
      const last = out[out.length - 1];
      if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
      else out.push([r[0], r[1]]);
    }
    this.list = out;
  }

  remove(s: number, e: number): void {
    const out: [number, number][] = [];
    for (const [a, b] of this.list) {
      if (b <= s || a >= e) out.push([a, b]);
      else {
        if (a < s) out.push([a, s]);
        if (b > e) out.push([e, b]);
      }
    }
    this.list = out;
  }

  /** The parts of [s, e) inside the set. */
  clip(s: number, e: number): [number, number][] {
    const out: [number, number][] = [];
    for (const [a, b] of this.list) {
      const lo = Math.max(a, s);
      const hi = Math.min(b, e);
      if (lo < hi) out.push([lo, hi]);
    }
    return out;
  }

  /** True when some part of [s, e) is in the set. */
  intersects(s: number, e: number): boolean {
    return this.list.some(([a, b]) => a < e && s < b);
  }
}
