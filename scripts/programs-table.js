#!/usr/bin/env node
// The README's "what PT_RECLAIM saves for real programs" table: each capture of
// corpus/programs/ run through the model under every strategy, configured like the host that
// captured it (zero page from its `# host` line), VmPTE at exit (before the exit teardown) and
// at its peak, beside the real process's VmPTE at exit (`# expect`), and the number of
// MADV_DONTNEED and MADV_FREE calls (the only calls a strategy reacts to differently).
// Usage: npm run build && node scripts/programs-table.js [--json] [CAPTURE...]
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT, exitCodeFor, PtreclaimError, readCaptureFile, runOps, STRATEGY_NAMES } from '../dist/src/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const json = args.includes('--json');
let files = args.filter((a) => a !== '--json');
// A bad argument or capture is one line and the ptreclaim exit status, not a stack dump.
const die = (message, status) => {
  console.error(`programs-table: ${message}`);
  process.exit(status);
};
const unknown = files.find((a) => a.startsWith('-'));
if (unknown) die(`unknown option ${unknown} (usage: node scripts/programs-table.js [--json] [CAPTURE...])`, EXIT.usage);
if (files.length === 0) {
  const dir = join(root, 'corpus', 'programs');
  files = readdirSync(dir)
    .filter((f) => f.endsWith('.trace.gz'))
    .sort()
    .map((f) => join(dir, f));
}

const rows = files.map((path) => {
  let c;
  try {
    c = readCaptureFile(path);
  } catch (e) {
    if (e instanceof PtreclaimError) die(e.message, exitCodeFor(e));
    throw e;
  }
  const zeroPage = c.host.zero_page !== 'off';
  const madvise = { dontneed: 0, free: 0 };
  for (const op of c.ops) if (op.kind === 'madvise' && op.advice in madvise) madvise[op.advice]++;
  const strategies = {};
  for (const strategy of STRATEGY_NAMES) {
    const r = runOps(c.ops, { strategy, zeroPage, source: path });
    if (r.errorCount > 0)
      die(`${path} under ${strategy}: ${r.errorCount} ops failed (first: ${JSON.stringify(r.errors[0])})`, EXIT.failure);
    strategies[strategy] = { vmPteKb: r.vmPteKb, peakVmPteKb: r.peakVmPteKb, rssAnonKb: r.rss.anonPages * 4 };
  }
  return { program: basename(path).replace(/\.trace(\.gz)?$/, ''), real: c.expect, madvise, strategies };
});

if (json) {
  console.log(JSON.stringify(rows, null, 2));
} else {
  const head = ['program', 'real VmPTE at exit', 'MADV_DONTNEED / MADV_FREE calls', ...STRATEGY_NAMES.map((s) => `${s}: exit (peak)`)];
  console.log(`| ${head.join(' | ')} |`);
  console.log(`|${head.map(() => '---').join('|')}|`);
  for (const r of rows)
    console.log(
      `| ${[
        r.program,
        `${r.real.vmPteKb} kB`,
        `${r.madvise.dontneed} / ${r.madvise.free}`,
        ...STRATEGY_NAMES.map(
          (s) =>
            `${r.strategies[s].vmPteKb} (${r.strategies[s].peakVmPteKb}) kB` +
            (r.strategies[s].rssAnonKb !== r.real.rssAnonKb ? ` † RssAnon ${r.strategies[s].rssAnonKb} kB` : ''),
        ),
      ].join(' | ')} |`,
    );
  if (rows.some((r) => STRATEGY_NAMES.some((s) => r.strategies[s].rssAnonKb !== r.real.rssAnonKb)))
    console.log("\n† RssAnon at exit differs from the real process (the real RssAnon is every other column's).");
}
