// An older commit of this repository, built in a temporary git worktree: what bench/checkout
// --against compares the current code with.
import { execFileSync, spawn } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * Checks `rev` out in a new worktree under the system's temporary folder and builds it (`tsc -b`)
 * with this tree's dependencies: each entry of node_modules (and of a package's own node_modules)
 * is linked, except the workspace's own packages (`@marketmesh/*`), whose relative links are
 * copied so that they name the worktree's packages. Fails when the rev does not build so. Returns
 * the worktree's folder and its removal, which `run.remove()` also does.
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
  const link = (from, to) => {
    mkdirSync(to, { recursive: true })
    for (const entry of readdirSync(from)) {
      if (entry === '@marketmesh') cpSync(join(from, entry), join(to, entry), { recursive: true, verbatimSymlinks: true })
      else if (!existsSync(join(to, entry))) symlinkSync(join(from, entry), join(to, entry))
    }
  }
  link(join(root, 'node_modules'), join(folder, 'node_modules'))
  for (const pkg of readdirSync(join(folder, 'packages'))) {
    const own = join(root, 'packages', pkg, 'node_modules')
    if (existsSync(own)) link(own, join(folder, 'packages', pkg, 'node_modules'))
  }
  // Not in a synchronous call: an interruption meanwhile is handled at once (run.remove()).
  const tsc = run.spawned(spawn(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-b'], { cwd: folder, stdio: 'inherit' }))
  const code = await new Promise((resolve) => tsc.once('exit', resolve))
  if (code !== 0) throw new Error(`${rev} does not build with this tree's dependencies (tsc -b exited with ${code})`)
  return { folder, commit, remove }
}
