import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_PARAMS, HB_FLOOR_MS, hbDelay, modelFailover, paramsFromSysctls, rtoAt, initialRto } from '../../src/model/failover.js';
import { pfResetsHbTimer } from '../../src/kernel/hb-timer.js';

const P = (o: Partial<typeof DEFAULT_PARAMS>) => ({ ...DEFAULT_PARAMS, ...o });

test('heartbeat delay = max(RTO/2 + hb, HZ/5) + RTO·(j − ½) (sctp_transport_timeout + reset_hb_timer)', () => {
  assert.equal(HB_FLOOR_MS, 200);
  assert.equal(hbDelay(1000, 30000, 1), 31000); // ACTIVE: 500 + 30000 + 500
  assert.equal(hbDelay(1000, 0, 1), 1000); // PF: hb_interval not added: 500 + 500
  assert.equal(hbDelay(100, 0, 1), 250); // PF, RTO 100: RTO/2 = 50 < HZ/5 → 200 + 50
  assert.equal(hbDelay(100, 0, 0.5), 200); // the random part U[0, RTO) at 0
  assert.equal(hbDelay(100, 0, 1.5), 300); // … and at RTO
});

test('kernel defaults on a LAN: PF 1 s; INACTIVE by heartbeats: 1 + 1 + 2 + 4 + 8 + 16 + 32 = 64 s (lab: 64.6 s)', () => {
  // T3 #1 after RTO₀ = 1 s → PF (pf_retrans 0); traffic leaves, so the last 5 strikes
  // (path_max_retrans 5 − pf_retrans 0) are heartbeats, hb_interval not added in PF:
  // reset at PF entry with RTO 1000: 500 + U[0,1000) → 1000 expected, not counted
  // (nothing unanswered yet); then RTO 2000, 4000, 8000, 16000, 32000: each RTO/2 + RTO/2.
  const m = modelFailover(P({}));
  assert.equal(m.rto0, 1000);
  assert.deepEqual(m.rtoSeries, [1000, 2000, 4000, 8000, 16000, 32000]);
  assert.equal(m.dataPath.pfMs, 1000);
  assert.equal(m.pfEffective, true);
  assert.equal(m.dataPath.inactiveBy, 'heartbeats');
  assert.deepEqual(m.dataPath.hbAfterPfMs, [1000, 2000, 4000, 8000, 16000, 32000]);
  assert.equal(m.dataPath.inactiveMs, 64000);
  // random part at 0: 1000 + 500 + 1000 + 2000 + 4000 + 8000 + 16000; at RTO: 1000 + 1500 + 3000 + … + 48000
  assert.deepEqual(m.dataPath.inactive, { min: 32500, expected: 64000, max: 95500 });
  // without PF the path keeps carrying DATA: T3 timeouts 1 + 2 + 4 + 8 + 16 + 32 = 63 s
  assert.equal(modelFailover(P({ pfEnable: false })).dataPath.inactiveMs, 63000);
});

test('issue example rto_min 200 / rto_max 1000 / pmr 2 / pf 0: PF 200 ms, INACTIVE 200 + 300 + 400 + 800 = 1.7 s', () => {
  // PF at the first T3 (200); heartbeats: reset with RTO 200 → max(100, HZ/5 = 200) + 100 = 300
  // (uncounted), then RTO 400 → 200 + 200 = 400 (strike 2), RTO 800 → 400 + 400 = 800 (strike 3 > 2)
  const m = modelFailover(P({ rtoMin: 200, rtoMax: 1000, pathMaxRetrans: 2, pfRetrans: 0 }));
  assert.equal(m.dataPath.pfMs, 200);
  assert.deepEqual(m.dataPath.hbAfterPfMs, [300, 400, 800]);
  assert.equal(m.dataPath.inactiveMs, 1700);
  // min: 200 + 200 + 200 + 400 = 1000; max: 200 + 400 + 600 + 1200 = 2400
  assert.deepEqual(m.dataPath.inactive, { min: 1000, expected: 1700, max: 2400 });
  assert.equal(m.dataPath.trafficMovesMs, 200);
  // hb_interval plays no part once the path is PF
  assert.equal(modelFailover(P({ rtoMin: 200, rtoMax: 1000, pathMaxRetrans: 2, pfRetrans: 0, hbInterval: 200 })).dataPath.inactiveMs, 1700);
});

