/**
 * Issue #13 items 2, 11 (SNMP collision) and 12 (healthz, SIGHUP): the
 * exporter's work is bounded per reading and per request, counted (renders,
 * requests in flight), never timed.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { startMetricsServer, DEFAULT_LIMITS } from '../../src/metrics/server.js';
import { buildMetrics } from '../../src/metrics/registry.js';
import { procfsReader } from '../../src/metrics/source.js';
import { parseExposition, sampleSum } from '../exposition.js';
import { failoverSnapshot } from '../helpers.js';

const CAPS = join(process.cwd(), 'test/fixtures/captures');
const CLI = join(process.cwd(), 'dist/src/cli.js');

/** Send `n` pipelined requests in one write (the last asks to close), collect the status codes. */
function pipeline(port: number, n: number, path = '/metrics'): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let buf = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (buf += d));
    s.on('error', reject);
    s.on('close', () => resolve([...buf.matchAll(/(?:^|\n)HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]))));
    const one = `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;
    s.write(one.repeat(n - 1) + `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  });
}

test('exporter: 20 connections × 500 pipelined scrapes: one render per reading, in-flight capped, every request answered', async () => {
  const procRoot = join(CAPS, 'two-path-a');
  const srv = await startMetricsServer({ host: '127.0.0.1', port: 0 }, { reader: procfsReader({ procRoot, netns: null }), minIntervalMs: 60_000, events: 'off' }, { log: () => undefined });
  let updates = 0;
  const update = srv.exporter.model.update;
  srv.exporter.model.update = (...a) => {
    updates++;
    update(...a);
  };
  try {
    const all = await Promise.all(Array.from({ length: 20 }, () => pipeline(srv.port, 500)));
    for (const codes of all) {
      assert.equal(codes.length, 500, 'every pipelined request gets an answer');
      assert.ok(codes.every((c) => c === 200 || c === 503), String(new Set(codes)));
      assert.ok(codes.includes(200), 'each connection is served');
    }
    const ok = all.flat().filter((c) => c === 200).length;
    assert.equal(ok + srv.stats.rejected, 10_000);
    // the work: one read, one render, whatever the number of requests
    assert.equal(srv.exporter.cache.reads, 1);
    assert.equal(srv.exporter.renders, 1);
    assert.equal(updates, 1);
    // memory: never more than the caps in flight (queued responses included)
    assert.ok(srv.stats.peakInFlight <= DEFAULT_LIMITS.maxRequests, `peak ${srv.stats.peakInFlight}`);
    assert.ok(srv.stats.peakPerConnection <= DEFAULT_LIMITS.maxPerConnection, `per connection ${srv.stats.peakPerConnection}`);
    assert.equal(srv.stats.inFlight, 0);
    // and it still answers afterwards
    const f = parseExposition(await (await fetch(`${srv.url}/metrics`)).text());
    assert.equal(sampleSum(f, 'sctp_up'), 1);
  } finally {
    await srv.close();
  }
});

test('exporter: the global cap holds across connections (max-requests 3)', async () => {
  const procRoot = join(CAPS, 'two-path-a');
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const reader = procfsReader({ procRoot, netns: null });
  const srv = await startMetricsServer({ host: '127.0.0.1', port: 0 }, { reader: async () => (await gate, reader()), minIntervalMs: 60_000, events: 'off' }, { limits: { maxRequests: 3 }, log: () => undefined });
  try {
    // five separate scrapes while the first read is held: three wait, two are refused at once
    const pending = Array.from({ length: 5 }, () => fetch(`${srv.url}/metrics`).then((r) => r.status));
    while (srv.stats.inFlight + srv.stats.rejected < 5) await new Promise((r) => setImmediate(r));
    assert.equal(srv.stats.rejected, 2);
    release();
    assert.deepEqual((await Promise.all(pending)).sort(), [200, 200, 200, 503, 503]);
    assert.equal(srv.exporter.renders, 1);
  } finally {
    await srv.close();
  }
});

