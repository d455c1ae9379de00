// sctpdiag top: the blessed screen on fake streams (screenshots compared to golden text)
// and the render loop's exit paths (q, crash, no SCTP) with the terminal restored.
import test from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { readSnapshot } from '../../src/procfs/read.js';
import { noSctpError } from '../../src/errors.js';
import { EVENT_SCHEMA_VERSION, type EventBus } from '../../src/events/types.js';
import type { EventPipeline, PipelineOptions, PipelineStatus } from '../../src/trace/pipeline.js';
import { TopState } from '../../src/top/state.js';
import { TopScreen, chooseTerminal, toAscii } from '../../src/top/screen.js';
import { runTop } from '../../src/top/run.js';
import { capture, screenText } from '../helpers.js';
import { parseLinks, type LinkSpec } from '../../src/links/links.js';

interface FakeTty {
  input: PassThrough & { isTTY: boolean; setRawMode(b: boolean): void };
  output: PassThrough & { columns: number; rows: number; isTTY: boolean };
  written(): string;
}

function fakeTty(columns = 80, rows = 24): FakeTty {
  const output = Object.assign(new PassThrough(), { columns, rows, isTTY: true });
  let all = '';
  output.on('data', (d: Buffer) => (all += d.toString('utf8')));
  const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: (_: boolean) => {} });
  return { input, output, written: () => all };
}

const tick = (ms = 30) => new Promise((r) => setTimeout(r, ms));

async function screenFor(name: string, cols = 80, rows = 24, links: readonly LinkSpec[] = []) {
  const tty = fakeTty(cols, rows);
  const state = new TopState({ host: 'lab', baseIntervalMs: 1000, replay: `captures/${name}`, links });
  state.setSource({ source: 'replay' });
  const screen = new TopScreen(
    { input: tty.input, output: tty.output, terminal: 'xterm-256color' },
    (n, ch) => {
      state.key(n, ch);
      screen.draw(state.frame());
    },
    (w, h) => {
      state.resize(w, h);
      screen.draw(state.frame());
    },
  );
  state.resize(screen.width, screen.height);
  state.applySnapshot(await readSnapshot({ procRoot: capture(name), netns: null }), { atMs: 0, readMs: 2 });
  screen.draw(state.frame());
  return { tty, state, screen };
}

// 80×24, the failover capture 6 s after va1 went down; the selection is on row 2 (assoc 3).
const GOLDEN_FAIL_T6 = `
sctpdiag top · host lab · kernel 6.1.0-56-amd64 · HZ 250 (capture) · replay cap…
events none (replay) · static capture · 3 assocs 2 ESTAB
  ID▲ STATE   PORTS       PRIMARY         ACTIVE          PATHS       RTO   RTXC
    0 C-WAIT  6003→5000   10.1.0.2        -               1/1 UNKN    300      0
    3 ESTAB   6001→5001   10.1.0.2        10.2.0.2        1/2 INACT  1000     16
    5 ESTAB   6002→5000   10.2.0.2        10.2.0.2        1/2 INACT   256      1





assoc 3 ESTABLISHED one-to-many 6001→50… SNMP rates (per s)
P  10.1.0.2  INACTIVE rto 1000 hb on     T3RtxExpired                          -
 ▶ 10.2.0.2  ACTIVE   rto  512 hb on     T3Retransmit                          -
P primary · ▶ active (inferred) · paths… FastRetrans                           -
rtxc 16 · txq 0 rxq 0 · hb 1000 ms · st… Aborteds                              -
local 10.1.0.1 10.2.0.1                  OutOfBlues                            -
WARN path 10.1.0.2 is INACTIVE           CurrEstab                    █        2
WARN primary path 10.1.0.2 is INACTIVE:… events, newest first: 0
                                         a capture has no live events



↑↓jk PgUp/Dn  Enter detail  s/S sort  / filter  p pause  ? help  q quit`.slice(1);

