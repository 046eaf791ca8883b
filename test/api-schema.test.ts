/**
 * The library API's input schemas (src/api-schema.ts): nonsense at an entry point is a
 * UsageError naming the function, the field and what was expected (issue 11 item 12), never
 * ignored, run as something else, or a TypeError from deep inside.
 */
import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';
import type { Op, RunOptions } from '../src/index.js';

const MAP: Op = { kind: 'mmap', addr: 0x7f0000000000, len: 0x200000 };
const anyOps = (ops: unknown) => ops as Op[];
const anyOpts = (o: unknown) => o as RunOptions;

describe('runOps', () => {
  it.each([
    [
      'touch access "exec"',
      [MAP, { kind: 'touch', addr: 0x7f0000000000, len: 4096, access: 'exec' }],
      /runOps: ops\[1\]\.access must be one of "write", "read", not "exec"/,
    ],
    [
      'advice "bogus"',
      [MAP, { kind: 'madvise', addr: 0x7f0000000000, len: 4096, advice: 'bogus' }],
      /runOps: ops\[1\]\.advice must be one of "dontneed", "free", .*not "bogus"/,
    ],
    [
      'a string address',
      [{ kind: 'mmap', addr: '0x7f0000000000', len: 4096 }],
      /runOps: ops\[0\]\.addr must be an integer, not the string "0x7f0000000000"/,
    ],
    ['a touch without access', [MAP, { kind: 'touch', addr: 0x7f0000000000, len: 4096 }], /runOps: ops\[1\]\.access is required/],
    [
      'an unknown kind',
      [{ kind: 'mlock', addr: 0, len: 0 }],
      /runOps: ops\[0\]\.kind must be one of "mmap", "munmap", "touch", "madvise", "mprotect", "mremap", not "mlock"/,
    ],
  ])('rejects an op with %s', (_what, ops, message) => {
    expect(() => api.runOps(anyOps(ops))).toThrow(api.UsageError);
    expect(() => api.runOps(anyOps(ops))).toThrow(message);
  });

  it('checks ops of a lazy iterable as they come', () => {
    function* gen() {
      yield MAP;
      yield { kind: 'touch', addr: 0x7f0000000000, len: 4096, access: 'exec' };
    }
    expect(() => api.runOps(anyOps(gen()))).toThrow(/runOps: ops\[1\]\.access must be one of/);
  });

  it.each([
    ['core "rust"', { core: 'rust' }, /runOps: options\.core must be one of "wasm", "ts", not "rust"/],
    ['path "medium"', { path: 'medium' }, /runOps: options\.path must be one of "auto", "fast", "slow", not "medium"/],
    ['tableFree "bogus"', { tableFree: 'bogus' }, /runOps: options\.tableFree must be one of "semi-rcu", "rcu", not "bogus"/],
    ['arenaLimitBytes "1G"', { arenaLimitBytes: '1G' }, /runOps: options\.arenaLimitBytes must be an integer, not the string "1G"/],
    [
      'arenaLimitBytes beyond the arena',
      { arenaLimitBytes: 0x100000002000 },
      /runOps: options\.arenaLimitBytes must be <= 4293656576, not 17592186052608/,
    ],
    ['cpus that would wrap a u32', { cpus: 4294967297 }, /runOps: options\.cpus must be <= 8192, not 4294967297/],
    ['seed 1.5', { seed: 1.5 }, /runOps: options\.seed must be an integer, not 1\.5/],
    ['seed -1', { seed: -1 }, /runOps: options\.seed must be >= 0, not -1/],
    ['a strategy that does not exist', { strategy: 'magic' }, /runOps: options\.strategy must be one of "none", /],
  ])('rejects options with %s', (_what, opts, message) => {
    expect(() => api.runOps([MAP], anyOpts(opts))).toThrow(message);
  });

  it('a string instead of ops', () => {
    expect(() => api.runOps(anyOps('...'))).toThrow(/runOps: ops must be an array \(or iterable\) of operations .*, not a string/);
    expect(() => api.runOps(anyOps(42))).toThrow(/runOps: ops must be an array/);
  });

  it('good input still runs', () => {
    expect(
      api.runOps([MAP, { kind: 'touch', addr: 0x7f0000000000, len: 4096, access: 'write' }], { core: 'ts', seed: 7, cpus: 4 }).vmPteKb,
    ).toBeGreaterThan(0);
  });
});

describe('the other entry points', () => {
  it('compareResults({}, {}, {})', () => {
    expect(() => api.compareResults({} as never, {} as never, {} as never)).toThrow(
      /compareResults: base: not a valid ptreclaim results file: \(top level\) must have required property 'kind'/,
    );
  });

  it('parseTrace(123)', () => {
    expect(() => api.parseTrace(123 as never)).toThrow(api.UsageError);
    expect(() => api.parseTrace(123 as never)).toThrow(/parseTrace: text must be the trace as a string, not number 123/);
    expect(() => api.parseTrace('version 1\n', 5 as never)).toThrow(/parseTrace: file must be a string/);
  });

  it('importStrace and mergeResults', () => {
    expect(() => api.importStrace(5 as never)).toThrow(/importStrace: text must be the strace log as a string, not 5/);
    expect(() => api.importStrace('brk(NULL) = 0x1000', { touch: 'some' as never })).toThrow(
      /importStrace: options\.touch must be one of "dontneed-ranges", "all-mapped", "none", not "some"/,
    );
    expect(() => api.mergeResults('a.json' as never)).toThrow(/mergeResults: inputs must be an array, not the string "a.json"/);
    expect(() => api.mergeResults([{ path: 'a.json', results: {} as never }])).toThrow(/a\.json: not a valid ptreclaim results file/);
  });
});

describe('runBench', () => {
  const good = {
    ...api.benchOptions(['paths'], { strategy: 'none', time: '1', iterations: '1', warmup: '0', seed: '1', timelinePoints: '2' }),
  };
  it.each([
    ['seed -1', { seed: -1 }, /runBench: options\.seed must be >= 0, not -1/],
    ['a strategy that does not exist', { strategies: ['magic'] }, /runBench: options\.strategies\[0\] must be one of "none", /],
    ['scale 2', { scale: 2 }, /runBench: options\.scale must be <= 1, not 2/],
    ['shard 3/2', { shard: { index: 3, count: 2 } }, /runBench: options\.shard 3\/2: the index must be at most the count/],
  ])('rejects %s before running anything', async (_what, over, message) => {
    await expect(api.runBench({ ...good, ...over })).rejects.toThrow(message);
  });
});

describe('runKernels, generateCorpus, validateTargets, runOracle', () => {
  it('reject nonsense before any work', async () => {
    await expect(api.runKernels({ impls: ['wasm-gpu'] } as never)).rejects.toThrow(
      /runKernels: options\.impls\[0\] must be one of "wasm-simd", "wasm-scalar", "ts", "native", not "wasm-gpu"/,
    );
    await expect(api.runKernels({ cpu: -1 })).rejects.toThrow(/runKernels: options\.cpu/);
    expect(() => api.generateCorpus({ seed: 1.5 })).toThrow(/generateCorpus: options\.seed must be an integer, not 1\.5/);
    await expect(
      api.validateTargets([{ source: 'x', ops: [{ kind: 'touch', addr: 0, len: 4096, access: 'exec' }] }] as never),
    ).rejects.toThrow(/validateTargets: targets\[0\]\.ops\[0\]\.access must be one of "write", "read", not "exec"/);
    await expect(api.runOracle('mmap 0 4096' as never)).rejects.toThrow(/runOracle: ops must be an array of operations, not a string/);
  });
});
