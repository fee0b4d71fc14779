import { configDefaults, defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    // The fault tests run on their own: `npm run test:faults` (test/faults/vitest.config.ts).
    exclude: [...configDefaults.exclude, 'test/faults/**'],
    // Each test file in its own process: node-config and the metrics registries are per process.
    pool: 'forks',
    // Most files wait on processes, the database and the broker rather than the CPU: two at a time
    // on a 2-core machine (vitest's default there is one).
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    env: { NODE_ENV: 'test', LOG_PRETTY: '0' },
    reporters: ['default', '@marketmesh/test-support/summary-reporter']
  }
})