test('screen: 80×24 screenshot of a failover capture matches the golden text', async () => {
  const { screen, tty } = await screenFor('two-path-a-fail-t6');
  tty.input.write('j');
  await tick();
  const text = screenText(screen);
  if (process.env.UPDATE_GOLDEN) console.log(text);
  assert.equal(text, GOLDEN_FAIL_T6);
  // colours: the selected row is inverse, INACTIVE paths red, the warnings yellow
  const raw = tty.written();
  assert.match(raw, /\x1b\[[0-9;]*7m/); // inverse somewhere
  assert.match(raw, /\x1b\[[0-9;]*31m[^\n]*INACTIVE/); // red
  screen.destroy();
});

test('screen: Enter shows the detail view with the RTO chart (blessed-contrib line)', async () => {
  const { screen, tty, state } = await screenFor('two-path-a');
  tty.input.write('\r');
  await tick();
  assert.equal(state.mode, 'detail');
  const text = screenText(screen);
  assert.match(text, /^assoc 3 ESTABLISHED one-to-many 6001→5001/m);
  assert.match(text, /RTO \(ms\) per path, last 60 samples/);
  assert.match(text, /│10\.1\.0\.2 +│/); // legend
  assert.match(text, /[⠀-⣿]{10}/); // braille plot
  tty.input.write('\x1b');
  await tick(80);
  assert.equal(state.mode, 'table');
  assert.doesNotMatch(screenText(screen), /RTO \(ms\) per path/);
  screen.destroy();
});

test('screen: with a links file, the LINK column and the links down in red in the header', async () => {
  const links = parseLinks('m3ua-a local-port=6003 min-active=2\nm3ua-b peer-port=5001 min-active=2\nhss-1 peer-port=3868', 'f');
  const { screen, tty } = await screenFor('two-path-a-fail-t6', 100, 24, links);
  const text = screenText(screen);
  assert.match(text, /^links 2\/3 DOWN m3ua-a,hss-1 · below min-active m3ua-b · events none/m);
  assert.match(text, /^ +ID▲ .*PORTS +LINK /m);
  assert.match(text, /^ +3 .*6001→5001 +m3ua-b /m);
  // the selected association (0, COOKIE_WAIT) belongs to m3ua-a, down
  assert.match(text, /^assoc 0 COOKIE_WAIT .*\n^link m3ua-a: DOWN · 0 ACTIVE path\(s\), min-active /m);
  await tick(); // the fake terminal's stream delivers what blessed wrote
  assert.match(tty.written(), /\x1b\[[0-9;]*31m(?:\x1b\[[0-9;]*m)*links 2\/3 DOWN/); // red, right before it
  screen.destroy();
});

test('screen: help overlay, filter prompt, resize', async () => {
  const { screen, tty, state } = await screenFor('many-a');
  tty.input.write('?');
  await tick();
  assert.match(screenText(screen), /sctpdiag top — keys/);
  tty.input.write('x');
  await tick();
  tty.input.write('/fd00:4');
  await tick();
  const text = screenText(screen);
  assert.match(text.split('\n').at(-1)!, /^\/ filter: fd00:4_/);
  assert.match(text, /^ +3 ESTAB +7001→7000/m);
  assert.doesNotMatch(text, /33338→8000/);
  tty.input.write('\r');
  tty.output.columns = 120;
  tty.output.rows = 40;
  tty.output.emit('resize');
  await tick(80);
  assert.equal(state.width, 120);
  assert.equal(screenText(screen).split('\n').length, 40);
  assert.match(screenText(screen), /OWNER/);
  screen.destroy();
});

test('screen: 5,000 rows: only the visible ones are handed to blessed', async () => {
  const { screen, state } = await screenFor('many-a', 80, 24);
  const snap = await readSnapshot({ procRoot: capture('many-a'), netns: null });
  const many = { ...snap, associations: Array.from({ length: 25 }, (_, k) => snap.associations.map((a) => ({ ...a, id: a.id + k * 1000, key: String(a.id + k * 1000) }))).flat() };
  state.applySnapshot(many, { atMs: 1000, readMs: 1 });
  assert.equal(state.view().length, 5025);
  const f = state.frame();
  assert.ok(f.table!.lines.length <= 24);
  const t0 = process.hrtime.bigint();
  screen.draw(f);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  assert.ok(ms < 200, `draw took ${ms} ms`);
  screen.destroy();
});

test('terminal setup: terminfo names blessed handles, ASCII fallback', () => {
  assert.equal(chooseTerminal({ TERM: 'tmux-256color' }), 'xterm-256color');
  assert.equal(chooseTerminal({ TERM: 'screen' }), 'xterm');
  assert.equal(chooseTerminal({ TERM: 'xterm-256color' }), 'xterm-256color');
  assert.equal(chooseTerminal({ TERM: 'linux' }), 'linux');
  assert.equal(chooseTerminal({}), 'xterm');
  assert.equal(toAscii('a · b → c ▲ …'), 'a | b > c ^ ~');
});

function withStderr<T>(fn: () => Promise<T>): Promise<{ value: T | undefined; error: unknown; stderr: string }> {
  const orig = process.stderr.write.bind(process.stderr);
  let stderr = '';
  process.stderr.write = ((s: string | Uint8Array) => {
    stderr += String(s);
    return true;
  }) as typeof process.stderr.write;
  return fn().then(
    (value) => ((process.stderr.write = orig), { value, error: undefined, stderr }),
    (error) => ((process.stderr.write = orig), { value: undefined, error, stderr }),
  );
}

const LEAVE_ALT = '\x1b[?1049l';

test('runTop: replay a capture, move, quit with q: resolves and restores the terminal', async () => {
  const tty = fakeTty();
  let frames = 0;
  const p = runTop({
    procRoot: capture('two-path-a'),
    netns: null,
    intervalMs: 1000,
    noBpf: true,
    log: null,
    io: { input: tty.input, output: tty.output, terminal: 'xterm-256color' },
    processHooks: false,
    onDraw: () => frames++,
  });
  await tick(150);
  tty.input.write('j');
  tty.input.write('q');
  await p;
  assert.ok(frames >= 2);
  assert.ok(tty.written().includes(LEAVE_ALT), 'alternate screen left');
  assert.ok(tty.written().lastIndexOf('\x1b[?25h') > tty.written().lastIndexOf('\x1b[?25l'), 'cursor shown again');
});

test('runTop: live without SCTP shows why and keeps running; pipeline events reach the log pane', async () => {
  const tty = fakeTty(100, 30);
  let reads = 0;
  let bus: EventBus | null = null;
  let stopped = false;
  const snap = await readSnapshot({ procRoot: capture('two-path-a'), netns: null });
  const status: PipelineStatus = {
    source: 'bpf', probesAttached: 5, probes: [], unavailable: [], reason: null, bpftracePid: 1, restarts: 0,
    lostEvents: 0, malformedLines: 0, procfsTypes: [], types: [],
  };
  let last = '';
  const p = runTop({
    procRoot: '/proc',
    netns: null,
    intervalMs: 200,
    noBpf: false,
    log: null,
    io: { input: tty.input, output: tty.output, terminal: 'xterm-256color' },
    processHooks: false,
    read: async () => {
      if (++reads < 3) throw noSctpError('/proc/net/sctp');
      return snap;
    },
    startPipeline: (o: PipelineOptions): EventPipeline => {
      bus = o.bus;
      return { ready: Promise.resolve(), push: () => {}, status: () => status, stop: async () => void (stopped = true) };
    },
    onDraw: (s) => (last = screenText(s)),
  });
  await tick(100);
  assert.match(last, /SCTP is not available in this kernel/);
  assert.match(last, /hint: run `modprobe sctp`/);
  await tick(500);
  assert.ok(bus, 'pipeline started once SCTP was there');
  (bus as EventBus).publish({
    schemaVersion: EVENT_SCHEMA_VERSION, time: '2026-11-01T12:00:09.000Z', type: 'path.state', source: 'bpf',
    severity: 'warn', netns: null, assoc: { id: 3 }, path: '10.1.0.2', from: 'ACTIVE', to: 'PF',
  });
  await tick(250);
  assert.match(last, /events bpf \(5 probes\)/);
  assert.match(last, /12:00:09 WARN path\.state #3 10\.1\.0\.2 ACTIVE→PF/);
  tty.input.write('\x03'); // Ctrl-C
  await p;
  assert.ok(stopped, 'pipeline stopped');
  assert.ok(tty.written().includes(LEAVE_ALT));
});

test('runTop: an exception restores the terminal first, then the stack goes to stderr', async () => {
  const tty = fakeTty();
  const r = await withStderr(() =>
    runTop({
      procRoot: '/proc',
      netns: null,
      intervalMs: 200,
      noBpf: true,
      log: null,
      io: { input: tty.input, output: tty.output, terminal: 'xterm-256color' },
      processHooks: false,
      startPipeline: null,
      read: async () => {
        throw new TypeError('boom in the read');
      },
    }),
  );
  assert.match(String((r.error as Error)?.message), /top: boom in the read/);
  assert.match(r.stderr, /crashed after restoring the terminal:\nTypeError: boom in the read\n\s+at /);
  assert.ok(tty.written().includes(LEAVE_ALT));
});

test('runTop: the header shows sysctl drift from the applied profile after each live read', async () => {
  const tty = fakeTty(200, 30);
  const snap = await readSnapshot({ procRoot: capture('two-path-a'), netns: null });
  let reads = 0;
  let last = '';
  const p = runTop({
    procRoot: '/proc',
    netns: null,
    intervalMs: 200,
    noBpf: true,
    log: null,
    io: { input: tty.input, output: tty.output, terminal: 'xterm-256color' },
    processHooks: false,
    read: async () => snap,
    drift: async () => ({ profile: 'telecom', drifted: reads++ === 0 ? 0 : 2 }),
    startPipeline: null,
    onDraw: (s) => (last = screenText(s)),
  });
  try {
    await tick(100);
    assert.match(last, /sysctl = telecom/);
    await tick(600);
    assert.match(last, /sysctl DRIFT 2 vs telecom/);
  } finally {
    tty.input.write('q');
    await p;
  }
});
