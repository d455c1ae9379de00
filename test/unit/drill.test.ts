import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync as writeFileSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT, SctpdiagError } from '../../src/errors.js';
import { readSnapshot } from '../../src/procfs/read.js';
import { parseDuration, parseFor, parseTargets } from '../../src/commands/options.js';
import { buildCut, buildRuleset, DELETE_ARGV } from '../../src/drill/nft.js';
import { atCut, checkSafe, makePlan, selectAssociation } from '../../src/drill/plan.js';
import { timeline, type Sample } from '../../src/drill/measure.js';
import { bpfTimeline, FIGURES, mergeTimeline } from '../../src/drill/bpf.js';
import type { SctpEvent } from '../../src/events/types.js';
import { acquireDrillLock } from '../../src/commands/drill.js';
import type { Probe } from '../../src/lock.js';
import { measuredReport, planReport, printDrill } from '../../src/drill/report.js';
import { makeStyle } from '../../src/render/style.js';
import { capture, CLI, GOLDEN, ROOT } from '../helpers.js';
import { checkSchema } from '../schema-check.js';
import { parseLinks } from '../../src/links/links.js';
import { findLink } from '../../src/links/load.js';

const schema = async () => JSON.parse(await readFile(join(ROOT, 'schema/drill.schema.json'), 'utf8'));

const code = (c: number) => (e: unknown) => e instanceof SctpdiagError && e.exitCode === c;
const snap = () => readSnapshot({ procRoot: capture('two-path-a'), netns: null, owners: false });
const sysctls = new Map([['rto_min', '200'], ['rto_max', '1000'], ['pf_retrans', '0'], ['pf_enable', '1']]);

test('drill spec: durations, --for bounds, targets', () => {
  const durationMs = (t: string) => parseDuration(t, '--x', 0, 9_999_999_000);
  assert.equal(durationMs('500ms'), 500);
  assert.equal(durationMs('2s'), 2000);
  assert.equal(durationMs('1.5s'), 1500);
  assert.equal(durationMs('8'), 8000);
  for (const bad of ['', '-1s', '1e3', '2 s', '1.5ms', '10m', '0x10', '1;rm']) assert.throws(() => durationMs(bad), code(EXIT.USAGE), bad);
  assert.equal(parseFor('8s'), 8000);
  assert.equal(parseFor('120s'), 120_000);
  assert.throws(() => parseFor('600'), code(EXIT.USAGE));
  assert.throws(() => parseFor('121s'), code(EXIT.USAGE));
  assert.throws(() => parseFor('500ms'), code(EXIT.USAGE));
  assert.deepEqual(parseTargets('PF=500ms,inactive=2s'), { PF: 500, INACTIVE: 2000 });
  assert.throws(() => parseTargets('PF=fast'), code(EXIT.USAGE));
  assert.throws(() => parseTargets('BOGUS=1s'), code(EXIT.USAGE));
});

test('drill nft: the ruleset from validated values is the golden text; bad values are refused', async () => {
  const r = buildRuleset({ localAddresses: ['10.1.0.1', '10.2.0.1'], localPort: 6001, peerAddress: '10.1.0.2', peerPort: 5001, forMs: 8000 });
  assert.equal(r, await readFile(join(GOLDEN, 'drill-ruleset-v4.nft'), 'utf8'));
  const r6 = buildRuleset({ localAddresses: ['fd00:1::1', '10.2.0.1'], localPort: 6001, peerAddress: 'fd00:1::2', peerPort: 5001, forMs: 1000 });
  assert.match(r6, /type ipv6_addr \. inet_service \. ipv6_addr \. inet_service/);
  assert.match(r6, /ip6 saddr \. sctp sport \. ip6 daddr \. sctp dport @cut counter drop/);
  assert.doesNotMatch(r6, /10\.2\.0\.1/, 'only local addresses of the peer family');
  const ok = { localAddresses: ['10.1.0.1'], localPort: 1, peerAddress: '10.1.0.2', peerPort: 2, forMs: 1000 };
  assert.throws(() => buildRuleset({ ...ok, peerAddress: '10.1.0.2; flush ruleset' }));
  assert.throws(() => buildRuleset({ ...ok, localAddresses: ['10.1.0.1 }'] }));
  assert.throws(() => buildRuleset({ ...ok, localPort: 70000 }));
  assert.throws(() => buildRuleset({ ...ok, forMs: 1.5 }));
  assert.throws(() => buildRuleset({ ...ok, localAddresses: ['fd00::1'] }), /no local address/);
  assert.deepEqual([...DELETE_ARGV], ['delete', 'table', 'inet', 'sctpdiag_drill']);
  // the setup drops nothing: the cut starts with the one line that adds the timed elements
  const c = buildCut({ localAddresses: ['10.1.0.1'], localPort: 6001, peerAddress: '10.1.0.2', peerPort: 5001, forMs: 8000 });
  assert.doesNotMatch(c.setup, /elements|timeout \d/);
  assert.match(c.start, /^add element inet sctpdiag_drill cut \{ [^\n]* \}\n$/);
});

