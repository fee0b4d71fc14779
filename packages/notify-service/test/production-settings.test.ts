import { expect, it } from 'vitest'
import { cleanUp, isolatedEnvironment, startServiceProcess } from '@marketmesh/test-support'

it('stops a production start without APP_URL, naming it: account links must not point at a developer’s machine', async () => {
  const env = { ...isolatedEnvironment('notify_production'), NODE_ENV: 'production', JWT_JWKS_URL: 'http://127.0.0.1:9/.well-known/jwks.json' }
  try {
    const outcome = await startServiceProcess('notify-service', env).then(
      (started) => {
        started.child.kill('SIGKILL')
        return 'it started'
      },
      (error: Error) => error.message
    )
    expect(outcome).toContain('setting "mail.appUrl" (env APP_URL): must match pattern')
  } finally {
    await cleanUp({ prefix: env.AMQP_PREFIX, databases: [env.DATABASE_URL] })
  }
})
