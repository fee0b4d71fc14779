// `npm run bench`: every benchmark in this folder, one after the other.
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const helpers = new Set(['run.mjs', 'events-consumer.mjs'])
let failed = false
for (const file of readdirSync(here)
  .filter((name) => name.endsWith('.mjs') && !helpers.has(name))
  .sort()) {
  console.log(`\n=== bench/${file}`)
  const { status } = spawnSync(process.execPath, [join(here, file)], { stdio: 'inherit' })
  failed ||= status !== 0
}
process.exit(failed ? 1 : 0)
