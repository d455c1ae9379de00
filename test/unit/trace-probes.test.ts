// Probe files: headers, capability assessment against the real 6.1 listings.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, mkdir, writeFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { packageRoot } from '../../src/package-files.js';
const PACKAGE_ROOT = packageRoot();
import { tracefsFiles } from '../../src/kernel/tracefs.js';
import { hostMountPrefix, kallsymsProbes, assessProbes, layoutProgram, detectCapabilities, listingSet, loadProbeFiles, parseProbeHeader } from '../../src/trace/probes.js';
import { EVENT_TYPES } from '../../src/events/types.js';

const fx = (p: string) => readFileSync(join(PACKAGE_ROOT, 'test/fixtures/linux-6.1-debian/ipv6-asconf-many', p), 'utf8');

test('every probe file declares events and requirements; together they cover the bpf event types', () => {
  const files = loadProbeFiles();
  assert.ok(files.length >= 7);
  for (const f of files) {
    assert.ok(f.events.length > 0, f.name);
    assert.ok(f.requires.length > 0, f.name);
    assert.ok(f.text.includes('$1'), `${f.name} filters by netns ($1)`);
    assert.ok(!/printf\("\{/.test(f.text), `${f.name}: no JSON from printf`);
  }
  const covered = new Set(files.flatMap((f) => f.events));
  for (const t of ['path.state', 'path.primary', 'peer.added', 'peer.removed', 'asconf.received', 'assoc.up', 'assoc.down', 'assoc.restart', 'path.rtx_timeout', 'path.heartbeat', 'path.metrics'] as const)
    assert.ok(covered.has(t), t);
  assert.ok([...covered].every((t) => (EVENT_TYPES as readonly string[]).includes(t)));
  assert.match(layoutProgram(files).text, /---- path-state\.bt/);
});

test('assessment against the lab kernel listings: everything attachable there', () => {
  const avail = listingSet(fx('bpftrace_kfuncs_sctp.txt') + fx('bpftrace_kprobes_sctp.txt') + 'tracepoint:sctp:sctp_probe\ntracepoint:sctp:sctp_probe_path\n');
  const r = assessProbes(loadProbeFiles(), avail);
  assert.deepEqual(r.filter((p) => !p.ok), []);
});

test('a kernel without a function: that probe is reported with what is missing', () => {
  const avail = listingSet('kfunc:sctp:sctp_assoc_control_transport\n');
  const r = assessProbes(loadProbeFiles(), avail);
  assert.equal(r.find((p) => p.name === 'path-state')!.ok, true);
  const hb = r.find((p) => p.name === 'heartbeat')!;
  assert.equal(hb.ok, false);
  assert.ok(hb.missing.includes('kprobe:sctp_sf_sendbeat_8_3'));
});

test('header parsing ignores unknown event names', () => {
  assert.deepEqual(parseProbeHeader('// events: path.state bogus\n// requires: kretfunc:sctp:x\nkfunc:x {}\n// events: peer.added'), {
    events: ['path.state'],
    requires: ['kretfunc:sctp:x'],
  });
});

test('detection: no bpftrace / not root → unavailable with a reason', async () => {
  const files = loadProbeFiles();
  assert.match((await detectCapabilities({ bpftrace: null, files })).unavailable ?? '', /not installed/);
  assert.match((await detectCapabilities({ bpftrace: '/bin/true', capEff: 0n, files })).unavailable ?? '', /root/);
  assert.match((await detectCapabilities({ bpftrace: '/bin/true', capEff: (1n << 40n) - 1n, sysRoot: '/nonexistent', files })).unavailable ?? '', /BTF|kprobes/);
});

test('kallsyms: sctp module functions and tracepoints become probe names', () => {
  const text = [
    'ffffffffc0a01000 t sctp_assoc_control_transport\t[sctp]',
    'ffffffffc0a02000 T sctp_assoc_set_primary\t[sctp]',
    'ffffffffc0a03000 d __tracepoint_sctp_probe_path\t[sctp]',
    'ffffffffc0a04000 t __pfx_sctp_x\t[sctp]',
    'ffffffff81000000 T do_exit',
  ].join('\n');
  const s = kallsymsProbes(text, true);
  assert.ok(s.has('kfunc:sctp:sctp_assoc_control_transport'));
  assert.ok(s.has('kprobe:sctp_assoc_set_primary'));
  assert.ok(s.has('tracepoint:sctp:sctp_probe_path'));
  assert.ok(!s.has('kprobe:do_exit') && !s.has('kprobe:__pfx_sctp_x'));
  assert.ok(!kallsymsProbes(text, false).has('kfunc:sctp:sctp_assoc_set_primary'));
});

test('hostMountPrefix: tracefs (or the old debugfs mount) visible here → no nsenter prefix', async () => {
  for (const which of [0, 1]) {
    const root = await mkdtemp(join(tmpdir(), 'sctpdiag-tracefs-'));
    try {
      const f = tracefsFiles(join(root, 'sys'), 'available_filter_functions')[which]!;
      await mkdir(dirname(f), { recursive: true });
      await writeFile(f, 'sctp_packet_transmit [sctp]\n');
      // a /proc whose own and pid 1's mount namespaces differ: the prefix would be nsenter if tracefs were absent
      const proc = join(root, 'proc');
      await mkdir(join(proc, 'self/ns'), { recursive: true });
      await mkdir(join(proc, '1/ns'), { recursive: true });
      await symlink('mnt:[1]', join(proc, 'self/ns/mnt'));
      await symlink('mnt:[2]', join(proc, '1/ns/mnt'));
      assert.deepEqual(hostMountPrefix(join(root, 'sys'), proc), [], `tracefs at ${f}`);
      await rm(f);
      const prefix = hostMountPrefix(join(root, 'sys'), proc);
      // without tracefs bpftrace goes to pid 1's mount namespace (nsenter: util-linux, essential on Debian)
      assert.deepEqual(prefix.slice(1), [`--mount=${proc}/1/ns/mnt`, '--']);
      assert.match(prefix[0]!, /nsenter$/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }
});
