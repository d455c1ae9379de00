import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_PARAMS, modelFailover, paramsFromSysctls, rtoSeries, initialRto } from '../../src/model/failover.js';

const P = (o: Partial<typeof DEFAULT_PARAMS>) => ({ ...DEFAULT_PARAMS, ...o });

test('kernel defaults on a LAN: 1 s + 2 + 4 + 8 + 16 + 32 = 63 s to INACTIVE (measured in the lab: 66.9 s)', () => {
  const m = modelFailover(P({}));
  assert.equal(m.rto0, 1000);
  assert.deepEqual(m.rtoSeries, [1000, 2000, 4000, 8000, 16000, 32000]);
  assert.equal(m.dataPath.inactiveMs, 63000);
  assert.equal(m.dataPath.pfMs, 1000);
  assert.equal(m.pfEffective, true);
});

test('issue example rto_min 200 / rto_max 1000 / pmr 2 / pf 0: PF 200 ms, INACTIVE 200+400+800 = 1.4 s', () => {
  const m = modelFailover(P({ rtoMin: 200, rtoMax: 1000, pathMaxRetrans: 2, pfRetrans: 0 }));
  assert.equal(m.dataPath.pfMs, 200);
  assert.equal(m.dataPath.inactiveMs, 1400);
  assert.equal(m.dataPath.trafficMovesMs, 200);
});

test('rto_max caps the backoff: 1000, 2000, 3000, 3000, 3000', () => {
  assert.deepEqual(rtoSeries(1000, 3000, 5), [1000, 2000, 3000, 3000, 3000]);
  assert.equal(modelFailover(P({ rtoMin: 1000, rtoMax: 3000, pathMaxRetrans: 4 })).dataPath.inactiveMs, 12000);
});

test('PF: pf_retrans 1 → after two timeouts; pf_retrans ≥ path_max_retrans or pf_enable 0 → never', () => {
  assert.equal(modelFailover(P({ rtoMin: 200, rtoMax: 1000, pathMaxRetrans: 3, pfRetrans: 1 })).dataPath.pfMs, 600);
  const off = modelFailover(P({ pathMaxRetrans: 2, pfRetrans: 2 }));
  assert.equal(off.dataPath.pfMs, null);
  assert.equal(off.pfEffective, false);
  assert.match(off.notes.join(' '), /PF is never entered/);
  assert.equal(modelFailover(P({ pfEnable: false })).dataPath.pfMs, null);
});

test('RTO₀ from RTT: SRTT + 4·RTTVAR clamped to [rto_min, rto_max]; rto_initial before any sample', () => {
  assert.equal(initialRto(P({ rtoMin: 200, rttMs: 100 })), 300); // 100 + 4·50
  assert.equal(initialRto(P({ rtoMin: 200, rttMs: 10 })), 200);
  assert.equal(initialRto(P({ rtoMax: 1000, rttMs: 900 })), 1000);
  assert.equal(initialRto(P({ unmeasured: true, rtoInitial: 3000 })), 3000);
});

test('idle path with heartbeats, hand-worked: hb 1000, RTO 200, pmr 2, pf 0', () => {
  // period = hb + RTO·j; hb not added once PF. expected (j=1, phase .5):
  // 0.5·1200 + (1000+200) + 400 + 800 = 3000; min (j=.5, phase 0): 1100+200+400 = 1700;
  // max (j=1.5, phase 1): 1300 + 1300 + 600 + 1200 = 4400
  const m = modelFailover(P({ rtoMin: 200, rtoMax: 1000, pathMaxRetrans: 2, pfRetrans: 0, hbInterval: 1000 }));
  assert.deepEqual(m.idlePath.inactive, { min: 1700, expected: 3000, max: 4400 });
  // PF after one unanswered heartbeat: expected 600 + 1200
  assert.deepEqual(m.idlePath.pf, { min: 1100, expected: 1800, max: 2600 });
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
        if (m.dataPath.pfMs !== null) assert.ok(m.dataPath.pfMs <= m.dataPath.inactiveMs);
        const r = m.idlePath.inactive;
        assert.ok(r.min <= r.expected && r.expected <= r.max);
        assert.ok(Number.isFinite(m.abort.ms) && m.abort.strikes === amr + 1);
      },
    ),
  );
});
