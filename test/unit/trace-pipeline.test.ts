// The event pipeline with a stand-in bpftrace (a node script speaking bpftrace's
// JSON): supervision (kill -9 → restart, events resume), stop (no child left),
// parent death (no orphan, via setpriv --pdeathsig), procfs fallback on the
// real failover series, filters and enrichment.
import test from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../src/package-files.js';
const PACKAGE_ROOT = packageRoot();
import { EventBus, type SctpEvent } from '../../src/events/types.js';
import type { Snapshot } from '../../src/model/snapshot.js';
import { failoverSeries } from '../helpers.js';
import { startEventPipeline } from '../../src/trace/pipeline.js';
import { loadProbeFiles, type Capabilities } from '../../src/trace/probes.js';
import { bpftraceArgv, bpftraceEnv, mapKeysFor, pdeathsigSetpriv, PERF_RB_PAGES } from '../../src/trace/runner.js';

const series: Snapshot[] = await failoverSeries();

const tmp = mkdtempSync(join(tmpdir(), 'sctpdiag-trace-'));
const pidFile = join(tmp, 'pids');
const fake = join(tmp, 'bpftrace');
// prints attached_probes, then a path.state record every 50 ms; logs its pid and argv
writeFileSync(
  fake,
  `#!${process.execPath}
const fs = require('fs');
fs.appendFileSync(${JSON.stringify(pidFile)}, process.pid + ' ' + JSON.stringify(process.argv.slice(2, 4)) + '\\n');
process.on('SIGINT', () => process.exit(0));
console.log(JSON.stringify({ type: 'attached_probes', data: { probes: 2 } }));
setInterval(() => {
  const ts = process.hrtime.bigint().toString();
  console.log(JSON.stringify({ type: 'printf', data: 'SCTPDIAG path ts=' + ts + ' asoc=3 lport=6001 rport=5001 cmd=2 err=0 from=2 to=1 fam=2 v4=33554698 w=0,0,0,0 afam=2 av4=33554954 aw=0,0,0,0\\n' }));
}, 50);
`,
);
chmodSync(fake, 0o755);

const files = loadProbeFiles();
const caps: Capabilities = { bpftrace: fake, unavailable: null, probes: files.map((f) => ({ name: f.name, events: f.events, ok: true, missing: [] })) };

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const pids = () => (existsSync(pidFile) ? readFileSync(pidFile, 'utf8').trim().split('\n').map((l) => Number(l.split(' ')[0])) : []);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(20);
  }
}

test('argv: no shell, numbers only as positional parameters, setpriv --pdeathsig when present', () => {
  const argv = bpftraceArgv({ bpftrace: '/usr/bin/bpftrace', program: 'BEGIN {}', params: [4026531840, 5] });
  assert.deepEqual(argv.slice(-7), ['/usr/bin/bpftrace', '-f', 'json', '-e', 'BEGIN {}', '4026531840', '5']);
  assert.deepEqual(argv.slice(-2), ['4026531840', '5']);
  if (argv[0]!.endsWith('setpriv')) assert.deepEqual(argv.slice(1, 3), ['--pdeathsig', 'KILL']);
  assert.throws(() => bpftraceArgv({ bpftrace: 'b', program: '', params: [-1] }));
  assert.throws(() => bpftraceArgv({ bpftrace: 'b', program: '', params: [1.5] }));
});

