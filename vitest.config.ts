import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // libp2p 3 calls Promise.withResolvers, which Node 20 lacks: polyfill before any import.
    setupFiles: ['./src/core/polyfill.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
