// The secured exporter: --web-config (exporter-toolkit format) with TLS and bcrypt basic auth,
// checked with curl against certificates made by openssl at test time; the exposure warning.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { startMetricsServer } from '../../src/metrics/server.js';
import { procfsReader } from '../../src/metrics/source.js';
import { exposureWarning, loadWebConfig, parseWebConfig } from '../../src/metrics/webconfig.js';
import { DEFAULT_LISTEN } from '../../src/metrics/listen.js';
import { EXIT, SctpdiagError } from '../../src/errors.js';
import { CLI, CAPTURES } from '../helpers.js';

const HASH = bcrypt.hashSync('s3cret', 4);

test('web-config: exporter-toolkit keys are checked, nothing misspelt is ignored', () => {
  const ok = parseWebConfig(`tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\nbasic_auth_users:\n  prom: '${HASH}'\n`, 'w.yml');
  assert.deepEqual(ok.tls, { cert_file: 'a.crt', key_file: 'a.key' });
  assert.equal(ok.users.get('prom'), HASH);
  const bad: [string, RegExp][] = [
    ['tls_server_config:\n  cert_file: a\n', /needs both cert_file and key_file/],
    ['tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: x\n', /unsupported key "cipher_suites"/],
    ['tls_config:\n  cert_file: a\n', /unsupported key "tls_config"/],
    ['basic_auth_users:\n  prom: plaintext\n', /basic_auth_users.prom: not a bcrypt hash/],
    ['basic_auth_users: [a]\n', /expected a mapping/],
    ['tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAndVerifyClientCert\n', /needs client_ca_file/],
    ['tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS10\n', /min_version/],
    ['a: [\n', /not YAML/],
  ];
  for (const [text, re] of bad)
    assert.throws(() => parseWebConfig(text, 'w.yml'), (e: unknown) => e instanceof SctpdiagError && e.exitCode === EXIT.USAGE && /^--web-config w\.yml: /.test(e.message) && re.test(e.message), text);
});

test('a non-loopback address without TLS or auth is warned about; the default port is off 9464', () => {
  assert.equal(DEFAULT_LISTEN, '127.0.0.1:10132');
  assert.equal(exposureWarning('127.0.0.1', null), null);
  assert.equal(exposureWarning('::1', null), null);
  assert.match(exposureWarning('0.0.0.0', null) ?? '', /without TLS or authentication/);
  const tlsOnly = { file: 'w', tls: { cert: '', key: '', minVersion: 'TLSv1.2' as const, requestCert: false, rejectUnauthorized: false }, users: new Map() };
  assert.match(exposureWarning('10.0.0.1', tlsOnly) ?? '', /without authentication/);
  assert.equal(exposureWarning('10.0.0.1', { ...tlsOnly, users: new Map([['p', HASH]]) }), null);
});