test('drill nft: the setup goes to nft as a private file (old nft cannot read a socket as -f -), removed afterwards', async () => {
  const { applyRuleset } = await import('../../src/drill/nft.js');
  const dir = await mkdtemp(join(tmpdir(), 'drill-fake-nft-'));
  const fake = join(dir, 'nft');
  // the fake nft copies the file it was given and says where it was
  await writeFile(fake, `#!/bin/sh\n[ "$1" = -f ] || exit 9\ncp "$2" "${dir}/seen.nft" && echo "$2" > "${dir}/path"\n`, { mode: 0o755 });
  const old = process.env.SCTPDIAG_NFT;
  process.env.SCTPDIAG_NFT = fake;
  try {
    const text = buildCut({ localAddresses: ['10.1.0.1'], localPort: 6001, peerAddress: '10.1.0.2', peerPort: 5001, forMs: 8000 }).setup;
    const r = await applyRuleset(text);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await readFile(join(dir, 'seen.nft'), 'utf8'), text);
    const used = (await readFile(join(dir, 'path'), 'utf8')).trim();
    // writing beside it fails: its private directory is gone
    assert.throws(() => writeFileSync(used, 'x', { flag: 'wx' }), /ENOENT/);
  } finally {
    if (old === undefined) delete process.env.SCTPDIAG_NFT;
    else process.env.SCTPDIAG_NFT = old;
  }
});

test('drill nft: the real nft accepts the ruleset (in a user+net namespace, when this host allows one)', (t) => {
  const probe = spawnSync('unshare', ['-rn', 'nft', 'list', 'ruleset'], { encoding: 'utf8' });
  if (probe.status !== 0) return t.skip('nft or unprivileged user namespaces unavailable here');
  const r = buildRuleset({ localAddresses: ['10.1.0.1', '10.2.0.1'], localPort: 6001, peerAddress: '10.1.0.2', peerPort: 5001, forMs: 8000 });
  const f = join(tmpdir(), `drill-${process.pid}.nft`);
  writeFileSync(f, r);
  // applied twice: the second replaces the first (a killed drill's table) atomically
  const res = spawnSync('unshare', ['-rn', 'sh', '-c', 'nft -f "$1" && nft -f "$1" && nft list table inet sctpdiag_drill', 'sh', f], { encoding: 'utf8' });
  assert.equal(res.status, 0, res.stderr);
  assert.match(res.stdout, /10\.1\.0\.1 \. 6001 \. 10\.1\.0\.2 \. 5001 timeout 8s/);
  assert.equal((res.stdout.match(/counter packets 0 bytes 0 drop/g) ?? []).length, 2);
});

test('drill plan: selection, ADDR not a path, no other ACTIVE path, the model from the association', async () => {
  const s = await snap();
  assert.throws(() => selectAssociation(s, {}), code(EXIT.USAGE));
  assert.throws(() => selectAssociation(s, { assocId: 99 }), code(EXIT.NOT_FOUND));
  assert.throws(() => selectAssociation(s, { port: 5000 }), /2 associations match/);
  assert.equal(selectAssociation(s, { port: 5001 }).id, 3);
  const a3 = selectAssociation(s, { assocId: 3 });
  assert.throws(() => checkSafe(a3, '10.9.9.9'), code(EXIT.NOT_FOUND));
  const down = { ...a3, paths: a3.paths.map((p) => (p.address === '10.2.0.2' ? { ...p, state: 'INACTIVE' as const } : p)) };
  assert.throws(() => checkSafe(down, '10.1.0.2'), code(EXIT.DRILL_UNSAFE));
  const p = makePlan(s, { assocId: 3 }, '10.1.0.2', 8000, { PF: 500 }, sysctls);
  assert.equal(p.regime, 'data');
  assert.equal(p.params.rttMs, 504, "RTO₀ is the path's own RTO (126 jiffies at HZ 250)");
  assert.equal(p.params.pathMaxRetrans, 2);
  assert.equal(p.params.hbInterval, 1000, 'HBINT 250 jiffies');
  assert.equal(p.predicted.pfMs, 504);
  assert.deepEqual(p.cut, { localAddresses: ['10.1.0.1', '10.2.0.1'], localPort: 6001, peerAddress: '10.1.0.2', peerPort: 5001, forMs: 8000 });
  // association 7 shares 10.1.0.1 → 10.1.0.2 but has ports 6003/5000: not in the cut
  assert.doesNotMatch(p.ruleset, /6003|5000 /);
  const dry = planReport(p, null);
  assert.equal(dry.verdict, 'dry-run');
  assert.equal(dry.events.find((e) => e.event === 'PF')!.pass, null, 'a dry run passes or fails nothing');
});

