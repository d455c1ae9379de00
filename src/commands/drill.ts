/**
 * `sctpdiag drill`: prove failover on a live association — cut one path with
 * nftables for --for, measure what the kernel does, restore, compare with the
 * model and --target. Dry run unless --yes.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { globals } from '../context.js';
import { EXIT, SctpdiagError, usageError } from '../errors.js';
import { readSysctls } from '../procfs/sysctls.js';
import { parseAssocId, parseFor, parsePeer, parsePort, parseTargets } from './options.js';
import { writeJson } from '../render/json.js';
import { readSnapshot } from '../procfs/read.js';
import { acquireLock, type Lock, type Probe } from '../lock.js';
import { requirePrivilege } from '../kernel/privileges.js';
import { poll, readPath, readRtxc, timeline, type PollStats, type Sample } from '../drill/measure.js';
import { applyRuleset, buildCut, deleteTableSync, nftAvailable, nftMissing, nftPath } from '../drill/nft.js';
import { atCut, makePlan, type DrillPlan, type Selection } from '../drill/plan.js';
import { measuredReport, planReport, printDrill, type DrillReport } from '../drill/report.js';
import { DEFAULT_FOR_MS } from '../drill/spec.js';
import { appendRecord } from '../drill/record.js';
import { resolveStateDir } from '../tune/apply.js';
import { DEFAULT_LINKS_FILE, findLink, loadLinks } from '../links/load.js';
import { ATTACH_TIMEOUT_MS, bpfTimeline, FIGURES, mergeTimeline, watchBpf } from '../drill/bpf.js';

interface DrillFlags {
  assoc?: string;
  port?: string;
  peer?: string;
  path?: string;
  for?: string;
  target?: string;
  yes?: boolean;
  bpf?: boolean;
  link?: string;
  links?: string;
}

export const POLL_MS = 20;

/** argv syscall numbers of read(2): nft is blocked reading its ruleset from fd 0 */
const READ_SYSCALL: Record<string, string> = { x64: '0', arm64: '63' };

/** Wait (≤ 2 s) until nft blocks reading stdin, so writing it starts the commit at once. */
async function waitReadingStdin(pid: number): Promise<void> {
  const nr = READ_SYSCALL[process.arch];
  if (nr === undefined) return;
  const end = performance.now() + 2000;
  while (performance.now() < end) {
    const s = await readFile(`/proc/${pid}/syscall`, 'utf8').catch(() => '');
    if (s.startsWith(`${nr} 0x0 `)) return;
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Start the cut: `nft -f` sets up our table (nothing dropped yet), then an
 * `nft --echo -i` that is already loaded and blocked reading its input gets
 * the one line that adds the timed set elements, and echoes it once the
 * kernel committed it. The cut began between that write and that echo.
 */
async function startCut(plan: DrillPlan): Promise<{ t0: number; t0Ns: bigint; uncertainty: number }> {
  const cut = buildCut(plan.cut);
  const setup = await applyRuleset(cut.setup);
  if (setup.code !== 0) throw new SctpdiagError(`nft refused the drill's table: ${setup.stderr.trim().split('\n')[0] ?? `exit ${setup.code}`}`, EXIT.FAILURE);
  const child = spawn(nftPath(), ['--echo', '-i'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d.slice(0, 4096)));
  const closed = new Promise<number>((resolve, reject) => {
    child.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? nftMissing() : e));
    child.on('close', (c) => resolve(c ?? 1));
  });
  let echoed = false;
  const answered = new Promise<number>((resolve) => {
    // an error leaves nft -i waiting for more input: stderr, or no echo in 10 s, ends the wait
    child.stderr.on('data', () => resolve(performance.now()));
    const timer = setTimeout(() => resolve(performance.now()), 10_000);
    timer.unref();
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (/^add element /m.test(out)) {
        echoed = true;
        resolve(performance.now());
      }
    });
    void closed.then(() => resolve(performance.now()));
  });
  child.stdin.on('error', () => {});
  if (child.pid !== undefined) await waitReadingStdin(child.pid);
  const written = performance.now();
  child.stdin.write(cut.start);
  const done = await answered;
  child.stdin.end();
  const code = await closed;
  if (code !== 0 || stderr.trim() || !echoed) {
    deleteTableSync();
    throw new SctpdiagError(`nft refused the cut: ${stderr.trim().split('\n')[0] || (echoed ? `exit ${code}` : 'it did not confirm the elements')}`, EXIT.FAILURE);
  }
  const t0 = (written + done) / 2;
  // bpf stamps events with CLOCK_MONOTONIC, which hrtime reads too (performance.now() is hrtime from an origin)
  const t0Ns = process.hrtime.bigint() - BigInt(Math.round((performance.now() - t0) * 1e6));
  return { t0, t0Ns, uncertainty: (done - written) / 2 };
}

