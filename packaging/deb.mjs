// The .deb: dpkg-deb (gzip: xz of the 110 MB executable took minutes on a busy CI host) over the staged tree, dependencies from dpkg-shlibdeps, root-owned files.
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EPOCH, OUT, ROOT, VERSION, WORK, run, step } from './common.mjs';
import { WEB_CONFIG, gz, stageTree, walk } from './tree.mjs';

export const DEB_NAME = `sctpdiag_${VERSION}_amd64.deb`;
const MAINTAINER = process.env.SCTPDIAG_MAINTAINER ?? 'sctpdiag developers <sctpdiag@example.org>';

/** Shared-library dependencies of the executable, as Debian names them (libc6 (>= 2.28), …). */
function shlibDepends(exe) {
  const dir = join(WORK, 'shlibdeps');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'debian'), { recursive: true });
  writeFileSync(join(dir, 'debian/control'), 'Source: sctpdiag\n\nPackage: sctpdiag\nArchitecture: amd64\n');
  const out = run('dpkg-shlibdeps', ['-O', `-e${exe}`], { cwd: dir });
  const m = /shlibs:Depends=(.*)/.exec(out);
  if (!m) throw new Error(`dpkg-shlibdeps printed no dependencies: ${out}`);
  // Debian 12's symbols files date libdl/libpthread symbols at 2.34 (when glibc merged them); the
  // official Node build links against glibc 2.28, which the newest GLIBC_ symbol version it uses says
  const glibc = [...run('objdump', ['-T', exe]).matchAll(/GLIBC_(\d+)\.(\d+)/g)].map((v) => [Number(v[1]), Number(v[2])]).sort((a, b) => a[0] - b[0] || a[1] - b[1]).at(-1);
  return m[1].trim().replace(/libc6 \(>= [^)]*\)/, `libc6 (>= ${glibc.join('.')})`);
}

const maintScript = (body) => `#!/bin/sh\nset -e\n${body}\n#DEBHELPER#\n`.replace('\n#DEBHELPER#\n', '\n');

export function buildDeb(exe) {
  const done = step('.deb (dpkg-deb)');
  const root = join(WORK, 'deb');
  stageTree(root, exe, { unitDir: '/lib/systemd/system' });
  const doc = join(root, 'usr/share/doc/sctpdiag');
  mkdirSync(doc, { recursive: true });
  writeFileSync(join(doc, 'copyright'), readFileSync(join(ROOT, 'packaging/copyright')));
  const date = new Date(EPOCH * 1000).toUTCString().replace(/GMT$/, '+0000');
  writeFileSync(
    join(doc, 'changelog.gz'),
    gz(Buffer.from(`sctpdiag (${VERSION}) unstable; urgency=medium\n\n  * Release ${VERSION}: see README.md.\n\n -- ${MAINTAINER}  ${date}\n`)),
  );
  mkdirSync(join(root, 'usr/share/lintian/overrides'), { recursive: true });
  writeFileSync(join(root, 'usr/share/lintian/overrides/sctpdiag'), readFileSync(join(ROOT, 'packaging/lintian-overrides')));
  const files = walk(root).filter((f) => !f.dir);
  const installedKiB = Math.ceil(files.reduce((n, f) => n + statSync(join(root, f.rel)).size, 0) / 1024);
  const ctl = join(root, 'DEBIAN');
  mkdirSync(ctl, { mode: 0o755 });
  writeFileSync(
    join(ctl, 'control'),
    [
      'Package: sctpdiag',
      `Version: ${VERSION}`,
      'Architecture: amd64',
      `Maintainer: ${MAINTAINER}`,
      `Installed-Size: ${installedKiB}`,
      `Depends: ${shlibDepends(join(root, 'usr/bin/sctpdiag'))}`,
      'Recommends: bpftrace, iproute2',
      'Suggests: tmux',
      'Section: net',
      'Priority: optional',
      `Description: kernel SCTP diagnostics and tuning for Linux operators`,
      ' sctpdiag shows SCTP associations and their paths, follows live events',
      ' (bpftrace, or procfs polling), tunes the net.sctp sysctls with profiles',
      ' (apply, verify, rollback), models failover time, checks a host against',
      ' runbook rules and exports Prometheus metrics.',
      ' .',
      ' It is one self-contained executable with its own Node.js runtime. The',
      ' systemd units are installed but not enabled.',
      '',
    ].join('\n'),
  );
  writeFileSync(join(ctl, 'md5sums'), files.filter((f) => !f.rel.startsWith('etc/')).map((f) => `${createHash('md5').update(readFileSync(join(root, f.rel))).digest('hex')}  ${f.rel}\n`).join(''));
  writeFileSync(join(ctl, 'conffiles'), `/${WEB_CONFIG}\n`);
  // units are shipped, not enabled: systemd only needs to re-read them
  const reload = 'if [ -d /run/systemd/system ]; then\n\tsystemctl --system daemon-reload >/dev/null || true\nfi';
  writeFileSync(join(ctl, 'postinst'), maintScript(`if [ "$1" = configure ]; then\n${reload.replace(/^/gm, '\t')}\nfi`));
  // purge: the tune journals and locks under /var/lib/sctpdiag go too
  writeFileSync(join(ctl, 'postrm'), maintScript(`${reload}\nif [ "$1" = purge ]; then\n\trm -rf /var/lib/sctpdiag\nfi`));
  for (const s of ['postinst', 'postrm']) chmodSync(join(ctl, s), 0o755);
  const out = join(OUT, DEB_NAME);
  run('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', root, out]);
  done();
  return out;
}
