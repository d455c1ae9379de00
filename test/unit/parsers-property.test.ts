/**
 * Property tests for everything that reads untrusted text (issue #13): the
 * procfs parsers, the profile parser, the journal check, the sysctl dump, the
 * bpftrace line parsers, `ip route get` output, --listen. Over 100k generated
 * inputs in all. Each group runs in a worker thread, so a hang is a failure
 * (the worker is terminated), not a stuck CI job; an input that takes more
 * than 100 ms three times in a row is a failure (one GC pause or a busy CI
 * machine is not: a quadratic case takes seconds every time).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { EXIT, SctpdiagError } from '../../src/errors.js';
import { LineFeed, parseAssocs, parseEps, parseRemaddr, parseSnmp, assocsParser, parseWith } from '../../src/procfs/parse.js';
import { parseProfile } from '../../src/tune/profile.js';
import { journalProblem } from '../../src/tune/apply.js';
import { lookupKey } from '../../src/kernel/sysctl-catalog.js';
import { parseSysctlDump } from '../helpers.js';
import { parseBpftraceLine, parseProbeLine } from '../../src/trace/bpfjson.js';
import { parseRouteGet } from '../../src/doctor/gather.js';
import { parseListen } from '../../src/commands/options.js';

const SLOW_MS = 100;

/** Run f on one input; more than SLOW_MS three times in a row fails the property. */
function timed<T>(what: string, f: () => T): T {
  const took: number[] = [];
  let r!: T;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    r = f();
    took.push(performance.now() - t0);
    if (took[i]! <= SLOW_MS) return r;
  }
  throw new Error(`${what}: one input took ${took.map((t) => t.toFixed(0)).join(', ')} ms (limit ${SLOW_MS} ms)`);
}

const fixture = (rel: string) => readFileSync(join(process.cwd(), rel === 'eps' ? 'test/fixtures/captures/many-b/net/sctp/eps' : `test/fixtures/captures/many-a/net/sctp/${rel}`), 'utf8');

/** Lines of a real file, some tokens replaced by hostile ones, some lines replaced, blank lines and junk added. */
function procfsText(real: string): fc.Arbitrary<string> {
  const lines = real.split('\n').filter(Boolean);
  const hostile = fc.oneof(
    fc.constantFrom('-1', '0', '4294967296', '99999999999999999999', '1e9', 'NaN', '0x10', '*', '<->', '', '\t', '::', '*::1', '10.0.0.', 'fe80::1%eth0', '\u0000', '\u001b[2J', 'ffffffffffffffff'),
    fc.string({ maxLength: 12 }),
  );
  const line = fc.oneof(
    { weight: 6, arbitrary: fc.tuple(fc.constantFrom(...lines.slice(1)), fc.array(fc.tuple(fc.nat(40), hostile), { maxLength: 3 })).map(([l, subs]) => {
      const t = l.split(/(\s+)/);
      for (const [i, v] of subs) t[(i * 2) % Math.max(1, t.length)] = v;
      return t.join('');
    }) },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
    { weight: 1, arbitrary: fc.constant('') },
    { weight: 1, arbitrary: fc.constantFrom(...lines.slice(1)) },
  );
  return fc.tuple(fc.oneof(fc.constant(lines[0]!), fc.string({ maxLength: 80 })), fc.array(line, { maxLength: 25 }), fc.boolean()).map(([h, ls, nl]) => [h, ...ls].join('\n') + (nl ? '\n' : ''));
}

const checkParsed = (what: string, text: string, r: { rows: unknown[]; warnings: { line: number; message: string }[] }) => {
  const nLines = text.split('\n').length;
  for (const w of r.warnings) assert.ok(w.line >= 1 && w.line <= nLines, `${what}: warning names line ${w.line} of ${nLines}`);
  assert.ok(r.rows.length <= nLines, `${what}: more rows than lines`);
  JSON.stringify(r); // serialisable (no cycles, no BigInt)
};

type Group = { name: string; runs: number; run: (runs: number) => void };

