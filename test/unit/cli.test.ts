import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, capture } from '../helpers.js';
import { EXIT } from '../../src/errors.js';
import { stripNetnsArgs } from '../../src/netns.js';

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', SCTPDIAG_NETNS: '', ...env },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('--version and --help exit 0', () => {
  const v = run(['--version']);
  assert.equal(v.code, 0);
  assert.match(v.out, /^\d+\.\d+\.\d+\n$/);
  const h = run(['status', '--help']);
  assert.equal(h.code, 0);
  assert.match(h.out, /--peer <addr>/);
});

test('no /proc/net/sctp: one clear line, exit 3, no stack trace', () => {
  const empty = mkdtempSync(join(tmpdir(), 'nosctp-'));
  const r = run(['--proc-root', empty, 'status']);
  assert.equal(r.code, EXIT.NO_SCTP);
  assert.match(r.err, /SCTP is not available in this kernel/);
  assert.match(r.err, /modprobe sctp/);
  assert.doesNotMatch(r.err, /at .*\.js:\d+/);
});

test('unknown --proc-root: exit 5; unknown option and bad values: exit 2', () => {
  assert.equal(run(['--proc-root', '/nonexistent/dir', 'status']).code, EXIT.NOT_FOUND);
  const u = run(['status', '--bogus']);
  assert.equal(u.code, EXIT.USAGE);
  assert.match(u.err, /unknown option '--bogus'/);
  const p = run(['--proc-root', capture('two-path-a'), 'status', '--port', '99999']);
  assert.equal(p.code, EXIT.USAGE);
  assert.match(p.err, /--port: "99999" is not a port/);
  assert.equal(run(['--hz', '123', 'status']).code, EXIT.USAGE);
});

test('every number option: a bad value is a usage error (exit 2) naming the option and its range', () => {
  const cap = capture('two-path-a');
  const cases: Array<[string[], RegExp]> = [
    [['failover-time', '--rtt', 'abc'], /--rtt: "abc" is not a number of ms in 0\.\.86400000 \(up to 3 decimals\)$/m],
    [['failover-time', '--rtt', '1.2345'], /--rtt: "1\.2345" is not a number of ms in 0\.\.86400000 \(up to 3 decimals\)/],
    [['failover-time', '--rttvar', '86400001'], /--rttvar: "86400001" is not a number of ms in 0\.\.86400000/],
    [['failover-time', '--rto0', '1e3'], /--rto0: "1e3" is not a number of ms/],
    [['failover-time', '--pf-enable', '2'], /--pf-enable: "2" is not a value of pf_enable in 0\.\.1/],
    [['failover-time', '--rto-min', '0'], /--rto-min: "0" is not a value of rto_min in 1\.\.86400000/],
    [['failover-time', '--pf-retrans', '-1'], /--pf-retrans: "-1" is not a value of pf_retrans in 0\.\.65535/],
    [['tune', '--rtt', '1e9'], /--rtt: "1e9" is not a number of ms in 0\.\.86400000/],
    [['tune', '--wait', '3601'], /--wait: "3601" is not a number of seconds in 0\.\.3600/],
    [['--netns-pid', '0', 'status'], /--netns-pid: "0" is not a process id in 1\.\.4194304/],
    [['--netns-pid', '1x', 'status'], /--netns-pid: "1x" is not a process id/],
    [['--proc-root', cap, 'drill', '--path', '10.0.0.1', '--for', '600'], /--for: "600" is not a duration in 1s\.\.120s/],
    [['--proc-root', cap, 'drill', '--path', '10.0.0.1', '--target', 'PF=3m'], /--target PF: "3m" is not a duration in 0s\.\.120s/],
    [['--proc-root', cap, 'metrics', '--once', '--listen', '127.0.0.1:65536'], /--listen: "65536" is not a port in 0\.\.65535/],
  ];
  for (const [args, msg] of cases) {
    const r = run(args);
    assert.equal(r.code, EXIT.USAGE, `${args.join(' ')}\n${r.err}`);
    assert.match(r.err, msg, args.join(' '));
  }
});

test('--netns: hostile or unknown names are refused before anything runs', () => {
  const bad = run(['--netns', 'a;reboot', 'status']);
  assert.equal(bad.code, EXIT.USAGE);
  assert.match(bad.err, /invalid namespace name/);
  assert.equal(run(['--netns', '../../etc', 'status']).code, EXIT.USAGE);
  const missing = run(['--netns', 'no-such-ns-xyz', 'status'], { SCTPDIAG_NETNS: '' });
  assert.equal(missing.code, EXIT.NOT_FOUND);
  assert.match(missing.err, /does not exist/);
  assert.equal(run(['--netns', 'a', '--proc-root', '/tmp', 'status']).code, EXIT.USAGE);
  assert.equal(run(['--netns-pid', '1x', 'status']).code, EXIT.USAGE);
});

test('stripNetnsArgs removes only the namespace options', () => {
  assert.deepEqual(stripNetnsArgs(['--netns', 'a', 'status', '--json', '--netns=b', '--all-netns', '--', '--netns']), [
    'status',
    '--json',
    '--',
    '--netns',
  ]);
});

