// sctpdiag top: the pure view-model and app state, on real captures (no terminal).
import test from 'node:test';
import assert from 'node:assert/strict';
import { readSnapshot } from '../../src/procfs/read.js';
import type { Snapshot } from '../../src/model/snapshot.js';
import { EVENT_SCHEMA_VERSION, type SctpEvent } from '../../src/events/types.js';
import {
  filterRows,
  formatEvent,
  healthSummary,
  layoutColumns,
  rate,
  rates,
  reconcile,
  sortRows,
  sparkline,
  type Row,
} from '../../src/top/view.js';
import { TopState } from '../../src/top/state.js';
import { capture, failoverSnapshot, frameText, makeRow } from '../helpers.js';

const failover = failoverSnapshot;

const rowsOf = (s: Snapshot): Row[] => s.associations.map((a) => makeRow(a));
const ids = (rows: readonly Row[]) => rows.map((r) => r.assoc.id);

test('health summaries and colours on the failover series', () => {
  const t0 = failover(0);
  assert.deepEqual(
    t0.associations.map((a) => [a.id, healthSummary(a.paths)]),
    [
      [7, '2/2 up'],
      [3, '2/2 up'],
      [5, '2/2 up'],
    ],
  );
  const t6 = failover(6);
  const by = new Map(rowsOf(t6).map((r) => [r.assoc.id, r]));
  assert.equal(healthSummary(by.get(3)!.assoc.paths), '1/2 INACT');
  assert.equal(by.get(3)!.health, 'warn'); // primary INACTIVE, traffic on 10.2.0.2
  assert.equal(by.get(0)!.assoc.state, 'COOKIE_WAIT');
  assert.equal(healthSummary(by.get(0)!.assoc.paths), '1/1 UNKN');
  assert.equal(healthSummary([{ state: 'ACTIVE' }, { state: 'PF' }]), '1/2 PF');
  assert.equal(healthSummary([]), '-');
  // locally single-homed is a configuration warning, not path health
  assert.equal(makeRow(t0.associations.find((a) => a.id === 7)!).health, 'ok');
  // t4: assoc 7 has lost both paths
  const t2 = rowsOf(failover(4)).find((r) => r.assoc.id === 7)!;
  assert.equal(healthSummary(t2.assoc.paths), '2/2 INACT');
  assert.equal(t2.health, 'fail');
});

test('sorting by columns, ties by id, direction', async () => {
  const snap = await readSnapshot({ procRoot: capture('many-a'), netns: null });
  const rows = rowsOf(snap);
  assert.equal(rows.length, 201);
  const byId = ids(sortRows(rows, { column: 'id', descending: false }));
  assert.deepEqual(byId, [...byId].sort((a, b) => a - b));
  const byRto = sortRows(rows, { column: 'rto', descending: true });
  assert.equal(byRto[0]!.assoc.id, 3); // the IPv6 one-to-many association has the highest RTO (452 ms)
  const byPorts = sortRows(rows, { column: 'ports', descending: false }).map((r) => r.assoc.localPort);
  assert.deepEqual(byPorts, [...byPorts].sort((a, b) => a - b));
  const byStyle = sortRows(rows, { column: 'style', descending: false });
  assert.equal(byStyle[0]!.assoc.style, 'one-to-many');
  // health ascending puts the worst first
  const t6 = sortRows(rowsOf(failover(4)), { column: 'health', descending: false });
  assert.equal(t6[0]!.assoc.id, 7);
});

test('filtering: words must all match, case-insensitive', async () => {
  const rows = rowsOf(await readSnapshot({ procRoot: capture('many-a'), netns: null }));
  assert.deepEqual(ids(filterRows(rows, 'fd00:4::2')), [3]);
  assert.deepEqual(ids(filterRows(rows, 'FD00:3:: 7001')), [3]);
  assert.equal(filterRows(rows, ':8000').length, 200);
  assert.equal(filterRows(rows, 'nothing-like-this').length, 0);
  assert.equal(filterRows(rows, '  ').length, 201);
  const t6 = rowsOf(failover(6));
  assert.deepEqual(ids(filterRows(t6, 'inactive')), [5, 3]);
});

