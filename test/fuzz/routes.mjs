// Prints the routes of a built service as JSON, read from its own app: every Feathers service it
// registers with the methods it exposes, and the paths its own Koa middleware answers. Run in a process of its own, since node-config reads
// one service's settings per process. The app is created, never set up: no port, no connection.
import { createRequire } from 'node:module'
import { join } from 'node:path'

const [service] = process.argv.slice(2)
const packageDir = join(import.meta.dirname, '..', '..', 'packages', service)
const require = createRequire(join(packageDir, 'package.json'))
const { getServiceOptions } = require('@feathersjs/feathers')
const { createApp } = require(join(packageDir, 'lib', 'src', 'app.js'))

const app = createApp()
const routes = Object.keys(app.services).map((path) => ({ path, methods: getServiceOptions(app.service(path)).methods }))
process.stdout.write(JSON.stringify({ name: app.get('name'), routes, httpPaths: app.get('httpPaths') }))
process.exit(0)