test('status --json on a capture: schemaVersion, paths, findings; warnings for a damaged capture go to stderr', () => {
  const r = run(['--proc-root', capture('two-path-a-fail-t6'), '--json', 'status']);
  assert.equal(r.code, 0);
  const j = JSON.parse(r.out);
  assert.equal(j.schemaVersion, 1);
  assert.equal(j.hz.value, 250);
  assert.equal(j.associations.length, 3);
  const damaged = mkdtempSync(join(tmpdir(), 'damaged-'));
  mkdirSync(join(damaged, 'net/sctp'), { recursive: true });
  for (const f of ['eps', 'remaddr', 'snmp'])
    writeFileSync(join(damaged, 'net/sctp', f), readFileSync(join(capture('two-path-a'), 'net/sctp', f)));
  const lines = readFileSync(join(capture('two-path-a'), 'net/sctp/assocs'), 'utf8').split('\n');
  lines[2] = lines[2]!.slice(0, 40);
  writeFileSync(join(damaged, 'net/sctp/assocs'), lines.join('\n'));
  const d = run(['--proc-root', damaged, '--hz', '250', 'status', '--json']);
  assert.equal(d.code, 0);
  assert.match(d.err, /warning: .*assocs:3: /);
  assert.equal(JSON.parse(d.out).associations.length, 2);
});

test('capture writes a /proc-like copy that status reads back identically; refuses a non-empty dir', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'cap-')), 'case-1');
  const c = run(['--proc-root', capture('two-path-a'), 'capture', dir]);
  assert.equal(c.code, 0, c.err);
  assert.ok(readdirSync(join(dir, 'net/sctp')).includes('remaddr'));
  assert.equal(readFileSync(join(dir, 'sys/net/sctp/rto_min'), 'utf8').trim(), '200');
  const a = run(['--proc-root', capture('two-path-a'), '--json', 'status']);
  const b = run(['--proc-root', dir, '--json', 'status']);
  const strip = (s: string) => {
    const j = JSON.parse(s);
    delete j.takenAt;
    return j;
  };
  assert.deepEqual(strip(b.out).associations, strip(a.out).associations);
  const again = run(['--proc-root', capture('two-path-a'), 'capture', dir]);
  assert.equal(again.code, EXIT.USAGE);
  assert.match(again.err, /not empty/);
});

test('`status | head`: the reader going away ends sctpdiag quietly with exit 0 (as SIGPIPE would), no EPIPE trace', async () => {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [CLI, '--proc-root', capture('many-a'), 'status', '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SCTPDIAG_NETNS: '' },
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  // like head -c 1: take the first piece, then close the pipe
  await new Promise<void>((res) => child.stdout.once('data', () => res()));
  child.stdout.destroy();
  const code = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
  assert.equal(code, 0, err);
  assert.doesNotMatch(err, /EPIPE|at .*\.js:\d+/);
});

test('SCTPDIAG_TIMING=1: one timing line on stderr, steps in order; nothing without it', () => {
  const r = run(['--proc-root', capture('many-a'), '--json', 'status'], { SCTPDIAG_TIMING: '1' });
  assert.equal(r.code, 0, r.err);
  JSON.parse(r.out); // stdout is still the report alone
  const m = /^sctpdiag: timing (\{.*\})$/m.exec(r.err);
  assert.ok(m, r.err);
  const t = JSON.parse(m[1]!) as Record<string, number>;
  const steps = ['cli', 'loaded', 'assocs', 'remaddr', 'filesAndConfig', 'built', 'written', 'done'];
  for (const s of steps) assert.equal(typeof t[s], 'number', `${s} in ${m[1]}`);
  for (let i = 1; i < steps.length; i++)
    if (steps[i] !== 'remaddr' && steps[i - 1] !== 'remaddr') assert.ok(t[steps[i]!]! >= t[steps[i - 1]!]!, `${steps[i - 1]} ≤ ${steps[i]}`);
  assert.doesNotMatch(run(['--proc-root', capture('many-a'), '--json', 'status']).err, /timing/);
});

test('VALUED_GLOBALS (lazy command loading) are the global options program.ts declares with a value', async () => {
  const { buildProgram, VALUED_GLOBALS } = await import('../../src/program.js');
  const valued = new Set<string>();
  for (const o of (await buildProgram('status')).options) {
    if (o.long === '--version') continue;
    for (const name of [o.short, o.long]) if (name && (o.required || o.optional)) valued.add(name);
  }
  assert.deepEqual([...valued].sort(), [...VALUED_GLOBALS].sort());
});

test('commandName: the word that picks the one command module to load', async () => {
  const { commandName } = await import('../../src/program.js');
  assert.equal(commandName(['status']), 'status');
  assert.equal(commandName(['--json', '--hz', '250', 'status', '--port', '5000']), 'status');
  assert.equal(commandName(['-n', 'status', 'top']), 'top', '-n takes a value: a namespace may be called "status"');
  assert.equal(commandName(['--proc-root', '/x', '--netns-pid', '7', 'tune', '--dry-run']), 'tune');
  assert.equal(commandName(['--hz=250', 'doctor']), 'doctor');
  assert.equal(commandName(['--', 'metrics']), 'metrics');
  assert.equal(commandName(['--help']), undefined);
  assert.equal(commandName([]), undefined);
  // a misspelt name loads every command, so commander can suggest the right one
  const r = run(['stauts']);
  assert.equal(r.code, 2);
  assert.match(r.err, /Did you mean status\?/);
});