test('setpriv is used for --pdeathsig only when it accepts the option (util-linux < 2.33 does not)', () => {
  const dir = (name: string, body: string) => {
    const d = mkdtempSync(join(tmpdir(), `sctpdiag-setpriv-${name}-`));
    writeFileSync(join(d, 'setpriv'), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    return d;
  };
  const sysPath = process.env.PATH ?? '';
  const old = dir('old', 'echo "setpriv: unrecognized option \'--pdeathsig\'" >&2; exit 1');
  assert.equal(pdeathsigSetpriv(`${old}:${sysPath}`), null, 'an old setpriv is not used');
  const modern = dir('new', '[ "$1" = --pdeathsig ] && [ "$2" = KILL ] && [ "$3" = -- ] && shift 3 && exec "$@"; exit 1');
  assert.equal(pdeathsigSetpriv(`${modern}:${sysPath}`), join(modern, 'setpriv'));
  assert.equal(pdeathsigSetpriv('/nonexistent'), null, 'no setpriv at all');
});

test('bpf source: events flow, enriched from the snapshot; kill -9 → restart announced, events resume; stop leaves no child', async () => {
  const bus = new EventBus();
  const got: SctpEvent[] = [];
  bus.subscribe((e) => got.push(e));
  const p = startEventPipeline({
    procRoot: '/proc',
    netns: null,
    intervalMs: 200,
    bus,
    read: async () => series[0]!,
    capabilities: caps,
    probeFiles: files,
    runner: { backoffMs: 100 },
  });
  await p.ready;
  await until(() => got.some((e) => e.type === 'path.state' && e.source === 'bpf'));
  const e = got.find((x) => x.type === 'path.state')!;
  assert.equal(e.path, '10.1.0.2');
  assert.equal(e.activePath, '10.2.0.2');
  assert.deepEqual(e.assoc?.localAddresses, ['10.1.0.1', '10.2.0.1']);
  assert.ok(Math.abs(Date.parse(e.time) - Date.now()) < 60_000, e.time); // wall clock, not boot-relative (a busy machine may be seconds late)
  assert.equal(p.status().source, 'bpf');
  assert.equal(p.status().probesAttached, 2);
  assert.ok(!p.status().procfsTypes.includes('path.state'), 'bpf covers path.state');
  // per event type: bpf and why, in the status and in the attach announcement
  assert.deepEqual(p.status().types.find((t) => t.type === 'path.state'), { type: 'path.state', source: 'bpf', reason: 'attached', detail: 'bpf probes attached' });
  const attached = got.find((x) => x.type === 'source.changed' && x.to === 'bpf')!;
  assert.deepEqual(attached.sources?.find((t) => t.type === 'path.state'), { type: 'path.state', source: 'bpf', reason: 'attached' });
  assert.match(attached.reason ?? '', /; sources: bpf path\.state, /);
  const first = p.status().bpftracePid!;
  process.kill(first, 'SIGKILL');
  await until(() => got.some((x) => x.type === 'source.changed' && x.from === 'bpf' && /SIGKILL/.test(x.reason ?? '')));
  const n = got.length;
  await until(() => got.slice(n).some((x) => x.type === 'path.state'));
  assert.ok(got.slice(n).some((x) => x.type === 'source.changed' && x.to === 'bpf'));
  const second = p.status().bpftracePid!;
  assert.notEqual(second, first);
  await p.stop();
  assert.equal(alive(second), false);
  assert.equal(p.status().bpftracePid, null);
});

test('before the first pushed snapshot, bpf jiffies turn into ms with --hz, not the assumed HZ', async () => {
  const rtx = join(tmp, 'bpftrace-rtx');
  writeFileSync(
    rtx,
    `#!${process.execPath}
process.on('SIGINT', () => process.exit(0));
console.log(JSON.stringify({ type: 'attached_probes', data: { probes: 2 } }));
setInterval(() => console.log(JSON.stringify({ type: 'printf', data: 'SCTPDIAG rtx ts=' + process.hrtime.bigint() + ' asoc=4 lport=1 rport=2 rto=250 errs=1 fam=2 v4=33554954 w=0,0,0,0\\n' })), 50);
`,
  );
  chmodSync(rtx, 0o755);
  const got: SctpEvent[] = [];
  const bus = new EventBus();
  bus.subscribe((e) => got.push(e));
  // pushed (top, the exporter): bpf starts before the caller hands over a snapshot
  const p = startEventPipeline({ procRoot: '/proc', netns: null, intervalMs: 200, bus, hz: 100, pushed: true, capabilities: { ...caps, bpftrace: rtx }, probeFiles: files });
  try {
    await until(() => got.some((e) => e.type === 'path.rtx_timeout'));
    // 250 jiffies at HZ=100 (ASSUMED_HZ 250 would give 1000 ms)
    assert.equal(got.find((e) => e.type === 'path.rtx_timeout')!.metrics?.rtoMs, 2500);
  } finally {
    await p.stop();
  }
});

test('parent killed with SIGKILL: the bpftrace child dies too (setpriv --pdeathsig)', { skip: !existsSync('/usr/bin/setpriv') && 'no setpriv' }, async () => {
  const script = join(tmp, 'parent.mjs');
  writeFileSync(
    script,
    `import { BpftraceRunner } from ${JSON.stringify(join(PACKAGE_ROOT, 'dist/src/trace/runner.js'))};
const r = new BpftraceRunner({ bpftrace: ${JSON.stringify(fake)}, program: 'x', params: [0, 5] }, { onLine() {}, onStart(pid) { console.log(pid); } });
r.start();
setInterval(() => {}, 1000);`,
  );
  const parent = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const pid = await new Promise<number>((res) => parent.stdout.once('data', (d: Buffer) => res(Number(String(d).trim()))));
  await until(() => alive(pid));
  parent.kill('SIGKILL');
  await until(() => !alive(pid), 3000);
});

test('bpftrace that never attaches: retried with backoff, then procfs with the reason', async () => {
  const bad = join(tmp, 'bpftrace-bad');
  writeFileSync(bad, `#!/bin/sh\necho 'ERROR: kfunc:sctp:nope: no BTF' >&2\nexit 1\n`);
  chmodSync(bad, 0o755);
  const bus = new EventBus();
  const got: SctpEvent[] = [];
  bus.subscribe((e) => got.push(e));
  const p = startEventPipeline({
    procRoot: '/proc',
    netns: null,
    intervalMs: 100,
    bus,
    read: async () => series[0]!,
    capabilities: { ...caps, bpftrace: bad },
    probeFiles: files,
    runner: { backoffMs: 20, maxFailuresBeforeAttach: 3 },
  });
  await until(() => p.status().source === 'procfs' && /giving up/.test(p.status().reason ?? ''));
  assert.match(p.status().reason ?? '', /no BTF/);
  assert.equal(got.filter((e) => e.type === 'source.changed' && e.from === 'bpf').length, 3);
  assert.ok(p.status().procfsTypes.includes('path.state'));
  const types = p.status().types;
  assert.deepEqual(types.find((t) => t.type === 'path.state')?.source, 'procfs');
  assert.equal(types.find((t) => t.type === 'path.state')?.reason, 'failed');
  assert.match(types.find((t) => t.type === 'path.state')?.detail ?? '', /no BTF/);
  assert.equal(types.find((t) => t.type === 'path.rtx_timeout')?.source, 'none');
  const gaveUp = got.find((e) => e.type === 'source.changed' && /giving up/.test(e.reason ?? ''));
  assert.equal(gaveUp?.sources?.find((t) => t.type === 'path.state')?.reason, 'failed');
  await p.stop();
});

test('while bpftrace compiles: its types from procfs with the time so far; probes the kernel lacks say so per type', async () => {
  const slow = join(tmp, 'bpftrace-slow');
  writeFileSync(slow, `#!/bin/sh
exec sleep 30
`);
  chmodSync(slow, 0o755);
  const bus = new EventBus();
  const got: SctpEvent[] = [];
  bus.subscribe((e) => got.push(e));
  const lacking: Capabilities = {
    ...caps,
    bpftrace: slow,
    probes: files.map((f) => (f.name === 'primary' ? { name: f.name, events: f.events, ok: false, missing: ['kfunc:sctp:sctp_assoc_set_primary'], reason: 'probe-missing' } : { name: f.name, events: f.events, ok: true, missing: [] })),
  };
  const p = startEventPipeline({ procRoot: '/proc', netns: null, intervalMs: 100, bus, read: async () => series[0]!, capabilities: lacking, probeFiles: files, runner: { noPdeathsig: true } });
  // before the kernel's probes are known: starting, not "no probe"
  assert.deepEqual(p.status().types.find((t) => t.type === 'path.state'), { type: 'path.state', source: 'procfs', reason: 'starting', detail: 'checking which probes the kernel offers' });
  await p.ready;
  const ps = p.status().types.find((t) => t.type === 'path.state')!;
  assert.equal(ps.source, 'procfs');
  assert.equal(ps.reason, 'starting');
  assert.match(ps.detail, /compiling and attaching the probes \(\d+ s so far\)/);
  assert.deepEqual(p.status().types.find((t) => t.type === 'path.primary'), {
    type: 'path.primary',
    source: 'procfs',
    reason: 'probe-missing',
    detail: 'kfunc:sctp:sctp_assoc_set_primary not offered here',
  });
  await p.stop();
});

test('procfs fallback (--no-bpf) on the real failover series, with --assoc and --peer filters', async () => {
  for (const [filter, expectIds] of [
    [{}, [3, 5, 7]],
    [{ assocId: 3 }, [3]],
    [{ peer: '10.1.0.2', port: 6002 }, [5]],
  ] as const) {
    const bus = new EventBus();
    const got: SctpEvent[] = [];
    bus.subscribe((e) => got.push(e));
    let i = 0;
    const p = startEventPipeline({
      procRoot: '/proc',
      netns: null,
      noBpf: true,
      intervalMs: 10,
      bus,
      filter,
      read: async () => series[Math.min(i++, series.length - 1)]!,
    });
    await until(() => i > series.length);
    await p.stop();
    const ids = [...new Set(got.filter((e) => e.type === 'path.state').map((e) => e.assoc!.id))].sort();
    assert.deepEqual(ids, expectIds, JSON.stringify(filter));
    assert.ok(got.every((e) => e.source === 'procfs' || e.type === 'source.changed'));
    assert.equal(got[0]!.type, 'source.changed');
    assert.equal(p.status().source, 'procfs');
  }
});

test('--events never hides the pipeline’s own events (source.changed, probe.lost_events)', async () => {
  const { matchEvent } = await import('../../src/trace/pipeline.js');
  const ev = (type: SctpEvent['type']): SctpEvent => ({
    schemaVersion: 1,
    time: '2026-11-01T00:00:00.000Z',
    type,
    source: 'sctpdiag',
    severity: 'warn',
    netns: null,
  });
  const only = { types: new Set<SctpEvent['type']>(['path.state']), port: 9 };
  assert.equal(matchEvent(ev('source.changed'), only, null), true);
  assert.equal(matchEvent(ev('probe.lost_events'), only, null), true);
  assert.equal(matchEvent(ev('peer.added'), only, null), false);
});

test('enrichment by association id from the latest snapshot; the kernel’s own fields win', async () => {
  const bus = new EventBus();
  const got: SctpEvent[] = [];
  bus.subscribe((e) => got.push(e));
  const p = startEventPipeline({
    procRoot: '/proc',
    netns: null,
    intervalMs: 60_000,
    bus,
    read: async () => series[0]!,
    capabilities: caps,
    probeFiles: files,
  });
  await p.ready;
  await until(() => got.some((e) => e.type === 'path.state' && e.source === 'bpf'));
  await p.stop();
  const e = got.find((x) => x.type === 'path.state' && x.source === 'bpf')!;
  const a = series[0]!.associations.find((x) => x.id === 3)!;
  assert.deepEqual(e.assoc, { id: 3, localPort: 6001, peerPort: 5001, localAddresses: a.localAddresses.map((l) => l.address), owners: a.owners });
  assert.match(e.kernelNs ?? '', /^\d+$/, 'the kernel stamp is kept');
});

// a bpftrace that writes as fast as its stdout takes it, and records how far it got
const floodProgress = join(tmp, 'flood-progress');
const flood = join(tmp, 'bpftrace-flood');
writeFileSync(
  flood,
  `#!${process.execPath}
const fs = require('fs');
process.on('SIGINT', () => process.exit(0));
fs.writeSync(1, JSON.stringify({ type: 'attached_probes', data: { probes: 1 } }) + '\\n');
const line = JSON.stringify({ type: 'printf', data: 'SCTPDIAG path ts=1 asoc=3 lport=6001 rport=5001 cmd=2 err=0 from=2 to=1 fam=2 v4=33554698 w=0,0,0,0 afam=2 av4=33554954 aw=0,0,0,0\\n' }) + '\\n';
const batch = line.repeat(100);
let n = 0;
(function loop() {
  fs.writeSync(1, batch);
  n += 100;
  fs.writeFileSync(${JSON.stringify(floodProgress)}, String(n));
  setImmediate(loop);
})();
`,
);
chmodSync(flood, 0o755);
const progress = () => (existsSync(floodProgress) ? Number(readFileSync(floodProgress, 'utf8') || 0) : 0);
/** resolves once the value stops changing for `quietMs` */
async function settled(read: () => number, quietMs = 400, ms = 10_000): Promise<number> {
  const end = Date.now() + ms;
  let last = read();
  for (;;) {
    await sleep(quietMs);
    const now = read();
    if (now === last) return now;
    if (Date.now() > end) throw new Error('never settled');
    last = now;
  }
}

test('trace with a stdout that does not drain: bpftrace’s output is left unread (it blocks, the kernel counts losses), nothing queues; drained, it flows again', async () => {
  const [{ runTrace }, { traceSettings }] = await Promise.all([import('../../src/trace/run.js'), import('../../src/commands/trace.js')]);
  const { Writable } = await import('node:stream');
  const { plain } = await import('../../src/render/style.js');
  let held: (() => void)[] = [];
  let holding = true;
  let written = 0;
  const out = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _enc, cb) {
      written += chunk.length;
      if (holding) held.push(cb);
      else cb();
    },
  });
  const done = runTrace(traceSettings({ events: 'all' }), {
    procRoot: '/proc',
    netns: null,
    hz: 250,
    json: true,
    style: plain,
    out,
    pipeline: { capabilities: { ...caps, bpftrace: flood }, probeFiles: files, read: async () => series[0]!},
  });
  await until(() => progress() > 0);
  // stdout stuck: trace stops reading, the pipe fills, the writer blocks
  const stuck = await settled(progress);
  const stuckBytes = written;
  assert.ok(out.writableLength < 4 * 1024 * 1024, `bounded: ${out.writableLength} bytes queued`);
  holding = false;
  const release = held;
  held = [];
  for (const cb of release) cb();
  await until(() => progress() > stuck + 10_000);
  assert.ok(written > stuckBytes);
  out.destroy(new Error('reader went away'));
  await done;
});