const GROUPS: Group[] = [
  { name: 'assocs', runs: 18_000, run: (numRuns) => fc.assert(fc.property(procfsText(fixture('assocs')), (t) => checkParsed('assocs', t, timed('assocs', () => parseAssocs(t)))), { numRuns }) },
  { name: 'remaddr', runs: 18_000, run: (numRuns) => fc.assert(fc.property(procfsText(fixture('remaddr')), (t) => checkParsed('remaddr', t, timed('remaddr', () => parseRemaddr(t)))), { numRuns }) },
  { name: 'eps', runs: 10_000, run: (numRuns) => fc.assert(fc.property(procfsText(fixture('eps')), (t) => checkParsed('eps', t, timed('eps', () => parseEps(t)))), { numRuns }) },
  {
    name: 'snmp',
    runs: 10_000,
    run: (numRuns) =>
      fc.assert(
        fc.property(procfsText(fixture('snmp')), (t) => {
          const r = timed('snmp', () => parseSnmp(t));
          for (const v of Object.values(r.counters)) assert.ok(Number.isFinite(v), 'snmp: a counter that is not a finite number');
        }),
        { numRuns },
      ),
  },
  {
    // a text fed in arbitrary pieces (as procfs reads return it) parses as the whole text does
    name: 'line splitting (pieces)',
    runs: 8_000,
    run: (numRuns) =>
      fc.assert(
        fc.property(procfsText(fixture('assocs')), fc.array(fc.nat(400), { maxLength: 20 }), (t, cuts) => {
          const whole = parseAssocs(t);
          const parser = assocsParser();
          const feed = new LineFeed(parser.line);
          let at = 0;
          timed('pieces', () => {
            for (const c of cuts) {
              feed.push(t.slice(at, at + c));
              at += c;
            }
            feed.push(t.slice(at));
            feed.end();
          });
          assert.deepEqual(parser.result(), whole);
        }),
        { numRuns },
      ),
  },
  {
    name: 'profile',
    runs: 15_000,
    run: (numRuns) => {
      const keys = ['rto_min', 'rto_max', 'pf_retrans', 'path_max_retrans', 'include', 'description', 'net.sctp.hb_interval', 'bogus'];
      const line = fc.oneof(
        fc.tuple(fc.constantFrom(...keys), fc.constantFrom(' = ', '=', ' =', ' : '), fc.oneof(fc.nat().map(String), fc.string({ maxLength: 12 })), fc.constantFrom('', ' # why', '\t#x')).map((p) => p.join('')),
        fc.string({ maxLength: 60 }).map((s) => '# ' + s),
        fc.string({ maxLength: 60 }),
        fc.constant(''),
      );
      fc.assert(
        fc.property(fc.array(line, { maxLength: 30 }), fc.constantFrom('\n', '\r\n'), (ls, eol) => {
          const text = ls.join(eol);
          try {
            const p = timed('profile', () => parseProfile(text, 'p.conf'));
            for (const e of p.entries) assert.ok(lookupKey(e.key), `profile: accepted unknown key ${e.key}`);
          } catch (e) {
            assert.ok(e instanceof SctpdiagError && e.exitCode === EXIT.USAGE, `profile: threw ${String(e)}`);
            assert.match(e.message, /^p\.conf:\d+: /);
            // a malformed line is never echoed (the file may not be a profile at all)
            if (/malformed line/.test(e.message)) assert.equal(e.message.replace(/^p\.conf:\d+: /, ''), 'malformed line (expected "key = value")');
          }
        }),
        { numRuns },
      );
    },
  },
  {
    name: 'journal',
    runs: 12_000,
    run: (numRuns) => {
      const write = fc.record({ key: fc.oneof(fc.constantFrom('rto_min', 'rto_max', 'pf_retrans', '../x', 'rto_min/../../etc', 'RTO_MIN', ''), fc.string({ maxLength: 10 })), value: fc.oneof(fc.nat().map(String), fc.string({ maxLength: 10 })) });
      const journal = fc.record(
        {
          version: fc.constantFrom(1, 2, '1'),
          id: fc.string(),
          netns: fc.constantFrom('init', 'a'),
          profile: fc.oneof(fc.string(), fc.constant(undefined)),
          status: fc.constantFrom('in-progress', 'applied', 'failed', 'rolled-back', 'bogus'),
          pid: fc.oneof(fc.nat(), fc.constant(-1), fc.constant(1.5)),
          startedAt: fc.string(),
          originals: fc.oneof(fc.array(write, { maxLength: 6 }), fc.anything()),
          planned: fc.array(write, { maxLength: 6 }),
          persist: fc.oneof(fc.constant(undefined), fc.record({ file: fc.oneof(fc.constantFrom('/etc/sysctl.d/90-sctpdiag.conf', '/etc/cron.d/x', '/etc/sysctl.d/../cron.d/90-sctpdiag.conf'), fc.string()), previous: fc.oneof(fc.constant(null), fc.string(), fc.nat()) })),
        },
        { requiredKeys: [] },
      );
      fc.assert(
        fc.property(fc.oneof({ weight: 4, arbitrary: journal }, { weight: 1, arbitrary: fc.jsonValue() }), (j) => {
          const problem = timed('journal', () => journalProblem(JSON.parse(JSON.stringify(j ?? null)), '/etc/sysctl.d/90-sctpdiag.conf'));
          if (problem === null) {
            const o = j as { originals: { key: string }[]; planned: { key: string }[]; persist?: { file: string } };
            for (const w of [...o.originals, ...o.planned]) assert.ok(lookupKey(w.key) && /^[a-z0-9_]+$/.test(w.key), `journal: accepted key ${w.key}`);
            if (o.persist) assert.equal(o.persist.file, '/etc/sysctl.d/90-sctpdiag.conf');
          } else assert.equal(typeof problem, 'string');
        }),
        { numRuns },
      );
    },
  },
  { name: 'sysctl dump', runs: 4_000, run: (numRuns) => fc.assert(fc.property(fc.array(fc.oneof(fc.string({ maxLength: 60 }), fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 })).map(([a, b]) => `net.sctp.${a} = ${b}`)), { maxLength: 40 }), (ls) => void timed('sysctl dump', () => parseSysctlDump(ls.join('\n')))), { numRuns }) },
  {
    name: 'bpftrace lines',
    runs: 6_000,
    run: (numRuns) =>
      fc.assert(
        fc.property(fc.oneof(fc.json(), fc.string({ maxLength: 200 }), fc.string({ maxLength: 100 }).map((s) => `SCTPDIAG ${s}`), fc.tuple(fc.constantFrom('path', 'rtx', 'assoc'), fc.array(fc.tuple(fc.constantFrom('ts', 'asoc', 'fam', 'v4', 'w'), fc.string({ maxLength: 20 })))).map(([t, kv]) => `SCTPDIAG ${t} ${kv.map(([k, v]) => `${k}=${v}`).join(' ')}`)), (line) => {
          timed('bpftrace', () => parseBpftraceLine(line));
          timed('probe', () => parseProbeLine(line));
        }),
        { numRuns },
      ),
  },
  { name: 'ip route get', runs: 2_000, run: (numRuns) => fc.assert(fc.property(fc.oneof(fc.json(), fc.string()), (j) => void timed('route', () => parseRouteGet('10.0.0.1', j))), { numRuns }) },
  {
    name: '--listen',
    runs: 2_000,
    run: (numRuns) =>
      fc.assert(
        fc.property(fc.oneof(fc.string({ maxLength: 40 }), fc.tuple(fc.constantFrom('127.0.0.1', '[::1]', 'localhost', '0.0.0.0', '[', 'a'), fc.nat(100000)).map(([h, p]) => `${h}:${p}`)), (s) => {
          try {
            timed('listen', () => parseListen(s));
          } catch (e) {
            assert.ok(e instanceof SctpdiagError && e.exitCode === EXIT.USAGE, String(e));
          }
        }),
        { numRuns },
      ),
  },
];

