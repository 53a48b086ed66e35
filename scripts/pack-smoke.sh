#!/usr/bin/env bash
# Proves the published tarball works on its own: pack it, install it into an
# empty project, and import the public API with no build step.
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