test('https with basic auth: curl gets 200 with the password, 401 without or with a wrong one; plain http on the TLS port fails', async (t) => {
  for (const cmd of ['openssl', 'curl'])
    if (spawnSync(cmd, ['--version']).error) {
      if (process.env.CI === 'true') assert.fail(`${cmd} is required in CI`);
      return t.skip(`${cmd} not installed`);
    }
  const dir = mkdtempSync(join(tmpdir(), 'sctpdiag-web-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', join(dir, 'server.key'), '-out', join(dir, 'server.crt')], { stdio: 'pipe' });
  // relative paths resolve beside the web-config file, as exporter-toolkit does
  writeFileSync(join(dir, 'web.yml'), `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  prometheus: '${HASH}'\n`);
  const web = await loadWebConfig(join(dir, 'web.yml'));
  const procRoot = join(CAPTURES, 'two-path-a');
  const srv = await startMetricsServer({ host: '127.0.0.1', port: 0 }, { reader: procfsReader({ procRoot, netns: null }), minIntervalMs: 60_000, events: 'off', procRoot, netns: null }, {}, web);
  const curl = (args: string[]) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const c = spawn('curl', ['-sS', '--max-time', '20', '-o', '-', '-w', '\\n%{http_code}', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.stderr.on('data', (d: Buffer) => (out += d.toString()));
      c.on('close', (code) => resolve({ code, out }));
    });
  try {
    assert.match(srv.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = ['--cacert', join(dir, 'server.crt')];
    const good = await curl([...ca, '-u', 'prometheus:s3cret', `${srv.url}/metrics`]);
    assert.equal(good.code, 0, good.out);
    assert.match(good.out, /^sctp_up 1$/m);
    assert.match(good.out, /\n200$/);
    const again = await curl([...ca, '-u', 'prometheus:s3cret', `${srv.url}/healthz`]);
    assert.match(again.out, /^ok\n\n200$/, 'a cached credential still works');
    for (const u of [['-u', 'prometheus:wrong'], ['-u', 'nobody:s3cret'], []]) {
      const r = await curl([...ca, ...u, `${srv.url}/metrics`]);
      assert.match(r.out, /\n401$/, `${u.join(' ')}: ${r.out}`);
      assert.doesNotMatch(r.out, /sctp_up/);
    }
    const challenge = await curl([...ca, '-D', '-', `${srv.url}/metrics`]);
    assert.match(challenge.out, /www-authenticate: Basic realm="sctpdiag"/i);
    const plain = await curl(['-u', 'prometheus:s3cret', srv.url.replace('https:', 'http:') + '/metrics']);
    assert.doesNotMatch(plain.out, /sctp_up/);
    assert.match(plain.out, /\n000$/, `plain http gets no HTTP answer: ${plain.out}`);
    assert.notEqual(plain.code, 0);
    const untrusted = await curl(['-u', 'prometheus:s3cret', `${srv.url}/metrics`]);
    assert.notEqual(untrusted.code, 0, 'the self-signed certificate is not trusted without --cacert');
  } finally {
    await srv.close();
  }
});

test('metrics --web-config: a bad file exits 2 naming it, before a socket is opened', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sctpdiag-web-'));
  writeFileSync(join(dir, 'web.yml'), 'basic_auth_users:\n  prom: hunter2\n');
  const r = spawnSync(process.execPath, [CLI, '--proc-root', join(CAPTURES, 'two-path-a'), 'metrics', '--listen', '127.0.0.1:0', '--web-config', join(dir, 'web.yml')], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, EXIT.USAGE, r.stderr);
  assert.match(r.stderr, /web\.yml: basic_auth_users\.prom: not a bcrypt hash/);
  assert.doesNotMatch(r.stderr, /hunter2/, 'secrets are not echoed');
  const missing = spawnSync(process.execPath, [CLI, '--proc-root', join(CAPTURES, 'two-path-a'), 'metrics', '--listen', '127.0.0.1:0', '--web-config', join(dir, 'nope.yml')], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(missing.status, EXIT.NOT_FOUND, missing.stderr);
});

test('deploy: the exporter unit and the DaemonSet run with --web-config; the shipped sample is a valid empty config', async () => {
  const { readFileSync } = await import('node:fs');
  const { ROOT } = await import('../helpers.js');
  const unit = readFileSync(join(ROOT, 'deploy/systemd/sctpdiag-exporter.service'), 'utf8');
  assert.match(unit, /^ExecStart=\/usr\/bin\/sctpdiag metrics --listen \$\{SCTPDIAG_LISTEN\} --web-config \$\{SCTPDIAG_WEB_CONFIG\}/m);
  assert.match(unit, /^Environment=SCTPDIAG_WEB_CONFIG=\/etc\/sctpdiag\/web-config\.yml$/m);
  const ds = readFileSync(join(ROOT, 'deploy/kubernetes/daemonset.yaml'), 'utf8');
  assert.match(ds, /- --web-config\n\s+- \/etc\/sctpdiag\/web\/web-config\.yml/);
  assert.match(ds, /secretName: sctpdiag-web-config/);
  const sample = parseWebConfig(readFileSync(join(ROOT, 'deploy/web-config.yml'), 'utf8'), 'web-config.yml');
  assert.equal(sample.tls, null);
  assert.equal(sample.users.size, 0);
});
