import { execFile, spawn } from 'node:child_process'
import { join } from 'node:path'
import { ROOT } from '@marketmesh/test-support'
import { createProgram } from '../../src/program'

// The command as `npm ci` links it, which `npx marketmesh` runs: its bin loads the built CLI
// (`npx tsc -b` first, as `npm test` does).
export const CLI = join(ROOT, 'node_modules', '.bin', 'marketmesh')

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

/** Runs `marketmesh …` as its own process, stdin not a terminal (it reads `input`, then its end). */
export const cli = (args: string[], env: Record<string, string> = {}, input = '') =>
  new Promise<CliResult>((resolve) => {
    const child = execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr })
    )
    child.stdin!.end(input)
  })

/** Starts `marketmesh …` as a process the test may kill. */
export const spawnCli = (args: string[], env: Record<string, string> = {}) => {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ? null : code)))
  return { child, exited, output: () => output }
}

/**
 * Runs the same program in this process, for commands a test runs dozens of times (a process
 * start costs seconds on a busy machine). Settings come from `process.env` as in the process.
 */
export const cliInProcess = async (args: string[]): Promise<CliResult> => {
  let stdout = ''
  const write = process.stdout.write
  process.stdout.write = ((chunk: string) => ((stdout += chunk), true)) as typeof process.stdout.write
  try {
    await createProgram().exitOverride().parseAsync(args, { from: 'user' })
    return { code: Number(process.exitCode ?? 0), stdout, stderr: '' }
  } catch (error) {
    return { code: 1, stdout, stderr: (error as Error).message }
  } finally {
    process.stdout.write = write
    process.exitCode = undefined
  }
}
