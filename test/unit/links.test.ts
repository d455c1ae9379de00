// Named links: the links file (format, errors with file:line, untrusted-file rules) and the sctp_link_* series from captures.
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { linkOf, parseLinks, LinksError, MAX_LINKS } from '../../src/links/links.js';
import { loadLinks, MAX_LINKS_BYTES } from '../../src/links/load.js';
import { buildMetrics, eventLinkResolver, pathRoles } from '../../src/metrics/registry.js';
import { EventCounts } from '../../src/metrics/events.js';
import { parseExposition, sampleSum } from '../exposition.js';
import { readSnapshot } from '../../src/procfs/read.js';
import { EXIT, SctpdiagError } from '../../src/errors.js';
import { CAPTURES } from '../helpers.js';
import type { Snapshot } from '../../src/model/snapshot.js';

const snap = (c: string) => readSnapshot({ procRoot: join(CAPTURES, c), netns: null, owners: false });
const reading = (snapshots: Snapshot[]) => ({ snapshots, at: Date.now(), durationMs: 2, servedForMs: 1000, error: null });
const LINKS = `# links of the two-path lab
m3ua-a   peer=10.1.0.2,10.2.0.2 peer-port=5001 min-active=2   # multi-homed
diam-b   local-port=6002
absent-c peer=192.0.2.9
`;

test('links file: fields, defaults, comments, IPv6 normalised', () => {
  const l = parseLinks(`${LINKS}\nv6 peer=2001:DB8:0:0:0:0:0:1,[2001:db8::2]\n`, 'f');
  assert.equal(l.length, 4);
  assert.deepEqual(l[0], { name: 'm3ua-a', peers: ['10.1.0.2', '10.2.0.2'], peerPort: 5001, localPort: null, minActive: 2, line: 2 });
  assert.equal(l[1]!.minActive, 1);
  assert.deepEqual(l[3]!.peers, ['2001:db8::1', '2001:db8::2']);
});

test('links file errors name file:line', () => {
  const bad: [string, RegExp][] = [
    ['ok peer=10.0.0.1\nbad$name peer=10.0.0.1', /^f:2: link name/],
    ['a peer=10.0.0.1\na local-port=1', /^f:2: link a is defined twice/],
    ['a peer=10.0.0.300', /^f:1: peer: "10.0.0.300" is not an IP address/],
    ['a peer-port=70000', /^f:1: peer-port/],
    ['a local-port=0', /^f:1: local-port/],
    ['a peer=10.0.0.1 min-active=0', /^f:1: min-active/],
    ['a peer=10.0.0.1 colour=red', /^f:1: unknown key "colour"/],
    ['a peer=10.0.0.1 peer=10.0.0.2', /^f:1: peer given twice/],
    ['a 10.0.0.1', /^f:1: "10.0.0.1": expected key=value/],
    ['\n\na min-active=2', /^f:3: link a matches every association/],
  ];
  for (const [text, re] of bad) assert.throws(() => parseLinks(text, 'f'), (e: unknown) => e instanceof LinksError && re.test(e.message), text);
  const many = Array.from({ length: MAX_LINKS + 1 }, (_, i) => `l${i} local-port=${i + 1}`).join('\n');
  assert.throws(() => parseLinks(many, 'f'), /more than 256 links/);
});

test('an association belongs to the first link it matches; ports and peers must all agree', () => {
  const l = parseLinks('x peer=10.1.0.2 peer-port=1\ny peer=10.1.0.2\nz local-port=7', 'f');
  const a = (lp: number, pp: number, addrs: string[]) => ({ localPort: lp, peerPort: pp, paths: addrs.map((address) => ({ address })) });
  assert.equal(linkOf(l, a(5, 1, ['10.9.9.9', '10.1.0.2']))?.name, 'x');
  assert.equal(linkOf(l, a(5, 2, ['10.1.0.2']))?.name, 'y');
  assert.equal(linkOf(l, a(7, 2, ['10.3.0.2']))?.name, 'z');
  assert.equal(linkOf(l, a(8, 2, ['10.3.0.2'])), null);
});

test('loadLinks: a missing default is no links; explicit files must be small regular files, not symlinks or FIFOs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sctpdiag-links-'));
  const good = join(dir, 'links.conf');
  writeFileSync(good, LINKS);
  assert.equal((await loadLinks(good)).length, 3);
  const code = async (p: string) => {
    try {
      await loadLinks(p);
      return 'no error';
    } catch (e) {
      assert.ok(e instanceof SctpdiagError, String(e));
      return `${e.exitCode} ${e.message}`;
    }
  };
  assert.match(await code(join(dir, 'nope')), new RegExp(`^${EXIT.NOT_FOUND} cannot read .*nope: it does not exist`));
  symlinkSync(good, join(dir, 'link'));
  assert.match(await code(join(dir, 'link')), /^2 refusing to read .*link: it is a symbolic link/);
  assert.match(await code(dir), /^2 refusing to read .*: it is a directory/);
  execFileSync('mkfifo', [join(dir, 'fifo')]);
  assert.match(await code(join(dir, 'fifo')), /^2 refusing to read .*fifo: it is a FIFO/);
  writeFileSync(join(dir, 'big'), '#'.repeat(MAX_LINKS_BYTES + 1));
  assert.match(await code(join(dir, 'big')), /^2 refusing to read .*big: it is larger than/);
  writeFileSync(join(dir, 'bad'), 'a\n');
  assert.match(await code(join(dir, 'bad')), new RegExp(`^2 ${dir}/bad:1: link a matches every association`));
});

