import { defineConfig } from 'vitest/config'

// `npm run test:faults`: outside `npm test`'s run (see the root vitest.config.ts); its scenarios
// stop and start servers of their own and take minutes.
export default defineConfig({
  test: {
    root: `${__dirname}/../..`,
    include: ['test/faults/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 600_000,
    hookTimeout: 300_000,
    env: { NODE_ENV: 'test', LOG_PRETTY: '0' }
  }
})
