// sctpdiag top at scale: what happens each second and on each full read.
// Work over every row happens only on a full read (or a sort/filter change);
// events update rows in place; RTO history lives in one typed array. No timings.
import test from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { readSnapshot } from '../../src/procfs/read.js';
import type { Association, Snapshot } from '../../src/model/snapshot.js';
import { diffSnapshots } from '../../src/model/diff.js';
import { EVENT_SCHEMA_VERSION, type SctpEvent } from '../../src/events/types.js';
import { HISTORY, RtoHistory } from '../../src/top/history.js';
import { TopState } from '../../src/top/state.js';
import { frameText } from '../helpers.js';
import { runTop } from '../../src/top/run.js';
import { capture, failoverSnapshot } from '../helpers.js';

const failover = failoverSnapshot;

/** every path's RTO moved by k (a new read in which nothing can be reused) */
function moved(s: Snapshot, k: number): Snapshot {
  return {
    ...s,
    associations: s.associations.map((a) => ({ ...a, paths: a.paths.map((p) => ({ ...p, rtoMs: p.rtoMs + k })) })),
  };
}

const ev = (over: Partial<SctpEvent>): SctpEvent => ({
  schemaVersion: EVENT_SCHEMA_VERSION,
  time: '2026-11-01T12:00:01.000Z',
  type: 'path.state',
  source: 'bpf',
  severity: 'warn',
  netns: 'a',
  ...over,
});

test('RTO history ring: oldest dropped past HISTORY, slots freed by sweep and reused empty, growth keeps data', () => {
  const h = new RtoHistory();
  const a = h.alloc(1);
  for (let i = 1; i <= HISTORY + 5; i++) h.push(a, i * 10);
  const v = h.values(a);
  assert.equal(v.length, HISTORY);
  assert.equal(v[0], 60);
  assert.equal(v.at(-1), (HISTORY + 5) * 10);
  assert.equal(h.values(h.alloc(1)).length, 0);
  h.push(a, 1.6); // whole milliseconds
  assert.equal(h.values(a).at(-1), 2);
  // generation 2 keeps only `a`: the other slot is freed and comes back empty
  h.keep(a, 2);
  h.sweep(2);
  assert.equal(h.size, 1);
  const b = h.alloc(2);
  assert.deepEqual(h.values(b), []);
  // past the first 1,024 slots the array grows; every slot keeps its samples
  const many = Array.from({ length: 3000 }, (_, i) => {
    const s = h.alloc(2);
    h.push(s, i);
    h.push(s, i + 1);
    return s;
  });
  assert.deepEqual(h.values(many[0]!), [0, 1]);
  assert.deepEqual(h.values(many[2999]!), [2999, 3000]);
  assert.equal(h.values(a).length, HISTORY);
  assert.equal(h.values(a).at(-1), 2);
});

test('RTO history follows each path across reads (by address), and is gone with its association', () => {
  const state = new TopState({ host: 'h', baseIntervalMs: 1000, replay: null });
  state.resize(100, 30);
  const t0 = failover(0);
  for (let k = 0; k < HISTORY + 3; k++) state.applySnapshot(moved(t0, k), { atMs: k * 1000, readMs: 1 });
  const a3 = t0.associations.find((a) => a.id === 3)!;
  const hist = state.rtoHistory(a3.key);
  assert.deepEqual([...hist.keys()], a3.paths.map((p) => p.address));
  for (const p of a3.paths) {
    const h = hist.get(p.address)!;
    assert.equal(h.length, HISTORY);
    assert.equal(h.at(-1), p.rtoMs + HISTORY + 2);
    assert.equal(h[0], p.rtoMs + 3);
  }
  // the paths listed in the other order: each keeps its own history
  const swapped = { ...t0, associations: t0.associations.map((a) => (a.id === 3 ? { ...a, paths: [...a.paths].reverse() } : a)) };
  state.applySnapshot(swapped, { atMs: 100_000, readMs: 1 });
  for (const p of a3.paths) assert.equal(state.rtoHistory(a3.key).get(p.address)!.at(-1), p.rtoMs);
  // t6: assoc 7 is gone; a new association never inherits its samples
  state.applySnapshot(failover(6), { atMs: 101_000, readMs: 1 });
  assert.equal(state.rtoHistory('7').size, 0);
  const fresh = failover(6).associations.find((a) => a.id === 0)!;
  for (const h of state.rtoHistory(fresh.key).values()) assert.equal(h.length, 1);
});

