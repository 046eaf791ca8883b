/**
 * A seeded, allocator-like strace log for the `import strace` benchmark: two threads mapping,
 * purging and unmapping many disjoint anonymous mappings (tens of thousands live at once),
 * heap growth by brk, -tt timestamps and calls split by `<unfinished ...>` / `resumed`.
 */
import { Rng } from '../src/workloads/rng.js';

const BASE = 0x7f0000000000;
/** One mapping per 64 KiB slot, at most 32 KiB long: neighbours never merge. */
const SLOT = 0x10000;

export function generateStraceLog(calls: number, seed: number): string {
  const rng = new Rng(seed);
  const lines: string[] = [];
  const live: number[] = [];
  const used = new Set<number>();
  let brk = 0x555555554000;
  const stamp = (i: number) => {
    const us = i * 7;
    const s = Math.floor(us / 1e6);
    return `12:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}.${String(us % 1e6).padStart(6, '0')}`;
  };
  const hex = (n: number) => `0x${n.toString(16)}`;
  lines.push(`100 ${stamp(0)} brk(NULL) = ${hex(brk)}`);
  for (let i = 1; i < calls; i++) {
    const pid = rng.next() < 0.5 ? 100 : 101;
    const head = `${pid} ${stamp(i)} `;
    const r = rng.next();
    if (live.length === 0 || r < 0.4) {
      let slot = rng.int(1 << 20);
      while (used.has(slot)) slot = (slot + 1) % (1 << 20);
      used.add(slot);
      live.push(slot);
      const len = 4096 * (1 + rng.int(8));
      const call = `mmap(NULL, ${len}, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0`;
      if (rng.next() < 0.05) {
        // Split by the other thread's call: both halves carry this pid.
        lines.push(`${head}${call} <unfinished ...>`);
        lines.push(`${pid === 100 ? 101 : 100} ${stamp(i)} madvise(${hex(BASE + SLOT * live[0]!)}, 4096, MADV_DONTNEED) = 0`);
        lines.push(`${head}<... mmap resumed>) = ${hex(BASE + SLOT * slot)}`);
        i++;
      } else lines.push(`${head}${call}) = ${hex(BASE + SLOT * slot)}`);
    } else if (r < 0.7) {
      const slot = live[rng.int(live.length)]!;
      lines.push(
        `${head}madvise(${hex(BASE + SLOT * slot)}, ${4096 * (1 + rng.int(4))}, ${rng.next() < 0.8 ? 'MADV_DONTNEED' : 'MADV_FREE'}) = 0`,
      );
    } else if (r < 0.95) {
      const k = rng.int(live.length);
      const slot = live[k]!;
      live[k] = live[live.length - 1]!;
      live.pop();
      used.delete(slot);
      lines.push(`${head}munmap(${hex(BASE + SLOT * slot)}, 32768) = 0`);
    } else {
      brk += 0x21000;
      lines.push(`${head}brk(${hex(brk)}) = ${hex(brk)}`);
    }
  }
  lines.push('100 +++ exited with 0 +++');
  return lines.join('\n') + '\n';
}