test('drill atCut: the model follows the RTO read just before the cut (bpftrace took a minute since the plan); same RTO → same plan', async () => {
  const p = makePlan(await snap(), { assocId: 3 }, '10.1.0.2', 8000, { PF: 500 }, sysctls);
  assert.equal(atCut(p, p.path.rtoMs, sysctls), p);
  const q = atCut(p, 200, sysctls);
  assert.equal(q.path.rtoMs, 200);
  assert.equal(q.params.rttMs, 200);
  assert.equal(q.predicted.pfMs, 200, 'T3 fires one RTO after the oldest outstanding DATA: the RTO in force at the cut');
  assert.ok(q.predicted.inactiveMs < p.predicted.inactiveMs, `${q.predicted.inactiveMs} < ${p.predicted.inactiveMs}`);
  assert.deepEqual(q.cut, p.cut, 'the cut itself is unchanged');
  assert.equal(q.regime, p.regime);
  const tl = timeline([S(0, 'ACTIVE'), S(210, 'PF', 400)], { rto0Ms: 200, rtoMaxMs: 1000, restoreMs: 8000, primary: true });
  const bpf = { figures: [], reason: '--no-bpf', probes: [], attachMs: null, lostEvents: 0, events: 0 };
  const m = { source: 'procfs' as const, bpf, procfsTimeline: tl, stats: { samples: 400, intervalMs: 20, maxGapMs: 30 }, cutUncertaintyMs: 3, timeline: tl, retransmissions: 4, tableRemoved: true, interrupted: null };
  assert.match(printDrill(measuredReport(q, null, m), makeStyle(false)), /RTO just before the cut: 200 ms/);
});

const S = (t: number, state: Sample['state'], rtoMs = 200, otherActive = true, prevT = t): Sample => ({ t, prevT, state, rtoMs, otherActive });

test('drill timeline: strike, PF, INACTIVE, restore, and the verdict against targets', async () => {
  const samples = [S(0, 'ACTIVE'), S(220, 'PF', 400, true, 200), S(900, 'INACTIVE', 800), S(8000, 'INACTIVE', 800), S(8450, 'ACTIVE', 800)];
  const tl = timeline(samples, { rto0Ms: 200, rtoMaxMs: 1000, restoreMs: 8000, primary: true });
  // an RTT sample that moves the RTO a little is no strike; a doubling is
  assert.equal(timeline([S(0, 'ACTIVE'), S(50, 'ACTIVE', 230), S(120, 'ACTIVE', 400)], { rto0Ms: 200, rtoMaxMs: 1000, restoreMs: 8000, primary: true }).strikeMs, 120);
  assert.deepEqual(tl, { strikeMs: 210, pfMs: 210, inactiveMs: 900, movedMs: 210, activeAgainMs: 450, primaryBackMs: 450, backupHeld: true, aborted: false });
  const p = makePlan(await snap(), { assocId: 3 }, '10.1.0.2', 8000, { PF: 500, INACTIVE: 800 }, sysctls);
  const bpf = { figures: [], reason: '--no-bpf', probes: [], attachMs: null, lostEvents: 0, events: 0 };
  const m = { source: 'procfs' as const, bpf, procfsTimeline: tl, stats: { samples: 400, intervalMs: 20, maxGapMs: 30 }, cutUncertaintyMs: 3, timeline: tl, retransmissions: 4, tableRemoved: true, interrupted: null };
  const r = measuredReport(p, null, m);
  assert.equal(r.verdict, 'fail');
  assert.deepEqual(r.failures, ['INACTIVE 900 ms > target 800 ms']);
  assert.equal(measuredReport({ ...p, targets: { PF: 500, INACTIVE: 1000 } }, null, m).verdict, 'pass');
  assert.deepEqual(checkSchema(await schema(), JSON.parse(JSON.stringify(r))), []);
  // the cut never bit: a failed drill, not a pass
  const none = timeline([S(0, 'ACTIVE'), S(8500, 'ACTIVE')], { rto0Ms: 200, rtoMaxMs: 1000, restoreMs: 8000, primary: true });
  assert.equal(none.strikeMs, null);
  assert.deepEqual(measuredReport({ ...p, targets: {} }, null, { ...m, timeline: none }).failures, ['the cut had no visible effect on the path']);
  // never back, backup lost, aborted
  const bad = timeline([S(0, 'ACTIVE'), S(300, 'PF', 400, false), S(2000, null)], { rto0Ms: 200, rtoMaxMs: 1000, restoreMs: 8000, primary: false });
  assert.equal(bad.backupHeld, false);
  assert.equal(bad.aborted, true);
  assert.equal(bad.primaryBackMs, null);
});

