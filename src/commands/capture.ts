/**
 * `sctpdiag capture DIR`: save what a support case needs, laid out like /proc
 * so that `--proc-root DIR` reads it back: net/sctp/{assocs,eps,remaddr,snmp},
 * sys/net/sctp/*, sys/kernel/osrelease, `ss -S` output, and a small JSON file
 * with HZ and where it came from.
 */
import { Command } from 'commander';
import { spawn } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { writeJson } from '../render/json.js';
import { readRegularFile, UnsafeFileError } from '../safefs.js';
import { globals } from '../context.js';
import { EXIT, SctpdiagError } from '../errors.js';
import { CAPTURE_META, SCTP_FILES, readSnapshot, type CaptureMeta, type SctpFile } from '../procfs/read.js';
import { escapeControl } from '../render/escape.js';

function runSs(): Promise<string | null> {
  return new Promise((res) => {
    const c = spawn('ss', ['-S', '-a', '-n', '-i', '-e', '-m', '-p'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    c.on('error', () => res(null));
    c.on('close', (code) => res(code === 0 ? out : null));
  });
}

export interface CaptureResult {
  dir: string;
  files: string[];
  meta: CaptureMeta;
}

export async function capture(procRoot: string, target: string, netns: string | null, hz?: number): Promise<CaptureResult> {
  const dir = resolve(target);
  const st = await lstat(dir).catch(() => null);
  if (st?.isSymbolicLink()) throw new SctpdiagError(`capture: ${dir} is a symbolic link`, EXIT.USAGE, 'name a new directory; nothing was written');
  if (st && !st.isDirectory()) throw new SctpdiagError(`capture: ${dir} exists and is not a directory`, EXIT.USAGE, 'name a new directory; nothing was written');
  const existing = st ? await readdir(dir) : null;
  if (existing && existing.length > 0)
    throw new SctpdiagError(`capture: ${dir} exists and is not empty`, EXIT.USAGE, 'name a new directory; nothing was written');
  // one read of the kernel's files, fails before anything is written; the
  // texts saved are exactly those the snapshot (HZ, release) was made from
  const texts: Partial<Record<SctpFile, string>> = {};
  const snap = await readSnapshot({ procRoot, netns, hz, owners: false, texts });
  // write into a new temporary sibling (mkdtemp: a random name, created by us, mode 0700, so nothing
  // planted beside DIR is written through), then rename: a half-written capture never looks complete
  const tmp = await mkdtemp(join(dirname(dir), `.${basename(dir)}.tmp-`));
  const files: string[] = [];
  const put = async (rel: string, text: string) => {
    await mkdir(dirname(`${tmp}/${rel}`), { recursive: true });
    await writeFile(`${tmp}/${rel}`, text, { flag: 'wx' });
    files.push(rel);
  };
  try {
    for (const f of SCTP_FILES) await put(`net/sctp/${f}`, texts[f] ?? '');
    const keys = await readdir(`${procRoot}/sys/net/sctp`).catch(() => [] as string[]);
    for (const k of keys.sort()) {
      // never copy through a symlink (a capture read back with --proc-root is untrusted)
      const v = await readRegularFile(`${procRoot}/sys/net/sctp/${k}`, 4096).catch((e: unknown) => {
        if (e instanceof UnsafeFileError && (e.reason === 'symlink' || e.reason === 'not-regular' || e.reason === 'too-large')) throw e;
        return null;
      });
      if (v !== null) await put(`sys/net/sctp/${k}`, v);
    }
    if (snap.kernelRelease) await put('sys/kernel/osrelease', snap.kernelRelease + '\n');
    const ss = procRoot === '/proc' ? await runSs() : null;
    if (ss !== null) await put('ss.txt', ss);
    const meta: CaptureMeta = {
      schemaVersion: 1,
      capturedAt: snap.takenAt,
      kernelRelease: snap.kernelRelease,
      hz: snap.hz.value,
      hzSource: `${snap.hz.source}: ${snap.hz.detail}`,
      netns,
      hostname: hostname(),
    };
    await put(CAPTURE_META, JSON.stringify(meta, null, 2) + '\n');
    // rename replaces an empty directory (or a symlink planted meanwhile) itself, never what it points to
    await rename(tmp, dir);
    return { dir, files, meta };
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

export function captureCommand(): Command {
  return new Command('capture')
    .description('save the SCTP procfs files, sysctls, HZ and `ss -S` output to DIR for a support case')
    .argument('<dir>', 'new directory to create (read it back with --proc-root DIR)')
    .action(async (target: string, _o: unknown, cmd: Command) => {
      const g = globals(cmd);
      const r = await capture(g.procRoot, target, g.netns, g.hz);
      if (g.json) writeJson({ schemaVersion: 1, ...r });
      else process.stdout.write(`captured ${r.files.length} files to ${escapeControl(r.dir)} (HZ ${r.meta.hz}, ${escapeControl(r.meta.hzSource)})\n`);
    });
}
