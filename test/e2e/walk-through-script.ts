import { execFile } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { ROOT } from '@marketmesh/test-support'

const WALK_THROUGH = 'docs/walk-through.md'

/** The script of the walk-through page (its first js block), with `urls` swapped for the mesh's. */
export const walkThroughScript = (urls: Record<string, string>) => {
  const page = readFileSync(join(ROOT, WALK_THROUGH), 'utf8')
  const script = /```js\n([\s\S]*?)\n```/.exec(page)?.[1]
  if (!script) throw new Error(`${WALK_THROUGH} has no js block`)
  const urlsLine = /^const urls = .*$/m
  if (!urlsLine.test(script)) throw new Error('the walk-through no longer starts with `const urls = …`')
  return script.replace(urlsLine, `const urls = ${JSON.stringify(urls)}`)
}

/**
 * What the script's `console.log('label', value) // expected` lines promise: `label expected`, as
 * the script must print it.
 */
export const promisedOutput = (script: string) =>
  [...script.matchAll(/console\.log\('([^']+)', .*\) \/\/ (.*)$/gm)].map(([, label, expected]) => `${label} ${expected}`)

/** Runs the script as the walk-through page says (an ES module where @marketmesh/client resolves) and returns what it printed. */
export const runWalkThrough = async (script: string) => {
  // Under the repository's node_modules: `import '@marketmesh/client'` finds the workspace package.
  const directory = join(ROOT, 'node_modules', '.cache', 'marketmesh-e2e')
  mkdirSync(directory, { recursive: true })
  const file = join(directory, `walk-through-${process.pid}-${Date.now()}.mjs`)
  writeFileSync(file, script)
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [file], { timeout: 90_000 })
    return stdout
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string }
    throw new Error(`the walk-through failed: ${(error as Error).message}\n${stdout ?? ''}${stderr ?? ''}`)
  } finally {
    rmSync(file, { force: true })
  }
}
