// Per event type sources (src/trace/sources.ts): bpf, procfs or none, and why.
import test from 'node:test';
import assert from 'node:assert/strict';
import { PROCFS_EVENT_TYPES } from '../../src/model/diff.js';
import { eventSources, missingText, summariseSources, type SourceState } from '../../src/trace/sources.js';

const files = [
  { name: 'path-state', events: ['path.state' as const] },
  { name: 'rtx-timeout', events: ['path.rtx_timeout' as const] },
  { name: 'primary', events: ['path.primary' as const] },
];
const base: SourceState = { files, procfsTypes: PROCFS_EVENT_TYPES, off: null, running: ['path-state'], unavailable: [], bpf: 'attached' };
const of = (s: SourceState, type: string) => eventSources(s).find((t) => t.type === type);

test('attached probes give bpf; a procfs-visible type without a probe file is procfs, one procfs cannot see is none', () => {
  assert.deepEqual(of(base, 'path.state'), { type: 'path.state', source: 'bpf', reason: 'attached', detail: 'bpf probes attached' });
  assert.equal(of(base, 'peer.added')?.source, 'procfs');
  assert.equal(of(base, 'peer.added')?.reason, 'no-probe');
  assert.equal(of(base, 'path.heartbeat')?.source, 'none');
  // the pipeline's own types are not listed
  assert.ok(!eventSources(base).some((t) => t.type === 'source.changed' || t.type === 'probe.lost_events'));
});

test('a probe file that cannot run: its types come from procfs (or nowhere) with its reason and what is missing', () => {
  const why = 'no BTF for the sctp module (/sys/kernel/btf/sctp; kernels before 5.11 have none)';
  const s: SourceState = {
    ...base,
    unavailable: [
      { name: 'primary', missing: ['kfunc:sctp:sctp_assoc_set_primary', why], reason: 'no-btf' },
      { name: 'rtx-timeout', missing: ['kprobe:sctp_sf_do_6_3_3_rtx'], reason: 'probe-missing' },
    ],
  };
  assert.deepEqual(of(s, 'path.primary'), { type: 'path.primary', source: 'procfs', reason: 'no-btf', detail: why });
  assert.deepEqual(of(s, 'path.rtx_timeout'), { type: 'path.rtx_timeout', source: 'none', reason: 'probe-missing', detail: 'kprobe:sctp_sf_do_6_3_3_rtx not offered here' });
  assert.equal(missingText([]), 'unavailable');
});

test('bpftrace starting, restarting or failed: its types from procfs meanwhile, with the elapsed time or the error', () => {
  assert.deepEqual(of({ ...base, bpf: 'starting', elapsedS: 41.6 }, 'path.state'), {
    type: 'path.state',
    source: 'procfs',
    reason: 'starting',
    detail: 'bpftrace compiling and attaching the probes (42 s so far)',
  });
  assert.equal(of({ ...base, bpf: 'restarting', error: 'killed by SIGKILL' }, 'path.state')?.detail, 'bpftrace restarting: killed by SIGKILL');
  assert.equal(of({ ...base, bpf: 'failed', running: ['path-state', 'rtx-timeout'] }, 'path.rtx_timeout')?.source, 'none');
  assert.equal(of({ ...base, bpf: 'planned' }, 'path.state')?.reason, 'offered');
});

test('bpf off altogether (--no-bpf, no bpftrace, no privileges): every type says so; --events limits the list', () => {
  const s: SourceState = { ...base, off: { reason: 'no-bpftrace', detail: 'bpftrace is not installed' }, wanted: new Set(['path.state', 'path.rtx_timeout']) };
  assert.deepEqual(
    eventSources(s).map((t) => [t.type, t.source, t.reason]),
    [['path.state', 'procfs', 'no-bpftrace'], ['path.rtx_timeout', 'none', 'no-bpftrace']],
  );
});

test('summary: types grouped by source and reason, names or counts', () => {
  const list = eventSources({ ...base, running: ['path-state', 'rtx-timeout'], unavailable: [{ name: 'primary', missing: ['no BTF'], reason: 'no-btf' }], wanted: new Set(['path.state', 'path.rtx_timeout', 'path.primary', 'peer.added']) });
  assert.equal(summariseSources(list), 'bpf path.state, path.rtx_timeout; procfs path.primary (no BTF); procfs peer.added (no probe produces it)');
  assert.equal(summariseSources(list, true), 'bpf 2 types; procfs 1 type (no BTF); procfs 1 type (no probe produces it)');
});
