// Dependencies point one way (issue #19): kernel facts ← readers ← model ← commands ← renderers.
// Checked on the import statements of src/**/*.ts so a back-edge fails here, not in review.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import { ROOT } from '../helpers.js';

const SRC = join(ROOT, 'src');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [join(dir, e.name)] : [],
  );
}

/** Static (`import … from`, `export … from`, bare `import '…'`) and dynamic (`import('…')`) specifiers. */
export function importSpecifiers(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out: string[] = [];
  for (const re of [/\b(?:import|export)\s[^;'"]*?\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g])
    for (const m of code.matchAll(re)) out.push(m[1]!);
  return out;
}

interface Edge {
  from: string; // src-relative, posix: "model/diff.ts"
  to: string; // src-relative target ("procfs/parse.js"), "../test/…" when outside src, or a package name
}

function edges(): Edge[] {
  return tsFiles(SRC).flatMap((file) => {
    const from = relative(SRC, file).split(sep).join('/');
    return importSpecifiers(readFileSync(file, 'utf8')).map((spec) => ({
      from,
      to: spec.startsWith('.') ? posix.normalize(posix.join(posix.dirname(from), spec)) : spec,
    }));
  });
}

const top = (p: string) => (p.includes('/') ? p.slice(0, p.indexOf('/')) : '');
const show = (es: readonly Edge[]) => es.map((e) => `${e.from} → ${e.to}`).join('\n');

test('importSpecifiers: static, type-only, re-export, side-effect and dynamic imports; comments ignored', () => {
  const text = [
    "import { a } from '../procfs/parse.js';",
    "import type {\n  B,\n  C,\n} from './snapshot.js';",
    "export { d } from \"../kernel/enums.js\";",
    "import '../render/style.js';",
    "const m = await import('../top/run.js');",
    "// import { x } from '../commands/status.js';",
    "/* import { y } from '../metrics/server.js'; */",
  ].join('\n');
  assert.deepEqual(importSpecifiers(text).sort(), ['../kernel/enums.js', '../procfs/parse.js', '../render/style.js', '../top/run.js', './snapshot.js']);
});

test('the scan sees the codebase (a rule over no edges would pass vacuously)', () => {
  const es = edges();
  assert.ok(es.length > 200, `${es.length} imports`);
  assert.ok(es.some((e) => e.from === 'commands/status.ts' && e.to === 'procfs/read.js'), 'a known edge is found');
});

test('model, kernel facts and event types import no reader, command, renderer or feature', () => {
  const upper = new Set(['procfs', 'commands', 'render', 'top', 'metrics', 'trace', 'doctor', 'tune', 'drill', 'links']);
  const bad = edges().filter((e) => ['model', 'kernel', 'events'].includes(top(e.from)) && upper.has(top(e.to)));
  assert.deepEqual(bad, [], show(bad));
  // kernel facts are the bottom layer: not even the model
  const kernelUp = edges().filter((e) => top(e.from) === 'kernel' && ['model', 'events'].includes(top(e.to)));
  assert.deepEqual(kernelUp, [], show(kernelUp));
});

test('the model is I/O-free: no node:fs, child_process, net or safefs in src/model', () => {
  const bad = edges().filter((e) => top(e.from) === 'model' && (/^node:(fs|child_process|net|http|dgram)/.test(e.to) || e.to === 'safefs.js'));
  assert.deepEqual(bad, [], show(bad));
});

/** What `starts` reach through src imports (static, type-only, dynamic): each module or built-in with the import chain that reaches it. */
function reach(starts: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>(starts.map((f) => [f, [f]]));
  const bySource = new Map<string, Edge[]>();
  for (const e of edges()) bySource.set(e.from, [...(bySource.get(e.from) ?? []), e]);
  const queue = [...starts];
  for (let f = queue.shift(); f !== undefined; f = queue.shift())
    for (const e of bySource.get(f) ?? []) {
      const to = e.to.endsWith('.js') ? e.to.replace(/\.js$/, '.ts') : e.to;
      if (out.has(to)) continue;
      out.set(to, [...out.get(f)!, to]);
      if (to.endsWith('.ts')) queue.push(to);
    }
  return out;
}

test('the model and top/state are I/O-free transitively: nothing they reach imports node I/O, safefs, netns or a reader', () => {
  const starts = [...tsFiles(join(SRC, 'model')).map((f) => relative(SRC, f).split(sep).join('/')), 'top/state.ts'];
  const reached = reach(starts);
  assert.ok(reached.has('kernel/sysctl-catalog.ts') && reached.has('kernel/hz.ts'), 'the closure follows imports into kernel/');
  const io = (m: string) => /^node:(fs|child_process|net|http|https|dgram|zlib)(\/|$)/.test(m) || ['safefs.ts', 'netns.ts'].includes(m) || top(m) === 'procfs';
  const bad = [...reached].filter(([m]) => io(m)).map(([, chain]) => chain.join(' → '));
  assert.deepEqual(bad, [], bad.join('\n'));
});

test('readers (procfs) and renderers import no command or feature', () => {
  const upper = new Set(['commands', 'top', 'metrics', 'trace', 'doctor', 'tune', 'drill', 'links']);
  const bad = edges().filter((e) => ['procfs', 'render'].includes(top(e.from)) && upper.has(top(e.to)));
  assert.deepEqual(bad, [], show(bad));
});

test('top/state, top/view and top/history are pure: no I/O module', () => {
  const io = (to: string) => /^node:(fs|child_process|net)/.test(to) || ['procfs', 'metrics', 'trace', 'commands'].includes(top(to)) || to === 'safefs.js' || to === 'netns.js';
  const bad = edges().filter((e) => ['top/state.ts', 'top/view.ts', 'top/history.ts'].includes(e.from) && io(e.to));
  assert.deepEqual(bad, [], show(bad));
});

test('commands import no other command (only the shared options module); nothing but the program imports commands', () => {
  const cross = edges().filter((e) => top(e.from) === 'commands' && top(e.to) === 'commands' && e.to !== 'commands/options.js');
  assert.deepEqual(cross, [], show(cross));
  const into = edges().filter((e) => top(e.from) !== 'commands' && top(e.to) === 'commands' && e.from !== 'program.ts');
  assert.deepEqual(into, [], show(into));
});

test('the event pipeline does not poll top or metrics back (they push snapshots into it)', () => {
  const bad = edges().filter((e) => top(e.from) === 'trace' && ['top', 'metrics'].includes(top(e.to)));
  assert.deepEqual(bad, [], show(bad));
});

test('nothing under src/ imports from test/ or bench/', () => {
  const bad = edges().filter((e) => /^\.\.\/(test|bench)\//.test(e.to) || /(^|\/)(test|bench)\//.test(e.to));
  assert.deepEqual(bad, [], show(bad));
});
