import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildSnapshot, withoutReprints, type Snapshot } from '../../src/model/snapshot.js';
import type { Hz } from '../../src/kernel/hz.js';
import { parseAssocs, parseEps, parseRemaddr, parseSnmp } from '../../src/procfs/parse.js';
import { real } from '../helpers.js';

const HZ250: Hz = { value: 250, source: 'boot-config', detail: 'test' };

function snap(assocs: string, remaddr: string, eps = 'two-path-failover/a_eps.txt', hz = HZ250): Snapshot {
  return buildSnapshot({
    takenAt: new Date('2026-11-01T00:00:00Z'),
    netns: 'a',
    kernelRelease: '6.1.0-56-amd64',
    hz,
    assocs: parseAssocs(real(assocs)),
    eps: parseEps(real(eps)),
    remaddr: parseRemaddr(real(remaddr)),
    snmp: parseSnmp(real('two-path-failover/a_snmp.txt')),
  });
}

test('paths join their association by ASSOC_ID; RTO and HBINT in ms from HZ', () => {
  const s = snap('two-path-failover/a_assocs.txt', 'two-path-failover/a_remaddr.txt');
  const a3 = s.associations.find((a) => a.id === 3)!;
  assert.deepEqual(
    a3.paths.map((p) => [p.address, p.state, p.primary, p.rtoMs]),
    [
      ['10.1.0.2', 'ACTIVE', true, 504],
      ['10.2.0.2', 'ACTIVE', false, 200],
    ],
  );
  assert.equal(a3.heartbeatIntervalMs, 1000);
  assert.equal(a3.primaryPath, '10.1.0.2');
  assert.equal(a3.activePath, '10.1.0.2');
  // RTO 50 jiffies = rto_min 200 ms and 250 = rto_max 1000 ms at HZ 250 (the fixture's sysctls)
  const all = s.associations.flatMap((a) => a.paths.map((p) => p.rtoMs));
  assert.ok(all.every((ms) => ms >= 200 && ms <= 1000));
});

test('HZ changes the milliseconds, not the jiffies', () => {
  const s = snap('two-path-failover/a_assocs.txt', 'two-path-failover/a_remaddr.txt', undefined, {
    value: 1000,
    source: 'option',
    detail: '',
  });
  const p = s.associations.find((a) => a.id === 3)!.paths[1]!;
  assert.equal(p.rtoJiffies, 50);
  assert.equal(p.rtoMs, 50);
});

test('the bind() pitfall: a client bound to one address toward a multi-homed peer is flagged', () => {
  const s = snap('two-path-failover/a_assocs.txt', 'two-path-failover/a_remaddr.txt');
  const flagged = s.associations.filter((a) => a.findings.some((f) => f.code === 'locally-single-homed')).map((a) => a.id);
  assert.deepEqual(flagged.sort(), [5, 7]);
  const a3 = s.associations.find((a) => a.id === 3)!;
  assert.deepEqual(a3.findings.map((f) => f.code), ['retransmissions']);
});

test('after the primary link is cut: primary INACTIVE, traffic inferred on the other path', () => {
  const s = snap('two-path-failover/a_assocs_fail_t6.txt', 'two-path-failover/a_remaddr_fail_t6.txt');
  const a3 = s.associations.find((a) => a.id === 3)!;
  assert.equal(a3.paths[0]!.state, 'INACTIVE');
  assert.equal(a3.primaryPath, '10.1.0.2');
  assert.equal(a3.activePath, '10.2.0.2');
  assert.ok(a3.findings.some((f) => f.code === 'primary-not-active' && f.path === '10.1.0.2'));
  assert.ok(a3.findings.some((f) => f.code === 'path-inactive'));
  // assoc 5 lost only its backup path: primary still active, path flagged
  const a5 = s.associations.find((a) => a.id === 5)!;
  assert.equal(a5.activePath, '10.2.0.2');
  assert.ok(!a5.findings.some((f) => f.code === 'primary-not-active'));
  // the client's retry: id 0, COOKIE_WAIT, path UNKNOWN, keyed by inode and ports
  const retry = s.associations.find((a) => a.id === 0)!;
  assert.equal(retry.state, 'COOKIE_WAIT');
  assert.equal(retry.paths[0]!.state, 'UNKNOWN');
  assert.equal(retry.key, '0:370:6003:5000:10.1.0.2');
});

