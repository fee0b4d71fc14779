import { afterAll, describe, expect, it } from 'vitest'
import { cleanUp, isolatedEnvironment, startServiceProcess } from '@marketmesh/test-support'
import { cli } from './support/cli'

const env = isolatedEnvironment('cli_migrate')
const cliEnv = { MARKETMESH_ORDER_DATABASE_URL: env.DATABASE_URL }
const migrate = (...args: string[]) => cli(['migrate', ...args, '--service', 'order-service'], cliEnv)

afterAll(() => cleanUp({ prefix: env.AMQP_PREFIX, databases: [env.DATABASE_URL] }))

describe('marketmesh migrate', () => {
  it('applies, lists and undoes a service’s migrations; with MIGRATE_AT_START=false the service refuses to start until they are applied', async () => {
    const refused = await startServiceProcess('order-service', { ...env, MIGRATE_AT_START: 'false' }).catch((error: Error) => error)
    expect(refused).toBeInstanceOf(Error)
    expect((refused as Error).message).toMatch(
      /migration\(s\) pending \(0000_event_backbone.*\): run `marketmesh migrate up --service order-service` first/
    )

    const up = await migrate('up')
    expect(up).toMatchObject({ code: 0, stderr: '' })
    expect(up.stdout).toMatch(/^order-service: applied 0000_event_backbone, .*0006_payment_lookups/m)
    expect((await migrate('up')).stdout).toBe('order-service: already up to date\n')

    const status = await migrate('status', '--json')
    expect(status.code).toBe(0)
    const { applied, pending } = JSON.parse(status.stdout)
    expect(applied).toContain('0006_payment_lookups')
    expect(pending).toEqual([])

    const service = await startServiceProcess('order-service', { ...env, MIGRATE_AT_START: 'false' })
    service.child.kill('SIGTERM')
    expect(await service.exited).toBe(0)

    const down = await migrate('down')
    expect(down).toMatchObject({ code: 0 })
    expect(down.stdout).toMatch(/^order-service: undid .*0006_payment_lookups/m)
    const after = await migrate('status')
    expect(after.code).toBe(1)
    expect(after.stdout).toMatch(/^order-service +0 +- +0000_event_backbone, .*0006_payment_lookups, /m)
  }, 120_000)

  it('exits 1 naming the database and its setting when it does not answer', async () => {
    const { code, stdout } = await cli(['migrate', 'status', '--service', 'order-service'], {
      MARKETMESH_ORDER_DATABASE_URL: 'postgres://postgres@127.0.0.1:9/nowhere'
    })
    expect(code).toBe(1)
    expect(stdout).toContain(
      "order-service's database at postgres://postgres@127.0.0.1:9/nowhere (set by --order-database-url or MARKETMESH_ORDER_DATABASE_URL)"
    )
  })
})