test('rto_max caps the backoff: 1000, 2000, 3000, 3000, 3000', () => {
  assert.deepEqual([0, 1, 2, 3, 4].map((i) => rtoAt(1000, 3000, i)), [1000, 2000, 3000, 3000, 3000]);
  // PF after 1000, then heartbeats 1000 (uncounted) + 2000 + 3000 + 3000 + 3000 = 13 s
  assert.equal(modelFailover(P({ rtoMin: 1000, rtoMax: 3000, pathMaxRetrans: 4 })).dataPath.inactiveMs, 13000);
  // no PF: T3 timeouts 1000 + 2000 + 3000 + 3000 + 3000 = 12 s
  const off = modelFailover(P({ rtoMin: 1000, rtoMax: 3000, pathMaxRetrans: 4, pfEnable: false }));
  assert.equal(off.dataPath.inactiveMs, 12000);
  assert.equal(off.dataPath.inactiveBy, 'timeouts');
  assert.deepEqual(off.dataPath.inactive, { min: 12000, expected: 12000, max: 12000 });
});

test('PF: pf_retrans 1 → after two timeouts; pf_retrans ≥ path_max_retrans − 1 or pf_enable 0 → never', () => {
  // RTO 200, 400 → PF at 600; heartbeats: reset with RTO 400 → 200 + 200 = 400 (uncounted),
  // then RTO 800 → 400 + 400 = 800 (strike 3), RTO 1000 (capped) → 500 + 500 (strike 4 > 3)
  const pf1 = modelFailover(P({ rtoMin: 200, rtoMax: 1000, pathMaxRetrans: 3, pfRetrans: 1 }));
  assert.equal(pf1.dataPath.pfMs, 600);
  assert.deepEqual(pf1.dataPath.hbAfterPfMs, [400, 800, 1000]);
  assert.equal(pf1.dataPath.inactiveMs, 2800);
  const off = modelFailover(P({ pathMaxRetrans: 2, pfRetrans: 2 }));
  assert.equal(off.dataPath.pfMs, null);
  assert.equal(off.pfEffective, false);
  assert.match(off.notes.join(' '), /PF is never entered/);
  assert.equal(off.dataPath.inactiveMs, 7000); // T3: 1000 + 2000 + 4000
  assert.equal(modelFailover(P({ pfEnable: false })).dataPath.pfMs, null);
});

test('LAN telecom-like, RTO₀ at rto_min 100, rto_max 400, pmr 2: the HZ/5 floor dominates the PF heartbeats', () => {
  // PF at 100; reset with RTO 100: max(50, 200) + 50 = 250 (uncounted); RTO 200: max(100, 200) + 100 = 300 (strike 2);
  // RTO 400: max(200, 200) + 200 = 400 (strike 3 > 2). min 100 + 200 + 200 + 200; max 100 + 300 + 400 + 600
  const m = modelFailover(P({ rtoMin: 100, rtoMax: 400, pathMaxRetrans: 2, pfRetrans: 0, hbInterval: 30000 }));
  assert.deepEqual(m.dataPath.hbAfterPfMs, [250, 300, 400]);
  assert.deepEqual(m.dataPath.inactive, { min: 700, expected: 1050, max: 1400 });
  // pf_retrans 0 with path_max_retrans 1 never enters PF (needs 0 < error count < 1; seen in the lab)
  const one = modelFailover(P({ rtoMin: 100, rtoMax: 400, pathMaxRetrans: 1, pfRetrans: 0 }));
  assert.equal(one.pfEffective, false);
  assert.equal(one.dataPath.inactiveMs, 300); // T3: 100 + 200
});

