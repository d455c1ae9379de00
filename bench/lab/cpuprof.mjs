#!/usr/bin/env node
// Top self-time functions of a .cpuprofile (node --cpu-prof):  node bench/lab/cpuprof.mjs FILE|DIR [N]
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
let f = process.argv[2];
if (!f) { console.error('usage: cpuprof.mjs FILE|DIR [N]'); process.exit(2); }
if (statSync(f).isDirectory()) f = join(f, readdirSync(f).filter((x) => x.endsWith('.cpuprofile')).sort().pop());
const p = JSON.parse(readFileSync(f, 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const self = new Map();
let total = 0;
p.samples.forEach((id, i) => {
  const c = byId.get(id).callFrame;
  const k = `${c.functionName || '(anonymous)'} ${c.url.split('/').slice(-2).join('/')}:${c.lineNumber + 1}`;
  self.set(k, (self.get(k) ?? 0) + p.timeDeltas[i]);
  total += p.timeDeltas[i];
});
console.log(`${f}: ${(total / 1000).toFixed(0)} ms sampled`);
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(process.argv[3] ?? 25)))
  console.log(`${(v / 1000).toFixed(0).padStart(7)} ms ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
