// `npm run lint` (part of `npm test`): typescript-eslint's recommended rules on every source, test,
// bench and script file; formatting is Prettier's alone (eslint-config-prettier turns off the rules
// that would fight it). Imports run one way, services/events → domain → kit (see the import-x block).
import js from '@eslint/js'
import prettier from 'eslint-config-prettier'
import importX from 'eslint-plugin-import-x'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['**/lib/**', 'packages/client/esm/**', '**/node_modules/**', 'packages/notify-service/mail-outbox/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // Unused names are dead code; a leading underscore marks a parameter a signature needs.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Feathers' hook contexts and knex rows are loosely typed at the edges; `any` is allowed there, on purpose.
      '@typescript-eslint/no-explicit-any': 'off',
      // The fixtures and benches run as plain CommonJS / ESM scripts.
      '@typescript-eslint/no-require-imports': 'off',
      // Empty interfaces are what declaration merging extends (ServiceTypes, ServiceConfiguration).
      '@typescript-eslint/no-empty-object-type': ['error', { allowInterfaces: 'always' }]
    }
  },
  // Import direction (issue #22): a service's Feathers services (`src/services/**`) and event
  // handlers (`src/events/**`) call its domain, the domain calls the kit (`packages/shared`), and the
  // kit calls the event backbone (`packages/events`, which imports no other package), never back. eslint-plugin-import-x checks it on every package's src:
  // - no-cycle: no runtime import cycle. `import type` is erased at runtime, so a type-only edge
  //   closes no cycle (the rule skips it).
  // - no-restricted-paths: a domain folder imports nothing, types included, from its service's
  //   `src/services` or `src/events` (schemas import the domain's enums, not the other way round);
  //   the kit imports no service, nor the cli or the client; the backbone imports no other package. The domain, per service:
  //   order-service `src/orders`, `src/payouts`, `src/payments`, `src/ledger` (the saga, paying sellers, money and its books);
  //   notify-service `src/printing` (a print job's life), `src/webhooks` (endpoints and deliveries); user-service `src/email-addresses.ts`,
  //   `src/password-guesses.ts` (what its services' and authentication's
  //   hooks share); catalog-service `src/images` (a product image's checks and life). The other folders
  //   (hooks/, authentication/, stream/, mail/, cloudprnt/, …) are adapters and may import either.
  // import-x's own resolver (unrs-resolver, `.ts` first) finds the sources; other workspace packages
  // resolve through node_modules to their built `lib/` (built first, as `npm run lint`'s tsc needs).
  // Only `.ts` files are read to follow imports: a cycle cannot run through another package.
  {
    files: ['packages/*/src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [importX.createNodeResolver({ extensions: ['.ts', '.mjs', '.cjs', '.js', '.json', '.node'] })]
    },
    rules: {
      'import-x/no-cycle': 'error',
      'import-x/no-restricted-paths': [
        'error',
        {
          basePath: import.meta.dirname,
          zones: [
            ...[
              ['order-service', ['src/orders', 'src/payouts', 'src/payments', 'src/ledger']],
              ['notify-service', ['src/printing', 'src/webhooks']],
              ['user-service', ['src/email-addresses.ts', 'src/password-guesses.ts']],
              ['catalog-service', ['src/images']]
            ].map(([service, domain]) => ({
              target: domain.map((path) => `packages/${service}/${path}`),
              from: [`packages/${service}/src/services`, `packages/${service}/src/events`],
              message: 'The domain does not import its services or event handlers: they import it.'
            })),
            {
              target: 'packages/shared/src',
              from: ['user-service', 'catalog-service', 'order-service', 'notify-service', 'cli', 'client', 'receipts'].map((p) => `packages/${p}`),
              message: 'The kit (@marketmesh/shared) imports no service, the cli, the client or the receipts.'
            },
            {
              target: 'packages/events/src',
              from: ['shared', 'receipts', 'user-service', 'catalog-service', 'order-service', 'notify-service', 'cli', 'client'].map(
                (p) => `packages/${p}`
              ),
              message: 'The event backbone (@marketmesh/events) is below the kit: it imports neither the kit nor anything above it.'
            },
            {
              target: 'packages/receipts/src',
              from: ['user-service', 'catalog-service', 'order-service', 'notify-service', 'cli', 'client'].map((p) => `packages/${p}`),
              message: 'The receipts (@marketmesh/receipts) import no service, the cli or the client.'
            }
          ]
        }
      ]
    }
  },
  // The live orders page runs in the browser as it is served.
  { files: ['packages/*/public/**/*.js'], languageOptions: { globals: { ...globals.browser } } },
  prettier
)
