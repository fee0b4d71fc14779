// What the benches need to run services as processes: a free port, waiting for readiness, and
// enough open files for thousands of connections.
import { execFileSync, spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'

export const freePort = () =>
  new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })

export const waitUntil = async (check, what, tries = 600) => {
  for (let i = 0; i < tries; i++) {
    if (await check().catch(() => false)) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`timed out waiting for ${what}`)
}

const openFilesLimit = (flag) =>
  Number(
    execFileSync('/bin/sh', ['-c', `ulimit ${flag}`])
      .toString()
      .trim()
      .replace('unlimited', 'Infinity')
  )

/**
 * Runs this script again under `ulimit -n needed` when the soft limit on open files is lower (the
 * children it starts inherit it); fails naming the hard limit when even that is lower. Returns
 * true when it did, and the caller should leave the run to the new process.
 */
export const ensureOpenFiles = async (needed) => {
  if (openFilesLimit('-Sn') >= needed) return false
  const hard = openFilesLimit('-Hn')
  if (hard < needed) throw new Error(`needs ${needed} open files per process, the hard limit is ${hard} (raise it: ulimit -Hn, limits.conf)`)
  const child = spawn('/bin/sh', ['-c', `ulimit -Sn ${needed} && exec "$0" "$@"`, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit'
  })
  process.exitCode = await new Promise((resolve) => child.once('exit', (code) => resolve(code ?? 1)))
  return true
}

const TICKS_PER_SECOND = 100

/** CPU seconds (user + system) a process has used so far, from /proc. */
export const cpuSecondsOf = (pid) => {
  // Fields after the command's closing parenthesis: state is the 3rd, utime the 14th, stime the 15th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND
}

/**
 * CPU seconds (user + system) used so far by each running process whose command is one of
 * `commands` (as /proc/<pid>/comm has it: `postgres`, `beam.smp`), by pid.
 */
export const cpuSecondsByCommand = (commands) => {
  const seconds = new Map()
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const command = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      if (commands.includes(command)) seconds.set(pid, cpuSecondsOf(pid))
    } catch {
      // Ended while being read.
    }
  }
  return seconds
}

/**
 * The CPU seconds the processes in `after` used since `before` (both of cpuSecondsByCommand); one
 * started meanwhile counts whole. One that ended meanwhile is not counted: a lower bound.
 */
export const cpuSecondsSince = (before, after) => [...after].reduce((sum, [pid, seconds]) => sum + seconds - (before.get(pid) ?? 0), 0)

/** CPU seconds the whole machine has been busy and idle so far, from /proc/stat. */
export const machineCpuSeconds = () => {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number)
  const idle = ticks[3] + ticks[4]
  return { busy: (ticks.reduce((sum, t) => sum + t, 0) - idle) / TICKS_PER_SECOND, idle: idle / TICKS_PER_SECOND }
}
