/**
 * Which way Perch's imports point, checked by dependency-cruiser (`npm run lint:deps`, run by `npm test`).
 * Inward: features (backend/<feature>/) use the shared plumbing (backend/http, store, crypto, config) and
 * lib/; lib/ and the screens never reach into the backend; the audit log is told what to record and
 * reads no feature's store; nothing imports in a circle. A new feature folder is covered as it is.
 */
/** Backend folders every feature may use: not features themselves. */
const PLUMBING = ['http', 'store', 'crypto', 'config'];

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Modules that import each other, directly or around a loop: types and code must flow one way.',
      severity: 'error',
      from: { path: '^(backend|lib|components|entrypoints)/' },
      to: { circular: true },
    },
    {
      name: 'lib-stays-shared',
      comment: 'lib/ holds the contracts both sides share: it imports neither the backend nor the screens.',
      severity: 'error',
      from: { path: '^lib/' },
      to: { path: '^(backend|components|entrypoints)/' },
    },
    {
      name: 'screens-not-backend',
      comment: 'The extension and its screens run in a browser: they share lib/ with the backend, nothing else.',
      severity: 'error',
      from: { path: '^(components|entrypoints)/' },
      to: { path: '^backend/' },
    },
    {
      name: 'authz-not-store',
      comment: 'Authorization decides from the in-memory index, never from the database.',
      severity: 'error',
      from: { path: '^backend/authz/' },
      to: { path: '^backend/store/' },
    },
    {
      name: 'audit-is-told',
      comment: 'Features hand the audit log what it records; the audit log imports no feature folder.',
      severity: 'error',
      from: { path: '^backend/audit/' },
      to: { path: `^backend/(?!audit/|${PLUMBING.map((p) => `${p}/`).join('|')})[^/]+/` },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist|\\.output|\\.wxt)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
