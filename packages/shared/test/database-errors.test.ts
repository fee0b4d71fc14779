import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { feathers } from '@feathersjs/feathers'
import { KnexService } from '@feathersjs/knex'
import { bodyParser, koa, rest } from '@feathersjs/koa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createKnex, createLogger, dropDatabase, ensureDatabase, errorHandler, type Knex } from '../src'
import { POSTGRES, uniqueName } from '@marketmesh/test-support'

// The safety net behind the schemas: a service with none, so that every bad input reaches PostgreSQL.
const connection = `${POSTGRES}/${uniqueName('database_errors')}`
let db: Knex
let server: Server
let url: string

beforeAll(async () => {
  await ensureDatabase(connection)
  db = createKnex({ client: 'pg', connection, pool: { min: 0, max: 4 } })
  await db.schema.createTable('things', (table) => {
    table.uuid('id').primary().defaultTo(db.raw('gen_random_uuid()'))
    table.text('name').notNullable().unique()
    table.integer('count').notNullable().defaultTo(0)
  })
  const app = koa(feathers())
  app.use(errorHandler(createLogger({ name: 'test', level: 'silent' })))
  app.use(bodyParser())
  app.configure(rest())
  app.use('things', new KnexService({ Model: db, name: 'things' }))
  // A raw statement outside the adapter, as a search or a hook runs one.
  app.use('raw', { find: async (params: { query: { text: string } }) => (await db.raw('SELECT ?::integer AS n', [params.query?.text])).rows })
  server = await app.listen(0)
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  server?.close()
  await db?.destroy()
  await dropDatabase(connection)
})

const call = async (method: string, path: string, body?: unknown) => {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const text = await response.text()
  return { status: response.status, text, body: JSON.parse(text) }
}

describe('database errors', () => {
  it.each([
    ['GET', '/things/not-a-uuid', undefined, 400, 'Invalid input: a value does not have the type of its field'],
    ['GET', '/things?count=99999999999', undefined, 400, 'Invalid input: a number is out of range'],
    ['GET', '/things?searchVector=1', undefined, 400, 'Invalid query: unknown field'],
    ['GET', '/things?$sort[nope]=1', undefined, 400, 'Invalid query: unknown field'],
    ['GET', '/things?name[$gt]=1&count[$like]=1', undefined, 400, 'Invalid query: an operator does not apply to the type of its field'],
    ['POST', '/things', { name: 'a\u0000b' }, 400, 'Invalid input: text must not contain NUL characters'],
    ['POST', '/things', { name: null }, 400, 'Invalid input: a required field is missing'],
    ['GET', '/raw?text=twelve', undefined, 400, 'Invalid input: a value does not have the type of its field']
  ])('%s %s answers %i with a message of ours, no SQL, table or column', async (method, path, body, status, message) => {
    const answer = await call(method, path, body)
    expect(answer).toMatchObject({ status, body: { message } })
    expect(answer.text).not.toMatch(/select|insert|things|column|count|uuid|syntax|integer/i)
  })

  it('answers a duplicate with 409', async () => {
    expect((await call('POST', '/things', { name: 'lamp' })).status).toBe(201)
    expect(await call('POST', '/things', { name: 'lamp' })).toMatchObject({ status: 409, body: { message: 'This already exists' } })
  })
})
