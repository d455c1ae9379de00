// Issue #13 item 9: control characters from outside never reach the terminal raw.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { escapeControl } from '../../src/render/escape.js';
import { formatEventLine } from '../../src/trace/sinks.js';
import { plain } from '../../src/render/style.js';
import { CLI, capture } from '../helpers.js';

const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/; // anything but \t and \n

test('escapeControl: C0, DEL, C1 and bidi overrides are shown, printable text (UTF-8 included) is kept', () => {
  assert.equal(escapeControl('\u001b]0;owned\u0007x'), '\\x1b]0;owned\\x07x');
  assert.equal(escapeControl('a\nb\tc\rd\u007f\u009b'), 'a\\x0ab\\x09c\\x0dd\\x7f\\x9b');
  assert.equal(escapeControl('evil\u202egnp.exe'), 'evil\\u{202e}gnp.exe');
  assert.equal(escapeControl('sctp_peer · é 10.0.0.1 [::1]'), 'sctp_peer · é 10.0.0.1 [::1]');
});

test('trace line: a comm set by any local user is escaped', () => {
  const line = formatEventLine(
    { schemaVersion: 1, time: '2026-01-01T00:00:00.000Z', type: 'assoc.up', source: 'procfs', severity: 'info', netns: null, assoc: { id: 1, owners: [{ pid: 42, comm: 'x\u001b[2J\u001b]0;pwn\u0007' }] }, reason: 'r\u001b[8m' },
    plain,
  );
  assert.doesNotMatch(line, RAW);
  assert.match(line, /x\\x1b\[2J\\x1b\]0;pwn\\x07\[42\]/);
});

test('CLI: kernel release from a capture, sysctl file names and error messages are escaped', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sctpdiag-esc-'));
  cpSync(capture('two-path-a'), dir, { recursive: true });
  mkdirSync(join(dir, 'sys/kernel'), { recursive: true });
  writeFileSync(join(dir, 'sys/kernel/osrelease'), '6.1.0\u001b[2J\u001b]0;owned\u0007\n');
  const metaFile = join(dir, 'sctpdiag-capture.json');
  const meta = JSON.parse(readFileSync(metaFile, 'utf8'));
  writeFileSync(metaFile, JSON.stringify({ ...meta, kernelRelease: '6.1.0\u001b[2J', netns: 'a\u001b]0;owned\u0007', hostname: 'h\u001b[8m' }));
  writeFileSync(join(dir, 'sys/net/sctp/evil\u001b[31mname'), '1\u001b[0m\n');
  const env = { ...process.env, NO_COLOR: '1', SCTPDIAG_NETNS: '' };
  for (const args of [['status'], ['doctor'], ['sysctl']]) {
    const r = spawnSync(process.execPath, [CLI, '--proc-root', dir, ...args], { encoding: 'utf8', env });
    assert.ok(r.stdout.length > 0, `${args}: ${r.stderr}`);
    assert.doesNotMatch(r.stdout, RAW, args.join(' '));
    assert.doesNotMatch(r.stderr, RAW, args.join(' '));
  }
  const st = spawnSync(process.execPath, [CLI, '--proc-root', dir, 'status'], { encoding: 'utf8', env });
  assert.match(st.stdout, /kernel 6\.1\.0\\x1b\[2J/);
  const s = spawnSync(process.execPath, [CLI, '--proc-root', dir, 'sysctl'], { encoding: 'utf8', env });
  assert.match(s.stdout, /evil\\x1b\[31mname = 1\\x1b\[0m/);
  const e = spawnSync(process.execPath, [CLI, '--proc-root', dir, 'tune', '--profile-file', join(dir, 'no\u001b[2Jfile')], { encoding: 'utf8', env });
  assert.equal(e.status, 5);
  assert.match(e.stderr, /no\\x1b\[2Jfile/);
  assert.doesNotMatch(e.stderr, RAW);
});

// Issue #13 item 12: exit codes and the man page agree.
test('doctor --sample on a capture exits 2, as the man page says', async () => {
  const { readFileSync: rf } = await import('node:fs');
  const man = rf(join(process.cwd(), 'man/sctpdiag.8'), 'utf8');
  const r = spawnSync(process.execPath, [CLI, '--proc-root', capture('two-path-a'), 'doctor', '--sample', '100'], { encoding: 'utf8', env: { ...process.env, SCTPDIAG_NETNS: '' } });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--sample/);
  const sample = man.slice(man.indexOf('.It Fl \\-sample Ar ms'), man.indexOf('.It Fl \\-profile Ar name', man.indexOf('.It Fl \\-sample Ar ms')));
  assert.match(sample, /refused \(exit 2\)/);
  assert.doesNotMatch(man, /\.Fl \\-sample\nis ignored/);
});
