/**
 * The layers of the source tree, enforced by `npm run lint:deps`: each may
 * import only the ones below it.
 *
 *   src/*.ts (reporter, options, config, session, index)  the façade; testing.ts is the second entry point
 *   src/session/ what the session façade stands on: the Tinker API's interface, heartbeats, futures
 *   src/testing/ the fake Tinker API behind tinker-telemetry/testing: stands on src/core/ alone
 *   src/tinker/ the Tinker service protocol: start-up, sessions, heartbeats, submits, futures
 *   src/host/   ties into the host process: channels, capture, the HTTP client, process hooks, logging
 *   src/io/     touches the network or the disk: the node:http, got and undici transports, the spool, the journal
 *   src/core/   pure logic: events, snapshots, the outbox's accounting, retry, redaction, ports
 *   machines/   the pure XState machines
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle means a type or a function lives in the wrong file: move it down to the lowest layer that owns it.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-orphans',
      severity: 'error',
      comment: 'A file under src/ that nothing imports and that imports nothing is dead code.',
      from: { orphan: true, path: '^src/' },
      to: {},
    },
    {
      name: 'reachable-from-the-entry-point',
      severity: 'error',
      comment:
        'Every file under src/ is reached from an entry point: src/index.ts (the package) or src/testing.ts (tinker-telemetry/testing); one that is not is dead code, however many files it imports.',
      from: { path: '^src/(index|testing)\\.ts$' },
      // The entry points themselves are left out: each would count as unreachable from the other. So are the got
      // and undici transports, the first and second defaults: the bench passes them as the `transport` option (from
      // dist/) to measure the default against them, and the transport tests run one table over all three.
      to: { path: '^src/', pathNot: ['^src/(index|testing)\\.ts$', '^src/io/(transport|undici-transport)\\.ts$'], reachable: false },
    },
    {
      name: 'machines-import-only-xstate',
      severity: 'error',
      comment: 'machines/ holds pure machines: their effects are supplied by src/ through .provide().',
      from: { path: '^machines/' },
      to: { pathNot: ['^machines/', '^node_modules/xstate/'] },
    },
    {
      name: 'core-is-pure',
      severity: 'error',
      comment:
        'src/core/ does no I/O: what needs the disk, the network, a channel or a logger takes it through a port (src/core/ports.ts) that a layer above supplies.',
      from: { path: '^src/core/' },
      to: {
        path: ['^node_modules/(got|pino|undici)/', '^src/(io|host)/', '^src/[^/]+\\.ts$'],
      },
    },
    {
      name: 'core-uses-no-node-io',
      severity: 'error',
      comment:
        'src/core/ and machines/ use no Node built-in module but node:crypto (random ids): no fs, http(s), net, tls, diagnostics_channel, child_process, worker_threads.',
      from: { path: '^(src/core|machines)/' },
      to: { dependencyTypes: ['core'], pathNot: '^crypto$' },
    },
    {
      name: 'core-imports-only-core-and-machines',
      severity: 'error',
      comment: "src/core/ stands on machines/ (for the machine's event types) and itself alone.",
      from: { path: '^src/core/' },
      to: { path: '^(src|machines)/', pathNot: ['^src/core/', '^machines/'] },
    },
    {
      name: 'io-stands-on-core',
      severity: 'error',
      comment: 'src/io/ may use src/core/ and nothing above it.',
      from: { path: '^src/io/' },
      to: { path: '^src/(host/|tinker/|session/|[^/]+\\.ts$)' },
    },
    {
      name: 'host-stands-on-io-and-core',
      severity: 'error',
      comment: "src/host/ may use src/io/ and src/core/, never the Tinker protocol layer, the session's pieces or the façade.",
      from: { path: '^src/host/' },
      to: { path: '^src/(tinker/|session/|[^/]+\\.ts$)' },
    },
    {
      name: 'tinker-stands-on-host-io-and-core',
      severity: 'error',
      comment: 'src/tinker/, the Tinker service protocol, may use src/host/, src/io/ and src/core/; never the façade above it.',
      from: { path: '^src/tinker/' },
      to: { path: '^(src|machines)/', pathNot: ['^src/(tinker|host|io|core)/'] },
    },
    {
      name: 'testing-stands-on-core',
      severity: 'error',
      comment:
        'src/testing/ (the fake Tinker API) may use src/core/ and Node built-ins only: it checks the library from outside, so it never imports the code it checks (io, host, a protocol layer or the façade).',
      from: { path: '^src/testing/' },
      to: { path: '^(src|machines)/', pathNot: ['^src/testing/', '^src/core/'] },
    },
    {
      name: 'testing-is-an-entry-of-its-own',
      severity: 'error',
      comment: 'Only src/testing.ts imports src/testing/: the library itself never ships the fake on its main path.',
      from: { path: '^src/', pathNot: ['^src/testing/', '^src/testing\\.ts$'] },
      to: { path: '^src/testing/' },
    },
    {
      name: 'testing-uses-no-packages',
      severity: 'error',
      comment: 'src/testing/ depends on nothing beyond Node built-ins and src/core/, so the fake adds no dependency to a test.',
      from: { path: '^src/testing(/|\\.ts$)' },
      to: { path: '(^|/)node_modules/' },
    },
    {
      name: 'no-folder-reaches-the-facade',
      severity: 'error',
      comment: "No folder under src/ (a later feature's included) imports the façade: reporter.ts, options.ts, config.ts, index.ts sit on top.",
      from: { path: '^src/[^/]+/' },
      to: { path: '^src/[^/]+\\.ts$' },
    },
    {
      name: 'nothing-reaches-back-into-tests-or-tools',
      severity: 'error',
      from: { path: '^(src|machines)/' },
      to: { path: '^(test|model-tests|bench|scripts|demo|examples|e2e)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.js'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