test('events update the row in place: no re-sort unless its place in the view changes', () => {
  const state = new TopState({ host: 'h', baseIntervalMs: 1000, replay: null });
  state.resize(100, 30);
  state.applySnapshot(failover(0), { atMs: 0, readMs: 1 });
  const view = state.view();
  assert.deepEqual(view.map((r) => r.assoc.id), [3, 5, 7]);
  state.applyEvent(ev({ assoc: { id: 5 }, path: '10.1.0.2', from: 'ACTIVE', to: 'PF', metrics: { rtoMs: 2000 } }));
  // sorted by id: the same array, the row changed inside it
  assert.equal(state.view(), view);
  assert.equal(view[1]!.assoc.paths.find((p) => p.address === '10.1.0.2')?.state, 'PF');
  assert.equal(view[1]!.health, 'warn');
  // sorted by path health (worst first): an event that changes it moves the row
  while (state.sort.column !== 'health') state.key('s', 's');
  assert.equal(state.view()[0]!.assoc.id, 5);
  state.applyEvent(ev({ assoc: { id: 7 }, path: '10.1.0.2', from: 'ACTIVE', to: 'INACTIVE' }));
  state.applyEvent(ev({ assoc: { id: 7 }, path: '10.2.0.2', from: 'ACTIVE', to: 'INACTIVE' }));
  assert.equal(state.view()[0]!.assoc.id, 7);
  // a filter: a row that starts to match appears, one that stops matching goes
  state.key('/', '/');
  for (const c of 'inactive') state.key(c, c);
  state.key('enter');
  assert.deepEqual(state.view().map((r) => r.assoc.id), [7]);
  state.applyEvent(ev({ assoc: { id: 3 }, path: '10.1.0.2', from: 'ACTIVE', to: 'INACTIVE' }));
  assert.deepEqual(new Set(state.view().map((r) => r.assoc.id)), new Set([3, 7]));
  state.applyEvent(ev({ assoc: { id: 7 }, path: '10.1.0.2', from: 'INACTIVE', to: 'ACTIVE' }));
  state.applyEvent(ev({ assoc: { id: 7 }, path: '10.2.0.2', from: 'INACTIVE', to: 'ACTIVE' }));
  assert.deepEqual(state.view().map((r) => r.assoc.id), [3]);
  assert.match(frameText(state.frame()), /filter "inactive" 1\/3/);
});

test('a full read updates rows, drops the gone, adds the new; the header counts ESTABLISHED once per read', () => {
  const state = new TopState({ host: 'h', baseIntervalMs: 1000, replay: null });
  state.resize(100, 30);
  state.applySnapshot(failover(0), { atMs: 0, readMs: 1 });
  assert.match(frameText(state.frame()), /3 assocs 3 ESTAB/);
  state.applySnapshot(failover(6), { atMs: 6000, readMs: 1 });
  assert.deepEqual(state.view().map((r) => r.assoc.id), [0, 3, 5]);
  assert.match(frameText(state.frame()), /3 assocs 2 ESTAB/);
  // the same values again (a static source): RTXC did not grow
  state.applySnapshot(failover(6), { atMs: 7000, readMs: 1 });
  assert.ok(state.view().every((r) => r.rtxcDelta === 0));
  const empty = { ...failover(6), associations: [] as Association[] };
  state.applySnapshot(empty, { atMs: 8000, readMs: 1 });
  assert.equal(state.view().length, 0);
  assert.match(frameText(state.frame()), /no SCTP associations/);
});

