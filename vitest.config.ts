import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'model-tests/**/*.test.ts'],
    environment: 'node',
    testTimeout: 20_000,
  },
});
