// sctpdiag top with a links file: the LINK column, the filter, the detail line and the header's
// links up/down (an expected link without association is down), on the real failover series.
import test from 'node:test';
import assert from 'node:assert/strict';
import { parseLinks, linkHealth } from '../../src/links/links.js';
import { TopState } from '../../src/top/state.js';
import { frameText } from '../helpers.js';
import { layoutColumns } from '../../src/top/view.js';
import { EVENT_SCHEMA_VERSION, type SctpEvent } from '../../src/events/types.js';
import { CLI, failoverSnapshot as failover } from '../helpers.js';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// assoc 7 is 6003→5000, assoc 3 6001→5001, assoc 5 6002→5000 (peers 10.1.0.2 and 10.2.0.2)
const LINKS = parseLinks(
  `m3ua-a local-port=6003 min-active=2
m3ua-b peer=10.1.0.2 peer-port=5001 min-active=2
hss-1 peer-port=3868
`,
  'links.conf',
);

function state(links = LINKS): TopState {
  const s = new TopState({ host: 'h', baseIntervalMs: 1000, replay: null, links });
  s.resize(120, 30);
  return s;
}

const header = (s: TopState) => s.frame().header.lines[1]!;
const rowOf = (s: TopState, id: number) => s.frame().table!.lines.find((l) => new RegExp(`^\\s*${id} `).test(l.text))!.text;

test('linkHealth: every link in file order; none, not ESTABLISHED or no ACTIVE path is down', () => {
  const t6 = failover(6);
  const items = t6.associations.map((assoc) => ({ assoc, link: assoc.localPort === 6003 ? 'm3ua-a' : assoc.localPort === 6001 ? 'm3ua-b' : null }));
  const h = linkHealth(LINKS, items);
  assert.deepEqual(
    h.map((l) => [l.spec.name, l.up, l.associations, l.activePaths]),
    [
      ['m3ua-a', false, 1, 0], // assoc 0: COOKIE_WAIT, its path UNKNOWN
      ['m3ua-b', true, 1, 1], // assoc 3: 10.1.0.2 INACTIVE, 10.2.0.2 ACTIVE
      ['hss-1', false, 0, 0],
    ],
  );
  assert.deepEqual(linkHealth([], items), []);
});

test('top: LINK column and header; a link without association is DOWN from the first read', () => {
  const s = state();
  s.applySnapshot(failover(0), { atMs: 0, readMs: 1 });
  assert.match(rowOf(s, 7), /6003→5000 +m3ua-a /);
  assert.match(rowOf(s, 3), /6001→5001 +m3ua-b /);
  assert.match(rowOf(s, 5), /6002→5000 +- /);
  assert.match(s.frame().table!.lines[0]!.text, /PORTS +LINK /);
  const h = header(s);
  assert.match(h.text, /^links 1\/3 DOWN hss-1 · events/);
  assert.equal(h.tone, 'fail');
  // s cycles through the LINK column too
  const seen = new Set<string>();
  for (let i = 0; i < 12; i++) {
    s.key('s', 's');
    seen.add(s.sort.column);
  }
  assert.ok(seen.has('link'));
});

test('top: both paths of m3ua-a INACTIVE (down), m3ua-b on one path (below min-active); then a reconnect attempt', () => {
  const s = state();
  s.applySnapshot(failover(0), { atMs: 0, readMs: 1 });
  s.applySnapshot(failover(4), { atMs: 4000, readMs: 1 });
  assert.match(header(s).text, /^links 2\/3 DOWN m3ua-a,hss-1 · below min-active m3ua-b · /);
  // t6: assoc 7 is gone; assoc 0 (COOKIE_WAIT, 6003→5000) belongs to m3ua-a but does not make it up
  s.applySnapshot(failover(6), { atMs: 6000, readMs: 1 });
  assert.match(rowOf(s, 0), /6003→5000 +m3ua-a /);
  assert.match(header(s).text, /^links 2\/3 DOWN m3ua-a,hss-1 · below min-active m3ua-b/);
});

test('top: a path event on a linked association updates the link without a full read', () => {
  const s = state();
  s.applySnapshot(failover(4), { atMs: 0, readMs: 1 });
  assert.match(header(s).text, /below min-active m3ua-b/);
  const e: SctpEvent = {
    schemaVersion: EVENT_SCHEMA_VERSION,
    time: '2026-01-01T00:00:05.000Z',
    type: 'path.state',
    severity: 'info',
    source: 'bpf',
    netns: null,
    assoc: { id: 3, localPort: 6001, peerPort: 5001 },
    path: '10.1.0.2',
    from: 'INACTIVE',
    to: 'ACTIVE',
  };
  s.applyEvent(e);
  assert.doesNotMatch(header(s).text, /below min-active/);
  assert.match(header(s).text, /^links 2\/3 DOWN m3ua-a,hss-1 · /);
});

test('top: the filter matches link names; the detail names the link and its health', () => {
  const s = state();
  s.applySnapshot(failover(4), { atMs: 0, readMs: 1 });
  s.key('/', '/');
  for (const ch of 'm3ua-b') s.key(ch, ch);
  s.key('enter');
  assert.deepEqual(
    s.view().map((r) => r.assoc.id),
    [3],
  );
  s.key('enter');
  const text = frameText(s.frame());
  assert.match(text, /^assoc 3 ESTABLISHED .*\n^link m3ua-b: /m);
  assert.match(text, /link m3ua-b: up · 1 ACTIVE path\(s\), min-active 2 · 1 association\(s\)/);
});

test('top: no associations at all: every link is named down', () => {
  const s = state();
  const t0 = failover(0);
  s.applySnapshot({ ...t0, associations: [] }, { atMs: 0, readMs: 1 });
  const text = frameText(s.frame());
  assert.match(text, /links 3\/3 DOWN m3ua-a,m3ua-b,hss-1/);
  assert.match(text, /every link is down: m3ua-a, m3ua-b, hss-1/);
});

test('top without links: no LINK column and no links in the header', () => {
  const s = state([]);
  s.applySnapshot(failover(0), { atMs: 0, readMs: 1 });
  assert.doesNotMatch(s.frame().table!.lines[0]!.text, /LINK/);
  assert.doesNotMatch(header(s).text, /links/);
  assert.ok(!layoutColumns(200).some((c) => c.col.id === 'link'));
  assert.ok(layoutColumns(200, [], true).some((c) => c.col.id === 'link'));
  // all links up: counted at the end, not a warning
  const up = state(parseLinks('a local-port=6001\nb local-port=6002', 'f'));
  up.applySnapshot(failover(0), { atMs: 0, readMs: 1 });
  assert.match(header(up).text, / · links 2\/2 up · 3 assocs/);
  assert.equal(header(up).tone, 'normal');
});

test('top --links: a bad file is refused with file:line (exit 2) before the terminal check', () => {
  const f = join(mkdtempSync(join(tmpdir(), 'top-links-')), 'links.conf');
  writeFileSync(f, 'ok local-port=1\nbad peer=nowhere\n');
  const r = spawnSync(process.execPath, [CLI, 'top', '--links', f], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: peer: "nowhere" is not an IP address`));
  assert.doesNotMatch(r.stderr, /terminal/);
});
