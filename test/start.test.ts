import { execFile, spawn } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { expect, it } from 'vitest'
import { cleanUp, isolatedEnvironment, POSTGRES, ROOT, uniqueName, waitFor } from '@marketmesh/test-support'

const SERVICES = ['user', 'catalog', 'order', 'notify']

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const isReady = (port: number) =>
  fetch(`http://127.0.0.1:${port}/ready`, { signal: AbortSignal.timeout(2_000) }).then(
    (response) => response.status === 200,
    () => false
  )

// Runs `npm start` (scripts/start.mjs) in `root` on databases and a broker prefix of its own; `listening(name)` reads the
// "listening" log lines (pid, port) of a service's processes, `name` being `catalog` or `catalog.1`.
const startRunner = (label: string, args: string[] = [], root = ROOT) => {
  const { DATABASE_URL: _shared, ...isolated } = isolatedEnvironment(label)
  const databases = Object.fromEntries(SERVICES.map((name) => [name, `${POSTGRES}/${uniqueName(`${label}_${name}`)}`]))
  const env: Record<string, string | undefined> = { ...process.env, LOG_LEVEL: 'info', ...isolated }
  delete env.DATABASE_URL
  for (const name of SERVICES) env[`MARKETMESH_${name.toUpperCase()}_DATABASE_URL`] = databases[name]

  // Its own process group, so that clean-up reaches every service it started, also one that never said it listened.
  const runner = spawn(process.execPath, [join(root, 'scripts', 'start.mjs'), ...args], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true
  })
  let output = ''
  runner.stdout.on('data', (chunk) => (output += chunk))
  runner.stderr.on('data', (chunk) => (output += chunk))
  const exited = new Promise<number | null>((resolve) => runner.once('exit', (code) => resolve(code)))
  // ANSI colours stripped; each service's JSON log lines carry its pid, the "listening" one its port.
  // eslint-disable-next-line no-control-regex -- the ANSI escape is the point
  const lines = () => output.replace(/\x1b\[[0-9;]*m/g, '').split('\n')
  const listening = (name: string) =>
    lines()
      .filter((line) => line.startsWith(`[${name}] {`) && line.includes(`-service listening"`))
      .map((line) => JSON.parse(line.slice(name.length + 3)) as { pid: number; port: number })
  // On failure, what the runner itself said (its lines other than the services' JSON logs).
  const runnerSaid = () =>
    lines()
      .filter((line) => !/^\[[a-z.0-9]+\] \{/.test(line))
      .join('\n')
  const waitForRunner = <T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs: number) =>
    Promise.race([
      waitFor(check, { timeoutMs, intervalMs: 200, what }),
      exited.then((code) => Promise.reject(new Error(`the runner exited with ${code}`)))
    ]).catch((error: Error) => Promise.reject(new Error(`${error.message}; the runner said:\n${runnerSaid()}`)))
  const seenPids = new Set<number>()
  const stop = async (names: string[]) => {
    try {
      process.kill(-runner.pid!, 'SIGKILL')
    } catch {
      // the group is gone already
    }
    for (const name of names) for (const { pid } of listening(name)) seenPids.add(pid)
    for (const pid of seenPids) if (isAlive(pid)) process.kill(pid, 'SIGKILL')
    await cleanUp({ prefix: isolated.AMQP_PREFIX, databases: Object.values(databases) })
  }
  return { runner, exited, lines, listening, waitForRunner, seenPids, stop }
}

