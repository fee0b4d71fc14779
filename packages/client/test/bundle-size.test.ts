import { expect, it } from 'vitest'

/**
 * What the client costs a web app, bundled for browsers, minified and gzipped
 * (`npm run bundle-size -w @marketmesh/client` prints it). 32.7 KiB on 2026-12-07 (33.5 KiB before:
 * the ES module build shakes better than the CommonJS one, and eventsource-parser is smaller than
 * the eventsource package), two thirds of it Feathers' REST client and the `qs` it brings.
 */
const BUDGET_GZIPPED_BYTES = 33 * 1024

it(`stays under ${BUDGET_GZIPPED_BYTES / 1024} KiB gzipped in a browser bundle`, async () => {
  const { measureBundle } = await import('../scripts/bundle-size.mjs')
  const { gzipped } = await measureBundle()
  expect(gzipped).toBeLessThan(BUDGET_GZIPPED_BYTES)
  expect(gzipped).toBeGreaterThan(10 * 1024)
})
