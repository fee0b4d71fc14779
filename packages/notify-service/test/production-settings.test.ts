import { expect, it } from 'vitest'
import { cleanUp, isolatedEnvironment, startServiceProcess } from '@marketmesh/test-support'

/** What a production start of notify-service with `env` says: its refusal, or that it started. */
const productionStart = async (label: string, env: Record<string, string> = {}) => {
  const environment = { ...isolatedEnvironment(label), NODE_ENV: 'production', JWT_JWKS_URL: 'http://127.0.0.1:9/.well-known/jwks.json', ...env }
  try {
    return await startServiceProcess('notify-service', environment).then(
      (started) => {
        started.child.kill('SIGKILL')
        return 'it started'
      },
      (error: Error) => error.message
    )
  } finally {
    await cleanUp({ prefix: environment.AMQP_PREFIX, databases: [environment.DATABASE_URL] })
  }
}

it('stops a production start without APP_URL or the LIVE_*_SERVICE_URLs, naming them: links and the live page must not point at a developer’s machine', async () => {
  const outcome = await productionStart('notify_production')
  expect(outcome).toContain('setting "mail.appUrl" (env APP_URL): must match pattern')
  for (const [setting, variable] of [
    ['userServiceUrl', 'LIVE_USER_SERVICE_URL'],
    ['orderServiceUrl', 'LIVE_ORDER_SERVICE_URL'],
    ['catalogServiceUrl', 'LIVE_CATALOG_SERVICE_URL']
  ]) {
    expect(outcome).toContain(`setting "live.${setting}" (env ${variable}): must match pattern`)
  }
})

it('stops a production start without WEBHOOK_SECRET_KEYS, naming it: the webhook secrets are never stored under the development key', async () => {
  const outcome = await productionStart('notify_production_webhook_keys', { APP_URL: 'https://shop.example.com', SMTP_URL: 'smtp://127.0.0.1:9' })
  expect(outcome).toContain('setting "webhooks.secretKeys" (env WEBHOOK_SECRET_KEYS)')
})

it('stops a production start without SMTP_URL, naming it: the development default writes mails to a folder nobody reads', async () => {
  const outcome = await productionStart('notify_production_smtp', { APP_URL: 'https://shop.example.com' })
  expect(outcome).toContain('setting "mail.smtpUrl" (env SMTP_URL): must match pattern')
  expect(outcome).not.toContain('mail.appUrl')
})
