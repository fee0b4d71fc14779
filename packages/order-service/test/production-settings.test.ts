import { expect, it } from 'vitest'
import { cleanUp, isolatedEnvironment, startServiceProcess } from '@marketmesh/test-support'

/** What a production start of order-service with `settings` ends in: its error, or that it started (and what it logged until then). */
const productionStart = async (label: string, settings: Record<string, string>, logged: string[] = []) => {
  const env = { ...isolatedEnvironment(label), NODE_ENV: 'production', JWT_JWKS_URL: 'http://127.0.0.1:9/.well-known/jwks.json', ...settings }
  try {
    return await startServiceProcess('order-service', env).then(
      (started) => {
        started.child.kill('SIGKILL')
        logged.push(started.output())
        return 'it started'
      },
      (error: Error) => error.message
    )
  } finally {
    await cleanUp({ prefix: env.AMQP_PREFIX, databases: [env.DATABASE_URL] })
  }
}

it('refuses a production start with only the test provider, which moves no money, naming PAYMENT_TEST_PROVIDER', async () => {
  expect(await productionStart('order_production', {})).toContain('set PAYMENT_TEST_PROVIDER=true (setting "paymentTestProvider")')
})

it('refuses the test provider in production with its development webhook secret, and starts with one of its own, saying so', async () => {
  expect(await productionStart('order_production_secret', { PAYMENT_TEST_PROVIDER: 'true' })).toContain(
    'Invalid setting "paymentTestWebhookSecret" (env PAYMENT_TEST_WEBHOOK_SECRET)'
  )
  const logged: string[] = []
  expect(
    await productionStart(
      'order_production_test',
      { PAYMENT_TEST_PROVIDER: 'true', PAYMENT_TEST_WEBHOOK_SECRET: 'whsec_a_staging_secret_of_ours' },
      logged
    )
  ).toBe('it started')
  expect(logged.join('')).toMatch(
    /"level":40,.*the test payment provider is on \(PAYMENT_TEST_PROVIDER=true\): checkouts paying with it move no money/
  )
})
