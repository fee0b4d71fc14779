// An older commit of this repository, built in a temporary git worktree: what bench/checkout
// --against compares the current code with.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'

/**
 * Checks `rev` out in a new worktree under the system's temporary folder and builds it (`tsc -b`)
 * with this tree's dependencies: node_modules (and a package's own) copied as hard links (`cp -al`,
 * the same file system), so that the workspace's relative links name the worktree's packages and
 * the compiler sees every dependency inside the tree (a symbolic link out of it makes declarations
 * it cannot name). Fails when the rev does not build so. Returns the worktree's folder and its
 * removal, which `run.remove()` also does.
 */
export const builtTree = async (root, rev, run) => {
  const commit = execFileSync('git', ['rev-parse', '--verify', `${rev}^{commit}`], { cwd: root })
    .toString()
    .trim()
  const folder = mkdtempSync(join(tmpdir(), `mmbench-${commit.slice(0, 7)}-`))
  let removed = false
  const remove = () => {
    if (removed) return
    removed = true
    execFileSync('git', ['worktree', 'remove', '--force', folder], { cwd: root, stdio: 'ignore' })
    rmSync(folder, { recursive: true, force: true })
  }
  run.atRemoval(`worktree ${folder}`, async () => remove())
  execFileSync('git', ['worktree', 'add', '--detach', folder, commit], { cwd: root, stdio: 'ignore' })
  // Not in a synchronous call: an interruption meanwhile is handled at once (run.remove()).
  const finished = async (child, what) => {
    const code = await new Promise((resolve) => run.spawned(child).once('exit', resolve))
    if (code !== 0) throw new Error(`${what} exited with ${code}`)
  }
  const modules = [join(root, 'node_modules'), ...readdirSync(join(folder, 'packages')).map((pkg) => join(root, 'packages', pkg, 'node_modules'))]
  for (const from of modules.filter((folder) => existsSync(folder))) {
    await finished(spawn('cp', ['-al', from, join(folder, relative(root, from))], { stdio: 'inherit' }), `cp -al ${from}`)
  }
  await finished(
    spawn(process.execPath, [join(folder, 'node_modules', 'typescript', 'bin', 'tsc'), '-b'], { cwd: folder, stdio: 'inherit' }),
    `${rev} does not build with this tree's dependencies: tsc -b`
  )
  return { folder, commit, remove }
}
