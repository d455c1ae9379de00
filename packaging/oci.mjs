// The OCI image, written as an OCI image layout by this script (no daemon, no base image): one layer
// holding the executable, its files under /usr/share/sctpdiag, and exactly the shared libraries the
// official Node build links (ldd on the build host, Debian), with their copyright files. The exporter
// runs by default; tag = the version.
import { copyFileSync, mkdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { EPOCH, OUT, VERSION, WORK, run, step } from './common.mjs';
import { stageTree } from './tree.mjs';

export const OCI_DIR = `sctpdiag-${VERSION}-oci`;
export const OCI_ARCHIVE = `${OCI_DIR}.tar`;
export const OCI_TAG = VERSION;
export const IMAGE_CMD = ['metrics', '--listen', '0.0.0.0:10132'];

/** The libraries `ldd` resolves for exe: [path the loader asks for, real file]. */
export function sharedLibraries(exe) {
  const libs = [];
  for (const line of run('ldd', [exe]).split('\n')) {
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
    if (m) libs.push(m[1]);
  }
  if (!libs.some((l) => basename(l).startsWith('ld-linux'))) throw new Error(`ldd ${exe}: no dynamic loader found`);
  return libs.map((l) => [l, realpathSync(l)]);
}

function rootfs(exe) {
  const root = join(WORK, 'oci-root');
  stageTree(root, exe, { units: false, man: false });
  // merged /usr, as on Debian 12: the loader path /lib64/ld-linux-x86-64.so.2 resolves through lib64 → usr/lib64
  for (const [link, to] of [['lib', 'usr/lib'], ['lib64', 'usr/lib64']]) {
    mkdirSync(join(root, to), { recursive: true });
    symlinkSync(to, join(root, link));
  }
  const pkgs = new Set();
  for (const [want, real] of sharedLibraries(exe)) {
    const inUsr = want.replace(/^\/(lib|lib64)\//, '/usr/$1/');
    mkdirSync(join(root, dirname(inUsr)), { recursive: true });
    copyFileSync(real, join(root, inUsr));
    const owner = /^([^:\s]+)(:\S+)?: /.exec(spawnSync('dpkg', ['-S', want, inUsr], { encoding: 'utf8' }).stdout ?? '');
    if (owner) pkgs.add(owner[1]);
  }
  for (const p of pkgs) {
    const c = `/usr/share/doc/${p}/copyright`;
    if (existsSync(c)) {
      mkdirSync(join(root, dirname(c)), { recursive: true });
      copyFileSync(c, join(root, c));
    }
  }
  mkdirSync(join(root, 'usr/share/doc/sctpdiag'), { recursive: true });
  copyFileSync(join(WORK, '..', '..', 'packaging', 'copyright'), join(root, 'usr/share/doc/sctpdiag/copyright'));
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/usr/bin/sctpdiag\nnobody:x:65534:65534:nobody:/nonexistent:/usr/bin/sctpdiag\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
  for (const d of ['tmp', 'proc', 'sys', 'dev', 'run', 'root']) mkdirSync(join(root, d), { recursive: true });
  chmodSync(join(root, 'tmp'), 0o1777);
  chmodSync(join(root, 'root'), 0o700);
  return { root, libraries: [...pkgs].sort() };
}

const digest = (buf) => 'sha256:' + createHash('sha256').update(buf).digest('hex');

export function buildImage(exe) {
  const done = step('OCI image (layout + archive)');
  const { root, libraries } = rootfs(exe);
  const tarFile = join(WORK, 'oci-layer.tar');
  run('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', `--mtime=@${EPOCH}`, '--format=posix',
    '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime', '-C', root, '-cf', tarFile, '.']);
  const tar = readFileSync(tarFile);
  const layer = gzipSync(tar, { level: 6 });
  const created = new Date(EPOCH * 1000).toISOString();
  const config = Buffer.from(JSON.stringify({
    created,
    architecture: 'amd64',
    os: 'linux',
    config: {
      Entrypoint: ['/usr/bin/sctpdiag'],
      Cmd: IMAGE_CMD,
      Env: ['PATH=/usr/bin:/bin', 'NO_COLOR=1'],
      ExposedPorts: { '10132/tcp': {} },
      Labels: { 'org.opencontainers.image.title': 'sctpdiag', 'org.opencontainers.image.version': VERSION },
    },
    rootfs: { type: 'layers', diff_ids: [digest(tar)] },
    history: [{ created, created_by: `sctpdiag packaging/oci.mjs: sctpdiag ${VERSION} single executable; shared libraries from ${libraries.join(', ')}` }],
  }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digest(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digest(layer), size: layer.length }],
    annotations: { 'org.opencontainers.image.version': VERSION, 'org.opencontainers.image.created': created },
  }));
  const dir = join(OUT, OCI_DIR);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'blobs/sha256'), { recursive: true });
  for (const b of [layer, config, manifest]) writeFileSync(join(dir, 'blobs/sha256', digest(b).slice(7)), b);
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digest(manifest), size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': OCI_TAG } }],
  }));
  // the same layout as one file (skopeo's oci-archive:), for SHA256SUMS and copying around
  const archive = join(OUT, OCI_ARCHIVE);
  run('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', `--mtime=@${EPOCH}`, '-C', dir, '-cf', archive, '.']);
  done();
  return archive;
}