test('RTO₀ from RTT: SRTT + 4·RTTVAR clamped to [rto_min, rto_max]; rto_initial before any sample', () => {
  assert.equal(initialRto(P({ rtoMin: 200, rttMs: 100 })), 300); // 100 + 4·50
  assert.equal(initialRto(P({ rtoMin: 200, rttMs: 10 })), 200);
  assert.equal(initialRto(P({ rtoMax: 1000, rttMs: 900 })), 1000);
  assert.equal(initialRto(P({ unmeasured: true, rtoInitial: 3000 })), 3000);
});

test('idle path with heartbeats, hand-worked: hb 1000, RTO 200, pmr 2, pf 0', () => {
  // period = max(RTO/2 + hb, HZ/5) + RTO·(j − ½) = hb + RTO·j here (RTO/2 ≥ 200 once PF);
  // hb not added once PF; the first heartbeat after the cut is not counted.
  // expected (j=1, phase .5): 0.5·1200 + (1000+200) + 400 + 800 = 3000;
  // min (j=.5, phase 0): 1100+200+400 = 1700; max (j=1.5, phase 1): 1300 + 1300 + 600 + 1200 = 4400
  const m = modelFailover(P({ rtoMin: 200, rtoMax: 1000, pathMaxRetrans: 2, pfRetrans: 0, hbInterval: 1000 }));
  assert.deepEqual(m.idlePath.inactive, { min: 1700, expected: 3000, max: 4400 });
  // PF after one unanswered heartbeat: expected 600 + 1200
  assert.deepEqual(m.idlePath.pf, { min: 1100, expected: 1800, max: 2600 });
});

test('idle path, RTO 100 (the HZ/5 floor): hb 1000, pmr 2, pf 0', () => {
  // ACTIVE period max(50 + 1000, 200) + 100·(j−½); in PF: RTO 200 → max(100, 200) + 200·(j−½), RTO 400 → 200 + 400·(j−½)
  // expected: 0.5·1100 + 1100 + 300 + 400 = 2350; min: 0 + 1050 + 200 + 200 = 1450; max: 1150 + 1150 + 400 + 600 = 3300
  const m = modelFailover(P({ rtoMin: 100, rtoMax: 1000, pathMaxRetrans: 2, pfRetrans: 0, hbInterval: 1000 }));
  assert.deepEqual(m.idlePath.inactive, { min: 1450, expected: 2350, max: 3300 });
});

test('association abort with every path dead, hand-worked (2 paths, RTO 200, pmr 2, amr 4): 2.0 s', () => {
  // p0 200 (PF) → p1 400 (PF) → p0 800 → p1 1200 → p0 2000 = 5th timeout > 4
  const m = modelFailover(P({ rtoMin: 200, rtoMax: 1000, pathMaxRetrans: 2, pfRetrans: 0, associationMaxRetrans: 4, paths: 2 }));
  assert.deepEqual(m.abort, { ms: 2000, strikes: 5 });
  assert.equal(m.notes.length, 0);
});

test('RFC 4960 §8.2 note when association_max_retrans > Σ path_max_retrans', () => {
  const m = modelFailover(P({ pathMaxRetrans: 2, associationMaxRetrans: 10, paths: 2 }));
  assert.match(m.notes.join(' '), /8\.2/);
});

test('paramsFromSysctls reads the sysctl names', () => {
  const p = paramsFromSysctls(new Map([['rto_min', '100'], ['pf_enable', '0'], ['hb_interval', '1000']]), { paths: 3 });
  assert.equal(p.rtoMin, 100);
  assert.equal(p.pfEnable, false);
  assert.equal(p.hbInterval, 1000);
  assert.equal(p.paths, 3);
  assert.equal(p.rtoMax, 60000);
});