// a bpf event of association 3, `ms` after a cut at kernel time 5 s
const T0 = 5_000_000_000n;
const E = (ms: number, type: SctpEvent['type'], path: string, x: Partial<SctpEvent> = {}): SctpEvent => ({
  schemaVersion: 1,
  time: '2026-01-01T00:00:00.000Z',
  kernelNs: String(T0 + BigInt(Math.round(ms * 1e6))),
  type,
  source: 'bpf',
  severity: 'info',
  netns: null,
  assoc: { id: 3 },
  path,
  ...x,
});

test('drill bpf timeline: kernel-stamped T3 expiry, PF, INACTIVE, active path moved and back; merged with procfs per figure', async () => {
  const o = { t0Ns: T0, restoreMs: 8000, path: '10.1.0.2', primary: true, regime: 'data' as const };
  const ev = [
    // before the cut: a state change and an answered heartbeat count for nothing
    E(-500, 'path.state', '10.1.0.2', { from: 'PF', to: 'ACTIVE', activePath: '10.1.0.2' }),
    E(-100, 'path.heartbeat', '10.2.0.2', { reason: 'HEARTBEAT sent' }),
    E(-90, 'path.heartbeat', '10.2.0.2', { reason: 'HEARTBEAT-ACK received' }),
    E(12.5, 'path.rtx_timeout', '10.2.0.2'),
    E(108.25, 'path.rtx_timeout', '10.1.0.2'),
    E(108.3, 'path.state', '10.1.0.2', { from: 'ACTIVE', to: 'PF', activePath: '10.2.0.2' }),
    E(700, 'path.state', '10.1.0.2', { from: 'PF', to: 'INACTIVE', activePath: '10.2.0.2' }),
    E(8210.5, 'path.state', '10.1.0.2', { from: 'INACTIVE', to: 'ACTIVE', activePath: '10.1.0.2' }),
  ];
  assert.deepEqual(bpfTimeline(ev, o), { strikeMs: 108.25, pfMs: 108.3, inactiveMs: 700, movedMs: 108.3, activeAgainMs: 210.5, primaryBackMs: 210.5 });
  // an idle path: a heartbeat sent while the one before is unanswered is the strike; nothing moved
  const idle = [
    E(-300, 'path.heartbeat', '10.1.0.2', { reason: 'HEARTBEAT sent' }),
    E(-299, 'path.heartbeat', '10.1.0.2', { reason: 'HEARTBEAT-ACK received' }),
    E(40, 'path.heartbeat', '10.1.0.2', { reason: 'HEARTBEAT sent' }),
    E(240, 'path.heartbeat', '10.1.0.2', { reason: 'HEARTBEAT sent' }),
    E(440, 'path.state', '10.1.0.2', { from: 'ACTIVE', to: 'INACTIVE', activePath: '10.2.0.2' }),
  ];
  const it = bpfTimeline(idle, { ...o, regime: 'idle', primary: false });
  assert.deepEqual(it, { strikeMs: 240, pfMs: 440, inactiveMs: 440, movedMs: null, activeAgainMs: null, primaryBackMs: null });
  // the cut never bit
  assert.deepEqual(bpfTimeline([], o), { strikeMs: null, pfMs: null, inactiveMs: null, movedMs: null, activeAgainMs: null, primaryBackMs: null });
  // merged: bpf's figures replace procfs's where bpf measured them, the rest stay procfs's
  const proc = timeline([S(0, 'ACTIVE'), S(120, 'PF', 400, true, 100), S(710, 'INACTIVE', 800, true, 690), S(8230, 'ACTIVE', 800, true, 8200)], { rto0Ms: 200, rtoMaxMs: 1000, restoreMs: 8000, primary: true });
  const all = mergeTimeline(proc, bpfTimeline(ev, o), FIGURES);
  assert.equal(all.source, 'bpf');
  assert.equal(all.timeline.pfMs, 108.3);
  assert.equal(all.timeline.backupHeld, true);
  const some = mergeTimeline(proc, bpfTimeline(ev, o), ['pfMs', 'inactiveMs']);
  assert.equal(some.source, 'mixed');
  assert.equal(some.timeline.strikeMs, proc.strikeMs);
  assert.equal(mergeTimeline(proc, null, FIGURES).source, 'procfs');
  // bpf covers a figure but no event carried it (no active path in bullseye's kprobe events): procfs's stays
  const noMove = mergeTimeline(proc, { ...bpfTimeline(ev, o), movedMs: null }, FIGURES);
  assert.equal(noMove.source, 'mixed');
  assert.equal(noMove.timeline.movedMs, proc.movedMs);
  assert.deepEqual(noMove.missed, ['movedMs']);
  assert.ok(!noMove.figures.includes('movedMs'));
  assert.equal(noMove.timeline.pfMs, 108.3);
  // the report says per event what measured it, and why bpf did not measure the rest
  const p = makePlan(await snap(), { assocId: 3 }, '10.1.0.2', 8000, { PF: 500 }, sysctls);
  const r = measuredReport(p, null, {
    source: some.source,
    bpf: { figures: ['pfMs', 'inactiveMs'], reason: 'probes unavailable for strikeMs', probes: ['path-state'], attachMs: 31000, lostEvents: 0, events: 5 },
    procfsTimeline: proc,
    stats: { samples: 400, intervalMs: 20, maxGapMs: 30 },
    cutUncertaintyMs: 3,
    timeline: some.timeline,
    retransmissions: 4,
    tableRemoved: true,
    interrupted: null,
  });
  assert.deepEqual(Object.fromEntries(r.events.map((e) => [e.event, e.source])), { STRIKE: 'procfs', PF: 'bpf', INACTIVE: 'bpf', MOVED: 'procfs', ACTIVE: 'procfs' });
  assert.equal(r.events.find((e) => e.event === 'PF')!.measuredMs, 108);
  assert.deepEqual(checkSchema(await schema(), JSON.parse(JSON.stringify(r))), []);
  assert.match(printDrill(r, makeStyle(false)), /Measured from bpf events stamped by the kernel \(path-state; attached in 31(\.0)? s, 5 event\(s\)\), and by polling .* for STRIKE, MOVED, ACTIVE \(probes unavailable for strikeMs\)/);
  assert.equal(planReport(p, null).events[0]!.source, null);
});

