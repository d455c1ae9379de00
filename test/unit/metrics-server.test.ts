// The exporter over HTTP: start on port 0 against a capture, scrape with fetch, parse.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startMetricsServer } from '../../src/metrics/server.js';
import { procfsReader } from '../../src/metrics/source.js';
import { parseExposition, sampleSum } from '../exposition.js';

const CAPS = join(process.cwd(), 'test/fixtures/captures');
const CLI = join(process.cwd(), 'dist/src/cli.js');

test('serves /metrics and /healthz from a capture, procfs read once per min-interval', async () => {
  const procRoot = join(CAPS, 'two-path-a');
  const srv = await startMetricsServer({ host: '127.0.0.1', port: 0 }, {
    reader: procfsReader({ procRoot, netns: null }),
    minIntervalMs: 60_000,
    events: 'procfs',
    procRoot,
    netns: null,
  });
  try {
    assert.ok(srv.port > 0);
    const res = await fetch(`${srv.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const f = parseExposition(await res.text());
    assert.equal(sampleSum(f, 'sctp_up'), 1);
    assert.equal(sampleSum(f, 'sctp_associations', { state: 'ESTABLISHED' }), 3);
    assert.equal(sampleSum(f, 'sctp_paths', { state: 'ACTIVE' }), 6);
    assert.equal(sampleSum(f, 'sctp_snmp_t3_rtx_expireds_total'), 3);
    // --events procfs: every type procfs can see from procfs, the others from nowhere, both saying why
    assert.equal(sampleSum(f, 'sctpdiag_event_source_info', { type: 'path.state', source: 'procfs', reason: 'no-bpf' }), 1);
    assert.equal(sampleSum(f, 'sctpdiag_event_source_info', { type: 'path.rtx_timeout', source: 'none', reason: 'no-bpf' }), 1);
    // many scrapes, one read
    await Promise.all(Array.from({ length: 20 }, () => fetch(`${srv.url}/metrics`).then((r) => r.text())));
    assert.equal(srv.exporter.cache.reads, 1);
    const h = await fetch(`${srv.url}/healthz`);
    assert.equal(h.status, 200);
    assert.equal(await h.text(), 'ok\n');
    assert.equal((await fetch(`${srv.url}/nope`)).status, 404);
    assert.equal((await fetch(`${srv.url}/metrics`, { method: 'POST' })).status, 405);
    const head = await fetch(`${srv.url}/metrics`, { method: 'HEAD' });
    assert.equal(head.status, 200);
  } finally {
    await srv.close();
  }
});

test('healthz is 503 when procfs cannot be read', async () => {
  const srv = await startMetricsServer({ host: '127.0.0.1', port: 0 }, {
    reader: async () => {
      throw new Error('/proc/net/sctp missing');
    },
    minIntervalMs: 100,
    events: 'off',
  }, { log: () => undefined });
  try {
    const h = await fetch(`${srv.url}/healthz`);
    assert.equal(h.status, 503);
    assert.match(await h.text(), /^unhealthy: the last procfs read failed/);
    const f = parseExposition(await (await fetch(`${srv.url}/metrics`)).text());
    assert.equal(sampleSum(f, 'sctp_up'), 0);
  } finally {
    await srv.close();
  }
});

test('CLI: bad --listen exits 2 without starting; --once prints parsable text', () => {
  for (const bad of ['nonsense', '127.0.0.1:70000', '[::1]', '10.0.0:1']) {
    const r = spawnSync(process.execPath, [CLI, '--proc-root', join(CAPS, 'two-path-a'), 'metrics', '--listen', bad], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(r.status, 2, `${bad}: ${r.stderr}`);
    assert.match(r.stderr, /--listen/);
  }
  const once = spawnSync(process.execPath, [CLI, '--proc-root', join(CAPS, 'many-b'), 'metrics', '--once', '--path-rto', '--max-paths', '3'], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(once.status, 0, once.stderr);
  const f = parseExposition(once.stdout);
  assert.equal(f.get('sctp_path_rto_seconds')?.samples.length, 3);
  const noSctp = spawnSync(process.execPath, [CLI, '--proc-root', '/nonexistent-dir', 'metrics', '--once'], { encoding: 'utf8' });
  assert.equal(noSctp.status, 5);
});

test('CLI: serves on a free port and stops cleanly on SIGTERM', async () => {
  const child = spawn(process.execPath, [CLI, '--proc-root', join(CAPS, 'two-path-b'), 'metrics', '--listen', '127.0.0.1:0', '--events', 'procfs'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let err = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        err += d;
        const m = /serving (http:\/\/\S+)\/metrics/.exec(err);
        if (m) resolve(m[1]!);
      });
      child.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
      setTimeout(() => reject(new Error(`timeout: ${err}`)), 10_000);
    });
    const f = parseExposition(await (await fetch(`${url}/metrics`)).text());
    assert.equal(sampleSum(f, 'sctp_associations', { state: 'ESTABLISHED' }), 3);
  } finally {
    child.kill('SIGTERM');
  }
  const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  assert.equal(code, 0);
});