test('property: times are monotone (PF ≤ INACTIVE, idle min ≤ expected ≤ max) and finite', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 0, max: 60000 }), fc.integer({ min: 1, max: 10 }),
      fc.integer({ min: 0, max: 12 }), fc.integer({ min: 1, max: 60000 }), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 4 }),
      (rtoMin, extra, pmr, pf, hb, amr, paths) => {
        const m = modelFailover(P({ rtoMin, rtoMax: rtoMin + extra, pathMaxRetrans: pmr, pfRetrans: pf, hbInterval: hb, associationMaxRetrans: amr, paths }));
        if (m.dataPath.pfMs !== null) assert.ok(m.dataPath.pfMs <= m.dataPath.inactive.min);
        for (const r of [m.idlePath.inactive, m.dataPath.inactive]) assert.ok(r.min <= r.expected && r.expected <= r.max);
        assert.equal(m.dataPath.inactiveMs, m.dataPath.inactive.expected);
        assert.ok(Number.isFinite(m.abort.ms) && m.abort.strikes === amr + 1);
      },
    ),
  );
});

test('kernel fact: PF entry pulls in the heartbeat timer from 6.1.11 / 6.2 (8f35ae17ef56); Debian 6.1.0-N from ABI 4', () => {
  // Debian 5.10.223's sctp_transport_reset_hb_timer() still has the time_before() check; 6.1.11-1 (ABI 4) took 6.1.11
  for (const [rel, resets] of [
    ['5.10.0-32-amd64', false], ['5.15.0-91-generic', false], ['6.1.0-3-amd64', false], ['6.1.10-200.fc37.x86_64', false], ['6.1.0', false],
    ['6.1.0-4-amd64', true], ['6.1.0-57-amd64', true], ['6.1.11', true], ['6.2.0', true], ['6.12.57+deb13-amd64', true], ['7.2.0-1-amd64', true],
  ] as const) assert.equal(pfResetsHbTimer(rel).resets, resets, rel);
  // no release known: the model is that of current kernels, and says nothing
  assert.deepEqual(pfResetsHbTimer(null), { resets: true, reason: null });
  assert.deepEqual(pfResetsHbTimer('garbage'), { resets: true, reason: null });
});

// telecom as the drill lab models it (RTO₀ = the path's RTO 148 ms, rto_max 200, pmr 2, pf 0, hb 1000)
const LAB_TELECOM = P({ rtoMin: 100, rtoMax: 200, pathMaxRetrans: 2, pfRetrans: 0, hbInterval: 1000, associationMaxRetrans: 4, rttMs: 148, rttvarMs: 0 });

