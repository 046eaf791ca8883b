#!/usr/bin/env node
// The alloc suite's synthetic allocator policies against the real allocators on the same churn:
// test/fixtures/strace/alloc-churn.c's events driven through each synthetic policy
// (allocChurnWorkload), beside the program's captures under the real libraries
// (corpus/programs/churn-KIND.trace.gz). Both through the model under pt-reclaim: VmPTE at
// exit and peak, and the MADV_DONTNEED / MADV_FREE calls made. For the captures, the real
// process's own VmPTE at exit (`# expect`) and the highest of its `# sample`s (read after each
// mm syscall) are shown too.
// Usage: npm run build && node scripts/alloc-vs-real.js [--json]
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allocChurnWorkload, ALLOCATOR_KINDS, EXIT, readCaptureFile, runOps } from '../dist/src/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// An argument it does not take is refused, not ignored (a typo of --json printed the table).
const unknown = process.argv.slice(2).find((a) => a !== '--json');
if (unknown) {
  console.error(`alloc-vs-real: unknown argument ${unknown} (usage: node scripts/alloc-vs-real.js [--json])`);
  process.exit(EXIT.usage);
}
const count = (ops) => {
  const c = { dontneed: 0, free: 0 };
  for (const op of ops) if (op.kind === 'madvise' && op.advice in c) c[op.advice]++;
  return c;
};
const rows = [];
// The jemalloc capture ran with MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0 (corpus/programs/MANIFEST.md):
// its policy is compared both with the suite's default decay and with decay 0.
const variants = [
  ...ALLOCATOR_KINDS.map((kind) => ({ kind, label: kind })),
  { kind: 'jemalloc', label: 'jemalloc (synthetic decay 0)', jemallocDecayZero: true },
];
for (const { kind, label, jemallocDecayZero } of variants) {
  const ops = [...allocChurnWorkload(kind, { jemallocDecayZero }).ops()];
  const syn = runOps(ops, { strategy: 'pt-reclaim' });
  const c = readCaptureFile(join(root, 'corpus', 'programs', `churn-${kind}.trace.gz`));
  const real = runOps(c.ops, { strategy: 'pt-reclaim', zeroPage: c.host.zero_page !== 'off' });
  rows.push({
    kind: label,
    synthetic: { vmPteKb: syn.vmPteKb, peakVmPteKb: syn.peakVmPteKb, madvise: count(ops), errors: syn.errorCount },
    real: {
      vmPteKb: real.vmPteKb,
      peakVmPteKb: real.peakVmPteKb,
      expectVmPteKb: c.expect.vmPteKb,
      sampledPeakVmPteKb: Math.max(...c.samples.map((s) => s.vmPteKb)),
      madvise: count(c.ops),
    },
  });
}
if (process.argv.includes('--json')) console.log(JSON.stringify(rows, null, 2));
else {
  console.log(
    '| allocator | VmPTE at exit: synthetic / real | VmPTE peak: synthetic / real (model; highest sample) | MADV_DONTNEED calls: synthetic / real | MADV_FREE calls: synthetic / real |',
  );
  console.log('|---|---|---|---|---|');
  for (const r of rows)
    console.log(
      `| ${r.kind} | ${r.synthetic.vmPteKb} / ${r.real.vmPteKb} kB | ${r.synthetic.peakVmPteKb} / ${r.real.peakVmPteKb} kB; ${r.real.sampledPeakVmPteKb} kB | ` +
        `${r.synthetic.madvise.dontneed} / ${r.real.madvise.dontneed} | ${r.synthetic.madvise.free} / ${r.real.madvise.free} |`,
    );
}