test("drill --link: the link's one association, the one with the path when the link has several, refusals when ambiguous or unknown", async () => {
  const s = await snap();
  const links = parseLinks('a local-port=6001\ncore peer=10.1.0.2\neast peer-port=5000\n', 'links.conf');
  const link = (n: string) => findLink(links, n, 'links.conf');
  assert.equal(selectAssociation(s, { link: link('a') }, '10.1.0.2').id, 3);
  // 3, 5 and 7 all have path 10.1.0.2: which one to cut is ambiguous
  assert.throws(() => selectAssociation(s, { link: link('core') }, '10.1.0.2'), (e) => code(EXIT.USAGE)(e) && /link core has 3 associations with path 10\.1\.0\.2 \(ids 7, 3, 5\)/.test((e as Error).message));
  assert.throws(() => selectAssociation(s, { link: link('east') }, '10.2.0.2'), /link east has 2 associations/);
  assert.throws(() => selectAssociation(s, { link: link('core') }, '10.9.9.9'), (e) => code(EXIT.NOT_FOUND)(e) && /10\.9\.9\.9 is not a path of link core/.test((e as Error).message));
  // narrowed by --assoc or --port, a link's association is unambiguous
  assert.equal(selectAssociation(s, { link: link('east'), port: 6002 }, '10.2.0.2').id, 5);
  assert.throws(() => selectAssociation(s, { link: link('a'), assocId: 5 }, '10.1.0.2'), /no association matches the selection \(link a\)/);
  // the only one of the link's associations with the path is the one
  const t = structuredClone(s);
  for (const a of t.associations) if (a.id !== 5) a.paths = a.paths.filter((p) => p.address !== '10.2.0.2');
  assert.equal(selectAssociation(t, { link: link('east') }, '10.2.0.2').id, 5);
  assert.throws(() => findLink(links, 'west', 'links.conf'), (e) => code(EXIT.NOT_FOUND)(e) && /no link named "west" in links\.conf/.test((e as Error).message) && /its links: a, core, east/.test((e as SctpdiagError).hint ?? ''));
  assert.throws(() => findLink([], 'west', '/etc/x'), (e) => /defines no links/.test((e as SctpdiagError).hint ?? ''));
});

