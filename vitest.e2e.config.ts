import { defineConfig } from 'vitest/config';

/**
 * The browser tests (`npm run test:browser`): they start the demo and drive a
 * real Chromium, so they stay out of `npm test` and get generous time limits.
 */
export default defineConfig({
  test: {
    include: ['e2e/**/*.test.ts'],
    environment: 'node',
    testTimeout: 90_000,
    hookTimeout: 60_000,
    // One browser and one demo at a time: the machine is shared with other work.
    fileParallelism: false,
  },
});