test('selection stays on the same association while others come and go', () => {
  const state = new TopState({ host: 'h', baseIntervalMs: 1000, replay: null });
  state.resize(100, 30);
  state.applySnapshot(failover(0), { atMs: 0, readMs: 1 });
  // ids sorted 3 5 7: select 7
  assert.deepEqual(ids(state.view()), [3, 5, 7]);
  state.key('down');
  state.key('j');
  assert.equal(state.selected()!.assoc.id, 7);
  state.key('k');
  assert.equal(state.selected()!.assoc.id, 5);
  // t6: assoc 7 is gone and a new one (id 0) appeared at the top; 5 stays selected
  for (let t = 1; t <= 6; t++) state.applySnapshot(failover(t), { atMs: t * 1000, readMs: 1 });
  assert.deepEqual(ids(state.view()), [0, 3, 5]);
  assert.equal(state.selected()!.assoc.id, 5);
  assert.equal(state.sel.index, 2);
  // the selected association disappears: the row now at its position is selected
  state.key('k');
  assert.equal(state.selected()!.assoc.id, 3);
  state.applySnapshot(failover(0), { atMs: 7000, readMs: 1 });
  assert.equal(state.selected()!.assoc.id, 3);
  // reconcile: gone key, index clamped to the new end
  const rows = rowsOf(failover(0)).slice(0, 1);
  assert.deepEqual(reconcile({ key: 'gone', index: 5, offset: 3 }, rows, 10), { key: rows[0]!.key, index: 0, offset: 0 });
});

test('scrolling keeps the selection visible; only visible rows reach the frame', async () => {
  const state = new TopState({ host: 'h', baseIntervalMs: 1000, replay: 'x' });
  state.resize(80, 24);
  state.applySnapshot(await readSnapshot({ procRoot: capture('many-a'), netns: null }), { atMs: 0, readMs: 1 });
  const visible = state.tableRows();
  assert.equal(state.frame().table!.lines.length, visible + 1);
  state.key('pagedown');
  state.key('pagedown');
  const f = state.frame();
  const sel = f.table!.lines.filter((l) => l.inverse && !l.bold);
  assert.equal(sel.length, 1);
  assert.match(sel[0]!.text, new RegExp(`^\\s*${state.selected()!.assoc.id} `));
  state.key('G');
  assert.equal(state.sel.index, 200);
  assert.equal(state.sel.offset, 201 - visible);
  state.key('g');
  assert.deepEqual([state.sel.index, state.sel.offset], [0, 0]);
});

test('keys: sort cycles through visible columns, filter mode, pause, help, quit', async () => {
  const state = new TopState({ host: 'h', baseIntervalMs: 1000, replay: 'x' });
  state.resize(80, 24);
  state.applySnapshot(await readSnapshot({ procRoot: capture('many-a'), netns: null }), { atMs: 0, readMs: 1 });
  const shown = layoutColumns(80).map((l) => l.col.id);
  const seen: string[] = [];
  for (let i = 0; i < shown.length; i++) {
    assert.equal(state.key('s', 's'), 'render');
    seen.push(state.sort.column);
  }
  assert.deepEqual(new Set(seen), new Set(shown));
  state.key('S', 'S');
  assert.equal(state.sort.descending, true);
  assert.equal(state.key('/', '/'), 'render');
  assert.equal(state.mode, 'filter');
  for (const c of 'fd00') state.key(c, c);
  assert.equal(state.key('q', 'q'), 'render'); // typed into the filter, not quit
  assert.equal(state.filter, 'fd00q');
  state.key('backspace', '\x7f');
  state.key('enter', '\r');
  assert.equal(state.mode, 'table');
  assert.deepEqual(ids(state.view()), [3]);
  assert.match(frameText(state.frame()), /filter "fd00" 1\/201/);
  state.key('escape', '\x1b');
  assert.equal(state.filter, '');
  state.key('p', 'p');
  assert.equal(state.paused, true);
  assert.match(frameText(state.frame()), /PAUSED/);
  state.key('p', 'p');
  state.key('?', '?');
  assert.equal(state.mode, 'help');
  assert.match(frameText(state.frame()), /sctpdiag top — keys/);
  state.key('x', 'x');
  assert.equal(state.mode, 'table');
  state.key('enter', '\r');
  assert.equal(state.mode, 'detail');
  state.key('escape', '\x1b');
  assert.equal(state.mode, 'table');
  assert.equal(state.key('q', 'q'), 'quit');
  assert.equal(state.key('C-c'), 'quit');
});

