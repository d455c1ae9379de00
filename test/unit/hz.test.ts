import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { hzFromAssociations, hzFromConfig, inferHz, jiffiesToMs } from '../../src/kernel/hz.js';
import { hzFromConfigSources, type HzInputs } from '../../src/procfs/hz.js';

/** what the snapshot reader does: a kernel config when there is one, else the associations' HBINT, else assumed */
const detectHz = async (i: HzInputs) => (await hzFromConfigSources(i)) ?? hzFromAssociations(i);

test('CONFIG_HZ from a kernel config text', () => {
  assert.equal(hzFromConfig('CONFIG_HZ_250=y\nCONFIG_HZ=250\n'), 250);
  assert.equal(hzFromConfig('# CONFIG_HZ is not set\n'), null);
});

test('inference: most common HBINT/hb_interval ratio, snapped to a value Linux allows', () => {
  assert.equal(inferHz([250, 250, 250, 7500], 1000), 250); // one app set its own 30 s interval
  assert.equal(inferHz([30000], 30000), 1000);
  assert.equal(inferHz([3000], 30000), 100);
  assert.equal(inferHz([123], 1000), null);
  assert.equal(inferHz([], 1000), null);
});

test('jiffies to ms', () => {
  assert.equal(jiffiesToMs(50, 250), 200);
  assert.equal(jiffiesToMs(250, 250), 1000);
  assert.equal(jiffiesToMs(126, 250), 504);
});

test('detection order: option, capture, /boot/config, /proc/config.gz, inferred, assumed', async () => {
  const d = mkdtempSync(join(tmpdir(), 'hz-'));
  const boot = join(d, 'boot');
  const proc = join(d, 'proc');
  for (const x of [boot, proc]) (await import('node:fs')).mkdirSync(x);
  const base = { release: '6.1.0-56-amd64', procRoot: proc, bootDir: boot };
  assert.equal((await detectHz({ ...base, option: 1000, captured: 250 })).source, 'option');
  assert.equal((await detectHz({ ...base, captured: 300 })).value, 300);
  assert.deepEqual(await detectHz({ ...base }), {
    value: 250,
    source: 'assumed',
    detail: 'no kernel config found; Debian default assumed',
  });
  assert.equal((await detectHz({ ...base, hbints: [30000], hbIntervalMs: 30000 })).source, 'inferred');
  writeFileSync(join(proc, 'config.gz'), gzipSync('CONFIG_HZ=300\n'));
  assert.deepEqual(await detectHz({ ...base, hbints: [30000], hbIntervalMs: 30000 }), {
    value: 300,
    source: 'proc-config.gz',
    detail: `${proc}/config.gz`,
  });
  writeFileSync(join(boot, 'config-6.1.0-56-amd64'), 'CONFIG_HZ=1000\n');
  assert.equal((await detectHz({ ...base })).source, 'boot-config');
  assert.equal((await detectHz({ ...base })).value, 1000);
});

test('Debian 14 keeps the config beside the modules: /usr/lib/modules/<release>/config, after /boot', async () => {
  const d = mkdtempSync(join(tmpdir(), 'hz-mod-'));
  const { mkdirSync } = await import('node:fs');
  const release = '7.2.0-1-amd64';
  const mods = join(d, 'modules');
  mkdirSync(join(mods, release), { recursive: true });
  const i = { release, procRoot: join(d, 'proc'), bootDir: join(d, 'boot'), modulesDir: mods };
  assert.equal(await hzFromConfigSources(i), null);
  const path = join(mods, release, 'config');
  writeFileSync(path, 'CONFIG_HZ_250=y\nCONFIG_HZ=250\n');
  assert.deepEqual(await hzFromConfigSources(i), { value: 250, source: 'modules-config', detail: path });
  mkdirSync(join(d, 'boot'));
  writeFileSync(join(d, 'boot', `config-${release}`), 'CONFIG_HZ=1000\n');
  const other = { ...i, release: '7.2.0-2-amd64' };
  mkdirSync(join(mods, other.release));
  writeFileSync(join(mods, other.release, 'config'), 'CONFIG_HZ=300\n');
  writeFileSync(join(d, 'boot', `config-${other.release}`), 'CONFIG_HZ=1000\n');
  assert.equal((await hzFromConfigSources(other))?.source, 'boot-config', '/boot first');
});

test('a kernel config is read once per process: later snapshots do not read it again', async () => {
  const d = mkdtempSync(join(tmpdir(), 'hz-once-'));
  const boot = join(d, 'boot');
  (await import('node:fs')).mkdirSync(boot);
  const path = join(boot, 'config-6.1.0-99-amd64');
  writeFileSync(path, 'CONFIG_HZ=300\n');
  const i = { release: '6.1.0-99-amd64', procRoot: join(d, 'proc'), bootDir: boot };
  assert.deepEqual(await hzFromConfigSources(i), { value: 300, source: 'boot-config', detail: path });
  rmSync(path);
  assert.deepEqual(await hzFromConfigSources(i), { value: 300, source: 'boot-config', detail: path }, 'not read again');
  assert.equal(await hzFromConfigSources({ ...i, release: '6.1.0-98-amd64' }), null, 'another kernel: its own file, none here');
});
