/**
 * The progress line of long commands: on a terminal only, only after the delay, with the
 * counts, the label and an ETA (or none when the work reports no steps). Fixed clock and a
 * fake terminal: the tests check what is drawn, never how long anything took.
 */
import { describe, it, expect } from 'vitest';
import { Writable } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import { progressLine } from '../src/cli/progress.js';

function fakeStream(isTTY: boolean) {
  const chunks: string[] = [];
  const s = new Writable({
    write(c, _e, cb) {
      chunks.push(String(c));
      cb();
    },
  }) as Writable & { isTTY: boolean; columns: number };
  s.isTTY = isTTY;
  s.columns = 120;
  return { stream: s, text: () => stripVTControlCharacters(chunks.join('')) };
}

describe('progress line', () => {
  it('draws nothing when stderr is not a terminal', async () => {
    const f = fakeStream(false);
    let t = 0;
    const p = progressLine('validate', 4, { stream: f.stream, now: () => t, unit: 'traces' });
    await p.ready;
    t = 10_000;
    p.update(2, 'seed');
    p.stop();
    expect(f.text()).toBe('');
    // The same no-op for every non-terminal: no timer, no cli-progress.
    expect(p).toBe(progressLine('other', 1, { stream: fakeStream(false).stream }));
  });

  it('draws nothing before the delay, then counts, label, detail and ETA', async () => {
    const f = fakeStream(true);
    let t = 0;
    const p = progressLine('validate', 4, { stream: f.stream, now: () => t, unit: 'traces', delayMs: 2000 });
    await p.ready;
    t = 1999;
    p.update(1, 'a.trace');
    expect(f.text()).toBe('');
    t = 2000;
    p.update(2, 'b.trace');
    const text = f.text();
    p.stop();
    expect(text).toMatch(/2\/4 traces \| validate b\.trace \| 2s \| ETA /);
  });

  it('without steps: the elapsed time and no ETA', async () => {
    const f = fakeStream(true);
    let t = 0;
    const p = progressLine('replaying 3 ops of seed on the live kernel', 1, { stream: f.stream, now: () => t, eta: false, delayMs: 0 });
    await p.ready;
    t = 5000;
    p.update(0);
    const text = f.text();
    p.stop();
    expect(text).toMatch(/replaying 3 ops of seed on the live kernel {2}\| 5s/);
    expect(text).not.toMatch(/ETA|0\/1/);
  });
});
