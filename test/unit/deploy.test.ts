// deploy/: systemd units and the Kubernetes DaemonSet are syntactically valid and say what they must.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const DEPLOY = join(process.cwd(), 'deploy');
const UNITS = readdirSync(join(DEPLOY, 'systemd')).filter((f) => f.endsWith('.service'));

type Ini = Map<string, Map<string, string[]>>;

/** systemd unit syntax: [Section], Key=Value, comments (# ;), backslash continuations. */
function parseUnit(text: string): Ini {
  const ini: Ini = new Map();
  let section: Map<string, string[]> | null = null;
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const sec = /^\[([A-Za-z]+)\]$/.exec(line);
    if (sec) {
      assert.ok(!ini.has(sec[1]!), `duplicate section ${sec[1]}`);
      ini.set(sec[1]!, (section = new Map()));
      return;
    }
    const kv = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(line);
    assert.ok(kv, `line ${i + 1}: not Key=Value: ${JSON.stringify(line)}`);
    assert.ok(section, `line ${i + 1}: key outside a section`);
    section.set(kv[1]!, [...(section.get(kv[1]!) ?? []), kv[2]!]);
  });
  return ini;
}

test('systemd units parse as INI and run sctpdiag with bpftrace capabilities', () => {
  assert.ok(UNITS.includes('sctpdiag-exporter.service') && UNITS.includes('sctpdiag-events.service'));
  for (const u of UNITS) {
    const ini = parseUnit(readFileSync(join(DEPLOY, 'systemd', u), 'utf8'));
    assert.deepEqual([...ini.keys()], ['Unit', 'Service', 'Install'], u);
    const svc = ini.get('Service')!;
    const exec = svc.get('ExecStart')?.[0] ?? '';
    assert.match(exec, /^\/usr\/bin\/sctpdiag (metrics|trace)\b/, u);
    const caps = (svc.get('AmbientCapabilities') ?? []).join(' ');
    for (const c of u.includes('textfile') ? [] : ['CAP_BPF', 'CAP_PERFMON', 'CAP_SYS_PTRACE']) assert.ok(caps.includes(c), `${u}: ${c}`);
    const bound = (svc.get('CapabilityBoundingSet') ?? []).join(' ').split(/\s+/);
    for (const c of caps.split(/\s+/)) assert.ok(bound.includes(c), `${u}: ambient ${c} must be in the bounding set`);
    assert.equal(svc.get('NoNewPrivileges')?.[0], 'yes');
    assert.ok(ini.get('Install')!.get('WantedBy')?.includes('multi-user.target'));
    assert.ok(ini.get('Unit')!.get('Documentation')?.[0]?.includes('sctpdiag(8)'));
  }
  const exporter = parseUnit(readFileSync(join(DEPLOY, 'systemd/sctpdiag-exporter.service'), 'utf8'));
  assert.ok(exporter.get('Service')!.get('Environment')!.includes('SCTPDIAG_LISTEN=127.0.0.1:10132'), 'loopback by default');
});

test('systemd-analyze verify (when available) finds nothing but the missing binary/man page', (t) => {
  const probe = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return t.skip('systemd-analyze is not available here');
  const r = spawnSync('systemd-analyze', ['verify', ...UNITS.map((u) => join(DEPLOY, 'systemd', u))], { encoding: 'utf8', timeout: 30_000 });
  const env = [/is not executable: No such file or directory/, /Command 'man .*' failed/, /^\s*$/, /Failed to (connect|setup|create|open)/i, /System has not been booted with systemd/i, /sctp.*\.service: Failed to .*(user|group)/i];
  const problems = (r.stderr + r.stdout).split('\n').filter((l) => !env.some((re) => re.test(l)));
  assert.deepEqual(problems, [], r.stderr);
});

function loadYamlWithPython(file: string): unknown[] | null {
  const code = 'import json,sys,yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))';
  const r = spawnSync('python3', ['-c', code, file], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    if (/No module named|ENOENT|not found/.test(`${r.stderr}${r.error?.message ?? ''}`)) return null;
    assert.fail(`YAML does not parse: ${r.stderr}`);
  }
  return JSON.parse(r.stdout) as unknown[];
}

test('the DaemonSet is valid YAML with hostPID, hostNetwork and the bpf mounts', (t) => {
  const file = join(DEPLOY, 'kubernetes/daemonset.yaml');
  const text = readFileSync(file, 'utf8');
  assert.ok(!text.includes('\t'), 'YAML forbids tabs for indentation');
  const docs = loadYamlWithPython(file);
  if (!docs) {
    t.diagnostic('python3 yaml not available: structural text checks only');
    for (const s of ['kind: DaemonSet', 'hostPID: true', 'hostNetwork: true', 'path: /sys/kernel/btf', 'path: /sys/kernel/tracing', 'path: /sys/fs/bpf']) assert.ok(text.includes(s), s);
    return;
  }
  type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const ds = (docs as Any[]).find((d) => d?.kind === 'DaemonSet');
  assert.ok(ds, 'a DaemonSet document');
  assert.equal(ds.apiVersion, 'apps/v1');
  const spec = ds.spec.template.spec as Any;
  assert.deepEqual(ds.spec.selector.matchLabels, ds.spec.template.metadata.labels);
  assert.equal(spec.hostPID, true);
  assert.equal(spec.hostNetwork, true);
  assert.equal(spec.dnsPolicy, 'ClusterFirstWithHostNet');
  const c = spec.containers[0] as Any;
  assert.equal(c.args[0], 'metrics');
  assert.ok(c.args.includes('--web-config'), 'TLS and basic auth');
  for (const cap of ['BPF', 'PERFMON']) assert.ok(c.securityContext.capabilities.add.includes(cap), cap);
  const hostPaths = new Map((spec.volumes as Any[]).map((v) => [v.name as string, v.hostPath?.path as string]));
  const mounts = new Map((c.volumeMounts as Any[]).map((m) => [m.name as string, m.mountPath as string]));
  for (const p of ['/sys/kernel/btf', '/sys/kernel/tracing', '/sys/fs/bpf']) {
    const name = [...hostPaths].find(([, hp]) => hp === p)?.[0];
    assert.ok(name, `hostPath ${p}`);
    assert.equal(mounts.get(name), p, `mounted at ${p}`);
  }
  assert.equal(c.ports[0].containerPort, 10132);
});

test('deploy/README.md documents every file', () => {
  const readme = readFileSync(join(DEPLOY, 'README.md'), 'utf8');
  for (const u of UNITS) assert.ok(readme.includes(u), u);
  assert.ok(readme.includes('daemonset.yaml'));
});
