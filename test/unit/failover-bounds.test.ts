/**
 * Issue #13 items 1 and 13: kernel-legal extremes (path_max_retrans and
 * association_max_retrans up to INT_MAX) are modelled in closed form, option
 * values are bounded with clear messages, and PF reachability is decided by
 * one kernel function that doctor, the catalog rules and the model share.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, capture } from '../helpers.js';
import { EXIT } from '../../src/errors.js';
import { pfReachable } from '../../src/kernel/pf.js';
import { checkRules, INT_MAX } from '../../src/kernel/sysctl-catalog.js';
import { DEFAULT_PARAMS, hbDelay, modelFailover, type FailoverParams } from '../../src/model/failover.js';

const P = (o: Partial<FailoverParams>): FailoverParams => ({ ...DEFAULT_PARAMS, ...o });

test('PF reachability: the kernel enters PF only while pf_retrans < error_count < path_max_retrans', () => {
  // error_count runs 1, 2, ...; PF needs some integer strictly between pf_retrans and path_max_retrans
  for (let pmr = 1; pmr <= 8; pmr++)
    for (let pf = 0; pf <= 9; pf++) {
      let reachable = false;
      for (let e = 1; e <= pmr + 1; e++) if (pf < e && e < pmr) reachable = true;
      assert.equal(pfReachable({ pfEnable: true, pfRetrans: pf, pathMaxRetrans: pmr }), reachable, `pf ${pf} pmr ${pmr}`);
      assert.equal(pfReachable({ pfEnable: false, pfRetrans: pf, pathMaxRetrans: pmr }), false);
    }
  // the boundary the issue names: pf 4 / pmr 5 never enters PF, pf 3 / pmr 5 does
  assert.equal(pfReachable({ pfEnable: true, pfRetrans: 4, pathMaxRetrans: 5 }), false);
  assert.equal(pfReachable({ pfEnable: true, pfRetrans: 3, pathMaxRetrans: 5 }), true);
});

test('PF reachability: catalog rule, doctor and model agree at the boundary (pf_retrans 4, path_max_retrans 5)', () => {
  const rule = (pf: string, pmr: string) => checkRules({ pf_retrans: pf, path_max_retrans: pmr, ps_retrans: '65535', pf_enable: '1' }).some((r) => r.rule === 'pf-disabled');
  assert.equal(rule('4', '5'), true, 'pf 4 / pmr 5 disables PF');
  assert.equal(rule('3', '5'), false);
  assert.equal(rule('0', '1'), true, 'pf 0 / pmr 1 disables PF');
  assert.equal(modelFailover(P({ pfRetrans: 4, pathMaxRetrans: 5 })).pfEffective, false);
  assert.equal(modelFailover(P({ pfRetrans: 3, pathMaxRetrans: 5 })).pfEffective, true);
});

/** The model as it was written before (arrays and loops), kept as the reference for small values. */
function reference(p: FailoverParams) {
  const rto0 = modelFailover(p).rto0;
  const series: number[] = [];
  for (let i = 0, r = rto0; i <= p.pathMaxRetrans; i++, r = Math.min(r * 2, p.rtoMax)) series.push(Math.min(r, p.rtoMax));
  const pfOn = pfReachable(p);
  const sum = (a: number[]) => a.reduce((s, x) => s + x, 0);
  const pfMs = pfOn ? sum(series.slice(0, p.pfRetrans + 1)) : null;
  const hb = (j: number) => [hbDelay(series[p.pfRetrans]!, 0, j), ...series.slice(p.pfRetrans + 1).map((r) => hbDelay(r, 0, j))];
  const inactive = pfMs !== null ? { min: pfMs + sum(hb(0.5)), expected: pfMs + sum(hb(1)), max: pfMs + sum(hb(1.5)) } : { min: sum(series), expected: sum(series), max: sum(series) };
  const idle = (strikes: number, pfAfter: number | null, j: number, phase: number) => {
    let t = phase * hbDelay(rto0, p.hbInterval, j);
    let rto = rto0;
    let inPf = false;
    for (let k = 1; k <= strikes; k++) {
      t += hbDelay(rto, inPf ? 0 : p.hbInterval, j);
      rto = Math.min(rto * 2, p.rtoMax);
      if (pfAfter !== null && k === pfAfter) inPf = true;
    }
    return t;
  };
  const pfAfter = pfOn ? p.pfRetrans + 1 : null;
  const range = (k: number, a: number | null) => ({ min: idle(k, a, 0.5, 0), expected: idle(k, a, 1, 0.5), max: idle(k, a, 1.5, 1) });
  // abort: one strike per timeout, rotating over paths not INACTIVE
  const n = p.paths;
  const rto = Array.from({ length: n }, () => rto0);
  const errors = Array.from({ length: n }, () => 0);
  const state = Array.from({ length: n }, () => 'ACTIVE');
  let cur = 0, t = 0, strikes = 0;
  for (;;) {
    t += rto[cur]!;
    errors[cur]!++;
    strikes++;
    rto[cur] = Math.min(rto[cur]! * 2, p.rtoMax);
    if (errors[cur]! > p.pathMaxRetrans) state[cur] = 'INACTIVE';
    else if (pfOn && errors[cur]! > p.pfRetrans) state[cur] = 'PF';
    if (strikes >= p.associationMaxRetrans + 1) break;
    let next = -1;
    for (const want of ['ACTIVE', 'PF']) {
      for (let d = 1; d <= n && next < 0; d++) if (state[(cur + d) % n] === want) next = (cur + d) % n;
      if (next >= 0) break;
    }
    if (next >= 0) cur = next;
  }
  return { pfMs, inactive, idleInactive: range(p.pathMaxRetrans + 1, pfAfter), idlePf: pfAfter !== null ? range(pfAfter, null) : null, abort: { ms: t, strikes } };
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));

