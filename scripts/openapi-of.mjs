// Prints the OpenAPI document of one built service, read from its own app (see scripts/openapi.mjs).
// A process of its own per service, since node-config reads one service's settings per process. The
// app is created, never set up: no port, no connection.
import { createRequire } from 'node:module'
import { join } from 'node:path'

const [service] = process.argv.slice(2)
const packageDir = join(import.meta.dirname, '..', 'packages', service)
const require = createRequire(join(packageDir, 'package.json'))
const { openApiDocument } = require('@marketmesh/shared')
const { createApp } = require(join(packageDir, 'lib', 'src', 'app.js'))
const { api } = require(join(packageDir, 'lib', 'src', 'openapi.js'))

// The app holds a database pool: exit once the document is written out.
process.stdout.write(JSON.stringify(openApiDocument(createApp(), api)), () => process.exit(0))