test('sctp_link_* from the failover capture: named, expected-but-absent is up 0, paths by state', async () => {
  const m = buildMetrics({ links: parseLinks(LINKS, 'f') });
  m.update(reading([await snap('two-path-a-fail-t6')]), null);
  const f = parseExposition(await m.registry.metrics());
  // assoc 3 (6001→5001, two local addresses, primary 10.1.0.2 INACTIVE); assoc 5 (6002→5000, one local address)
  assert.equal(sampleSum(f, 'sctp_link_up', { link: 'm3ua-a' }), 1);
  assert.equal(sampleSum(f, 'sctp_link_up', { link: 'absent-c' }), 0);
  assert.equal(f.get('sctp_link_up')!.samples.length, 3);
  assert.equal(sampleSum(f, 'sctp_link_associations', { link: 'absent-c' }), 0);
  assert.equal(sampleSum(f, 'sctp_link_associations', { link: 'm3ua-a' }), 1);
  assert.equal(sampleSum(f, 'sctp_link_paths', { link: 'm3ua-a', state: 'ACTIVE' }), 1);
  assert.equal(sampleSum(f, 'sctp_link_paths', { link: 'm3ua-a', state: 'INACTIVE' }), 1);
  assert.equal(sampleSum(f, 'sctp_link_paths', { link: 'absent-c', state: 'ACTIVE' }), 0);
  assert.equal(sampleSum(f, 'sctp_link_min_active_paths', { link: 'm3ua-a' }), 2);
  assert.equal(sampleSum(f, 'sctp_link_primary_not_active', { link: 'm3ua-a' }), 1);
  assert.equal(sampleSum(f, 'sctp_link_local_addresses', { link: 'm3ua-a' }), 2);
  assert.equal(sampleSum(f, 'sctp_link_local_addresses', { link: 'diam-b' }), 1);
  assert.equal(sampleSum(f, 'sctp_link_locally_single_homed', { link: 'diam-b' }), 1);
  assert.equal(sampleSum(f, 'sctp_link_locally_single_homed', { link: 'm3ua-a' }), 0);
  assert.equal(sampleSum(f, 'sctp_link_retransmitted_chunks_total', { link: 'm3ua-a' }), 16);
  assert.ok(sampleSum(f, 'sctp_link_max_rto_seconds', { link: 'm3ua-a' }) > 0);
  assert.equal(sampleSum(f, 'sctp_link_events_total', { link: 'absent-c', type: 'path.state' }), 0, 'zero from the start');
  // per association: the link label and the operators' gauges
  assert.equal(sampleSum(f, 'sctp_association_local_addresses', { assoc_id: '3', link: 'm3ua-a' }), 2);
  assert.equal(sampleSum(f, 'sctp_association_locally_single_homed', { assoc_id: '5', link: 'diam-b' }), 1);
  assert.equal(sampleSum(f, 'sctp_association_primary_not_active', { assoc_id: '3' }), 1);
  assert.equal(sampleSum(f, 'sctp_association_primary_not_active', { assoc_id: '5' }), 0);
  assert.equal(sampleSum(f, 'sctp_association_retransmitted_chunks_total', { assoc_id: '3' }), 16);
  assert.equal(f.get('sctp_association_retransmitted_chunks_total')!.type, 'counter');
  assert.equal(sampleSum(f, 'sctp_association_tx_queue_bytes', { assoc_id: '3' }), 0);
});

test('tx/rx queue bytes and link sums from the capture with queued data', async () => {
  const m = buildMetrics({ links: parseLinks('all6002 local-port=6002\nall6001 local-port=6001', 'f') });
  m.update(reading([await snap('two-path-a')]), null);
  const f = parseExposition(await m.registry.metrics());
  assert.equal(sampleSum(f, 'sctp_association_tx_queue_bytes', { assoc_id: '5' }), 1024);
  assert.equal(sampleSum(f, 'sctp_link_tx_queue_bytes', { link: 'all6002' }), 1024);
  assert.equal(sampleSum(f, 'sctp_link_rx_queue_bytes', { link: 'all6002' }), 0);
  assert.equal(sampleSum(f, 'sctp_link_paths', { link: 'all6001', state: 'ACTIVE' }), 2);
});

