import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// `process.stdout.write`, `process.stderr.write` and `console.*`: the CLI owns the terminal, so that
// `--json` output stays parseable and everything else reports through return values and errors.
const terminalWrites = [
  {
    selector:
      "MemberExpression[object.type='MemberExpression'][object.object.name='process'][object.property.name=/^(stdout|stderr)$/][property.name='write']",
    message: 'Only src/cli/ writes to the terminal: return the text, or report through an error.',
  },
  {
    selector: "MemberExpression[object.name='console']",
    message: 'Only src/cli/ writes to the terminal: return the text, or report through an error.',
  },
];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.lifeboat/', 'schema/', 'bench/**/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Rules that need the type checker. Only src/ is in tsconfig.json; the .mjs scripts stay untyped.
    files: ['src/**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test awaits its own tests and suites; awaiting `test()` at the top level changes nothing.
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**'],
    rules: { 'no-restricted-syntax': ['error', ...terminalWrites] },
  },
  {
    // Exceptions to the terminal rule, each a program of its own whose output is its interface.
    files: [
      // Tests and their helpers report to the test runner, not to a Lifeboat user.
      'src/**/*.test.ts',
      'src/**/testing/**',
      // Runs as a child process of the demo; its parent reads the JSON lines it prints.
      'src/demo/server-process.ts',
      // The `npm run schema` program, run at build time, not part of the CLI.
      'src/plan/write-json-schema.ts',
    ],
    rules: { 'no-restricted-syntax': 'off' },
  },
);
