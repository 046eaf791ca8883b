// ESLint for the TypeScript driver, benches, tests and scripts: typescript-eslint's strictTypeChecked and
// stylisticTypeChecked presets, type-aware through test/tsconfig.json and tsconfig.json.
// assembly/ is not linted: AssemblyScript (u64, <usize>x casts, @inline/@unmanaged on functions) is not
// TypeScript that tsc can type-check, so type-aware rules would report noise; asc's build is its check.
// Formatting belongs to prettier (prettier.config.js); none of these presets has a formatting rule.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['build/', 'dist/', 'assembly/', 'corpus/', 'bench/results/', 'test-output/', '.ptreclaim/']),
  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // Each file is checked in the program of its nearest tsconfig.json (tsconfig.json: src/, bench/;
        // test/tsconfig.json: test/); vitest.config.ts, in neither, gets the root compiler options.
        projectService: { allowDefaultProject: ['vitest.config.ts'], defaultProject: 'tsconfig.json' },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // noUncheckedIndexedAccess types every array and typed-array element as `T | undefined`; `a[i]!` after a
      // bounds-checked index is this codebase's deliberate idiom (about 250 sites, most in the model's loops).
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Numbers in messages and reports are the norm; the rest of the strict options are kept (they must be
      // restated: an override replaces the preset's options, and the rule's own defaults allow everything).
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowAny: false, allowBoolean: false, allowNever: false, allowNullish: false, allowNumber: true, allowRegExp: false },
      ],
      // `_name` marks a binding that is there on purpose: a rest-sibling drop or a positional parameter.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // `() => sideEffect()` as a void callback (bench hooks, event handlers) reads better without braces.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // `() => {}` is the explicit no-op callback (skipped tests, ignored events).
      '@typescript-eslint/no-empty-function': ['error', { allow: ['arrowFunctions'] }],
      // `counts['key']` on a Record marks a key that may be absent (as noPropertyAccessFromIndexSignature would);
      // dot access there also hides the `| undefined` from no-unnecessary-condition, which then flags `??`.
      '@typescript-eslint/dot-notation': ['error', { allowIndexSignaturePropertyAccess: true }],
    },
  },
  {
    // Plain JavaScript (bin/, scripts/, these config files): no types to check; Node globals.
    files: ['**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: globals.node },
  },
);
