// `npm run docs:openapi`: writes docs/openapi/<service>.json, each service's OpenAPI 3.1 document as
// its GET /openapi.json serves it, and docs/openapi/marketmesh.json, the four merged. Read from the
// built services (`npm run build` first). test/openapi.test.ts fails when the checked-in files are
// not what this writes.
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const require = createRequire(import.meta.url)
const { mergeOpenApiDocuments } = require('@marketmesh/shared')

export const OPENAPI_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'openapi')
export const OPENAPI_SERVICES = ['user-service', 'catalog-service', 'order-service', 'notify-service']

const formatted = (document) => `${JSON.stringify(document, null, 2)}\n`

/** Each service's document and the merged one, as file name → content. */
export const openApiFiles = () => {
  const documents = OPENAPI_SERVICES.map((service) =>
    JSON.parse(
      execFileSync(process.execPath, [join(import.meta.dirname, 'openapi-of.mjs'), service], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
    )
  )
  const merged = mergeOpenApiDocuments(
    {
      title: 'marketmesh',
      description:
        'The four services’ APIs in one document: each path names the server of the service that answers it. /health, /ready, /openapi.json and /metrics are on every service.'
    },
    documents
  )
  return {
    ...Object.fromEntries(OPENAPI_SERVICES.map((service, index) => [`${service}.json`, formatted(documents[index])])),
    'marketmesh.json': formatted(merged)
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  mkdirSync(OPENAPI_DIR, { recursive: true })
  for (const [name, content] of Object.entries(openApiFiles())) writeFileSync(join(OPENAPI_DIR, name), content)
}
