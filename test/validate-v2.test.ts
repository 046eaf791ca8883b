/**
 * validate over trace v2 (issue 12): the end states are compared on all four counters the
 * kernel reports per process (VmPTE, RssAnon, RssFile, RssShmem) and every failed call's errno;
 * traces the model does not run yet are summarised by their first v2 feature.
 */
import { describe, expect, it } from 'vitest';

import { compareEnds, unmodelledSummary, type EndState } from '../src/validate.js';

const base: EndState = { vmPteKb: 12, rssAnonKb: 4, rssFileKb: 64, rssShmemKb: 8, errors: [{ index: 3, errno: 'EFAULT' }] };

describe('validate compares every counter and errno', () => {
  it('agrees on identical end states', () => {
    expect(compareEnds(base, { ...base, errors: [...base.errors] })).toEqual([]);
  });

  it('reports each counter that differs, once, by its /proc name', () => {
    expect(compareEnds(base, { ...base, vmPteKb: 8 })).toEqual(['VmPTE: model 12 kB, kernel 8 kB']);
    expect(compareEnds(base, { ...base, rssAnonKb: 0 })).toEqual(['RssAnon: model 4 kB, kernel 0 kB']);
    expect(compareEnds(base, { ...base, rssFileKb: 128 })).toEqual(['RssFile: model 64 kB, kernel 128 kB']);
    expect(compareEnds(base, { ...base, rssShmemKb: 4 })).toEqual(['RssShmem: model 8 kB, kernel 4 kB']);
  });

  it('reports a failed call that differs in index or errno, or is missing', () => {
    expect(compareEnds(base, { ...base, errors: [{ index: 3, errno: 'ENOMEM' }] })).toEqual([
      'failed calls: model #3 EFAULT; kernel #3 ENOMEM',
    ]);
    expect(compareEnds(base, { ...base, errors: [{ index: 4, errno: 'EFAULT' }] })).toHaveLength(1);
    expect(compareEnds(base, { ...base, errors: [] })).toEqual(['failed calls: model #3 EFAULT; kernel none']);
  });
});

describe('unmodelled traces', () => {
  const u = (source: string, feature: string) => ({ source, feature, reason: `${source}:2: trace v2: ${feature} is not modelled yet` });
  it('names up to three traces, else counts them by first v2 feature', () => {
    expect(unmodelledSummary([])).toBe('');
    expect(unmodelledSummary([u('a.trace', 'mremap')])).toBe('1 not modelled yet (a.trace)');
    expect(
      unmodelledSummary([u('a', 'mremap'), u('b', 'mmap shared'), u('c', 'mremap'), u('d', 'madvise hugepage'), u('e', 'mmap shared')]),
    ).toBe('5 not modelled yet (by first v2 feature: mmap shared 2, mremap 2, madvise hugepage 1)');
  });
});
