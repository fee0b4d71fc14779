// `npm run lint` (part of `npm test`): typescript-eslint's recommended rules on every source, test,
// bench and script file; formatting is Prettier's alone (eslint-config-prettier turns off the rules
// that would fight it).
import js from '@eslint/js'
import prettier from 'eslint-config-prettier'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['**/lib/**', '**/node_modules/**', 'packages/notify-service/mail-outbox/**'] },
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
  // The live orders page runs in the browser as it is served.
  { files: ['packages/*/public/**/*.js'], languageOptions: { globals: { ...globals.browser } } },
  prettier
)
