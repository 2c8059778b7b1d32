// Architecture rules for certflow, checked by `npm run lint:deps` (run by `npm test` after tsc, before jest).
//
// Layers, by folder at the repo root:
//   entry points   api/ worker/ scripts/ bench/      (test/ may import anything)
//   use cases      domain/
//   Temporal calls activities/
//   engines, data  engines/pki engines/mail, stores/   (one layer)
//   infrastructure infra/ (db, logger, aead, ports); infra/db.ts applies migrations/
//   workflow code  workflows/ — workflows/definitions.ts and workflows/time-rules.ts are the shared vocabulary
//                  that every layer may import
//   migrations/    knex only
//
// Parser: the project's typescript is 7.x (the native port, no JS compiler API), which dependency-cruiser's tsc
// parser does not support, so .ts files are parsed with swc (@swc/core, already a devDependency). swc keeps
// `import type` (and `import('x').T` in type positions) in the tree, so type-only imports are checked too;
// `tsPreCompilationDeps: true` says the same for the tsc parser, should a supported typescript ever be present.
//
// Paths in the rules are relative to the folder depcruise runs in. A module that does not resolve keeps its bare
// name as its path (`express`, `@temporalio/workflow`), so the npm patterns below match both
// `node_modules/<name>/...` and `<name>`.

/** @param {string} names regex alternation of npm package names */
const npm = (names) => `(^|/)node_modules/(${names})(/|$)|^(${names})(/|$)`;

const HTTP_FRAMEWORK = '@types/express|@types/express-[^/]+|express|express-[^/]+|body-parser|@types/body-parser|cookie-parser|@types/cookie-parser|csrf[^/]*|@types/csrf[^/]*|csurf';
const VOCABULARY = '^workflows/(definitions|import-definitions|time-rules)\\.ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle makes load order fragile and the modules in it inseparable: break it by moving the shared part down a layer.',
      from: { pathNot: '(^|/)node_modules/' },
      to: { circular: true, pathNot: '(^|/)node_modules/' },
    },
    {
      name: 'workflows-sandbox-only',
      severity: 'error',
      comment: 'Workflow code runs in the Temporal sandbox and must be deterministic: only @temporalio/workflow, @temporalio/common and workflows/ itself.',
      from: { path: '^workflows/' },
      to: { pathNot: [`^workflows/`, npm('@temporalio/workflow|@temporalio/common')] },
    },
    {
      name: 'domain-no-http-framework',
      severity: 'error',
      comment: 'Use cases do not know about HTTP: express and its middleware stay in api/.',
      from: { path: '^domain/' },
      to: { path: npm(HTTP_FRAMEWORK) },
    },
    {
      name: 'domain-not-entry-points',
      severity: 'error',
      comment: 'domain/ is called by the entry points only; it never reaches up to them, nor into activities (Temporal\'s side).',
      from: { path: '^domain/' },
      to: { path: '^(api|worker|scripts|bench|test|activities)/' },
    },
    {
      name: 'engines-stores-not-up',
      severity: 'error',
      comment: 'Engines and stores are the bottom of the application: they never reach up into use cases, activities or entry points.',
      from: { path: '^(engines|stores)/' },
      to: { path: '^(domain|activities|api|worker|scripts)/' },
    },
    {
      name: 'infra-is-the-bottom',
      severity: 'error',
      comment: 'infra/ (db, logger, aead, ports) serves every layer and depends on none of them, the workflow vocabulary aside.',
      from: { path: '^infra/' },
      to: { path: '^(domain|activities|engines|stores|api|worker|workflows)/', pathNot: VOCABULARY },
    },
    {
      name: 'activities-not-up',
      severity: 'error',
      comment: 'Activities call engines and stores through their ports; use cases and entry points sit above them.',
      from: { path: '^activities/' },
      to: { path: '^(domain|api|worker)/' },
    },
    {
      name: 'workflow-code-private',
      severity: 'error',
      comment: 'Workflow code is bundled by the worker from its path; everyone else speaks to it through the shared vocabulary only.',
      from: { pathNot: ['^(workflows|test)/', '(^|/)node_modules/'] },
      to: { path: '^workflows/', pathNot: VOCABULARY },
    },
    {
      name: 'api-not-worker',
      severity: 'error',
      comment: 'The composition root in worker/ builds the api, not the other way round.',
      from: { path: '^api/' },
      to: { path: '^worker/' },
    },
    {
      name: 'production-not-test-or-bench',
      severity: 'error',
      comment: 'Shipped code never depends on test or benchmark code.',
      from: { pathNot: ['^(test|bench)/', '(^|/)node_modules/'] },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'engines-independent',
      severity: 'error',
      comment: 'Each engine (pki, mail) stands alone so it can be tested and replaced alone; what they share lives in infra/.',
      from: { path: '^engines/([^/]+)/' },
      to: { path: '^engines/', pathNot: '^engines/$1/' },
    },
    {
      name: 'migrations-standalone',
      severity: 'error',
      comment: 'A migration is frozen history: it must not change when project code does, so it imports knex and nothing else.',
      from: { path: '^migrations/' },
      to: { pathNot: ['^migrations/', npm('knex')] },
    },
    {
      name: 'migrations-via-db',
      severity: 'error',
      comment: 'Migrations are applied in one place, infra/db.ts.',
      from: { pathNot: ['^infra/db\\.ts$', '^migrations/', '^test/', '(^|/)node_modules/'] },
      to: { path: '^migrations/' },
    },
  ],
  options: {
    parser: 'swc',
    tsPreCompilationDeps: true,
    doNotFollow: { path: '(^|/)node_modules/' },
    // only the repo's own generated folders (an npm package's dist/ must stay visible)
    exclude: { path: '^(dist|var|coverage|\\.tools)/' },
    // node_modules may be a symlink (git worktrees share one): keep the node_modules/... path, not the target's.
    preserveSymlinks: true,
    moduleSystems: ['es6', 'cjs', 'tsd'],
    enhancedResolveOptions: {
      extensions: ['.ts', '.d.ts', '.js', '.cjs', '.mjs', '.json'],
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
