import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildProgram } from '../../src/program.js';
import { ROOT } from '../helpers.js';

const man = readFileSync(join(ROOT, 'man', 'sctpdiag.8'), 'utf8');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

test('man page is lint-clean (mandoc -T lint -W warning)', (t) => {
  const r = spawnSync('mandoc', ['-T', 'lint', '-W', 'warning', join(ROOT, 'man', 'sctpdiag.8')], { encoding: 'utf8' });
  if (r.error) {
    if (process.env.CI === 'true') assert.fail('mandoc is not installed');
    t.skip('mandoc not installed (apt-get install mandoc)');
    return;
  }
  assert.equal(r.stdout + r.stderr, '');
  assert.equal(r.status, 0);
});

test('every command and every long option is documented in the man page and the README', async () => {
  const program = await buildProgram();
  const optionName = (long: string) => long.replace(/^--/, '');
  for (const o of program.options) {
    if (!o.long || o.long === '--version' || o.long === '--help') continue;
    assert.ok(man.includes(`Fl \\-${optionName(o.long).replace(/-/g, '\\-')}`), `man: global option ${o.long}`);
  }
  for (const c of program.commands) {
    assert.ok(man.includes(`.Ic ${c.name()}`), `man: command ${c.name()}`);
    assert.ok(readme.includes(`sctpdiag ${c.name()}`), `README: command ${c.name()}`);
    for (const o of c.options) {
      if (!o.long) continue;
      const flag = `Fl \\-${optionName(o.long).replace(/-/g, '\\-')}`;
      assert.ok(man.includes(flag), `man: ${c.name()} ${o.long}`);
    }
  }
});

test('every exit code in src/errors.ts is in the man page EXIT STATUS', async () => {
  const { EXIT } = await import('../../src/errors.js');
  const section = man.slice(man.indexOf('.Sh EXIT STATUS'), man.indexOf('.Sh', man.indexOf('.Sh EXIT STATUS') + 4));
  for (const code of Object.values(EXIT)) assert.match(section, new RegExp(`^\\.It ${code}$`, 'm'), `exit ${code}`);
});
