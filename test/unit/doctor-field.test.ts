// Field checks (issue 17): parsers on real outputs, checks on fake trees.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile, rm, symlink, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkAbortsOotb,
  checkIpvs,
  checkModuleBlocked,
  checkModuleInstalled,
  checkNat,
  checkRpFilter,
  checkSctpMem,
  parseIptablesNat,
  parseModprobeConf,
  parseNftNat,
  parseProtocols,
  type FieldFacts,
} from '../../src/doctor/field.js';
import { gatherField } from '../../src/doctor/field-gather.js';
import { gatherFacts, type Runner } from '../../src/doctor/gather.js';
import { runChecks } from '../../src/doctor/checks.js';
import type { DoctorFacts } from '../../src/doctor/types.js';

const FIX = join(process.cwd(), 'test/fixtures/field');
const CAPS = join(process.cwd(), 'test/fixtures/captures');

const none: Runner = async () => ({ code: null, stdout: '', stderr: '', error: 'ENOENT' });

async function tree(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'sctpdiag-field-'));
  for (const [p, text] of Object.entries(files)) {
    await mkdir(join(root, p, '..'), { recursive: true });
    await writeFile(join(root, p), text);
  }
  return root;
}

const platform = (loaded: boolean): DoctorFacts['platform'] => ({
  sctpModule: loaded, sctpBuiltin: false, sctpDiagModule: loaded, bpftraceVersion: null, btfVmlinux: true, btfSctp: true, kprobeEvents: null, uid: 0, capEff: null,
});

test('modprobe.d: blacklist and install /bin/true found, comments and other modules ignored, continuation lines joined', () => {
  const b = parseModprobeConf('/etc/modprobe.d/x.conf', '# blacklist sctp\nblacklist sctp_diag\nblacklist sctp\ninstall sctp \\\n  /bin/true\ninstall dccp /bin/true\ninstall sctp /sbin/modprobe --ignore-install sctp\n');
  assert.deepEqual(b.map((x) => [x.line, x.kind]), [[3, 'blacklist'], [4, 'install']]);
});