test('Linux 5.10: the first heartbeat after PF waits for the timer the ACTIVE path left, so INACTIVE reaches 2.02 s, not 1.3 s', () => {
  // 6.1: PF 148; reset with RTO 148: max(74, 200) + U[0, 148) (uncounted); RTO 200: 200 + U[0, 200) twice
  const new61 = modelFailover({ ...LAB_TELECOM, kernelRelease: '6.1.0-57-amd64' });
  assert.deepEqual(new61.dataPath.inactive, { min: 748, expected: 1022, max: 1296 });
  assert.equal(new61.kernelNote, null);
  assert.equal(new61.pfResetsHbTimer, true);
  // 5.10: the pending timer is due E ∈ (0, P] after PF, P = 74 + 1000 = 1074 (re-armed from the last DATA, no jitter);
  // E ≥ B = 200 keeps it, else the reset gives 200 + U[0, 148): max 1074, mean (200·274 + (1074² − 200²)/2) / 1074
  const old510 = modelFailover({ ...LAB_TELECOM, kernelRelease: '5.10.0-32-amd64' });
  assert.equal(old510.pfResetsHbTimer, false);
  assert.equal(old510.dataPath.pfMs, 148, 'PF itself comes from the T3 timeout: unchanged');
  assert.equal(old510.dataPath.inactive.min, 748);
  assert.equal(old510.dataPath.inactive.max, 148 + 1074 + 400 + 400);
  assert.ok(Math.abs(old510.dataPath.inactive.expected - (148 + (200 * 274 + (1074 ** 2 - 200 ** 2) / 2) / 1074 + 600)) < 1e-9);
  assert.equal(old510.dataPath.hbAfterPfMs.length, 3);
  assert.match(old510.kernelNote ?? '', /^Linux 5\.10\.0-32-amd64 \(before 6\.1\.11\/6\.2\): PF does not pull in the pending heartbeat timer; .* may wait 1\.07 s/);
  assert.ok(old510.notes.includes(old510.kernelNote!));
  // bullseye's lab drills (bpf and procfs agreed): 3 of 5 lay past 6.1's range, all within 5.10's
  for (const ms of [976, 1104, 1478, 1513, 1387]) assert.ok(ms >= old510.dataPath.inactive.min && ms <= old510.dataPath.inactive.max, `${ms}`);
  assert.equal([976, 1104, 1478, 1513, 1387].filter((ms) => ms > new61.dataPath.inactive.max).length, 3);
  // only the data path after PF differs: idle path, PF, abort are the same
  assert.deepEqual(old510.idlePath, new61.idlePath);
  assert.deepEqual(old510.abort, new61.abort);
  // no PF, no PF-entry reset: nothing changes, nothing to say
  const off = modelFailover({ ...LAB_TELECOM, pfEnable: false, kernelRelease: '5.10.0-32-amd64' });
  assert.deepEqual(off.dataPath, modelFailover({ ...LAB_TELECOM, pfEnable: false }).dataPath);
  assert.equal(off.kernelNote, null);
  // a timer the ACTIVE path arms before the reset's own base (hb_interval 0, RTO/2 < HZ/5) changes nothing either
  assert.deepEqual(modelFailover({ ...LAB_TELECOM, hbInterval: 0, kernelRelease: '5.10.0-32-amd64' }).dataPath, modelFailover({ ...LAB_TELECOM, hbInterval: 0 }).dataPath);
});

test('Linux 5.10 first heartbeat after PF: the closed form matches a step-by-step run of the kernel rule', () => {
  // sctp_transport_reset_hb_timer() before 8f35ae17ef56: mod_timer(B + U[0, R)) only if the pending timer E is before B
  let seed = 0x9e3779b9; // xorshift32: a fixed sequence, the same every run
  const rnd = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  for (const [r, hb] of [[148, 1000], [100, 1000], [1000, 30000], [400, 300]] as const) {
    const b = Math.max(r / 2, HB_FLOOR_MS);
    const period = Math.max(r / 2 + hb, HB_FLOOR_MS);
    let sum = 0;
    let lo = Infinity;
    let hi = 0;
    const n = 200_000;
    for (let i = 0; i < n; i++) {
      const e = (1 - rnd()) * period; // (0, P]
      const first = e < b ? b + rnd() * r : e;
      sum += first;
      lo = Math.min(lo, first);
      hi = Math.max(hi, first);
    }
    const base = P({ rtoMin: r, rtoMax: r, pathMaxRetrans: 2, pfRetrans: 0, hbInterval: hb, rttMs: r, rttvarMs: 0 });
    const m = modelFailover({ ...base, kernelRelease: '5.10.0-32-amd64' });
    const first = { min: m.dataPath.inactive.min - m.dataPath.pfMs! - 2 * b, expected: m.dataPath.hbAfterPfMs[0]!, max: m.dataPath.inactive.max - m.dataPath.pfMs! - 2 * (b + r) };
    assert.ok(lo >= first.min && hi <= first.max, `r ${r} hb ${hb}: simulated ${lo}…${hi} within ${first.min}…${first.max}`);
    assert.ok(hi > first.max * 0.99, `r ${r} hb ${hb}: the max is reached`);
    assert.ok(Math.abs(sum / n - first.expected) < first.expected * 0.01, `r ${r} hb ${hb}: mean ${sum / n} vs ${first.expected}`);
  }
});