/** One drill at a time on this host: its lock lives in a root-owned directory. */
export function acquireDrillLock(o: { dir?: string; netns: string | null; probe?: Probe; pid?: number }): Promise<Lock> {
  return acquireLock({
    dir: o.dir ?? '/run/sctpdiag',
    name: 'drill.lock',
    what: 'drill',
    netns: o.netns,
    waitMs: 0,
    rootDir: true,
    busy: (h) =>
      new SctpdiagError(
        `another drill is running (pid ${h.pid}${h.netns ? `, netns ${h.netns}` : ''}${h.since ? `, since ${h.since}` : ''})`,
        EXIT.BUSY,
        `wait for it to end; its cut ends by itself at its --for`,
      ),
    probe: o.probe,
    pid: o.pid,
  });
}

async function execute(planned: DrillPlan, o: { procRoot: string; netns: string | null; hz: number; intervalMs: number; noBpf: boolean; sysctls: ReadonlyMap<string, string> }): Promise<DrillReport> {
  let plan = planned;
  if (!nftAvailable()) throw nftMissing();
  requirePrivilege('drill', 'drill --yes changes the firewall: it needs root with CAP_NET_ADMIN', 'run with sudo');
  const lock = await acquireDrillLock({ netns: o.netns });
  let removed = false;
  let interrupted: string | null = null;
  const cleanup = () => {
    if (!removed) removed = deleteTableSync();
    lock.release();
  };
  // the kernel ends the cut at --for by itself; these end it sooner when we are told to stop
  let wake: (() => void) | null = null;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupted = sig;
    cleanup();
    wake?.();
  };
  process.on('exit', cleanup);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let bpf: Awaited<ReturnType<typeof watchBpf>> | null = null;
  try {
    const a = plan.association;
    // bpftrace first: the cut starts once its probes are attached (or it cannot be used)
    bpf = await watchBpf({
      procRoot: o.procRoot,
      netns: o.netns,
      hz: o.hz,
      assocId: a.id,
      noBpf: o.noBpf,
      timeoutMs: ATTACH_TIMEOUT_MS,
      cancelled: () => interrupted !== null,
      progress: (s) => {
        process.stderr.write(`sctpdiag: drill: bpftrace still compiling and attaching its probes (${s} s, at most ${ATTACH_TIMEOUT_MS / 1000} s); the cut starts once they are attached (--no-bpf: cut at once, measure by procfs)\n`);
      },
    });
    const live = await bpf.attached;
    if (!live && !o.noBpf) process.stderr.write(`sctpdiag: drill: ${bpf.reason()}; measuring by polling procfs\n`);
    if (interrupted !== null) throw new SctpdiagError(`drill: interrupted by ${interrupted} before the cut; nothing was changed`, EXIT.FAILURE);
    const read = () => readPath(o.procRoot, a.id, plan.path.address, o.hz);
    // bpftrace may have taken a minute: the guard rails again, on the state now
    const now = await read();
    if (now.state === null) throw new SctpdiagError(`drill: association ${a.id} is gone (or no longer has path ${plan.path.address}); nothing was changed`, EXIT.NOT_FOUND);
    if (!now.otherActive) throw new SctpdiagError(`drill: association ${a.id} has no other ACTIVE path than ${plan.path.address} any more; nothing was changed`, EXIT.DRILL_UNSAFE);
    plan = atCut(plan, now.rtoMs, o.sysctls);
    const rtxcBefore = await readRtxc(o.procRoot, a.id);
    const samples: Sample[] = [];
    const stats: PollStats = { samples: 0, intervalMs: o.intervalMs, maxGapMs: 0 };
    const { t0, t0Ns, uncertainty } = await startCut(plan);
    // a signal that came while nft ran removed nothing yet: remove now
    if (interrupted !== null) removed = deleteTableSync();
    const stopped = new Promise<void>((r) => (wake = r));
    const race = (p: Promise<void>) => Promise.race([p, stopped]);
    const prev = { at: t0 };
    // during the cut: until --for ends (the set elements expire then)
    await race(poll({ read, t0, intervalMs: o.intervalMs, deadline: t0 + plan.forMs, until: () => interrupted !== null, samples, stats, prev }));
    if (!removed) removed = deleteTableSync();
    // after the restore: until the path is ACTIVE again (heartbeats to it back off up to rto_max)
    const q = plan.params;
    const recoverMs = Math.min(150_000, q.hbInterval + 2 * q.rtoMax + 5_000);
    if (interrupted === null)
      await race(
        poll({
          read,
          t0,
          intervalMs: o.intervalMs,
          deadline: t0 + plan.forMs + recoverMs,
          until: (cur) => cur.state === 'ACTIVE',
          samples,
          stats,
          prev,
        }),
      );
    const rtxcAfter = await readRtxc(o.procRoot, a.id).catch(() => null);
    const tl = timeline(samples, { rto0Ms: plan.path.rtoMs, rtoMaxMs: plan.params.rtoMax, restoreMs: plan.forMs, primary: plan.path.primary });
    const bpfOpts = { t0Ns, restoreMs: plan.forMs, path: plan.path.address, primary: plan.path.primary, regime: plan.regime };
    // bpftrace's output trails the kernel a little: wait (≤ 3 s) for the events of what procfs saw
    if (live)
      await bpf.settle((ev) => {
        const b = bpfTimeline(ev, bpfOpts);
        // an idle path carries no traffic: nothing moves, whatever procfs infers
        return FIGURES.every((f) => tl[f] === null || b[f] !== null || (f === 'movedMs' && plan.regime === 'idle'));
      }, 3000);
    const { events, outcome } = await bpf.finish(plan.regime);
    const merged = mergeTimeline(tl, live ? bpfTimeline(events, bpfOpts) : null, outcome.figures);
    return measuredReport(plan, o.netns, {
      source: merged.source,
      bpf: {
        ...outcome,
        figures: merged.figures,
        reason: merged.missed.length ? [outcome.reason, `no bpf event carried ${merged.missed.join(', ')}: procfs measured it`].filter(Boolean).join('; ') : outcome.reason,
      },
      procfsTimeline: tl,
      stats: { ...stats, maxGapMs: Math.round(stats.maxGapMs) },
      cutUncertaintyMs: Math.round(uncertainty),
      timeline: merged.timeline,
      retransmissions: rtxcBefore !== null && rtxcAfter !== null ? rtxcAfter - rtxcBefore : null,
      tableRemoved: removed,
      interrupted,
    });
  } finally {
    cleanup();
    await bpf?.finish(plan.regime).catch(() => {});
    process.off('exit', cleanup);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** A passed drill goes into the state dir for doctor; failing to note it is a warning, not a failed drill. */
async function remember(r: DrillReport, link: string | null): Promise<void> {
  const dir = resolveStateDir(undefined);
  const a = r.association;
  await appendRecord(dir, { at: new Date().toISOString(), netns: r.netns, link, localPort: a.localPort, peerPort: a.peerPort, path: r.path, source: r.measurement?.source ?? 'procfs' }).catch((e: Error) =>
    process.stderr.write(`sctpdiag: warning: the passed drill was not recorded in ${dir} (doctor will not know of it): ${e.message}\n`),
  );
}

export function drillCommand(): Command {
  return new Command('drill')
    .description('prove failover: cut one path of a live association for seconds (nftables), measure, restore (dry run unless --yes)')
    .option('--assoc <id>', 'the association id (see `sctpdiag status`)')
    .option('--port <n>', 'select the association by local or peer port (must match exactly one)')
    .option('--peer <addr>', 'select the association by a peer address (must match exactly one)')
    .option('--link <name>', 'select the association by its named link (links file; with --path, the one association of the link that has the path)')
    .option('--links <file>', 'the links file for --link (default /etc/sctpdiag/links.conf)')
    .requiredOption('--path <addr>', 'the peer address (path) to cut')
    .option('--for <duration>', 'how long to cut it, e.g. 8s (1 s … 120 s)', '10s')
    .option('--target <list>', 'pass/fail bounds, e.g. PF=500ms,INACTIVE=2s (STRIKE, PF, INACTIVE, MOVED, ACTIVE)')
    .option('--yes', 'really cut the path (without it: dry run, nothing changed)')
    .option('--no-bpf', 'measure by polling procfs only (the cut starts at once instead of after bpftrace attaches)')
    .action(async function (this: Command) {
      const g = globals(this);
      const f = this.opts<DrillFlags>();
      const sel: Selection = {};
      if (f.link !== undefined) sel.link = findLink(await loadLinks(f.links ?? null), f.link, f.links ?? DEFAULT_LINKS_FILE);
      else if (f.links !== undefined) throw usageError('drill: --links only names the file --link NAME is looked up in');
      if (f.assoc !== undefined) sel.assocId = parseAssocId(f.assoc);
      if (f.port !== undefined) sel.port = parsePort(f.port);
      if (f.peer !== undefined) sel.peer = parsePeer(f.peer);
      const peer = parsePeer(f.path!, '--path');
      const forMs = f.for === undefined ? DEFAULT_FOR_MS : parseFor(f.for);
      const targets = f.target === undefined ? {} : parseTargets(f.target);
      if (f.yes && g.procRoot !== '/proc') throw usageError('drill --yes cuts a live path: it cannot run on --proc-root');
      const snap = await readSnapshot({ procRoot: g.procRoot, netns: g.netns, hz: g.hz, owners: false });
      const sysctls = (await readSysctls(g.procRoot)) ?? new Map<string, string>();
      const plan = makePlan(snap, sel, peer, forMs, targets, sysctls);
      let report: DrillReport;
      if (!f.yes) {
        report = planReport(plan, g.netns);
        if (!nftAvailable()) process.stderr.write(`sctpdiag: warning: ${nftMissing().message}\n`);
      } else {
        report = await execute(plan, {
          procRoot: g.procRoot,
          netns: g.netns,
          hz: snap.hz.value,
          intervalMs: POLL_MS,
          noBpf: f.bpf === false,
          sysctls,
        });
      }
      if (report.verdict === 'pass') await remember(report, sel.link?.name ?? null);
      if (g.json) writeJson(report);
      else process.stdout.write(printDrill(report, g.style) + '\n');
      if (report.verdict === 'fail') process.exitCode = EXIT.DRILL_FAILED;
    });
}