test('runner paused (stdout behind) when trace stops: stop still ends bpftrace', async () => {
  const { BpftraceRunner } = await import('../../src/trace/runner.js');
  let lines = 0;
  let pid: number | undefined;
  const r = new BpftraceRunner({ bpftrace: flood, program: 'x', params: [0, 5], killGraceMs: 500 }, { onLine: () => lines++, onStart: (p) => (pid = p) });
  r.pause();
  r.start();
  await until(() => progress() > 0);
  await settled(progress);
  assert.ok(lines < 1000, `paused from the start: ${lines} lines read`);
  await r.stop();
  assert.equal(alive(pid!), false);
});

test('bpftrace environment: ring buffer and map size sized for the host, an operator\'s own values win', () => {
  assert.equal(mapKeysFor(0), 4096);
  assert.equal(mapKeysFor(2048), 4096);
  assert.equal(mapKeysFor(20_000), 65536, '10k associations × 2 paths, room to double');
  assert.equal(mapKeysFor(10_000_000), 262144, 'capped');
  const env = bpftraceEnv({ PATH: '/usr/bin' }, { mapKeysMax: 65536 });
  assert.deepEqual(
    [env.BPFTRACE_NO_USER_SYMBOLS, env.BPFTRACE_PERF_RB_PAGES, env.BPFTRACE_MAP_KEYS_MAX, env.PATH],
    ['1', String(PERF_RB_PAGES), '65536', '/usr/bin'],
  );
  const own = bpftraceEnv({ BPFTRACE_PERF_RB_PAGES: '64', BPFTRACE_MAP_KEYS_MAX: '1024' }, { mapKeysMax: 65536 });
  assert.equal(own.BPFTRACE_PERF_RB_PAGES, '64');
  assert.equal(own.BPFTRACE_MAP_KEYS_MAX, '1024');
});

