/**
 * A seeded fault-granular trace, as real-program captures look: one 1 GiB mapping, then
 * random operations inside it, 90% `touch ADDR 4096` at a random page and 10%
 * `madvise ADDR 0x10000 dontneed` at a random 64 KiB-aligned block. 1,000,000 ops is about
 * 27 MB; --ops scales it (7.5 M ops ~ 200 MB, 75 M ~ 2 GB). Written streamed.
 *
 *   node dist/bench/gen-fault-trace.js [--ops N] [--seed S] -o FILE
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { Rng } from '../src/workloads/rng.js';

export const FAULT_TRACE_BASE = 0x300000000000;
export const FAULT_TRACE_BYTES = 2 ** 30;

/** Write the trace; returns the bytes written. */
export function writeFaultTrace(path: string, ops: number, seed = 1): number {
  const rng = new Rng(seed);
  const fd = openSync(path, 'w');
  let bytes = 0;
  let chunk: string[] = [
    `# fault-granular trace: ${ops} ops, seed ${seed} (bench/gen-fault-trace.ts)`,
    'version 1',
    `mmap 0x${FAULT_TRACE_BASE.toString(16)} 0x${FAULT_TRACE_BYTES.toString(16)}`,
  ];
  const flush = () => {
    const text = chunk.join('\n') + '\n';
    bytes += writeSync(fd, text);
    chunk = [];
  };
  try {
    for (let i = 0; i < ops; i++) {
      if (rng.next() < 0.9) {
        const page = rng.int(FAULT_TRACE_BYTES / 4096);
        chunk.push(`touch 0x${(FAULT_TRACE_BASE + page * 4096).toString(16)} 4096`);
      } else {
        const block = rng.int(FAULT_TRACE_BYTES / 0x10000);
        chunk.push(`madvise 0x${(FAULT_TRACE_BASE + block * 0x10000).toString(16)} 0x10000 dontneed`);
      }
      if (chunk.length >= 65536) flush();
    }
    flush();
  } finally {
    closeSync(fd);
  }
  return bytes;
}

if (import.meta.url === `file://${String(process.argv[1])}`) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const out = arg('-o') ?? arg('--output');
  if (!out) {
    process.stderr.write('usage: node dist/bench/gen-fault-trace.js [--ops N] [--seed S] -o FILE\n');
    process.exit(2);
  }
  const ops = Number(arg('--ops') ?? 1_000_000);
  const seed = Number(arg('--seed') ?? 1);
  const bytes = writeFaultTrace(out, ops, seed);
  process.stdout.write(`${out}: ${ops} ops, ${bytes} bytes\n`);
}