test('drill bpf watch: where bpf cannot measure, it says why at once (no wait) and measures no figure', async () => {
  const { watchBpf } = await import('../../src/drill/bpf.js');
  for (const [noBpf, why] of [
    [true, /^--no-bpf$/],
    [false, /^bpf unavailable: reading a capture/],
  ] as const) {
    const w = await watchBpf({ procRoot: capture('two-path-a'), netns: null, hz: 250, assocId: 3, noBpf, timeoutMs: 60_000, progress: () => assert.fail('no wait'), cancelled: () => false });
    assert.equal(await w.attached, false);
    assert.match(w.reason() ?? '', why);
    const { events, outcome } = await w.finish('data');
    assert.deepEqual(events, []);
    assert.deepEqual(outcome.figures, []);
    assert.match(outcome.reason ?? '', why);
    assert.equal(outcome.attachMs, null);
  }
});

test('drill lock: exclusive, stale by pid start time or boot id, never a symlink', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'drill-lock-'));
  let boot = 'boot-1';
  const starts = new Map<number, string>([[100, 'st100'], [200, 'st200']]);
  const probe: Probe = { bootId: () => boot, startTime: (pid) => starts.get(pid) ?? null };
  const l1 = await acquireDrillLock({ dir, netns: 'a', probe, pid: 100 });
  await assert.rejects(acquireDrillLock({ dir, netns: null, probe, pid: 200 }), code(EXIT.BUSY));
  starts.set(100, 'reused'); // pid 100 died and the pid was reused
  const l2 = await acquireDrillLock({ dir, netns: null, probe, pid: 200 });
  assert.equal(l2.replacedStale?.pid, 100);
  boot = 'boot-2'; // rebooted: the lock is stale even though pid 200 lives
  const l3 = await acquireDrillLock({ dir, netns: null, probe, pid: 100 });
  assert.equal(l3.replacedStale?.pid, 200);
  l3.release();
  l1.release();
  const l4 = await acquireDrillLock({ dir, netns: null, probe, pid: 100 });
  assert.equal(l4.replacedStale, null);
  l4.release();
  const { symlink } = await import('node:fs/promises');
  await writeFile(join(dir, 'elsewhere'), 'x');
  await symlink(join(dir, 'elsewhere'), join(dir, 'drill.lock'));
  await assert.rejects(acquireDrillLock({ dir, netns: null, probe, pid: 100 }), /not a regular file/);
});