test('SNMP rates from counter deltas, gauges as values, resets as gaps', () => {
  assert.equal(rate(10, 30, 2000), 10);
  assert.equal(rate(30, 10, 1000), null); // counter went back: restart, no rate
  assert.equal(rate(undefined, 1, 1000), null);
  assert.deepEqual(rates({ A: 1, B: 5 }, { A: 4, B: 5, C: 1 }, 1500), { A: 2, B: 0, C: null });
  const t0 = failover(0);
  const t6 = failover(6);
  const state = new TopState({ host: 'h', baseIntervalMs: 1000, replay: null });
  state.resize(100, 30);
  state.applySnapshot(t0, { atMs: 0, readMs: 1 });
  state.applySnapshot(t6, { atMs: 6000, readMs: 1 });
  const snmp = state.frame().snmp!.lines.map((l) => l.text);
  const line = (label: string) => snmp.find((l) => l.startsWith(label))!;
  const d = (k: string) => ((t6.snmp[k]! - t0.snmp[k]!) / 6).toFixed(2);
  assert.match(line('T3RtxExpired'), new RegExp(`${d('SctpT3RtxExpireds').replace('.', '\\.')}/s$`));
  assert.match(line('Aborteds'), /0\.17\/s$/);
  assert.match(line('CurrEstab'), /2$/);
  assert.equal(state.frame().snmp!.lines.find((l) => l.text.startsWith('Aborteds'))!.tone, 'fail');
  assert.equal(sparkline([0, 1, 2, null, 4], 6), ' ▁▃▅ █');
  assert.equal(sparkline([0, 0], 2, true), '__');
});

test('RTXC growth between reads shows as +N', () => {
  const state = new TopState({ host: 'h', baseIntervalMs: 1000, replay: null });
  state.resize(120, 30);
  state.applySnapshot(failover(0), { atMs: 0, readMs: 1 });
  state.applySnapshot(failover(1), { atMs: 1000, readMs: 1 });
  const r = state.view().find((x) => x.assoc.id === 7)!;
  assert.equal(r.rtxcDelta, 2);
  assert.match(frameText(state.frame()), /\+2 3/);
});

