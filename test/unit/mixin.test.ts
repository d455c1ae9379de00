// The monitoring mixin (monitoring/): promtool checks and rule tests, the rules'
// conventions, and every metric a rule or dashboard panel uses exists in `metrics --once`.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseExposition } from '../exposition.js';
import { CLI, CAPTURES, FIXTURES, ROOT } from '../helpers.js';

const MON = join(ROOT, 'monitoring');
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
/** promtool ships in Debian's prometheus package (test/lab/setup-debian.sh); CI must have it */
function needs(t: { skip(m: string): void }, cmd: string): boolean {
  if (has(cmd)) return true;
  if (process.env.CI === 'true') assert.fail(`${cmd} is required in CI (apt-get install prometheus)`);
  t.skip(`${cmd} not installed`);
  return false;
}

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const rules = (f: string): Rule[] => (parseYaml(readFileSync(join(MON, f), 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
const alerts = rules('alerts.yaml');
const recorded = rules('rules.yaml');

/** every expr of the dashboard's panels */
function dashboardExprs(): string[] {
  const d = JSON.parse(readFileSync(join(MON, 'dashboard.json'), 'utf8')) as { panels: { targets?: { expr: string }[] }[]; templating: { list: { query?: unknown }[] } };
  const out = d.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
  for (const v of d.templating.list) if (typeof v.query === 'object' && v.query && 'query' in v.query) out.push(String((v.query as { query: string }).query));
  return out;
}

/** metric names in a PromQL expression: our prefixes, not parts of recording-rule names (level:metric:op) */
function metricsIn(expr: string): { raw: string[]; recorded: string[] } {
  const raw = [...expr.matchAll(/(?<![\w:])(sctp|sctpdiag)_[a-z0-9_]+(?![\w:])/g)].map((m) => m[0]);
  const rec = [...expr.matchAll(/(?<![\w:])[a-z_]+:[a-z0-9_]+:[a-z0-9_]+(?![\w:])/g)].map((m) => m[0]);
  return { raw, recorded: rec };
}

test('promtool check rules and promtool test rules pass', (t) => {
  if (!needs(t, 'promtool')) return;
  execFileSync('promtool', ['check', 'rules', join(MON, 'rules.yaml'), join(MON, 'alerts.yaml')], { stdio: 'pipe' });
  const r = spawnSync('promtool', ['test', 'rules', join(MON, 'tests/alerts.test.yaml')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('every alert has for:, a severity, a summary, a templated description and a runbook in the man page', () => {
  assert.ok(alerts.length >= 8);
  const man = readFileSync(join(ROOT, 'man/sctpdiag.8'), 'utf8');
  // mandoc -T html names a subsection's anchor after its title, spaces as _
  const anchors = new Set([...man.matchAll(/^\.Ss (Runbook: .*)$/gm)].map((m) => m[1]!.replace(/ /g, '_')));
  for (const a of alerts) {
    assert.ok(a.alert, 'alerts.yaml holds alerts only');
    assert.match(a.for ?? '', /^\d+[smh]$/, `${a.alert}: for:`);
    assert.ok(['critical', 'warning', 'info'].includes(a.labels?.['severity'] ?? ''), `${a.alert}: severity`);
    assert.ok((a.annotations?.['summary'] ?? '').length > 0, `${a.alert}: summary`);
    assert.match(a.annotations?.['description'] ?? '', /\{\{ \$labels\.\w+ \}\}/, `${a.alert}: description templated with labels`);
    const url = a.annotations?.['runbook_url'] ?? '';
    const m = /^man:sctpdiag\(8\)#(.+)$/.exec(url);
    assert.ok(m && anchors.has(m[1]!), `${a.alert}: runbook_url ${url} names a Runbook section of the man page`);
  }
});

test('every alert has a promtool unit test that expects it to fire', () => {
  const t = parseYaml(readFileSync(join(MON, 'tests/alerts.test.yaml'), 'utf8')) as { tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[] };
  const firing = new Set(t.tests.flatMap((x) => x.alert_rule_test.filter((r) => r.exp_alerts.length > 0).map((r) => r.alertname)));
  for (const a of alerts) assert.ok(firing.has(a.alert!), `${a.alert} has a rule test where it fires`);
});

test('every metric a rule or a dashboard panel uses exists in `metrics --once` (captures, links file, --path-rto)', (t) => {
  const out = execFileSync(process.execPath, [CLI, '--proc-root', join(CAPTURES, 'two-path-a-fail-t6'), 'metrics', '--once', '--path-rto', '--links', join(FIXTURES, 'links/two-path.conf')], { encoding: 'utf8' });
  const families = parseExposition(out);
  const records = new Set(recorded.map((r) => r.record!));
  const exprs = [...alerts, ...recorded].map((r) => r.expr).concat(dashboardExprs());
  let checked = 0;
  for (const e of exprs) {
    const { raw, recorded: rec } = metricsIn(e);
    for (const name of raw) {
      checked++;
      assert.ok(families.has(name), `${name} (in ${e}) is exported`);
    }
    for (const r of rec) assert.ok(records.has(r), `${r} (in ${e}) is a recording rule of rules.yaml`);
  }
  assert.ok(checked > 20, `${checked} metric uses checked`);
  // events are off with --once: the family is declared, the dashboard's rate() has data once the server runs
  t.diagnostic(`${families.size} families, ${checked} metric uses`);
});

test('`metrics --once` passes promtool check metrics', (t) => {
  if (!needs(t, 'promtool')) return;
  const out = execFileSync(process.execPath, [CLI, '--proc-root', join(CAPTURES, 'many-a'), 'metrics', '--once', '--path-rto', '--links', join(FIXTURES, 'links/two-path.conf')], { encoding: 'utf8' });
  const r = spawnSync('promtool', ['check', 'metrics'], { input: out, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
