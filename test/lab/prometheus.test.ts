// Lab: Debian's Prometheus scrapes the exporter in the guest with the mixin's rules
// loaded (for: shortened to 5 s, evaluated every second, so the test is bounded);
// cut the primary link of a named link -> SctpLinkPathDown fires; restore -> it resolves.
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInGuest } from './vm.js';
import { labOrSkip, diagnostics } from './guard.js';

/** polls Prometheus' HTTP API in the guest until a condition holds (no fixed sleeps) */
const WAIT = String.raw`
const [url, mode, arg, timeoutS, out] = process.argv.slice(2);
const fs = require('node:fs');
const deadline = Date.now() + Number(timeoutS) * 1000;
const seen = [];
async function once() {
  if (mode === 'query') {
    const r = await (await fetch(url + '/api/v1/query?query=' + encodeURIComponent(arg))).json();
    return { ok: r.status === 'success' && r.data.result.length > 0, body: r };
  }
  const r = await (await fetch(url + '/api/v1/alerts')).json();
  const [name, want] = arg.split('=');
  const mine = r.data.alerts.filter((a) => a.labels.alertname === name && a.labels.link === 'm3ua-a');
  for (const a of mine) if (!seen.includes(a.state)) seen.push(a.state);
  const ok = want === 'absent' ? mine.length === 0 : mine.some((a) => a.state === want);
  return { ok, body: { alerts: r.data.alerts, statesSeen: seen } };
}
(async () => {
  let last = null;
  for (;;) {
    try {
      last = await once();
      if (last.ok) break;
    } catch (e) {
      last = { ok: false, body: String(e) };
    }
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  fs.writeFileSync(out, JSON.stringify({ ok: last.ok, at: Date.now(), ...{ result: last.body } }, null, 1));
  process.exit(last.ok ? 0 : 1);
})();
`;

test('lab: Prometheus with the mixin fires SctpLinkPathDown on a cut and resolves it on restore', { timeout: 3_600_000 /* includes waiting for a shared lab slot */ }, async (t) => {
  if (!labOrSkip(t)) return;
  if (!existsSync('/usr/bin/prometheus')) {
    if (process.env.CI === 'true' || process.env.SCTPDIAG_LAB === 'required') assert.fail('/usr/bin/prometheus is required (apt-get install prometheus)');
    return t.skip('Debian prometheus package not installed');
  }
  const wait = (mode: string, arg: string, timeoutS: number, name: string) =>
    `ip netns exec a "$NODE" /tmp/wait.cjs http://127.0.0.1:9090 ${mode} '${arg}' ${timeoutS} "$LAB_OUT/${name}.json"`;
  const r = await runInGuest({
    timeoutMs: 540_000,
    script: [
      'set -e',
      'NODE="$(command -v node || echo "${LAB_NODE_DIR:-/usr/bin}/node")"',
      `cat >/tmp/wait.cjs <<'WAITEOF'\n${WAIT}\nWAITEOF`,
      'lab_topology 2',
      'lab_fast a b',
      'lab_multihomed 6001 5001',
      'lab_wait_path a 10.1.0.2 2 15',
      'lab_wait_path a 10.2.0.2 2 15',
      'mkdir -p /tmp/prom/data',
      'printf "m3ua-a peer=10.1.0.2,10.2.0.2 peer-port=5001 min-active=2\\n" >/tmp/prom/links.conf',
      // the mixin as shipped, with every for: shortened so the test is bounded
      'sed -E "s/^( +for: ).*/\\15s/" "$LAB_REPO/monitoring/alerts.yaml" >/tmp/prom/alerts.yaml',
      'cp "$LAB_REPO/monitoring/rules.yaml" /tmp/prom/rules.yaml',
      'grep -c "for: 5s" /tmp/prom/alerts.yaml',
      `cat >/tmp/prom/prometheus.yml <<'PROMEOF'
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [/tmp/prom/rules.yaml, /tmp/prom/alerts.yaml]
scrape_configs:
  - job_name: sctpdiag
    static_configs: [{ targets: ['127.0.0.1:10132'] }]
PROMEOF`,
      'promtool check config /tmp/prom/prometheus.yml',
      'lab_bg exporter a "$NODE" "$LAB_REPO/dist/src/cli.js" metrics --min-interval 200 --events procfs --links /tmp/prom/links.conf',
      'lab_bg prometheus a /usr/bin/prometheus --config.file=/tmp/prom/prometheus.yml --storage.tsdb.path=/tmp/prom/data --web.listen-address=127.0.0.1:9090',
      // scraped, with both paths ACTIVE, and the rules evaluated
      wait('query', 'sctp_link_paths{link="m3ua-a",state="ACTIVE"} == 2', 180, 'scraped'),
      wait('query', 'link:sctp_link_retransmitted_chunks:rate5m{link="m3ua-a"}', 60, 'rules-evaluated'),
      wait('alerts', 'SctpLinkPathDown=absent', 5, 'before'),
      'lab_cut a va1',
      'lab_wait_path a 10.1.0.2 0 30',
      wait('alerts', 'SctpLinkPathDown=firing', 180, 'firing'),
      wait('query', 'sctp_link_up{link="m3ua-a"} == 1', 30, 'still-up'),
      'lab_restore a va1',
      'lab_wait_path a 10.1.0.2 2 60',
      wait('alerts', 'SctpLinkPathDown=absent', 180, 'resolved'),
      'lab_stop prometheus',
      'lab_stop exporter',
    ].join('\n'),
  });
  const diag = diagnostics(r);
  const read = (n: string) => {
    const p = join(r.outDir, `${n}.json`);
    return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as { ok: boolean; at: number; result: { alerts?: { labels: Record<string, string>; state: string; annotations: Record<string, string> }[]; statesSeen?: string[] } }) : null;
  };
  const logs = ['prometheus', 'exporter'].map((n) => {
    const p = join(r.outDir, 'logs', `${n}.log`);
    return existsSync(p) ? `--- ${n}.log\n${readFileSync(p, 'utf8').slice(-3000)}` : '';
  });
  const more = `${diag}\n${logs.join('\n')}`;
  assert.equal(r.timedOut, false, more);
  assert.equal(r.exitCode, 0, more);
  assert.equal(read('scraped')?.ok, true, more);
  assert.equal(read('before')?.ok, true, 'no SctpLinkPathDown before the cut');
  const firing = read('firing')!;
  assert.equal(firing.ok, true, more);
  const alert = firing.result.alerts!.find((a) => a.labels['alertname'] === 'SctpLinkPathDown')!;
  assert.equal(alert.labels['link'], 'm3ua-a');
  assert.equal(alert.labels['severity'], 'warning');
  assert.match(alert.annotations['description'] ?? '', /^Link m3ua-a on 127\.0\.0\.1:10132 has 1 ACTIVE path/);
  assert.match(alert.annotations['runbook_url'] ?? '', /^man:sctpdiag\(8\)#Runbook:_a_path_is_down$/);
  assert.ok(!firing.result.alerts!.some((a) => a.labels['alertname'] === 'SctpLinkDown' && a.labels['link'] === 'm3ua-a'), 'one path left: the link is not down');
  assert.equal(read('still-up')?.ok, true, 'sctp_link_up stays 1 with one path');
  const resolved = read('resolved')!;
  assert.equal(resolved.ok, true, more);
  t.diagnostic(`states seen before firing: ${firing.result.statesSeen?.join(' -> ')}; fired ${((firing.at - read('before')!.at) / 1000).toFixed(1)} s after the pre-cut check, resolved ${((resolved.at - firing.at) / 1000).toFixed(1)} s after firing; lab run ${r.durationMs} ms`);
});