it('npm start restarts a killed service while the other three keep serving, and stops all four on SIGTERM', async () => {
  const { runner, exited, lines, listening, waitForRunner, seenPids, stop } = startRunner('start')
  const current = (name: string) => listening(name).at(-1)

  try {
    await waitForRunner(
      async () => (await Promise.all(SERVICES.map(async (name) => current(name) && (await isReady(current(name)!.port))))).every(Boolean),
      'the four services to be ready',
      25_000
    )
    const before = Object.fromEntries(SERVICES.map((name) => [name, current(name)!]))
    for (const { pid } of Object.values(before)) seenPids.add(pid)

    // Polls the three others all along, from just before the kill until the killed one is back.
    const others = SERVICES.filter((name) => name !== 'catalog')
    const misses: string[] = []
    let polling = true
    const poller = (async () => {
      while (polling) {
        for (const name of others) if (!(await isReady(before[name].port))) misses.push(`${name} not ready at ${new Date().toISOString()}`)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    })()

    process.kill(before.catalog.pid, 'SIGKILL')
    const restarted = await waitForRunner(
      async () => {
        const now = current('catalog')
        return now && now.pid !== before.catalog.pid && (await isReady(now.port)) && now
      },
      'catalog to be restarted',
      15_000
    ).finally(() => (polling = false))
    await poller
    seenPids.add(restarted.pid)

    expect(misses).toEqual([])
    for (const name of others) expect(listening(name)).toEqual([before[name]])
    expect(lines()).toContain('[catalog] exited with signal SIGKILL; restarting in 1 s (restart 1)')

    runner.kill('SIGTERM')
    expect(await exited).toBe(0)
    for (const pid of [restarted.pid, ...others.map((name) => before[name].pid)]) expect(isAlive(pid)).toBe(false)
    expect(lines().filter((line) => line.includes('restarting in'))).toHaveLength(1)
  } finally {
    await stop(SERVICES)
  }
})

it('npm start -- --instances 2 runs two ready processes of each service, and stops all eight on SIGTERM', async () => {
  const { runner, exited, listening, waitForRunner, stop } = startRunner('instances', ['--instances', '2'])
  const names = SERVICES.flatMap((name) => [`${name}.0`, `${name}.1`])
  try {
    await waitForRunner(
      async () => (await Promise.all(names.map(async (name) => listening(name)[0] && (await isReady(listening(name)[0].port))))).every(Boolean),
      'the eight processes to be ready',
      40_000
    )
    const processes = names.map((name) => listening(name)[0])
    expect(new Set(processes.map(({ pid }) => pid)).size).toBe(8)
    expect(new Set(processes.map(({ port }) => port)).size).toBe(8)

    runner.kill('SIGTERM')
    expect(await exited).toBe(0)
    for (const { pid } of processes) expect(isAlive(pid)).toBe(false)
  } finally {
    await stop(names)
  }
})

// What the Dockerfile's build stage leaves: package files, each package's compiled lib/ and the
// folders it reads at run time; no sources, no compiler.
const copyBuiltTree = (to: string) => {
  for (const file of ['package.json', 'package-lock.json', 'scripts']) cpSync(join(ROOT, file), join(to, file), { recursive: true })
  for (const name of readdirSync(join(ROOT, 'packages'))) {
    for (const part of ['package.json', 'lib', 'bin', 'config', 'templates', 'public']) {
      const from = join(ROOT, 'packages', name, part)
      if (existsSync(from)) cpSync(from, join(to, 'packages', name, part), { recursive: true, filter: (path) => !path.endsWith('.tsbuildinfo') })
    }
  }
}

it('a production install (npm ci --omit=dev) needs no devDependency to migrate and to run with npm start', async () => {
  const root = mkdtempSync(join(tmpdir(), 'marketmesh-production-'))
  try {
    copyBuiltTree(root)
    // The packages come from npm's cache, which `npm ci` filled just before.
    await promisify(execFile)('npm', ['ci', '--omit=dev', '--offline', '--no-audit', '--no-fund'], { cwd: root, timeout: 180_000 })
    for (const devDependency of ['lerna', 'vitest', 'eslint']) expect(existsSync(join(root, 'node_modules', devDependency))).toBe(false)

    // A service's migrations alone, as a release step runs them before the new version starts.
    const database = `${POSTGRES}/${uniqueName('production_migrate')}`
    try {
      await promisify(execFile)('npm', ['run', 'migrate', '-w', '@marketmesh/user-service'], {
        cwd: root,
        env: { ...process.env, DATABASE_URL: database }
      })
      const db = new pg.Client({ connectionString: database })
      await db.connect()
      const { rows } = await db.query("SELECT to_regclass('users') IS NOT NULL AS migrated")
      await db.end()
      expect(rows).toEqual([{ migrated: true }])
    } finally {
      await cleanUp({ databases: [database] })
    }

    const { exited, runner, listening, waitForRunner, stop } = startRunner('production', [], root)
    try {
      await waitForRunner(
        async () => (await Promise.all(SERVICES.map(async (name) => listening(name)[0] && (await isReady(listening(name)[0].port))))).every(Boolean),
        'the four services of the production install to be ready',
        40_000
      )
      runner.kill('SIGTERM')
      expect(await exited).toBe(0)
    } finally {
      await stop(SERVICES)
    }
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
}, 300_000)
