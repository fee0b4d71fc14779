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

it('stops a production start without SMTP_URL, naming it: the development default writes mails to a folder nobody reads', async () => {
  const env = {
    ...isolatedEnvironment('notify_production_smtp'),
    NODE_ENV: 'production',
    JWT_JWKS_URL: 'http://127.0.0.1:9/.well-known/jwks.json',
    APP_URL: 'https://shop.example.com'
  }
  try {
    const outcome = await startServiceProcess('notify-service', env).then(
      (started) => {
        started.child.kill('SIGKILL')
        return 'it started'
      },
      (error: Error) => error.message
    )
    expect(outcome).toContain('setting "mail.smtpUrl" (env SMTP_URL): must match pattern')
    expect(outcome).not.toContain('mail.appUrl')
  } finally {
    await cleanUp({ prefix: env.AMQP_PREFIX, databases: [env.DATABASE_URL] })
  }
})
