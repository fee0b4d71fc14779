import { configDefaults, defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    // The fault tests run on their own: `npm run test:faults` (test/faults/vitest.config.ts).
    exclude: [...configDefaults.exclude, 'test/faults/**'],
    // Each test file in its own process: node-config and the metrics registries are per process.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    env: { NODE_ENV: 'test', LOG_PRETTY: '0' },
    reporters: ['default', './test/support/summary-reporter.ts']
  }
})
