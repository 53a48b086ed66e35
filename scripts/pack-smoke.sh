#!/usr/bin/env bash
# Proves the published tarball works on its own: pack it, install it into an
# empty project, and use the public API with no build step, from an ES module
# (import) and from CommonJS (require(), which loads an ES module from Node
# 20.19 on), through both entries: `tinker-telemetry` and
# `tinker-telemetry/testing`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$root"
tarball=$(npm pack --silent --pack-destination "$work" | tail -n 1)
cd "$work"
npm init -y >/dev/null
npm pkg set type=module >/dev/null
npm i --no-audit --no-fund --prefer-offline "./$tarball" >/dev/null
cat > smoke.mjs <<'JS'
import { startReporter, createConfig } from 'tinker-telemetry';
import { createServer } from 'node:http';
let received = 0;
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    received += JSON.parse(body).events.length;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"accepted"}');
  });
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const config = createConfig({ apiKey: 'smoke-key', baseUrl: `http://127.0.0.1:${server.address().port}` });
const reporter = startReporter({ config, sessionId: 'smoke', enabled: true });
reporter.log('smoke', { ok: true });
const drained = await reporter.stop();
server.close();
if (!drained || received !== 3) {
  console.error(`pack smoke failed: drained=${drained} received=${received}`);
  process.exit(1);
}
console.log(`pack smoke: installed ${process.argv[2]} and delivered ${received} events`);
JS
node smoke.mjs "$tarball"

# CommonJS with telemetry off: no key is needed, and the reporter is null.
cat > disabled.cjs <<'JS'
const { createConfig, startReporter } = require('tinker-telemetry');
const config = createConfig({ telemetryEnabled: false });
const reporter = startReporter({ config, sessionId: 'smoke-cjs-off' });
if (reporter !== null) {
  console.error('pack smoke (require, telemetry off) failed: startReporter did not return null');
  process.exit(1);
}
reporter?.log('never sent');
console.log('pack smoke: require() gave createConfig and startReporter; telemetry off returned null');
JS
env -u TINKER_API_KEY node disabled.cjs

# CommonJS with telemetry on: a reporter that delivers and stops.
cat > enabled.cjs <<'JS'
const { createConfig, startReporter } = require('tinker-telemetry');
const { createServer } = require('node:http');
async function main() {
  const events = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      events.push(...JSON.parse(body).events.map((e) => e.event));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"accepted"}');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const config = createConfig({ apiKey: 'smoke-key', baseUrl: `http://127.0.0.1:${server.address().port}` });
  const reporter = startReporter({ config, sessionId: 'smoke-cjs', enabled: true });
  reporter.log('smoke.cjs', { ok: true });
  const drained = await reporter.stop();
  server.close();
  if (!drained || events.join() !== 'SESSION_START,GENERIC_EVENT,SESSION_END') {
    console.error(`pack smoke (require) failed: drained=${drained} events=${events.join()}`);
    process.exit(1);
  }
  console.log(`pack smoke: require() started a reporter that delivered ${events.length} events and stopped`);
}
main().catch((error) => {
  console.error(error);
  process.exit(1);
});
JS
node enabled.cjs

# The second entry, tinker-telemetry/testing: the fake Tinker API, imported and
# required from the tarball, takes a reporter's batches and finds them valid.
cat > testing.mjs <<'JS'
import { createConfig, startReporter } from 'tinker-telemetry';
import { startFakeTinker } from 'tinker-telemetry/testing';
const fake = await startFakeTinker();
const reporter = startReporter({ config: createConfig({ apiKey: fake.apiKey, baseUrl: fake.url }), sessionId: 'smoke-testing', enabled: true });
reporter.log('smoke.testing', { ok: true });
const drained = await reporter.stop();
await fake.close();
const events = fake.telemetry.events.map((e) => e.event).join();
if (!drained || events !== 'SESSION_START,GENERIC_EVENT,SESSION_END' || fake.violations.length !== 0) {
  console.error(`pack smoke (tinker-telemetry/testing) failed: drained=${drained} events=${events} violations=${fake.violations.length}`);
  process.exit(1);
}
console.log('pack smoke: import of tinker-telemetry/testing started a fake Tinker API that validated and recorded 3 events');
JS
node testing.mjs

cat > testing.cjs <<'JS'
const { startFakeTinker } = require('tinker-telemetry/testing');
startFakeTinker().then(
  async (fake) => {
    const ok = fake.url.startsWith('http://127.0.0.1:');
    await fake.close();
    if (!ok) process.exit(1);
    console.log('pack smoke: require() of tinker-telemetry/testing started and closed the fake');
  },
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
JS
node testing.cjs
