/**
 * The files sctpdiag ships beside its code (probes/, profiles/, schema/, man/)
 * and its version, wherever it runs from:
 * - the npm package: the directory above this module that holds package.json;
 * - the single executable installed by the .deb/.rpm (or the OCI image):
 *   <prefix>/share/sctpdiag beside <prefix>/bin, when its `version` file
 *   matches the executable's (a stale tree from another version is not used);
 * - the single executable copied alone: its embedded assets (packaging/sea),
 *   written once into a private mkdtemp directory that is removed on exit.
 * The tree is located on first use, so `--version` or `status` touch nothing.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as sea from 'node:sea';

/** True inside the single executable (Node's single-executable application). */
export const IN_SINGLE_EXECUTABLE: boolean = sea.isSea();

/** Asset that lists the other assets' keys (relative paths), written by packaging/sea/build.mjs. */
export const ASSET_MANIFEST = 'manifest.json';

function npmRoot(): string {
  const self = fileURLToPath(import.meta.url);
  for (let dir = dirname(self); ; ) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('sctpdiag: cannot find package.json above ' + self);
    dir = up;
  }
}

function readVersion(): string {
  const text = IN_SINGLE_EXECUTABLE ? sea.getAsset('package.json', 'utf8') : readFileSync(join(npmRoot(), 'package.json'), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

export const VERSION: string = readVersion();

/** The installed tree of a packaged executable (/usr/bin/sctpdiag → /usr/share/sctpdiag), if it is this version's. */
export function installedTree(execPath = process.execPath, version = VERSION): string | null {
  const dir = join(dirname(execPath), '..', 'share', 'sctpdiag');
  try {
    return readFileSync(join(dir, 'version'), 'utf8').trim() === version ? dir : null;
  } catch {
    return null;
  }
}

let assetDir: string | undefined;
const written = new Set<string>();

/**
 * Write the embedded assets under `top` (a first path part; all of them when undefined) into a private
 * directory made on first use (mkdtemp: 0700, unpredictable name; 'wx': no file followed). Only what a
 * command asks for is written: all of them took tens of ms of a start.
 */
function extractAssets(top?: string): string {
  if (assetDir === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'sctpdiag-'));
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    assetDir = dir;
  }
  const keys = JSON.parse(sea.getAsset(ASSET_MANIFEST, 'utf8')) as string[];
  for (const key of keys) {
    if (written.has(key) || (top !== undefined && key !== top && !key.startsWith(top + '/'))) continue;
    if (key.split('/').some((p) => p === '' || p === '.' || p === '..')) throw new Error(`sctpdiag: bad asset name ${key}`);
    mkdirSync(dirname(join(assetDir, key)), { recursive: true });
    writeFileSync(join(assetDir, key), new Uint8Array(sea.getAsset(key)), { flag: 'wx', mode: 0o644 });
    written.add(key);
  }
  return assetDir;
}

let located: string | null | undefined;

/** The package's directory on disk (npm package, or the installed tree), or null: the embedded assets. */
function onDisk(): string | null {
  if (located === undefined) located = IN_SINGLE_EXECUTABLE ? installedTree() : npmRoot();
  return located;
}

/** The directory holding probes/, profiles/, schema/ and man/ (located, or all of it extracted, on first call). */
export function packageRoot(): string {
  return onDisk() ?? extractAssets();
}

/** Path of a file or directory the package ships, e.g. packageFile('profiles') (only that part is extracted). */
export const packageFile = (...parts: string[]): string => join(onDisk() ?? extractAssets(parts.join('/').split('/')[0]), ...parts);