test('exporter: /healthz does not echo internal paths or errors; the reason goes to the log once', async () => {
  const logged: string[] = [];
  const srv = await startMetricsServer({ host: '127.0.0.1', port: 0 }, {
    reader: async () => {
      throw new Error('ENOENT: /var/lib/secret/proc/net/sctp/assocs');
    },
    minIntervalMs: 100,
    events: 'off',
  }, { log: (l) => logged.push(l) });
  try {
    for (let i = 0; i < 3; i++) {
      const h = await fetch(`${srv.url}/healthz`);
      assert.equal(h.status, 503);
      const body = await h.text();
      assert.match(body, /^unhealthy/);
      assert.doesNotMatch(body, /\/var|ENOENT|secret/);
    }
    assert.equal(logged.length, 1);
    assert.match(logged[0]!, /\/var\/lib\/secret/);
  } finally {
    await srv.close();
  }
});

test('registry: SNMP names that collide or are invalid are skipped and counted, the scrape never fails', async () => {
  const m = buildMetrics();
  const snap = failoverSnapshot(0);
  // SctpOutSCTPPacks and SctpOutSctpPacks both become sctp_snmp_out_sctp_packs_total
  const hostile = { ...snap, snmp: { ...snap.snmp, SctpOutSctpPacks: 7, 'Sctp-Bad Name': 1, SctpUp: 3 } };
  const reading = { snapshots: [hostile], at: Date.now(), durationMs: 1, servedForMs: 1000, error: null };
  for (let i = 0; i < 3; i++) {
    m.update(reading, null);
    const f = parseExposition(await m.registry.metrics());
    assert.equal(sampleSum(f, 'sctp_snmp_out_sctp_packs_total'), snap.snmp.SctpOutSCTPPacks);
    assert.equal(sampleSum(f, 'sctpdiag_series_dropped', { kind: 'snmp' }), 2, 'the colliding and the invalid name');
    assert.equal(sampleSum(f, 'sctp_up'), 1, 'sctp_up keeps its meaning (SctpUp → sctp_snmp_up_total, no clash)');
  }
});

function startCli(extra: string[] = []): Promise<{ child: ChildProcess; port: number; stderr: () => string }> {
  const child = spawn(process.execPath, [CLI, '--proc-root', join(CAPS, 'two-path-b'), 'metrics', '--listen', '127.0.0.1:0', '--events', 'procfs', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  return new Promise((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      const m = /serving http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(err);
      if (m) resolve({ child, port: Number(m[1]), stderr: () => err });
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
}

const exited = (c: ChildProcess) => new Promise<{ code: number | null; signal: string | null }>((r) => c.on('close', (code, signal) => r({ code, signal })));

test('CLI: SIGHUP is ignored (keeps serving); SIGTERM with a backlog of pipelined requests closes every connection and exits 0', async () => {
  const { child, port, stderr } = await startCli();
  const done = exited(child);
  try {
    child.kill('SIGHUP');
    while (!/SIGHUP ignored/.test(stderr())) await new Promise((r) => setTimeout(r, 20));
    assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 200);
    // clients that pipeline and never read: their responses back up in the server
    const socks: Socket[] = [];
    const closed: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      const s = connect(port, '127.0.0.1');
      s.pause();
      s.on('error', () => undefined);
      closed.push(new Promise((r) => s.on('close', () => r())));
      s.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(500));
      socks.push(s);
    }
    await new Promise((r) => setTimeout(r, 200));
    child.kill('SIGTERM');
    const r = await done;
    assert.equal(r.code, 0, stderr());
    for (const s of socks) s.destroy();
    await Promise.all(closed);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('CLI: --max-requests is validated (exit 2)', async () => {
  const child = spawn(process.execPath, [CLI, '--proc-root', join(CAPS, 'two-path-b'), 'metrics', '--max-requests', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const r = await exited(child);
  assert.equal(r.code, 2);
  assert.match(err, /--max-requests/);
});
