import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'ptreclaim.js');

export interface PrefixOutcome {
  source: string;
  agree: boolean;
  differences: unknown[];
  model: { errors: unknown[] };
}

/**
 * Writes every prefix of every trace (v2 bodies without the version line) as its own file,
 * NAME-NN.trace, runs `ptreclaim validate --dir` on them against the live kernel, and
 * requires each to be compared (none unmodelled) and to agree. Returns the outcomes and
 * validate's exit status for the caller's own checks.
 */
export function validateEveryPrefix(
  traces: Record<string, string>,
  timeoutMs: number,
): { outcomes: PrefixOutcome[]; status: number | null } {
  const dir = mkdtempSync(join(tmpdir(), 'ptreclaim-prefixes-'));
  let files = 0;
  for (const [name, body] of Object.entries(traces)) {
    const lines = body.trim().split('\n');
    for (let n = 1; n <= lines.length; n++) {
      writeFileSync(join(dir, `${name}-${String(n).padStart(2, '0')}.trace`), `version 2\n${lines.slice(0, n).join('\n')}\n`);
      files++;
    }
  }
  const r = spawnSync(process.execPath, [BIN, 'validate', '--dir', dir, '--json'], { encoding: 'utf8', timeout: timeoutMs });
  const j = JSON.parse(r.stdout) as { outcomes: PrefixOutcome[]; unmodelled: unknown[] };
  expect(j.unmodelled).toEqual([]);
  expect(j.outcomes).toHaveLength(files);
  for (const o of j.outcomes) expect({ source: o.source, differences: o.differences }).toEqual({ source: o.source, differences: [] });
  expect(j.outcomes.every((o) => o.agree)).toBe(true);
  return { outcomes: j.outcomes, status: r.status };
}