test('the event log keeps the newest events and formats only what is on screen', () => {
  const state = new TopState({ host: 'h', baseIntervalMs: 1000, replay: null });
  state.resize(200, 30);
  state.applySnapshot(failover(0), { atMs: 0, readMs: 1 });
  for (let i = 0; i < 1000; i++)
    state.applyEvent(ev({ type: 'path.metrics', severity: 'info', assoc: { id: 3 }, path: '10.1.0.2', metrics: { cwndBytes: i } }));
  const lines = state.frame().events!.lines.map((l) => l.text);
  assert.match(lines[0]!, /events, newest first: 1000/);
  assert.match(lines[1]!, /cwndBytes=999/);
  assert.match(lines[2]!, /cwndBytes=998/);
});

test('1 Hz ticks between slow full reads: the header says how old the data is', () => {
  const state = new TopState({ host: 'h', baseIntervalMs: 1000, replay: null });
  state.resize(120, 30);
  state.applySnapshot(failover(0), { atMs: 50_000, readMs: 4000, cost: { kernelMs: 4000, associations: 10_000 } });
  const header = () => frameText(state.frame()).split('\n')[1]!;
  assert.match(header(), /refresh 40s adaptive \(read 4000 ms\)/);
  state.tick(50_400);
  assert.match(header(), /\(read 4000 ms\)/);
  state.tick(62_300);
  assert.match(header(), /refresh 40s adaptive \(read 4000 ms, 12s ago\)/);
  state.applySnapshot(failover(1), { atMs: 90_000, readMs: 4000, cost: { kernelMs: 4000, associations: 10_000 } });
  assert.match(header(), /\(read 4000 ms\)/);
  // a capture never ages
  const replay = new TopState({ host: 'h', baseIntervalMs: 1000, replay: 'x' });
  replay.resize(120, 30);
  replay.applySnapshot(failover(0), { atMs: 0, readMs: 4000 });
  replay.tick(60_000);
  assert.doesNotMatch(frameText(replay.frame()), /ago/);
});

test('a snapshot diffed against an equal one says nothing', () => {
  for (const t of [0, 3, 6]) {
    const s = failover(t);
    assert.deepEqual(diffSnapshots(s, s), []);
    assert.deepEqual(diffSnapshots(s, structuredClone(s)), []);
  }
  // and the real changes are still there
  assert.ok(diffSnapshots(failover(0), failover(6)).some((e) => e.type === 'path.state'));
});

test('runTop live: the screen is redrawn each interval between slow full reads', async () => {
  const output = Object.assign(new PassThrough(), { columns: 120, rows: 30, isTTY: true });
  output.resume();
  const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: (_: boolean) => {} });
  const snap = await readSnapshot({ procRoot: capture('two-path-a'), netns: null });
  let reads = 0;
  const drawsAtRead: number[] = [];
  let draws = 0;
  const p = runTop({
    procRoot: '/proc',
    netns: null,
    intervalMs: 200,
    noBpf: true,
    log: null,
    io: { input, output, terminal: 'xterm-256color' },
    processHooks: false,
    startPipeline: null,
    // a read costing the kernel 150 ms at 5k associations: the adaptive refresh waits 1.5 s for the next
    read: async (o) => {
      drawsAtRead.push(draws);
      reads++;
      await new Promise((r) => setTimeout(r, 150));
      if (o.cost) Object.assign(o.cost, { kernelMs: 150, associations: 5000 });
      return snap;
    },
    onDraw: () => void draws++,
  });
  try {
    while (reads < 2) await new Promise((r) => setTimeout(r, 50));
  } finally {
    input.write('q');
    await p;
  }
  assert.ok(drawsAtRead[1]! - drawsAtRead[0]! >= 3, `draws between the first two reads: ${drawsAtRead[1]! - drawsAtRead[0]!}`);
});
