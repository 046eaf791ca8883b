import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Live-kernel tests measure /proc/self/status of a helper process; keep files apart.
    fileParallelism: true,
    pool: 'forks',
  },
});