test('rows with a shared id (handshakes) join group by group, in order', () => {
  const assocs = [
    ' ASSOC     SOCK   STY SST ST HBKT ASSOC-ID TX_QUEUE RX_QUEUE UID INODE LPORT RPORT LADDRS <-> RADDRS HBINT INS OUTS MAXRT T1X T2X RTXC',
    '1 1 0 7 1 0 0 0 0 0 10 6003 5000 10.1.0.1 <-> *10.1.0.2 \t 250 0 10 10 0 0 0',
    '2 2 0 7 1 0 0 0 0 0 11 6004 5000 10.1.0.1 <-> *10.9.0.2 10.9.0.3 \t 250 0 10 10 0 0 0',
  ].join('\n');
  const remaddr = 'ADDR ASSOC_ID HB_ACT RTO MAX_PATH_RTX REM_ADDR_RTX START STATE\n10.1.0.2 0 0 75 2 0 0 65535\n10.9.0.2 0 0 75 2 0 0 65535\n10.9.0.3 0 0 75 2 0 0 65535\n';
  const s = buildSnapshot({
    takenAt: new Date(0),
    netns: null,
    kernelRelease: null,
    hz: HZ250,
    assocs: parseAssocs(assocs),
    eps: parseEps(''),
    remaddr: parseRemaddr(remaddr),
    snmp: parseSnmp(''),
  });
  // both have id 0 and their rows arrive as one run: each gets exactly the rows its RADDRS names
  assert.deepEqual(
    s.associations.map((a) => a.paths.map((p) => p.address)),
    [['10.1.0.2'], ['10.9.0.2', '10.9.0.3']],
  );
});

test('IPv6 association: RFC 5952 addresses, kernel form kept', () => {
  const s = snap('ipv6-asconf-many/many_a_assocs.txt', 'ipv6-asconf-many/many_a_remaddr.txt', 'ipv6-asconf-many/many_a_eps.txt');
  const v6 = s.associations.find((a) => a.localPort === 7001)!;
  assert.deepEqual(
    v6.paths.map((p) => [p.address, p.kernelAddress, p.family]),
    [
      ['fd00:3::2', 'fd00:0003:0000:0000:0000:0000:0000:0002', 6],
      ['fd00:4::2', 'fd00:0004:0000:0000:0000:0000:0000:0002', 6],
    ],
  );
  assert.equal(s.associations.filter((a) => a.style === 'one-to-one').length, 200);
});

test('an association or path printed twice (the table changed during the read) is listed once', () => {
  const assocs = real('two-path-failover/a_assocs.txt');
  const remaddr = real('two-path-failover/a_remaddr.txt');
  const twice = (text: string) => {
    const lines = text.trimEnd().split('\n');
    return [...lines, ...lines.slice(1)].join('\n') + '\n'; // every row again, as a seam could repeat one
  };
  const build = (a: string, r: string) =>
    buildSnapshot({
      takenAt: new Date('2026-11-01T00:00:00Z'),
      netns: 'a',
      kernelRelease: '6.1.0-56-amd64',
      hz: HZ250,
      assocs: parseAssocs(a),
      eps: parseEps(real('two-path-failover/a_eps.txt')),
      remaddr: parseRemaddr(r),
      snmp: parseSnmp(real('two-path-failover/a_snmp.txt')),
    });
  const once = build(assocs, remaddr);
  assert.ok(once.associations.length >= 2);
  assert.deepEqual(build(twice(assocs), twice(remaddr)).associations, once.associations);
  assert.deepEqual(build(assocs, twice(remaddr)).associations, once.associations, 'paths too');
  // a record repeated right after itself, as at a page seam
  const seam = (text: string, at: number) => {
    const lines = text.trimEnd().split('\n');
    return [...lines.slice(0, at + 1), lines[at]!, ...lines.slice(at + 1)].join('\n') + '\n';
  };
  assert.deepEqual(build(seam(assocs, 1), seam(remaddr, 1)).associations, once.associations, 'in place');
  // id 0 (handshake) rows are not merged: several associations may share it
  const zero = assocs.trimEnd().split('\n');
  const row = zero[1]!.replace(/^(\s*\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+)\d+/, '$10');
  assert.equal(build([zero[0], row, row].join('\n') + '\n', '').associations.length, 2);
});

test('withoutReprints keeps the first print of every (id, part), every id-0 row, and the order', () => {
  type Row = { id: number; part: string; n: number };
  const plain = (rows: Row[]) => {
    const seen = new Set<string>();
    return rows.filter((r) => r.id === 0 || (!seen.has(`${r.id} ${r.part}`) && seen.add(`${r.id} ${r.part}`)));
  };
  const row = fc.record({ id: fc.integer({ min: 0, max: 4 }), part: fc.constantFrom('a', 'b', 'c') });
  // runs of one id, as the kernel prints an association's paths, make the fast path likely
  const runs = fc.array(fc.tuple(fc.integer({ min: 0, max: 6 }), fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 3 })), { maxLength: 8 }).map((rs) => rs.flatMap(([id, parts]) => parts.map((part) => ({ id, part }))));
  fc.assert(
    fc.property(fc.oneof(fc.array(row, { maxLength: 30 }), runs), (raw) => {
      const rows = raw.map((r, n) => ({ ...r, n }));
      const out = withoutReprints(rows, (r) => r.id, (r) => r.part);
      assert.deepEqual(out, plain(rows));
    }),
  );
});