test('property: the closed form equals the step-by-step model for every small parameter set', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 0, max: 60000 }), fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 0, max: 45 }), fc.integer({ min: 0, max: 60000 }), fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 6 }), fc.boolean(),
      (rtoMin, extra, pmr, pf, hb, amr, paths, pfEnable) => {
        const p = P({ rtoMin, rtoMax: rtoMin + extra, pathMaxRetrans: pmr, pfRetrans: pf, hbInterval: hb, associationMaxRetrans: amr, paths, pfEnable });
        const m = modelFailover(p);
        const r = reference(p);
        assert.equal(m.dataPath.pfMs, r.pfMs);
        for (const k of ['min', 'expected', 'max'] as const) {
          assert.ok(close(m.dataPath.inactive[k], r.inactive[k]), `data inactive ${k}: ${m.dataPath.inactive[k]} vs ${r.inactive[k]}`);
          assert.ok(close(m.idlePath.inactive[k], r.idleInactive[k]), `idle inactive ${k}`);
          if (r.idlePf) assert.ok(close(m.idlePath.pf![k], r.idlePf[k]), `idle pf ${k}`);
        }
        assert.equal(m.idlePath.pf === null, r.idlePf === null);
        assert.equal(m.abort.strikes, r.abort.strikes);
        assert.ok(close(m.abort.ms, r.abort.ms), `abort ${m.abort.ms} vs ${r.abort.ms}`);
      },
    ),
    { numRuns: 300 },
  );
});

test('INT_MAX path_max_retrans and association_max_retrans are modelled, with bounded lists', () => {
  const m = modelFailover(P({ pathMaxRetrans: INT_MAX, associationMaxRetrans: INT_MAX, pfRetrans: 0, paths: 64 }));
  assert.ok(m.pfEffective);
  assert.ok(Number.isFinite(m.dataPath.inactiveMs) && m.dataPath.inactiveMs > 60000 * 1e9, String(m.dataPath.inactiveMs));
  assert.ok(Number.isFinite(m.abort.ms));
  assert.equal(m.abort.strikes, INT_MAX + 1);
  assert.equal(m.strikes, INT_MAX + 1);
  assert.ok(m.rtoSeries.length <= 64, `rtoSeries lists ${m.rtoSeries.length} entries`);
  assert.ok(m.dataPath.hbAfterPfMs.length <= 64);
  const off = modelFailover(P({ pathMaxRetrans: INT_MAX, pfEnable: false }));
  assert.equal(off.dataPath.inactiveMs, 1000 + 2000 + 4000 + 8000 + 16000 + 32000 + (INT_MAX + 1 - 6) * 60000);
});

// --------------------------------------------------------------- the built CLI on a hostile capture

function run(args: string[]) {
  // the timeout only guards against a hang; nothing here is a timing assertion
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, NO_COLOR: '1', SCTPDIAG_NETNS: '' } });
  return { code: r.status, signal: r.signal, out: r.stdout, err: r.stderr };
}

function intMaxCapture(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sctpdiag-intmax-'));
  cpSync(capture('two-path-a'), dir, { recursive: true });
  writeFileSync(join(dir, 'sys/net/sctp/path_max_retrans'), '2147483647\n');
  writeFileSync(join(dir, 'sys/net/sctp/association_max_retrans'), '2147483647\n');
  return dir;
}

