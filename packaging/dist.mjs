// `npm run dist`: every artifact operators install, under dist-pkg/ (see packaging/README.md).
// Expects `npm run build` to have run (dist/src).
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OUT, VERSION, sha256 } from './common.mjs';
import { buildDeb } from './deb.mjs';
import { buildImage } from './oci.mjs';
import { buildRpm } from './rpm.mjs';
import { buildExecutable } from './sea.mjs';

mkdirSync(OUT, { recursive: true });
for (const f of readdirSync(OUT, { withFileTypes: true }).filter((e) => e.name !== 'build')) rmSync(join(OUT, f.name), { recursive: true, force: true });
const exe = await buildExecutable();
const shipped = [exe, buildDeb(exe), buildRpm(exe), buildImage(exe)];
const sums = shipped.map((f) => `${sha256(f)}  ${f.slice(OUT.length + 1)}\n`).join('');
writeFileSync(join(OUT, 'SHA256SUMS'), sums);
process.stderr.write(`dist: sctpdiag ${VERSION}\n${sums}`);
for (const f of shipped) process.stderr.write(`  ${f.slice(OUT.length + 1)}: ${(statSync(f).size / 2 ** 20).toFixed(1)} MiB\n`);
