/**
 * The `npm run dist` artifacts for tests: built once per `npm test` (the first caller builds when
 * dist-pkg/SHA256SUMS is missing or older than the compiled program or the packaging scripts),
 * then reused (the lab's package tests).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';

export const OUT = join(ROOT, 'dist-pkg');
export const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
export const EXE = join(OUT, `sctpdiag-${VERSION}-linux-x64`);
export const DEB = join(OUT, `sctpdiag_${VERSION}_amd64.deb`);
export const RPM = join(OUT, `sctpdiag-${VERSION}-1.x86_64.rpm`);
export const OCI = join(OUT, `sctpdiag-${VERSION}-oci`);
export const OCI_ARCHIVE = `${OCI}.tar`;

const mtime = (p: string) => statSync(p).mtimeMs;

function fresh(): boolean {
  const sums = join(OUT, 'SHA256SUMS');
  if (!existsSync(sums)) return false;
  const inputs = [join(ROOT, 'dist/src/program.js'), join(ROOT, 'package.json'), ...readdirSync(join(ROOT, 'packaging')).map((f) => join(ROOT, 'packaging', f))];
  return inputs.every((p) => mtime(p) <= mtime(sums));
}

/** Build the artifacts unless fresh ones are there; returns the seconds the build took (0: reused). */
export function ensureDist(): number {
  if (fresh()) return 0;
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [join(ROOT, 'packaging/dist.mjs')], { cwd: ROOT, encoding: 'utf8', timeout: 900_000 });
  if (r.status !== 0) throw new Error(`npm run dist failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  return (Date.now() - t0) / 1000;
}
