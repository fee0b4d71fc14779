import { execFileSync, spawn } from 'node:child_process'
import { join } from 'node:path'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { POSTGRES, ROOT } from '@marketmesh/test-support'

const fixture = join(ROOT, 'test', 'fixtures', 'bench-run.mjs')

/** Names on the broker (`list_queues` or `list_exchanges`) that start with `prefix`; rabbitmqctl lists every one, whoever declared it. */
const brokerNames = (what: 'list_queues' | 'list_exchanges', prefix: string) =>
  execFileSync('rabbitmqctl', ['-q', what, 'name'])
    .toString()
    .split('\n')
    .filter((name) => name.startsWith(prefix))

const databasesStartingWith = async (name: string) => {
  const client = new pg.Client({ connectionString: `${POSTGRES}/postgres` })
  await client.connect()
  try {
    return (await client.query('SELECT datname FROM pg_database WHERE starts_with(datname, $1)', [name])).rows.map((row) => row.datname)
  } finally {
    await client.end()
  }
}

const isRunning = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Runs the fixture bench in `mode`; with `signal`, sends it once the bench has made everything. */
const benchThat = async (mode: string, signal?: NodeJS.Signals) => {
  const child = spawn(process.execPath, [fixture, mode], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const made = new Promise<{ name: string; prefix: string; pid: number }>((resolve) =>
    child.stdout.on('data', (chunk) => {
      output += chunk
      const line = output.split('\n').find((text) => text.startsWith('{'))
      if (line) resolve(JSON.parse(line))
    })
  )
  child.stderr.resume()
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const run = await Promise.race([made, exited.then((code) => Promise.reject(new Error(`the bench exited with ${code}: ${output}`)))])
  if (signal) {
    // Its process runs until the bench is interrupted.
    expect(isRunning(run.pid)).toBe(true)
    child.kill(signal)
  }
  return { ...run, code: await exited }
}

describe('a bench under bench/support/bench-run.mjs', () => {
  it.each([
    ['ends', 'end', undefined, 0],
    ['fails', 'fail', undefined, 1],
    ['fails outside its try', 'uncaught', undefined, 1],
    ['is interrupted (SIGINT)', 'wait', 'SIGINT', 130],
    ['is terminated (SIGTERM)', 'wait', 'SIGTERM', 143]
  ] as const)('leaves no database, queue, exchange or process of its run when it %s', async (_, mode, signal, code) => {
    const run = await benchThat(mode, signal)
    expect(run.code).toBe(code)
    expect(await databasesStartingWith(run.name)).toEqual([])
    expect(brokerNames('list_queues', run.prefix)).toEqual([])
    expect(brokerNames('list_exchanges', run.prefix)).toEqual([])
    expect(isRunning(run.pid)).toBe(false)
  })
})
