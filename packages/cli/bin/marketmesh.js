#!/usr/bin/env node
// The command npm links at install. It is committed, not built: `npm ci` links a bin only if its
// file exists, and lib/ appears only with `npm run build`.
try {
  require.resolve('../lib/index.js')
} catch {
  process.stderr.write('marketmesh: the CLI is not built yet; run `npm run build` (or `npm start`) in the repository first\n')
  process.exit(1)
}
require('../lib/index.js')
