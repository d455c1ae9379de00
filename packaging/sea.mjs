// The single executable: the official Node LTS build from the npm registry (pinned in node.json),
// stripped, with the bundled program (esbuild: one CommonJS script) and the shipped files injected
// as a single-executable-application blob (postject).
import { build } from 'esbuild';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BINARY_NAME, OUT, ROOT, WORK, run, shippedFiles, step } from './common.mjs';

const NODE = JSON.parse(readFileSync(join(ROOT, 'packaging', 'node.json'), 'utf8'));
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** The embedded Node, fetched with `npm pack` (integrity checked against node.json), stripped of debug info. */
export function fetchNode() {
  const bin = join(WORK, `node-${NODE.version}-stripped`);
  if (existsSync(bin)) return bin;
  const done = step(`node ${NODE.version} from ${NODE.package}`);
  const dir = join(WORK, 'node');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const [info] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', dir, `${NODE.package}@${NODE.version}`], { cwd: dir }));
  if (info.integrity !== NODE.integrity) throw new Error(`${info.filename}: integrity ${info.integrity}, expected ${NODE.integrity} (packaging/node.json)`);
  run('tar', ['-xzf', join(dir, info.filename), '-C', dir, 'package/bin/node', 'package/LICENSE']);
  copyFileSync(join(dir, 'package/LICENSE'), join(WORK, 'node-LICENSE'));
  // the official build carries ~18 MB of symbols; without them the executable stays under 120 MB
  run('strip', ['--strip-all', '-o', bin + '.tmp', join(dir, 'package/bin/node')]);
  run('mv', [bin + '.tmp', bin]);
  rmSync(dir, { recursive: true, force: true });
  done();
  return bin;
}

/** Replace `from` (which must be there) by `to` in the files matching filter. */
function rewrite(name, filter, from, to) {
  return {
    name,
    setup(b) {
      b.onLoad({ filter }, (args) => {
        const text = readFileSync(args.path, 'utf8');
        if (!from.test(text)) throw new Error(`${args.path}: the code packaging/sea.mjs (${name}) rewrites is gone`);
        return { contents: text.replace(from, to), loader: 'js' };
      });
    },
  };
}

/**
 * screen.ts loads blessed-contrib's line chart lazily through createRequire(import.meta.url), which a
 * bundle cannot resolve; the bundle requires it directly. The build fails if that line changes.
 */
const lazyRequire = rewrite('lazy-require', /[\\/]dist[\\/]src[\\/]top[\\/]screen\.js$/, /^const require = createRequire\(import\.meta\.url\);$/m, '');
/** blessed loads its widgets by computed name; esbuild bundles them all, but keys them by file name with .js. */
/** blessed's fallback terminfo lives beside its code; in the executable it is the package's terminfo/. */
const blessedTerminfo = rewrite(
  'blessed-terminfo',
  /[\\/]node_modules[\\/]blessed[\\/]lib[\\/]tput\.js$/,
  /__dirname \+ '\/\.\.\/usr\//g,
  `require(${JSON.stringify(join(ROOT, 'dist/src/package-files.js'))}).packageFile('terminfo') + '/`,
);
const blessedWidgets = rewrite('blessed-widgets', /[\\/]node_modules[\\/]blessed[\\/]lib[\\/]widget\.js$/, /require\('\.\/widgets\/' \+ file\)/, "require('./widgets/' + file + '.js')");

/*
 * Start-up: the bundle is compiled from its code cache at no measurable cost; what costs is the Node
 * built-in modules the libraries load at their top (bench/README.md, start). These load them on use.
 */
/** commander spawns only for executable subcommands (sctpdiag has none): node:child_process is ~6 ms of every start. */
const commanderLazySpawn = rewrite(
  'commander-lazy-spawn',
  /[\\/]node_modules[\\/]commander[\\/]lib[\\/]command\.js$/,
  /^const childProcess = require\('node:child_process'\);$/m,
  "const childProcess = { spawn: (...a) => require('node:child_process').spawn(...a) };",
);
/** prom-client's index loads all its parts (the Pushgateway brings node:https, ~20 ms); each is loaded when first read. */
const promClientLazy = rewrite(
  'prom-client-lazy',
  /[\\/]node_modules[\\/]prom-client[\\/]index\.js$/,
  /^exports\.(\w+) =\s*require\(('[^']+')\)(\.\w+)?;$/gm,
  "Object.defineProperty(exports, '$1', { enumerable: true, get: () => require($2)$3 });",
);

export async function bundle() {
  const done = step('bundle (esbuild)');
  const outfile = join(WORK, 'sctpdiag.cjs');
  const r = await build({
    entryPoints: [join(ROOT, 'dist/src/single-executable.js')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: `node${NODE.version.split('.')[0]}`,
    outfile,
    minify: true,
    legalComments: 'none',
    logLevel: 'error',
    logOverride: { 'empty-import-meta': 'silent' }, // only read by npmRoot(), which the executable never calls
    external: ['term.js', 'pty.js'], // optional peers of blessed's terminal widget, which top does not use
    plugins: [lazyRequire, blessedWidgets, blessedTerminfo, commanderLazySpawn, promClientLazy],
  });
  if (r.errors.length) throw new Error('esbuild failed');
  done();
  return outfile;
}

/** The assets: package.json (version), the man page, the shipped files, and their list. */
export function assets() {
  const files = [{ key: 'package.json', src: join(ROOT, 'package.json') }, { key: 'man/sctpdiag.8', src: join(ROOT, 'man/sctpdiag.8') }, ...shippedFiles()];
  const list = join(WORK, 'manifest.json');
  writeFileSync(list, JSON.stringify(files.map((f) => f.key)));
  return Object.fromEntries([['manifest.json', list], ...files.map((f) => [f.key, f.src])]);
}

export async function buildExecutable() {
  mkdirSync(WORK, { recursive: true });
  const node = fetchNode();
  const main = await bundle();
  const done = step('single executable (blob + postject)');
  const blob = join(WORK, 'sea.blob');
  const config = join(WORK, 'sea-config.json');
  writeFileSync(config, JSON.stringify({ main, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true, assets: assets() }, null, 2));
  // the blob (and its code cache) must come from the very Node it is injected into
  run(node, ['--experimental-sea-config', config], { cwd: WORK });
  const out = join(OUT, BINARY_NAME);
  const tmp = out + '.tmp';
  copyFileSync(node, tmp);
  run(process.execPath, [join(ROOT, 'node_modules/postject/dist/cli.js'), tmp, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', FUSE]);
  chmodSync(tmp, 0o755);
  run('mv', [tmp, out]);
  done();
  return out;
}
