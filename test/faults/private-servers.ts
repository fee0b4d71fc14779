import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { chownSync, createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import amqplib from 'amqplib'
import pg from 'pg'
import { waitFor } from '@marketmesh/test-support'

const run = promisify(execFile)

// The fault tests stop and start these servers: they are the harness's own, never the machine's
// shared PostgreSQL and RabbitMQ that other test runs use at the same time.
const POSTGRES_BIN = process.env.POSTGRES_BIN ?? '/usr/lib/postgresql/15/bin'
const RABBITMQ_BIN = process.env.RABBITMQ_BIN ?? '/usr/lib/rabbitmq/bin'

const isFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })

/**
 * `count` consecutive free ports below the ephemeral range (32768+), where no outgoing connection
 * takes one meanwhile, and clear of RabbitMQ's defaults (5672, 25672, and 35672+ for its CLI).
 */
export const freePorts = async (count: number) => {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 5_000)
    const ports = Array.from({ length: count }, (_, index) => base + index)
    if ((await Promise.all(ports.map(isFree))).every(Boolean)) return ports
  }
  throw new Error(`no ${count} consecutive free ports between 20000 and 25000`)
}

const scratchDirectory = (label: string) => mkdtempSync(join(tmpdir(), `mmfault-${label}-`))

export interface PrivateServer {
  /** Where clients connect (a PostgreSQL server URL without database, or an AMQP URL). */
  url: string
  stop: () => Promise<void>
  start: () => Promise<void>
  /** Stops it and removes its data. */
  destroy: () => Promise<void>
}

/**
 * A PostgreSQL cluster of its own (initdb into a temporary directory, trust auth, loopback only),
 * run as the `postgres` OS user when this process is root: PostgreSQL refuses to run as root.
 * Stop and start keep its data, as a restarted database server does.
 */
export const startPrivatePostgres = async (): Promise<PrivateServer> => {
  const directory = scratchDirectory('postgres')
  const data = join(directory, 'data')
  const [port] = await freePorts(1)
  const asRoot = process.getuid?.() === 0
  if (asRoot) chownSync(directory, Number((await run('id', ['-u', 'postgres'])).stdout.trim()), -1)
  const asOwner = (program: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', join(POSTGRES_BIN, program), ...args]) : run(join(POSTGRES_BIN, program), args)
  await asOwner('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync'])
  // Its socket in its own directory; fsync off because a test's data need not survive a power cut.
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${directory} -c max_connections=300 -c fsync=off`
  const start = async () => {
    await asOwner('pg_ctl', ['-D', data, '-o', options, '-l', join(directory, 'server.log'), '-w', '-t', '120', 'start'])
  }
  const stop = async () => {
    await asOwner('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '120', 'stop'])
  }
  await start()
  const url = `postgres://postgres@127.0.0.1:${port}`
  const client = new pg.Client({ connectionString: `${url}/postgres` })
  await client.connect()
  await client.end()
  return {
    url,
    start,
    stop,
    destroy: async () => {
      await stop().catch(() => undefined)
      rmSync(directory, { recursive: true, force: true })
    }
  }
}

/**
 * A RabbitMQ node of its own: its own node name, ports, data, logs, configuration (no plugins)
 * and, through HOME, its own Erlang cookie, which the CLI that stops it reads as well.
 */
export const startPrivateRabbitMq = async (): Promise<PrivateServer & { node: string }> => {
  const directory = scratchDirectory('rabbitmq')
  const [port, distributionPort, ...cliPorts] = await freePorts(8)
  const node = `mmfault-${port}@localhost`
  for (const folder of ['home', 'mnesia', 'log']) mkdirSync(join(directory, folder))
  writeFileSync(join(directory, 'rabbitmq.conf'), `listeners.tcp.local = 127.0.0.1:${port}\nloopback_users = none\n`)
  writeFileSync(join(directory, 'enabled_plugins'), '[].\n')
  writeFileSync(join(directory, 'rabbitmq-env.conf'), '')
  const env = {
    ...process.env,
    HOME: join(directory, 'home'),
    RABBITMQ_NODENAME: node,
    RABBITMQ_DIST_PORT: String(distributionPort),
    RABBITMQ_CTL_DIST_PORT_MIN: String(cliPorts[0]),
    RABBITMQ_CTL_DIST_PORT_MAX: String(cliPorts.at(-1)),
    RABBITMQ_MNESIA_BASE: join(directory, 'mnesia'),
    RABBITMQ_LOG_BASE: join(directory, 'log'),
    RABBITMQ_CONFIG_FILE: join(directory, 'rabbitmq.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(directory, 'enabled_plugins'),
    RABBITMQ_CONF_ENV_FILE: join(directory, 'rabbitmq-env.conf'),
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    ERL_EPMD_ADDRESS: '127.0.0.1'
  }
  const url = `amqp://guest:guest@127.0.0.1:${port}`
  let server: { child: ChildProcess; exited: Promise<number | null> } | undefined
  const start = async () => {
    const log = createWriteStream(join(directory, 'server.out'), { flags: 'a' })
    const child = spawn(join(RABBITMQ_BIN, 'rabbitmq-server'), [], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout!.pipe(log)
    child.stderr!.pipe(log)
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    server = { child, exited }
    // The AMQP listener opens last in the boot: once it takes a connection, the node is up.
    await Promise.race([
      waitFor(
        () =>
          amqplib.connect(url).then(
            (connection) => connection.close().then(() => true),
            () => false
          ),
        { timeoutMs: 180_000, intervalMs: 250, what: `RabbitMQ node ${node} to accept connections` }
      ),
      exited.then((code) => Promise.reject(new Error(`RabbitMQ node ${node} exited with ${code}; see ${directory}/server.out`)))
    ])
  }
  const stop = async () => {
    if (!server) return
    await run(join(RABBITMQ_BIN, 'rabbitmqctl'), ['-n', node, 'stop'], { env })
    await server.exited
    server = undefined
  }
  await start()
  return {
    url,
    node,
    start,
    stop,
    destroy: async () => {
      await stop().catch(() => server?.child.kill('SIGKILL'))
      rmSync(directory, { recursive: true, force: true })
    }
  }
}
