/**
 * The live-kernel helper never outlives ptreclaim, and `validate --dir` goes on past a trace
 * the oracle refuses. Needs the live oracle (skipped with the reason otherwise).
 */
import { describe, it, expect } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { liveSkipReason, reportSkip } from './fixtures/live.js';

const BIN = join(import.meta.dirname, '..', 'bin', 'ptreclaim.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A live (not zombie) process's parent pid, command name and arguments; undefined once it is gone. */
function proc(pid: number): { ppid: number; comm: string; args: string[] } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    const [state, ppid] = stat.slice(close + 2).split(' ');
    if (state === 'Z' || state === 'X') return undefined;
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    return { ppid: Number(ppid), comm: stat.slice(stat.indexOf('(') + 1, close), args };
  } catch {
    return undefined;
  }
}

/** The replaying helper of `parent` (not its short host probes), once it runs. */
async function replayingHelper(parent: number, timeoutMs = 30_000): Promise<number> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    for (const name of readdirSync('/proc')) {
      const pid = Number(name);
      if (!Number.isInteger(pid)) continue;
      const p = proc(pid);
      if (p?.ppid === parent && p.comm.startsWith('ptreclaim-orac') && !p.args.some((a) => /^--(probe|host)/.test(a))) {
        await sleep(300); // still there: the replay, not a probe that happened to match
        if (proc(pid)) return pid;
      }
    }
    await sleep(50);
  }
  throw new Error(`no replaying helper of ${parent} within ${timeoutMs} ms`);
}

describe('the live-kernel helper dies with ptreclaim', () => {
  reportSkip('helper signal tests', liveSkipReason);
  // The seed trace replays for several seconds: long enough to stop ptreclaim mid-replay.
  it.skipIf(liveSkipReason !== undefined).each([
    ['oracle seed', 'SIGINT', ['oracle', 'seed'], 130],
    ['validate --suite seed', 'SIGTERM', ['validate', '--suite', 'seed'], 143],
    // No handler runs: only the helper's PR_SET_PDEATHSIG ends it.
    ['oracle seed', 'SIGKILL', ['oracle', 'seed'], null],
  ] as const)('%s, %s to ptreclaim: the helper is gone within 2 s', async (_name, signal, args, status) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    const helper = await replayingHelper(child.pid!);
    child.kill(signal);
    expect(await exited).toBe(status);
    const end = Date.now() + 2000;
    while (proc(helper) && Date.now() < end) await sleep(50);
    expect(proc(helper), `helper ${helper} still running`).toBeUndefined();
  });
});

describe('validate --dir with a trace the oracle refuses', () => {
  const m = /MemAvailable:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'));
  const gib = m ? Math.ceil(Number(m[1]) / 2 ** 20) + 1 : Infinity;
  it.skipIf(liveSkipReason !== undefined || gib > 128)('names the refused trace, validates the others, exits 3', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ptreclaim-refuse-'));
    // More resident memory than half of MemAvailable: refused unless --force.
    writeFileSync(join(dir, 'a-big.trace'), `mmap 0x300000000000 ${gib}G\ntouch 0x300000000000 ${gib}G write\n`);
    writeFileSync(
      join(dir, 'b-small.trace'),
      'mmap 0x300000000000 4M\ntouch 0x300000000000 4M write\nmadvise 0x300000000000 2M dontneed\n',
    );
    const r = spawnSync(process.execPath, [BIN, 'validate', '--dir', dir], { encoding: 'utf8' });
    expect(r.stderr).toMatch(
      new RegExp(
        `^ptreclaim: the live-kernel oracle refused ${join(dir, 'a-big.trace')}: the replay would keep about \\d+ MiB resident`,
        'm',
      ),
    );
    expect(r.stdout).toContain(`${join(dir, 'b-small.trace')}: agree`);
    expect(r.stdout).toContain(`all 1 trace(s) agree exactly; 1 refused (${join(dir, 'a-big.trace')})`);
    expect(r.status).toBe(3);
    const j = JSON.parse(spawnSync(process.execPath, [BIN, 'validate', '--dir', dir, '--json'], { encoding: 'utf8' }).stdout) as {
      refused: { source: string; reason: string }[];
      outcomes: { source: string }[];
    };
    expect(j.refused.map((x) => x.source)).toEqual([join(dir, 'a-big.trace')]);
    expect(j.outcomes.map((x) => x.source)).toEqual([join(dir, 'b-small.trace')]);
  });
});