// issue #19: a cold first read (module compile, GC) once stretched a 200 ms interval to ~30 s
test('pacing (fake clock): a slow first read does not delay the next; only costly kernel printing does', async (t) => {
  const realTimeout = setTimeout;
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const turns = async (n = 50) => {
    for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
  };
  for (const [associations, kernelMs, dueMs] of [
    [3, 2, 200], // few associations: as asked, however slow the process was
    [8000, 500, 5000], // costly printing: 10× the kernel's time
  ] as const) {
    let reads = 0;
    const p = startEventPipeline({
      procRoot: '/proc',
      netns: null,
      noBpf: true,
      intervalMs: 200,
      bus: new EventBus(),
      read: async (o) => {
        reads++;
        // the first read of a cold process: real time passes, the kernel's share is small
        if (reads === 1) await new Promise((r) => realTimeout(r, 400));
        if (o.cost) Object.assign(o.cost, { kernelMs, associations });
        return series[0]!;
      },
    });
    await p.ready;
    assert.equal(reads, 1);
    t.mock.timers.tick(dueMs - 1);
    await turns();
    assert.equal(reads, 1, `${associations} associations: not before ${dueMs} ms`);
    t.mock.timers.tick(1);
    await turns();
    assert.equal(reads, 2, `${associations} associations: the second read is due ${dueMs} ms after the first`);
    await p.stop();
  }
});

test('pacing counts the whole last cycle of kernel time when it exceeds the read (drawing, scrapes, owner scan)', async () => {
  const { nextReadMs, systemCpuMeter, withCycle } = await import('../../src/kernel/pacing.js');
  const read = { kernelMs: 200, associations: 2000 };
  assert.equal(nextReadMs(1000, withCycle(read, null)), 2000, 'first read: its own cost');
  assert.equal(nextReadMs(1000, withCycle(read, 100)), 2000, 'a cheaper cycle does not lower it');
  assert.equal(nextReadMs(1000, withCycle(read, 300)), 3000, 'a costlier cycle (200 ms read + 100 ms else) spaces the reads further');
  const meter = systemCpuMeter();
  assert.equal(meter(), null);
  for (let i = 0; i < 2000; i++) statSync('/');
  const ms = meter();
  assert.ok(ms !== null && ms >= 0);
});