test('blocked module: /etc hides /lib of the same name; RHEL remedy names kernel-modules-extra; loaded → warn, not loaded → fail', async () => {
  const root = await tree({
    'etc/modprobe.d/sctp-blacklist.conf': 'blacklist sctp\n',
    'lib/modprobe.d/sctp-blacklist.conf': 'install sctp /bin/true\n',
    'usr/lib/modprobe.d/cis.conf': 'install sctp /bin/false\n',
    'etc/os-release': 'NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\n',
    'proc/sys/kernel/osrelease': '5.14.0-427.el9.x86_64\n',
    'proc/cmdline': 'BOOT_IMAGE=/vmlinuz ro quiet\n',
    'lib/modules/5.14.0-427.el9.x86_64/modules.dep': 'kernel/net/ipv4/udp_tunnel.ko.xz:\n',
  });
  try {
    const ff = await gatherField({ procRoot: join(root, 'proc'), fsRoot: root, live: false, run: none });
    const m = ff.modules!;
    assert.deepEqual(m.blocks.map((b) => `${b.file}:${b.kind}`), ['/etc/modprobe.d/sctp-blacklist.conf:blacklist', '/usr/lib/modprobe.d/cis.conf:install']);
    const f = { platform: platform(false) } as DoctorFacts;
    const r = checkModuleBlocked(f, ff);
    assert.equal(r.severity, 'fail');
    assert.match(r.remedy, /kernel-modules-extra/);
    assert.ok(r.evidence.includes('/usr/lib/modprobe.d/cis.conf:1: install sctp /bin/false'));
    assert.equal(checkModuleBlocked({ platform: platform(true) } as DoctorFacts, ff).severity, 'warn');
    const inst = checkModuleInstalled(f, ff);
    assert.equal(inst.severity, 'fail');
    assert.match(inst.remedy, /dnf install kernel-modules-extra/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('blocked module: a symlinked conf is not read but named; kernel command line blacklist; Debian tree with sctp.ko.xz is installed', async () => {
  const root = await tree({
    'etc/os-release': 'ID=debian\n',
    'proc/sys/kernel/osrelease': '6.1.0-57-amd64\n',
    'proc/cmdline': 'BOOT_IMAGE=/vmlinuz root=/dev/vda module_blacklist=dccp,sctp\n',
    'lib/modules/6.1.0-57-amd64/modules.dep': 'kernel/net/sctp/sctp.ko: kernel/lib/libcrc32c.ko\nkernel/net/sctp/sctp_diag.ko: kernel/net/sctp/sctp.ko\n',
  });
  try {
    await mkdir(join(root, 'etc/modprobe.d'), { recursive: true });
    await symlink('/etc/passwd', join(root, 'etc/modprobe.d/evil.conf'));
    const ff = await gatherField({ procRoot: join(root, 'proc'), fsRoot: root, live: false, run: none });
    assert.deepEqual(ff.modules!.installed, ['kernel/net/sctp/sctp.ko']);
    assert.equal(ff.modules!.cmdline, 'module_blacklist=dccp,sctp');
    const r = checkModuleBlocked({ platform: platform(false) } as DoctorFacts, ff);
    assert.equal(r.severity, 'fail');
    assert.ok(r.evidence.some((e) => /evil\.conf: a symbolic link, not read/.test(e)));
    assert.match(r.remedy, /boot loader/);
    assert.equal(checkModuleInstalled({ platform: platform(false) } as DoctorFacts, ff).severity, 'ok');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('sctp_mem: /proc/net/protocols of kernel 6.1 parsed; ok, close, pressure, max', async () => {
  // the header and a line as net/core/sock.c proto_seq_show() prints them (test/lab/field.test.ts reads the real 6.1 file)
  const text = (mem: string, press: string): string =>
    'protocol  size sockets  memory press maxhdr  slab module     cl co di ac io in de sh ss gs se re bi br ha uh gp em\n' +
    'TCP       2304      1     451   no     192   yes  kernel      y  y  y  y  y  y  y  y  y  y  y  y  n  y  y  y  y  y\n' +
    `SCTP      1600      2  ${mem.padStart(6)}   ${press.padEnd(3)}    620   yes  sctp        y  y  y  y  y  y  y  y  y  y  y  y  n  y  y  y  y  n\n`;
  assert.deepEqual(parseProtocols(text('12', 'no')), { usedPages: 12, pressure: 'no' });
  assert.deepEqual(parseProtocols(text('-1', 'NI')), { usedPages: null, pressure: 'NI' });
  assert.equal(parseProtocols('protocol  size sockets  memory press\nTCP 1 2 3 no\n'), null);
  // captured in the lab (6.1, netns a): SCTP line after SCTPv6, memory 0
  assert.deepEqual(parseProtocols(await readFile(join(FIX, 'protocols-6.1.txt'), 'utf8')), { usedPages: 0, pressure: 'no' });
  const ff = (used: number, press = 'no'): FieldFacts => ({ modules: null, rpFilter: null, ipvs: null, conntrack: null, nat: null, sctpMem: { limits: [1000, 2000, 3000], usedPages: used, pressure: press } });
  assert.equal(checkSctpMem(ff(10)).severity, 'ok');
  assert.equal(checkSctpMem(ff(1700)).severity, 'info');
  assert.match(checkSctpMem(ff(1700)).title, /85%/);
  assert.equal(checkSctpMem(ff(10, 'yes')).severity, 'warn');
  assert.equal(checkSctpMem(ff(2500)).severity, 'warn');
  assert.equal(checkSctpMem(ff(3000)).severity, 'fail');
  const netns = checkSctpMem({ ...ff(0), sctpMem: { limits: null, usedPages: 0, pressure: 'no' } });
  assert.equal(netns.severity, 'info');
  assert.match(netns.title, /initial one/);
});

test('nft -j: SCTP NAT rules (nft 1.0.6 output) named, TCP-only NAT skipped, all-protocol NAT reported as such; garbage refused', async () => {
  const lab = parseNftNat(await readFile(join(FIX, 'nft-lab-6.1.json'), 'utf8'));
  assert.deepEqual(lab.map((r) => r.summary), ['ip fieldnat post handle 4: snat (sctp)']);
  const rules = parseNftNat(await readFile(join(FIX, 'nft-ruleset.json'), 'utf8'));
  // nft 1.0.6 (Debian 12): snat by meta l4proto, masquerade by sctp dport and by ip protocol 132; tcp and {tcp, udp} skipped, filter rules ignored
  assert.deepEqual(rules.map((r) => r.summary), ['ip natt post handle 2: snat (sctp)', 'ip natt post handle 3: masquerade (sctp)', 'ip natt post handle 7: masquerade (sctp)']);
  const tcpOnly = JSON.stringify({ nftables: [{ rule: { family: 'ip', table: 't', chain: 'c', handle: 1, expr: [{ match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 80 } }, { masquerade: null }] } }, { rule: { family: 'ip', table: 't', chain: 'c', handle: 2, expr: [{ match: { op: '==', left: { meta: { key: 'oifname' } }, right: 'eth0' } }, { masquerade: null }] } }, { rule: { family: 'ip', table: 't', chain: 'c', handle: 3, expr: [{ match: { op: '!=', left: { meta: { key: 'l4proto' } }, right: 'tcp' } }, { snat: { addr: '192.0.2.1' } }] } }] });
  const r2 = parseNftNat(tcpOnly);
  assert.deepEqual(r2.map((r) => [r.explicitSctp, r.summary]), [[false, 'ip t c handle 2: masquerade (every protocol)'], [false, 'ip t c handle 3: snat (every protocol)']]);
  assert.throws(() => parseNftNat('{"x":1}'), /nftables/);
  const f = { snapshot: null } as unknown as DoctorFacts;
  const base: FieldFacts = { modules: null, rpFilter: null, ipvs: null, conntrack: null, sctpMem: null, nat: { rules, unavailable: [] } };
  assert.equal(checkNat(f, base).severity, 'warn');
  assert.equal(checkNat(f, { ...base, nat: { rules: r2, unavailable: [] } }).severity, 'info');
  assert.equal(checkNat(f, { ...base, nat: { rules: [], unavailable: [] } }).severity, 'ok');
});

test('iptables-save: nat table rules by tokens', () => {
  const text = '# Generated by iptables-save v1.8.9 (legacy)\n*filter\n-A INPUT -p sctp -j SNAT\nCOMMIT\n*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -p sctp -o eth1 -j SNAT --to-source 192.0.2.1\n-A POSTROUTING -p tcp -j MASQUERADE\n-A POSTROUTING ! -p tcp -j MASQUERADE\n-A PREROUTING -p sctp -j ACCEPT\nCOMMIT\n';
  assert.deepEqual(parseIptablesNat(text).map((r) => [r.explicitSctp, r.summary]), [[true, 'nat POSTROUTING: SNAT (sctp)'], [false, 'nat POSTROUTING: MASQUERADE (every protocol)']]);
});

test('IPVS: sloppy_sctp 0 with an SCTP service warns, without one is info, 1 is ok', async () => {
  // as net/netfilter/ipvs/ip_vs_ctl.c ip_vs_info_seq_show() prints it
  // captured in the lab (6.1): `ipvsadm -A --sctp-service 10.1.0.1:7000 -s rr`, one real server
  const text = (await readFile(join(FIX, 'ip_vs-6.1.txt'), 'utf8')) + 'TCP  0A010001:0050 rr \n';
  const root = await tree({ 'proc/net/ip_vs': text, 'proc/sys/net/ipv4/vs/sloppy_sctp': '0\n', 'proc/sys/net/ipv4/conf/all/rp_filter': '0\n' });
  try {
    const ff = await gatherField({ procRoot: join(root, 'proc'), fsRoot: null, live: true, run: none, ifAddrs: () => ({}) });
    assert.equal(ff.ipvs?.sctpServices.length, 1);
    assert.match(ff.ipvs!.sctpServices[0]!, /^10\.1\.0\.1:7000 rr$/);
    assert.equal(checkIpvs(ff).severity, 'warn');
    assert.equal(checkIpvs({ ...ff, ipvs: { ...ff.ipvs!, sctpServices: [] } }).severity, 'info');
    assert.equal(checkIpvs({ ...ff, ipvs: { ...ff.ipvs!, sloppySctp: '1' } }).severity, 'ok');
    assert.deepEqual(ff.nat?.unavailable, ['nft: not installed']);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('rp_filter: max(all, if) strict on the interface a path arrives on while its route leaves elsewhere → warn', async () => {
  const root = await tree({ 'proc/sys/net/ipv4/conf/all/rp_filter': '0\n', 'proc/sys/net/ipv4/conf/va1/rp_filter': '0\n', 'proc/sys/net/ipv4/conf/va2/rp_filter': '1\n' });
  try {
    const ifAddrs = () => ({ va1: ['10.1.0.1/24'], va2: ['10.2.0.1/24'] });
    const base = await gatherFacts({ procRoot: join(CAPS, 'two-path-a'), netns: null, fsRoot: null, stateDir: '/nonexistent' });
    const snap = base.snapshot!;
    const multi = snap.associations.find((a) => a.paths.length > 1)!;
    // the capture's association is locally single-homed: give it both local addresses
    const a = { ...multi, localAddresses: [{ address: '10.1.0.1', primarySource: true }, { address: '10.2.0.1', primarySource: false }] } as typeof multi;
    const f = { ...base, snapshot: { ...snap, associations: [a] } } as DoctorFacts;
    const rp = (await gatherField({ procRoot: join(root, 'proc'), fsRoot: null, live: true, run: none, ifAddrs })).rpFilter!;
    const ff: FieldFacts = { modules: null, sctpMem: null, ipvs: null, conntrack: null, nat: null, rpFilter: rp };
    const asym = checkRpFilter({ ...f, routes: new Map([['10.1.0.2', { dst: '10.1.0.2', dev: 'va1', gateway: null, prefsrc: null }], ['10.2.0.2', { dst: '10.2.0.2', dev: 'va1', gateway: null, prefsrc: null }]]) }, ff);
    assert.equal(asym.severity, 'warn');
    assert.ok(asym.evidence.some((e) => /path 10\.2\.0\.2: route leaves by va1, but rp_filter is strict on va2 .*where packets from 10\.2\.0\.2 arrive/.test(e)), asym.evidence.join('\n'));
    const sym = checkRpFilter({ ...f, routes: new Map([['10.1.0.2', { dst: '10.1.0.2', dev: 'va1', gateway: null, prefsrc: null }], ['10.2.0.2', { dst: '10.2.0.2', dev: 'va2', gateway: null, prefsrc: null }]]) }, ff);
    assert.equal(sym.severity, 'info', JSON.stringify(sym));
    // loose everywhere: ok even with the asymmetry
    const loose = { ...rp, effective: { va1: { all: 2, iface: 0 }, va2: { all: 2, iface: 0 } } };
    assert.equal(checkRpFilter({ ...f, routes: asym && new Map([['10.2.0.2', { dst: '10.2.0.2', dev: 'va1', gateway: null, prefsrc: null }]]) }, { ...ff, rpFilter: loose }).severity, 'ok');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('doctor on a capture: field checks run (no module tree without --fs-root) and are reported in their own category', async () => {
  const f = await gatherFacts({ procRoot: join(CAPS, 'two-path-a'), netns: null, stateDir: '/nonexistent' });
  const ids = runChecks(f).filter((r) => r.category === 'field').map((r) => `${r.id}:${r.severity}`);
  assert.ok(ids.includes('field.sctp-module-blocked:info'), ids.join(' '));
  assert.ok(ids.includes('field.sctp-nat:info'), ids.join(' '));
  assert.equal(ids.length, 8);
});

test('aborts and OOTB: counters since boot are info, growth during --sample warns', async () => {
  const f = await gatherFacts({ procRoot: join(CAPS, 'two-path-a'), netns: null, stateDir: '/nonexistent' });
  const snap = f.snapshot!;
  const at = (ab: number, ootb: number) => ({ ...snap, snmp: { ...snap.snmp, SctpAborteds: ab, SctpOutOfBlues: ootb } });
  assert.equal(checkAbortsOotb({ ...f, snapshot: at(0, 0) }).severity, 'ok');
  const since = checkAbortsOotb({ ...f, snapshot: at(2, 5) });
  assert.equal(since.severity, 'info');
  assert.deepEqual(since.evidence, ['SctpAborteds 2 since boot', 'SctpOutOfBlues 5 since boot']);
  const grew = checkAbortsOotb({ ...f, snapshot: at(2, 5), later: at(2, 9), sampleMs: 1000 });
  assert.equal(grew.severity, 'warn');
  assert.match(grew.title, /^SctpOutOfBlues grew during 1000 ms/);
  assert.equal(checkAbortsOotb({ ...f, snapshot: at(2, 5), later: at(2, 5), sampleMs: 1000 }).severity, 'ok');
});
