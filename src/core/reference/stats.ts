/**
 * The counter block of the reference core (assembly/stats.ts): one double per `enum Stat`
 * slot, addressed by constant index (S.Name), not by a name looked up on every event.
 */
import { STAT_INDEX, STAT_NAMES } from '../types.js';

/** Counter slots, as in `enum Stat`. */
export const S = STAT_INDEX;

export const new_stats = (): Float64Array => new Float64Array(STAT_NAMES.length);

export function stat_add(s: Float64Array, i: number, v: number): void {
  s[i] = s[i]! + v;
}
export function stat_inc(s: Float64Array, i: number): void {
  s[i] = s[i]! + 1;
}
export function stat_get(s: Float64Array, i: number): number {
  return s[i]!;
}
export function stat_set(s: Float64Array, i: number, v: number): void {
  s[i] = v;
}
/** PeakPgtables follows NrPte + NrPmd + NrPud (note_pgtables_peak). */
export function note_pgtables_peak(s: Float64Array): void {
  const live = s[S.NrPte]! + s[S.NrPmd]! + s[S.NrPud]!;
  if (live > s[S.PeakPgtables]!) s[S.PeakPgtables] = live;
}
