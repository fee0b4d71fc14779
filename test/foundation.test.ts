import { spawnSync } from 'node:child_process'
import { connect } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanUp, isolatedEnvironment, ROOT, startServiceProcess, waitFor, type ServiceProcess } from '@marketmesh/test-support'

const SERVICES = ['user-service', 'catalog-service', 'order-service', 'notify-service']

describe('the four services as processes', () => {
  const started: Record<string, ServiceProcess> = {}
  const environments: Record<string, Record<string, string>> = {}
  const prefix = isolatedEnvironment('foundation').AMQP_PREFIX

  beforeAll(async () => {
    await Promise.all(
      SERVICES.map(async (service) => {
        environments[service] = { ...isolatedEnvironment(service), AMQP_PREFIX: prefix }
        started[service] = await startServiceProcess(service, environments[service])
      })
    )
  })

  afterAll(async () => {
    for (const service of Object.values(started)) service.child.kill('SIGKILL')
    await cleanUp({ prefix, databases: Object.values(environments).map((env) => env.DATABASE_URL) })
  })

  it('each boots with its own database and becomes ready', async () => {
    for (const service of SERVICES) {
      // The broker connection comes up in the background, right after the port opens.
      const response = await waitFor(
        async () => {
          const ready = await fetch(`${started[service].url}/ready`)
          return ready.status === 200 && ready
        },
        { timeoutMs: 10_000, what: `${service} to be ready` }
      )
      expect(await response.json()).toMatchObject({ status: 'ready', service, checks: { database: 'ok', broker: 'ok' } })
      expect((await fetch(`${started[service].url}/health`)).status).toBe(200)
    }
  })

  it('echoes the request id and writes it on the log line of the request', async () => {
    const { url, output } = started['order-service']
    const response = await fetch(`${url}/health`, { headers: { 'X-Request-Id': 'trace-me-42' } })
    expect(response.headers.get('x-request-id')).toBe('trace-me-42')
    const generated = (await fetch(`${url}/health`)).headers.get('x-request-id')
    expect(generated).toMatch(/^[0-9a-f-]{36}$/)
    // The process writes the line as the response ends: it may reach this one's pipe after the response.
    const line = await waitFor(
      () =>
        output()
          .split('\n')
          .find((entry) => entry.includes('"requestId":"trace-me-42"')),
      { what: 'the request’s log line' }
    )
    expect(JSON.parse(line)).toMatchObject({ requestId: 'trace-me-42', url: '/health', status: 200 })
  })

  it('answers a malformed JSON body with 400, not 500', async () => {
    const response = await fetch(`${started['catalog-service'].url}/anything`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"title": '
    })
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ name: 'BadRequest', message: expect.stringMatching(/Malformed JSON/) })
  })

  it('exposes Prometheus metrics with the request duration histogram on the ops port, not on the public one', async () => {
    const { url, opsUrl } = started['user-service']
    expect(new URL(opsUrl).port).not.toBe(new URL(url).port)
    const onPublicPort = await fetch(`${url}/metrics`)
    expect(onPublicPort.status).toBe(404)
    expect(await onPublicPort.text()).not.toContain('process_cpu_user_seconds_total')
    await fetch(`${url}/health`)
    const response = await fetch(`${opsUrl}/metrics`)
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/)
    const text = await response.text()
    expect(text).toMatch(/http_request_duration_seconds_count\{service="user-service",method="GET",route="\/health",status="200"\} \d+/)
    expect(text).toContain('process_cpu_user_seconds_total')
    expect(text).toContain('outbox_backlog')
    // The ops port answers nothing else: no API there.
    expect((await fetch(`${opsUrl}/health`)).status).toBe(404)
    expect((await fetch(`${opsUrl}/metrics`, { method: 'POST' })).status).toBe(404)
  })

  it('on SIGTERM finishes the request in flight, then exits 0', async () => {
    const service = started['notify-service']
    const { port } = new URL(service.url)
    const socket = connect(Number(port), '127.0.0.1')
    await new Promise((resolve) => socket.once('connect', resolve))
    let response = ''
    socket.on('data', (chunk) => (response += chunk))
    const body = '{"message":"still uploading"}'
    socket.write(`POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`)
    socket.write(body.slice(0, 10))
    await new Promise((resolve) => setTimeout(resolve, 200))
    service.child.kill('SIGTERM')
    await new Promise((resolve) => setTimeout(resolve, 300))
    socket.write(body.slice(10))
    const code = await service.exited
    expect(response).toMatch(/^HTTP\/1\.1 404 /)
    expect(response).toContain('Path /echo not found')
    expect(code).toBe(0)
    expect(service.output()).toContain('"msg":"shutting down"')
  })
})

describe('readiness', () => {
  it('turns /ready to 503 naming the broker when the broker URL is wrong, while /health stays 200', async () => {
    const env = { ...isolatedEnvironment('nobroker'), AMQP_URL: 'amqp://guest:guest@127.0.0.1:1' }
    const service = await startServiceProcess('order-service', env)
    try {
      const response = await fetch(`${service.url}/ready`)
      expect(response.status).toBe(503)
      expect(await response.json()).toEqual({
        status: 'unavailable',
        service: 'order-service',
        checks: { database: 'ok', broker: 'RabbitMQ unreachable at amqp://guest:***@127.0.0.1:1' }
      })
      expect((await fetch(`${service.url}/health`)).status).toBe(200)
    } finally {
      service.child.kill('SIGKILL')
      await cleanUp({ databases: [env.DATABASE_URL] })
    }
  })
})

describe('start-up failures', () => {
  it('stops with a message naming a bad setting', async () => {
    await expect(startServiceProcess('order-service', { ...isolatedEnvironment('bad'), PORT: 'eighty', AMQP_URL: 'http://nope' })).rejects.toThrow(
      /exited with 1[\s\S]*setting "port" \(env PORT\): must be integer[\s\S]*setting "amqp.url" \(env AMQP_URL\)/
    )
  })

  it('says in one line that PostgreSQL is unreachable, naming the URL', async () => {
    const error = await startServiceProcess('catalog-service', {
      ...isolatedEnvironment('nodb'),
      DATABASE_URL: 'postgres://postgres:secret@127.0.0.1:1/marketmesh_catalog'
    }).catch((e: Error) => e)
    expect(String(error)).toMatch(/exited with 1/)
    expect(String(error)).toMatch(
      /catalog-service: PostgreSQL is not reachable at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/marketmesh_catalog .*pg_ctlcluster/
    )
    expect(String(error)).not.toContain('secret')
    expect(String(error)).not.toMatch(/\n\s+at /)
  })

  it('npm start refuses in one line when RabbitMQ is down, naming the URL and how to start it', () => {
    const run = spawnSync(process.execPath, [join(ROOT, 'scripts', 'start.mjs')], {
      env: { ...process.env, AMQP_URL: 'amqp://guest:guest@127.0.0.1:1' },
      encoding: 'utf8'
    })
    expect(run.status).toBe(1)
    expect(run.stderr.trim()).toMatch(
      /^RabbitMQ is not reachable at amqp:\/\/guest:\*\*\*@127\.0\.0\.1:1 \(ECONNREFUSED\): start it with `rabbitmq-server -detached`/
    )
    expect(run.stderr.trim().split('\n')).toHaveLength(1)
  })
})
