/**
 * ESLint 9, flat config, with typescript-eslint's type-checked rules over
 * everything the TypeScript project holds. `npm run lint` fails on any
 * warning. A rule is turned off here, with the reason beside it, or on the
 * one line it must not judge, with the reason on the line above.
 */
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'bench/node_modules/', 'reports/', '.stryker-tmp/', 'docs/api/', 'coverage/', 'test-artifacts/', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setImmediate: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        URL: 'readonly',
        AbortController: 'readonly',
        queueMicrotask: 'readonly',
        structuredClone: 'readonly',
        performance: 'readonly',
        globalThis: 'readonly',
      },
    },
    rules: {
      // An unhandled rejection is how a send-path fault once reached the host: every promise is awaited, returned, or voided on purpose.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // An async function that never awaits still promises its result, which is how a Transport's send or a
      // client method is naturally written; the rule would only trade `async` for hand-written Promise.resolve().
      '@typescript-eslint/require-await': 'off',
      // `_name` marks a parameter kept for its position in a signature.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // The core is pure: no I/O and no process hooks (the imports are checked by dependency-cruiser; this catches the calls).
    files: ['src/core/**/*.ts', 'machines/**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'on', message: 'src/core is pure: hook the process in src/host/process-hooks.ts.' },
        { object: 'process', property: 'once', message: 'src/core is pure: hook the process in src/host/process-hooks.ts.' },
        { object: 'process', property: 'exit', message: 'src/core never ends the process.' },
        { object: 'process', property: 'addListener', message: 'src/core is pure: hook the process in src/host/process-hooks.ts.' },
        { object: 'process', property: 'prependListener', message: 'src/core is pure: hook the process in src/host/process-hooks.ts.' },
      ],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(node:)?(fs|fs/promises|http|https|http2|net|tls|dgram|child_process|worker_threads|diagnostics_channel)$|^(got|pino|undici)$',
              message: 'src/core and machines/ do no I/O: reach it through a port in src/core/ports.ts.',
            },
          ],
        },
      ],
    },
  },
  {
    // Tests reach into values of unknown shape (parsed bodies, mock calls) on purpose; the assertions are the type check there.
    files: ['test/**/*.ts', 'model-tests/**/*.ts', 'e2e/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // Hostile inputs are the point of many tests: a thrown string, a rejection with a plain object.
      '@typescript-eslint/only-throw-error': 'off',
      '@typescript-eslint/prefer-promise-reject-errors': 'off',
      // Spies and method references are checked for identity, never called unbound.
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    // Plain ES modules outside the TypeScript project (bench, scripts, tools, configs): the JavaScript rules, untyped.
    files: ['**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The live view's page script runs in the browser, untyped: the plain JavaScript rules, with the browser's globals.
    files: ['demo/live/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      parserOptions: { projectService: false, project: false, program: null },
      globals: {
        document: 'readonly',
        window: 'readonly',
        fetch: 'readonly',
        EventSource: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        requestAnimationFrame: 'readonly',
      },
    },
  },
);