test('INT_MAX path_max_retrans in a capture: doctor, tune --profile default and failover-time --live answer, no crash', () => {
  const dir = intMaxCapture();
  for (const args of [
    ['--proc-root', dir, 'doctor'],
    ['--proc-root', dir, 'doctor', '--json'],
    ['--proc-root', dir, 'tune', '--profile', 'default'],
    ['--proc-root', dir, 'tune', '--profile', 'default', '--json'],
    ['--proc-root', dir, 'failover-time', '--live'],
    ['--proc-root', dir, 'failover-time', '--live', '--json'],
  ]) {
    const r = run(args);
    assert.equal(r.signal, null, `${args.join(' ')}: killed by ${r.signal}`);
    assert.ok(r.code !== null && r.code !== EXIT.FAILURE && r.code < 128, `${args.join(' ')}: exit ${r.code}\n${r.err.slice(0, 2000)}`);
    assert.doesNotMatch(r.err, /FATAL|heap|at .*\.js:\d+/, args.join(' '));
    assert.ok(r.out.length > 0 && r.out.length < 200_000, `${args.join(' ')}: ${r.out.length} bytes of output`);
    if (args.includes('--json')) JSON.parse(r.out);
  }
  const ft = run(['--proc-root', dir, 'failover-time', '--live']);
  assert.equal(ft.code, 0);
  assert.match(ft.out, /path_max_retrans 2147483647/);
});

test('--paths and --path-max-retrans are bounded everywhere with clear messages (exit 2)', () => {
  const dir = capture('two-path-a');
  const cases: Array<[string[], RegExp]> = [
    [['--proc-root', dir, 'tune', '--profile', 'default', '--paths', '1000000000'], /--paths: .*1\.\.64/],
    [['--proc-root', dir, 'tune', '--profile', 'default', '--paths', '0'], /--paths: .*1\.\.64/],
    [['--proc-root', dir, 'tune', '--show', 'default', '--paths', '65'], /--paths: .*1\.\.64/],
    [['failover-time', '--paths', '1000000000'], /--paths: .*1\.\.64/],
    [['failover-time', '--path-max-retrans', '2147483648'], /--path-max-retrans: .* is not a value of path_max_retrans in 1\.\.2147483647/],
    [['failover-time', '--path-max-retrans', '0'], /--path-max-retrans: .* is not a value of path_max_retrans in 1\.\.2147483647/],
    [['failover-time', '--association-max-retrans', '99999999999999999999'], /--association-max-retrans: .* is not a value of association_max_retrans in 1\.\.2147483647/],
    [['failover-time', '--rto-max', '2147483648'], /--rto-max: .* is not a value of rto_max in 1\.\.86400000/],
  ];
  for (const [args, re] of cases) {
    const r = run(args);
    assert.equal(r.code, EXIT.USAGE, `${args.join(' ')}: exit ${r.code} ${r.err}`);
    assert.match(r.err, re, args.join(' '));
  }
  const ok = run(['failover-time', '--path-max-retrans', '2147483647', '--association-max-retrans', '2147483647', '--paths', '64']);
  assert.equal(ok.code, 0, ok.err);
});

// ------------------------------------------------------------ item 7: the decompressed kernel config is capped

test('config.gz: a gzip bomb (inflating past the cap) and a FIFO are not read; a normal one is', async () => {
  const { gzipSync } = await import('node:zlib');
  const { mkdtempSync: mk, writeFileSync: wr, mkdirSync } = await import('node:fs');
  const { execFileSync } = await import('node:child_process');
  const { hzFromConfigSources, CONFIG_MAX_BYTES } = await import('../../src/procfs/hz.js');
  const boot = mk(join(tmpdir(), 'sctpdiag-boot-'));
  const ok = mk(join(tmpdir(), 'sctpdiag-cfg-'));
  wr(join(ok, 'config.gz'), gzipSync('CONFIG_HZ=300\n'));
  assert.equal((await hzFromConfigSources({ procRoot: ok, release: null, bootDir: boot }))?.value, 300);
  const bomb = mk(join(tmpdir(), 'sctpdiag-cfg-'));
  const big = Buffer.alloc(CONFIG_MAX_BYTES + 1024, 0x23); // '#' lines, then the answer past the cap
  wr(join(bomb, 'config.gz'), gzipSync(Buffer.concat([big, Buffer.from('\nCONFIG_HZ=300\n')]), { level: 9 }));
  assert.equal(await hzFromConfigSources({ procRoot: bomb, release: null, bootDir: boot }), null);
  const fifo = mk(join(tmpdir(), 'sctpdiag-cfg-'));
  mkdirSync(join(fifo, 'x'));
  execFileSync('mkfifo', [join(fifo, 'config.gz')]);
  assert.equal(await hzFromConfigSources({ procRoot: fifo, release: null, bootDir: boot }), null);
});