if (!isMainThread) {
  const g = GROUPS.find((x) => x.name === (workerData as { name: string }).name)!;
  try {
    g.run(g.runs);
    parentPort!.postMessage({ ok: true });
  } catch (e) {
    parentPort!.postMessage({ ok: false, error: String((e as Error).message ?? e).slice(0, 4000) });
  }
} else {
  const total = GROUPS.reduce((s, g) => s + g.runs, 0);
  test(`property tests cover at least 100k generated inputs (${total})`, () => assert.ok(total >= 100_000));
  const self = fileURLToPath(import.meta.url);
  for (const g of GROUPS) {
    test(`property: ${g.name} (${g.runs} inputs): never throws unexpectedly, never hangs, no input over ${SLOW_MS} ms`, async () => {
      const w = new Worker(self, { workerData: { name: g.name } });
      // a hang is a failure: the worker is terminated after a limit far above the group's normal time
      const r = await new Promise<{ ok: boolean; error?: string }>((resolve) => {
        const timer = setTimeout(() => resolve({ ok: false, error: 'hung: no answer in 120 s' }), 120_000);
        w.once('message', (m: { ok: boolean; error?: string }) => {
          clearTimeout(timer);
          resolve(m);
        });
        w.once('error', (e) => {
          clearTimeout(timer);
          resolve({ ok: false, error: String(e) });
        });
      });
      await w.terminate();
      assert.ok(r.ok, r.error);
    });
  }
}

// the linear-splitting case of issue #13 item 7: one long line without a newline, fed in procfs-sized pieces
test('a 4 MB line with no newline, fed in 4 KiB pieces, is split in linear time', { skip: !isMainThread }, () => {
  const text = 'x'.repeat(4 * 1024 * 1024);
  const parser = assocsParser();
  const feed = new LineFeed(parser.line);
  timed('long line', () => {
    for (let i = 0; i < text.length; i += 4096) feed.push(text.slice(i, i + 4096));
    feed.end();
  });
  parseWith(assocsParser(), text);
});