test('events are counted per link: by association id, or by ports and path when the id is new', async () => {
  const links = parseLinks(LINKS, 'f');
  const m = buildMetrics({ links });
  m.update(reading([await snap('two-path-a-fail-t6')]), null);
  const ev = new EventCounts();
  ev.linkOf = eventLinkResolver(m, links);
  const base = { schemaVersion: 1 as const, time: 't', source: 'procfs' as const, severity: 'warn' as const, netns: null };
  ev.count({ ...base, type: 'path.state', assoc: { id: 3 }, path: '10.1.0.2', from: 'ACTIVE', to: 'INACTIVE' });
  ev.count({ ...base, type: 'path.rtx_timeout', assoc: { id: 99, localPort: 7, peerPort: 9 }, path: '192.0.2.9' });
  ev.count({ ...base, type: 'path.state', assoc: { id: 98, localPort: 7, peerPort: 9 }, path: '198.51.100.1' });
  m.update(reading([await snap('two-path-a-fail-t6')]), ev);
  const f = parseExposition(await m.registry.metrics());
  assert.equal(sampleSum(f, 'sctp_link_events_total', { link: 'm3ua-a', type: 'path.state' }), 1);
  assert.equal(sampleSum(f, 'sctp_link_events_total', { link: 'absent-c', type: 'path.rtx_timeout' }), 1);
  assert.equal(sampleSum(f, 'sctp_link_events_total', { type: 'path.state' }), 1, 'an event of no link is in no link');
  assert.equal(sampleSum(f, 'sctp_events_total', { type: 'path.state' }), 2);
});

test('path roles: primary, then alternates in kernel order', () => {
  assert.deepEqual(pathRoles([{ primary: false }, { primary: true }, { primary: false }]), ['alt1', 'primary', 'alt2']);
});

test('status names associations by link: text header, JSON `links`, valid against the schema', async () => {
  const { collectStatus, printStatus } = await import('../../src/commands/status.js');
  const { makeStyle } = await import('../../src/render/style.js');
  const { checkSchema } = await import('../schema-check.js');
  const { readFileSync } = await import('node:fs');
  const { ROOT } = await import('../helpers.js');
  const r = collectStatus(await snap('two-path-a-fail-t6'), {}, 'h', parseLinks(LINKS, 'f'));
  assert.deepEqual(r.links, { '3': 'm3ua-a', '5': 'diam-b' });
  const text = printStatus(r, makeStyle(false));
  assert.match(text, /^assoc 3 .* link m3ua-a$/m);
  assert.match(text, /^assoc 5 .* link diam-b$/m);
  assert.doesNotMatch(text, /^assoc 0 .* link /m);
  const schema = JSON.parse(readFileSync(join(ROOT, 'schema', 'status.schema.json'), 'utf8'));
  assert.deepEqual(checkSchema(schema, JSON.parse(JSON.stringify(r))), []);
  assert.equal(collectStatus(await snap('two-path-a-fail-t6'), {}, 'h').links, undefined, 'no links file: no links key');
});

test('trace names events by link (procfs fallback on the real failover series), text and JSON', async () => {
  const { traceSettings } = await import('../../src/commands/trace.js');
  const { runTrace } = await import('../../src/trace/run.js');
  const { formatEventLine } = await import('../../src/trace/sinks.js');
  const { plain } = await import('../../src/render/style.js');
  const { Writable } = await import('node:stream');
  const { failoverSeries } = await import('../helpers.js');
  const series = await failoverSeries();
  let text = '';
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  let i = 0;
  await runTrace(traceSettings({ bpf: false, interval: '100', duration: '2', events: 'all' }), {
    procRoot: '/proc',
    netns: null,
    hz: 250,
    json: true,
    style: plain,
    out,
    links: parseLinks(LINKS, 'f'),
    pipeline: { read: async () => series[Math.min(i++, series.length - 1)]! },
  });
  const events = text.trim().split('\n').map((l) => JSON.parse(l) as { type: string; assoc?: { id: number }; link?: string; path?: string });
  const states = events.filter((e) => e.type === 'path.state');
  assert.ok(states.some((e) => e.assoc?.id === 3 && e.link === 'm3ua-a'), text);
  assert.ok(states.some((e) => e.assoc?.id === 5 && e.link === 'diam-b'), text);
  assert.ok(states.filter((e) => e.assoc?.id === 7).every((e) => e.link === undefined), 'assoc 7 (6003->5000) is in no link');
  const line = formatEventLine({ schemaVersion: 1, time: '2026-01-01T00:00:00.000Z', type: 'path.state', source: 'procfs', severity: 'warn', netns: null, assoc: { id: 3, localPort: 6001, peerPort: 5001 }, path: '10.1.0.2', from: 'ACTIVE', to: 'PF', link: 'm3ua-a' }, plain);
  assert.match(line, /assoc 3 6001->5001  link m3ua-a  10\.1\.0\.2/);
});
