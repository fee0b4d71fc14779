import { createInterface } from 'node:readline'
import type { Command } from 'commander'

interface CreateAdminOptions {
  email: string
  name: string
  password?: string
}

/** Reads a password without echoing it (a terminal), or the first line of what is piped in. */
const readPassword = async (): Promise<string> => {
  const { stdin, stderr } = process
  if (!stdin.isTTY) {
    for await (const line of createInterface({ input: stdin })) return line
    return ''
  }
  stderr.write('Password: ')
  stdin.setRawMode(true)
  stdin.setEncoding('utf8')
  stdin.resume()
  try {
    let password = ''
    for await (const chunk of stdin) {
      for (const char of chunk as string) {
        if (char === '\r' || char === '\n') return password
        if (char === '\u0003') throw new Error('cancelled')
        password = char === '\u007f' || char === '\b' ? password.slice(0, -1) : password + char
      }
    }
    return password
  } finally {
    stdin.setRawMode(false)
    stdin.pause()
    stderr.write('\n')
  }
}

/** A validation error names each field, e.g. "password: must NOT have fewer than 8 characters". */
interface ValidationProblem {
  instancePath: string
  message: string
  params?: { missingProperty?: string }
}

const describe = (error: Error & { data?: unknown }, fieldName: (instancePath: string, missingProperty?: string) => string) => {
  if (!Array.isArray(error.data)) return error.message
  const problems = (error.data as ValidationProblem[]).map(
    (problem) => `${fieldName(problem.instancePath, problem.params?.missingProperty) || 'body'}: ${problem.message}`
  )
  return `${error.message}: ${[...new Set(problems)].join('; ')}`
}

export const registerUsersCommands = (program: Command) => {
  const users = program.command('users').description("Manage user accounts in user-service's database")

  users
    .command('create-admin')
    .description(
      "Create an admin account (admins cannot register themselves). Uses user-service's settings from the environment (DATABASE_URL, ...); the user.registered event is published by the running user-service."
    )
    .requiredOption('--email <email>', "the admin's email (login name)")
    .requiredOption('--name <name>', "the admin's display name")
    .option('--password <password>', 'the password (at least 8 characters); prompted for, or read from stdin, when left out')
    .action(async (options: CreateAdminOptions) => {
      const password = options.password ?? (await readPassword())
      // Loaded on demand: the other commands do not need user-service, its settings or the service kit.
      const { createApp } = await import('@marketmesh/user-service')
      const { describeStartupError, fieldName, prepareDatabase } = await import('@marketmesh/shared')
      // Never set up: it opens no port and no broker connection, only the database.
      const app = createApp()
      try {
        await prepareDatabase(app)
        // An internal call: the service's own hooks normalise the email, hash the password and write the event.
        const admin = await app.service('users').create({ email: options.email, name: options.name, password, role: 'admin' })
        process.stdout.write(`created admin ${admin.email} (${admin.id})\n`)
      } catch (error) {
        // Node's and PostgreSQL's codes are strings (an unreachable database); Feathers errors' are HTTP statuses.
        const unreachable = typeof (error as NodeJS.ErrnoException).code === 'string'
        throw new Error(`could not create the admin: ${unreachable ? describeStartupError(error, app) : describe(error as Error, fieldName)}`)
      } finally {
        await app.teardown()
      }
    })
}
