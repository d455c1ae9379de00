/**
 * Synthesise a /proc-like capture with N associations by repeating real
 * captured lines (test/fixtures/linux-6.1-debian/ipv6-asconf-many/many_a_*:
 * one-to-one, two paths each) with new ids, inodes, ports and addresses.
 * Only numbers and addresses change; the kernel's column layout is kept.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../src/package-files.js';
const PACKAGE_ROOT = packageRoot();

const REAL = join(PACKAGE_ROOT, 'test', 'fixtures', 'linux-6.1-debian', 'ipv6-asconf-many');

function pad(n: number | string, width: number, left = false): string {
  const s = String(n);
  return left ? s.padEnd(width) : s.padStart(width);
}

export function synthCapture(dir: string, n: number): string {
  const assocs = readFileSync(join(REAL, 'many_a_assocs.txt'), 'utf8').split('\n');
  const remaddr = readFileSync(join(REAL, 'many_a_remaddr.txt'), 'utf8').split('\n');
  const template = assocs.find((l) => / 2 {3}1 {3}3 /.test(l));
  if (!template) throw new Error('no one-to-one template row in the fixture');
  const tail = template.slice(template.indexOf('\t'));
  const aOut = [assocs[0]!];
  const rOut = [remaddr[0]!];
  for (let i = 1; i <= n; i++) {
    const hi = (i >> 8) & 255;
    const lo = i & 255;
    const l1 = `10.1.${hi}.${lo}`;
    const l2 = `10.2.${hi}.${lo}`;
    const p1 = `10.3.${hi}.${lo}`;
    const p2 = `10.4.${hi}.${lo}`;
    const ptr = (x: number) => pad((x * 2654435761 >>> 0).toString(16), 8);
    aOut.push(
      `${ptr(i)} ${ptr(i + n)} 2   1   3  0   ${pad(i, 5)}        0        0       0 ${pad(100000 + i, 5)} ` +
        `${pad(1024 + (i % 60000), 5, true)} 8000  ${l1} ${l2} <-> *${p1} ${p2} ${tail}`,
    );
    rOut.push(`${p1}  ${i} 1 ${50 + (i % 200)} 2 0 0 2`, `${p2}  ${i} 1 50 2 0 0 2`);
  }
  mkdirSync(join(dir, 'net', 'sctp'), { recursive: true });
  writeFileSync(join(dir, 'net', 'sctp', 'assocs'), aOut.join('\n') + '\n');
  writeFileSync(join(dir, 'net', 'sctp', 'remaddr'), rOut.join('\n') + '\n');
  writeFileSync(join(dir, 'net', 'sctp', 'eps'), readFileSync(join(REAL, 'many_a_eps.txt')));
  writeFileSync(join(dir, 'net', 'sctp', 'snmp'), readFileSync(join(REAL, 'many_a_snmp.txt')));
  writeFileSync(
    join(dir, 'sctpdiag-capture.json'),
    JSON.stringify({
      schemaVersion: 1,
      capturedAt: '2026-11-01T12:00:00.000Z',
      kernelRelease: '6.1.0-56-amd64',
      hz: 250,
      hzSource: 'synthesised',
      netns: null,
      hostname: 'bench',
    }),
  );
  return dir;
}
