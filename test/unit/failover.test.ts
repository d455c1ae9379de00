import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_PARAMS, HB_FLOOR_MS, hbDelay, modelFailover, paramsFromSysctls, rtoSeries, initialRto } from '../../src/model/failover.js';

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
  assert.deepEqual(rtoSeries(1000, 3000, 5), [1000, 2000, 3000, 3000, 3000]);
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
