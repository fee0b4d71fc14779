import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { paths } from '../src/services'

const SERVICES = join(__dirname, '..', '..')

describe("the client's contract with the services", () => {
  it("has the types generated from the services' current schemas", async () => {
    const { generateTypes, TYPES_FILE } = await import('../scripts/generate-types.mjs')
    // When this fails: `npm run build && npm run generate -w @marketmesh/client`, and commit src/schema-types.ts.
    expect(await generateTypes()).toBe(readFileSync(TYPES_FILE, 'utf8'))
  })

  // Each service registers a path with the methods of its `<name>.shared.ts`.
  it.each(Object.entries(paths))('calls %s on the service that serves it, with the methods it takes', async (path, { service, methods }) => {
    const singular = path === 'search' || path === 'ledger' ? path : path.replace(/s$/, '').replace(/ie$/, 'y')
    const name = singular.replace(/-(\w)/g, (_, letter: string) => letter.toUpperCase())
    const shared = await import(join(SERVICES, `${service}-service`, 'lib', 'src', 'services', path, `${path}.shared.js`))
    expect(shared[`${name}Path`]).toBe(path)
    expect([...shared[`${name}Methods`]].sort()).toEqual([...methods].sort())
  })
})
