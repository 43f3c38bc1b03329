// The layering of src/, checked by `npm run lint`. Lower layers never reach up, so a driver or the
// process plumbing can be reused, tested and replaced without dragging the orchestration along.
//
//   errors.ts        imports nothing of ours
//   plan/            errors.ts only
//   system/          errors.ts; plan/ for types only
//   state/           errors.ts, plan/
//   stores/<kind>/   system/, plan/, errors.ts
//   engines/         stores/, system/, plan/, errors.ts (pgBackRest is PostgreSQL's own engine and asks
//                    the server through the postgres driver's client)
//   orchestration    protect/, respond/, drill/, demo/, doctor/, metrics/, probes/, incidents/,
//                    notify/, statuspage/: anything below, never cli/ or server/
//   cli/, server/    anything; only cli/ imports cli/ and server/ (tests and testing/ helpers excepted)
//
// Type-only imports (`import type`) count for the layers and for cycles: a type pulled from a higher
// layer still couples the lower one to it, and two modules that need each other's types are read
// as one concept split in two (TypeScript erasing the import changes how it runs, not how it reads).

const orchestration = '^src/(protect|respond|drill|demo|doctor|metrics|probes|incidents|notify|statuspage)/';
const interfaces = '^src/(cli|server)/';
const tests = ['[.]test[.]ts$', '(^|/)testing/'];

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'A cycle of imports, types included: two modules that need each other are one concept split in two, or a shared piece that wants its own module.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'errors-is-a-leaf',
      severity: 'error',
      comment: 'Every layer imports src/errors.ts, so it imports nothing of ours.',
      from: { path: '^src/errors[.]ts$' },
      to: { path: '^src/' },
    },
    {
      name: 'plan-imports-only-errors',
      severity: 'error',
      comment: 'The plan format, schema, rules and render are pure: they know nothing of running anything.',
      from: { path: '^src/plan/' },
      to: { path: '^src/', pathNot: ['^src/(plan/|errors[.]ts$)', orchestration, interfaces] },
    },
    {
      name: 'system-imports-only-errors',
      severity: 'error',
      comment: 'Process plumbing is below everything else; it may name plan types but not run plan code.',
      from: { path: '^src/system/' },
      to: { path: '^src/', pathNot: ['^src/(system/|plan/|errors[.]ts$)', orchestration, interfaces] },
    },
    {
      name: 'system-uses-plan-types-only',
      severity: 'error',
      comment: 'Process plumbing may name plan types but not run plan code.',
      from: { path: '^src/system/' },
      to: { path: '^src/plan/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'state-imports-only-plan-and-errors',
      severity: 'error',
      comment: 'The state store records what the orchestration did; it must not call back into it.',
      from: { path: '^src/state/' },
      to: { path: '^src/', pathNot: ['^src/(state/|plan/|errors[.]ts$)', orchestration, interfaces] },
    },
    {
      name: 'stores-import-only-system-plan-errors',
      severity: 'error',
      comment: 'A data-store driver is used by the orchestration, never the other way round.',
      from: { path: '^src/stores/' },
      to: {
        path: '^src/',
        pathNot: ['^src/(stores/|system/|plan/|errors[.]ts$)', orchestration, interfaces],
      },
    },
    {
      name: 'engines-import-only-stores-system-plan-errors',
      severity: 'error',
      comment: 'An engine drives its binary; what to back up and why is decided above it.',
      from: { path: '^src/engines/' },
      to: {
        path: '^src/',
        pathNot: ['^src/(engines/|stores/|system/|plan/|errors[.]ts$)', orchestration, interfaces],
      },
    },
    {
      name: 'lower-layers-not-up',
      severity: 'error',
      comment:
        'stores/, system/ and engines/ never import the orchestration or the CLI. (The rules above ' +
        'leave upward imports to this one and the next, so that each violation is reported once.)',
      from: { path: '^src/(stores|system|engines)/' },
      to: { path: [orchestration, interfaces] },
    },
    {
      name: 'plan-and-state-not-up',
      severity: 'error',
      comment: 'plan/ and state/ never import the orchestration or the CLI.',
      from: { path: '^src/(plan|state)/' },
      to: { path: [orchestration, interfaces] },
    },
    {
      name: 'only-cli-imports-cli',
      severity: 'error',
      comment:
        'The CLI is the outermost layer. Tests and testing/ helpers may drive it end to end ' +
        '(run-cli, a command module) because that is what they check.',
      from: { path: '^src/', pathNot: ['^src/(cli|server)/', ...tests] },
      to: { path: interfaces },
    },
    {
      name: 'server-not-cli',
      severity: 'error',
      comment: 'The HTTP server calls the same use cases as the CLI, never the CLI itself.',
      from: { path: '^src/server/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'no-test-code-in-the-package',
      severity: 'error',
      comment:
        'Tests and testing/ helpers are left out of the published package (package.json "files"), ' +
        'so the code that is published must not import them.',
      from: { path: '^src/', pathNot: [...tests] },
      to: { path: [...tests] },
    },
  ],
  options: {
    // Without this, imports that only carry types vanish before the check and the layers leak.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
  },
};
