// The installed layout shared by the .deb, the .rpm and the image: the executable as /usr/bin/sctpdiag,
// its files under /usr/share/sctpdiag (package-files.ts uses them when their `version` matches), the
// man page, the systemd units, and the empty operator/state directories.
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ROOT, VERSION, shippedFiles } from './common.mjs';

function put(root, rel, data, mode = 0o644) {
  const p = join(root, rel);
  mkdirSync(dirname(p), { recursive: true, mode: 0o755 });
  writeFileSync(p, data);
  chmodSync(p, mode);
}

/** Man pages and changelogs are shipped gzipped -9n (no name, no time: reproducible). */
export const gz = (data) => {
  const z = gzipSync(data, { level: 9 });
  z[9] = 3; // OS field: Unix, as gzip -n writes it
  return z;
};

/**
 * Stage the tree under `root`. unitDir: /lib/systemd/system (Debian 12 and older keep units there)
 * or /usr/lib/systemd/system (RPM distributions).
 */
/** the exporter's TLS/auth file: a conffile, kept across upgrades */
export const WEB_CONFIG = 'etc/sctpdiag/web-config.yml';

export function stageTree(root, exe, { unitDir, units = true, man = true }) {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true, mode: 0o755 });
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  copyFileSync(exe, join(root, 'usr/bin/sctpdiag'));
  chmodSync(join(root, 'usr/bin/sctpdiag'), 0o755);
  for (const f of shippedFiles()) put(root, `usr/share/sctpdiag/${f.key}`, readFileSync(f.src));
  put(root, 'usr/share/sctpdiag/version', VERSION + '\n');
  if (man) put(root, 'usr/share/man/man8/sctpdiag.8.gz', gz(readFileSync(join(ROOT, 'man/sctpdiag.8'))));
  if (units)
    for (const u of readdirSync(join(ROOT, 'deploy/systemd')).filter((f) => /\.(service|timer)$/.test(f)).sort())
      put(root, `${unitDir.replace(/^\//, '')}/${u}`, readFileSync(join(ROOT, 'deploy/systemd', u)));
  for (const d of ['etc/sctpdiag/profiles', 'var/lib/sctpdiag']) mkdirSync(join(root, d), { recursive: true, mode: 0o755 });
  // the exporter unit names it; as shipped it only holds comments (plain HTTP on loopback)
  put(root, WEB_CONFIG, readFileSync(join(ROOT, 'deploy/web-config.yml')), 0o600);
}

/** Every file and directory under root, relative, sorted (directories first in their own order). */
export function walk(root, rel = '') {
  const out = [];
  for (const e of readdirSync(join(root, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    out.push({ rel: r, dir: e.isDirectory() });
    if (e.isDirectory()) out.push(...walk(root, r));
  }
  return out;
}