test('live events update paths between full reads and fill the log, newest first', () => {
  const state = new TopState({ host: 'h', baseIntervalMs: 1000, replay: null });
  state.resize(100, 30);
  state.applySnapshot(failover(0), { atMs: 0, readMs: 1 });
  const ev = (over: Partial<SctpEvent>): SctpEvent => ({
    schemaVersion: EVENT_SCHEMA_VERSION,
    time: '2026-11-01T12:00:01.000Z',
    type: 'path.state',
    source: 'bpf',
    severity: 'warn',
    netns: 'a',
    ...over,
  });
  state.applyEvent(ev({ assoc: { id: 3 }, path: '10.1.0.2', from: 'ACTIVE', to: 'PF', metrics: { rtoMs: 1000 } }));
  let a3 = state.view().find((r) => r.assoc.id === 3)!;
  assert.equal(healthSummary(a3.assoc.paths), '1/2 PF');
  assert.equal(a3.health, 'warn');
  assert.equal(a3.assoc.paths.find((p) => p.address === '10.1.0.2')!.rtoMs, 1000);
  state.applyEvent(
    ev({ time: '2026-11-01T12:00:02.000Z', severity: 'warn', assoc: { id: 3 }, path: '10.1.0.2', from: 'PF', to: 'INACTIVE' }),
  );
  a3 = state.view().find((r) => r.assoc.id === 3)!;
  assert.equal(a3.assoc.activePath, '10.2.0.2');
  assert.ok(a3.assoc.findings.some((f) => f.code === 'primary-not-active'));
  const log = state.frame().events!.lines.map((l) => l.text);
  assert.match(log[1]!, /^12:00:02 WARN path\.state #3 10\.1\.0\.2 PF→INACTIVE/);
  assert.match(log[2]!, /^12:00:01 WARN path\.state #3 10\.1\.0\.2 ACTIVE→PF/);
  // while paused, events are held and applied on resume
  state.key('p', 'p');
  state.applyEvent(ev({ type: 'assoc.down', severity: 'fail', assoc: { id: 5 } }));
  assert.equal(state.view().find((r) => r.assoc.id === 5)!.assoc.state, 'ESTABLISHED');
  assert.match(state.frame().events!.lines[0]!.text, /1 held while paused/);
  state.key('p', 'p');
  assert.equal(state.view().find((r) => r.assoc.id === 5)!.assoc.state, 'CLOSED');
  assert.equal(state.frame().events!.lines[1]!.tone, 'fail');
  // the next full read replaces what events said
  state.applySnapshot(failover(0), { atMs: 1000, readMs: 1 });
  assert.equal(healthSummary(state.view().find((r) => r.assoc.id === 3)!.assoc.paths), '2/2 up');
  assert.equal(formatEvent(ev({ type: 'source.changed', source: 'sctpdiag', severity: 'info', from: null, to: 'procfs', reason: '--no-bpf' })),
    '12:00:01 info source.changed -→procfs --no-bpf');
});

test('adaptive refresh: backs off when the kernel’s printing is costly (kernel/pacing.ts), shown in the header', () => {
  const state = new TopState({ host: 'h', baseIntervalMs: 1000, replay: null });
  state.resize(100, 30);
  state.applySnapshot(failover(0), { atMs: 0, readMs: 3000, cost: { kernelMs: 30, associations: 3 } });
  assert.equal(state.refreshMs, 1000, 'a slow (cold) read of few associations: as asked');
  state.applySnapshot(failover(0), { atMs: 0, readMs: 400, cost: { kernelMs: 230, associations: 5000 } });
  assert.equal(state.refreshMs, 2300);
  assert.match(frameText(state.frame()).split('\n')[1]!, /refresh 2\.3s adaptive \(read 400 ms\)/);
});

test('informative states: no SCTP, no associations, degraded source', () => {
  const state = new TopState({ host: 'h', baseIntervalMs: 1000, replay: null });
  state.resize(80, 24);
  assert.match(frameText(state.frame()), /reading \/proc\/net\/sctp/);
  state.setError('SCTP is not available in this kernel (/proc/net/sctp does not exist)', 'run `modprobe sctp`');
  state.setSource({ source: 'degraded', reason: 'bpftrace not found' });
  const text = frameText(state.frame());
  assert.match(text, /SCTP is not available/);
  assert.match(text, /hint: run `modprobe sctp`/);
  assert.match(text, /events DEGRADED: bpftrace not found/);
  const empty = { ...failover(0), associations: [] };
  state.applySnapshot(empty, { atMs: 0, readMs: 1 });
  assert.match(frameText(state.frame()), /no SCTP associations/);
  state.setSource({ source: 'bpf', probesAttached: 7 });
  assert.match(frameText(state.frame()), /events bpf \(7 probes\)/);
  // per event type sources in the status line, when not all are bpf
  state.resize(160, 24);
  state.setSource({ source: 'degraded', reason: 'procfs for path.primary (no BTF)', probesAttached: 5, types: 'bpf 6 types; procfs 3 types (no BTF)' });
  assert.match(frameText(state.frame()), /events DEGRADED · bpf 6 types; procfs 3 types \(no BTF\)/);
  state.setSource({ source: 'procfs', reason: '--no-bpf', types: 'procfs 9 types (--no-bpf); none 4 types (--no-bpf)' });
  assert.match(frameText(state.frame()), /events procfs · procfs 9 types \(--no-bpf\); none 4 types/);
  state.resize(80, 24);
  // keys on an empty table do nothing harmful
  for (const k of ['down', 'up', 'pagedown', 'G', 'enter']) state.key(k);
  assert.match(frameText(state.frame()), /no association selected/);
});

test('column layout fits the width and drops the least important first', () => {
  for (const w of [40, 80, 100, 160, 220]) {
    const cols = layoutColumns(w);
    const used = cols.reduce((n, c) => n + c.width, 0) + cols.length - 1;
    assert.ok(used <= w, `width ${w}: ${used}`);
  }
  assert.deepEqual(
    layoutColumns(80).map((c) => c.col.id),
    ['id', 'state', 'ports', 'primary', 'active', 'health', 'rto', 'rtxc'],
  );
  assert.ok(layoutColumns(160).some((c) => c.col.id === 'owner'));
});