test('drill CLI: dry run on a capture prints the plan and the rules; refusals have their exit codes', async () => {
  const run = (...a: string[]) => spawnSync(process.execPath, [CLI, '--proc-root', capture('two-path-a'), 'drill', ...a], { encoding: 'utf8' });
  const dry = run('--assoc', '3', '--path', '10.1.0.2', '--for', '8s', '--json');
  assert.equal(dry.status, 0, dry.stderr);
  const j = JSON.parse(dry.stdout);
  assert.equal(j.schemaVersion, 1);
  assert.equal(j.mode, 'dry-run');
  assert.match(j.nft.ruleset, /timeout 8000ms/);
  assert.deepEqual(checkSchema(await schema(), j), []);
  assert.equal(run('--assoc', '3', '--path', '10.1.0.2', '--for', '600').status, EXIT.USAGE);
  assert.equal(run('--assoc', '3', '--path', '10.9.9.9').status, EXIT.NOT_FOUND);
  assert.equal(run('--assoc', '7', '--path', '10.9.9.9').status, EXIT.NOT_FOUND);
  assert.equal(run('--assoc', '3', '--path', 'evil;').status, EXIT.USAGE);
  const yes = run('--assoc', '3', '--path', '10.1.0.2', '--yes');
  assert.equal(yes.status, EXIT.USAGE, 'never cuts on a capture');
  // --link with --links FILE
  const dir = await mkdtemp(join(tmpdir(), 'drill-links-'));
  const file = join(dir, 'links.conf');
  await writeFile(file, 'a local-port=6001\ncore peer=10.1.0.2\n');
  const byLink = run('--links', file, '--link', 'a', '--path', '10.1.0.2', '--json');
  assert.equal(byLink.status, 0, byLink.stderr);
  assert.equal(JSON.parse(byLink.stdout).association.id, 3);
  const unknown = run('--links', file, '--link', 'b', '--path', '10.1.0.2');
  assert.equal(unknown.status, EXIT.NOT_FOUND);
  assert.match(unknown.stderr, /no link named "b" in .*links\.conf/);
  const ambiguous = run('--links', file, '--link', 'core', '--path', '10.1.0.2');
  assert.equal(ambiguous.status, EXIT.USAGE);
  assert.match(ambiguous.stderr, /ambiguous/);
  assert.equal(run('--links', join(dir, 'missing.conf'), '--link', 'a', '--path', '10.1.0.2').status, EXIT.NOT_FOUND);
  assert.equal(run('--links', file, '--assoc', '3', '--path', '10.1.0.2').status, EXIT.USAGE, '--links without --link');
});

test('drill reads the path through the one procfs reader: a capture reads back, a FIFO in its place is refused, not waited on', async () => {
  const { readPath } = await import('../../src/drill/measure.js');
  const { mkdirSync, cpSync } = await import('node:fs');
  const src = join(process.cwd(), 'test/fixtures/captures/two-path-a');
  const s = await readPath(src, 7, '10.1.0.2', 250);
  assert.deepEqual(s, { state: 'ACTIVE', rtoMs: 560, otherActive: true });
  const dir = await mkdtemp(join(tmpdir(), 'sctpdiag-drill-fifo-'));
  mkdirSync(join(dir, 'net', 'sctp'), { recursive: true });
  cpSync(join(src, 'net/sctp/assocs'), join(dir, 'net/sctp/assocs'));
  assert.equal(spawnSync('mkfifo', [join(dir, 'net/sctp/remaddr')]).status, 0);
  await assert.rejects(readPath(dir, 7, '10.1.0.2', 250), /not a regular file/);
});

test('drill plan on Linux 5.10: the model for that kernel (late first heartbeat after PF), named in the report', async () => {
  const s = await snap();
  const on61 = makePlan(s, { assocId: 3 }, '10.1.0.2', 8000, {}, sysctls);
  assert.equal(on61.params.kernelRelease, '6.1.0-56-amd64', 'the snapshot’s kernel');
  assert.equal(on61.predicted.kernelNote, null);
  const on510 = makePlan({ ...s, kernelRelease: '5.10.0-32-amd64' }, { assocId: 3 }, '10.1.0.2', 8000, {}, sysctls);
  assert.equal(on510.predicted.pfMs, on61.predicted.pfMs);
  assert.equal(on510.predicted.inactiveMinMs, on61.predicted.inactiveMinMs);
  assert.ok(on510.predicted.inactiveMaxMs > on61.predicted.inactiveMaxMs, 'the pending heartbeat timer can delay INACTIVE');
  assert.match(on510.predicted.kernelNote ?? '', /^Linux 5\.10\.0-32-amd64 \(before 6\.1\.11\/6\.2\): PF does not pull in the pending heartbeat timer/);
  const r = planReport(on510, null);
  assert.deepEqual(checkSchema(await schema(), JSON.parse(JSON.stringify(r))), []);
  assert.match(printDrill(r, makeStyle(false)), /^! Linux 5\.10\.0-32-amd64 .*pending heartbeat timer/m);
  assert.doesNotMatch(printDrill(planReport(on61, null), makeStyle(false)), /pending heartbeat timer/);
  // an idle path's heartbeats are not changed by it: no note
  const idle = makePlan({ ...s, kernelRelease: '5.10.0-32-amd64' }, { assocId: 3 }, '10.2.0.2', 8000, {}, sysctls);
  assert.equal(idle.regime, 'idle');
  assert.equal(idle.predicted.kernelNote, null);
});
