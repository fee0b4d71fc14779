// Prints the size of @marketmesh/client as a browser app ships it: esm/ (the build a bundler
// imports) bundled with its dependencies for the browser by esbuild, minified, then gzipped. A
// test keeps it under its budget.
//   npm run build && npm run bundle-size -w @marketmesh/client
import { gzipSync } from 'node:zlib'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const here = dirname(fileURLToPath(import.meta.url))

/** What an app's bundler adds for the client: bytes minified, and gzipped. */
export const measureBundle = async () => {
  const { outputFiles } = await build({
    entryPoints: [join(here, '..', 'esm', 'index.js')],
    bundle: true,
    minify: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    logLevel: 'silent'
  })
  const code = outputFiles[0].contents
  return { minified: code.byteLength, gzipped: gzipSync(code, { level: 9 }).byteLength }
}

if (import.meta.main) {
  const { minified, gzipped } = await measureBundle()
  console.log(`@marketmesh/client for browsers: ${(minified / 1024).toFixed(1)} KB minified, ${(gzipped / 1024).toFixed(1)} KB gzipped`)
}
