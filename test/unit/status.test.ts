import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { collectStatus, parseFilter, printStatus } from '../../src/commands/status.js';
import { writeJson } from '../../src/render/json.js';
import { readSnapshot } from '../../src/procfs/read.js';
import { plain } from '../../src/render/style.js';
import { SctpdiagError, EXIT } from '../../src/errors.js';
import { capture, GOLDEN } from '../helpers.js';

/** Compare with a golden file; UPDATE_GOLDEN=1 writes it (review the diff before committing). A missing one fails. */
function golden(name: string, actual: string): void {
  const path = join(GOLDEN, name);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, actual);
  assert.ok(existsSync(path), `golden file ${name} is missing (UPDATE_GOLDEN=1 writes it)`);
  assert.equal(actual, readFileSync(path, 'utf8'), `differs from golden ${name}`);
}

for (const name of ['two-path-a', 'two-path-a-fail-t6', 'many-b']) {
  test(`status text and JSON for capture ${name} match the golden files`, async () => {
    const snap = await readSnapshot({ procRoot: capture(name), netns: null });
    const report = collectStatus(snap, {}, 'testhost');
    golden(`status-${name}.txt`, printStatus(report, plain, true));
    golden(`status-${name}.json`, JSON.stringify(report, null, 2) + '\n');
  });
}

test('filters: --assoc, --port (local or peer), --peer (normalised), --state (assoc or path state)', async () => {
  const snap = await readSnapshot({ procRoot: capture('two-path-a-fail-t6'), netns: null });
  const ids = (f: Record<string, string>) => collectStatus(snap, parseFilter(f)).associations.map((a) => a.id);
  assert.deepEqual(ids({ assoc: '3' }), [3]);
  assert.deepEqual(ids({ port: '5000' }), [5, 0]);
  assert.deepEqual(ids({ port: '6001' }), [3]);
  assert.deepEqual(ids({ peer: '10.1.0.2', state: 'inactive' }), [5, 3]);
  assert.deepEqual(ids({ state: 'cookie-wait' }), [0]);
  const v6 = await readSnapshot({ procRoot: capture('many-a'), netns: null });
  assert.equal(collectStatus(v6, parseFilter({ peer: 'FD00:0003::0002' })).associations[0]?.localPort, 7001);
});

test('bad filters are refused with a usage error naming the option', () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ assoc: '-1' }, /--assoc/],
    [{ assoc: '3;reboot' }, /--assoc/],
    [{ port: '70000' }, /--port/],
    [{ port: '0' }, /--port/],
    [{ peer: '10.1.0.300' }, /--peer/],
    [{ peer: '$(id)' }, /--peer/],
    [{ state: 'UPPISH' }, /--state/],
  ];
  for (const [f, re] of cases) {
    assert.throws(
      () => parseFilter(f),
      (e: unknown) => e instanceof SctpdiagError && e.exitCode === EXIT.USAGE && re.test(e.message),
      JSON.stringify(f),
    );
  }
});

test('status JSON validates against the shipped schema/status.schema.json (and the checker catches drift)', async () => {
  const { checkSchema } = await import('../schema-check.js');
  const { ROOT } = await import('../helpers.js');
  const schema = JSON.parse(readFileSync(join(ROOT, 'schema', 'status.schema.json'), 'utf8'));
  for (const name of ['two-path-a', 'two-path-a-fail-t6', 'many-a']) {
    const report = collectStatus(await readSnapshot({ procRoot: capture(name), netns: null }), {}, 'h');
    const json = JSON.parse(JSON.stringify(report));
    assert.deepEqual(checkSchema(schema, json), [], name);
    json.associations[0].paths[0].state = 'UP';
    json.associations[0].surprise = 1;
    assert.equal(checkSchema(schema, json).length, 2);
  }
});

test('--json piped: writeJson writes the bytes of JSON.stringify(report), in pieces', async () => {
  const names = readdirSync(join(capture('many-a'), '..')).filter((d) => existsSync(join(capture(d), 'net')));
  assert.ok(names.length >= 5);
  for (const name of names) {
    const report = collectStatus(await readSnapshot({ procRoot: capture(name), netns: null }), {}, 'h');
    const pieces: string[] = [];
    writeJson(report, (s) => void pieces.push(s), false);
    assert.equal(pieces.join(''), JSON.stringify(report) + '\n', name);
  }
  // past the ~1 MB piece size
  const one = collectStatus(await readSnapshot({ procRoot: capture('many-a'), netns: null }), {}, 'h');
  const big = { ...one, associations: Array.from({ length: 12 }, () => one.associations).flat() };
  const pieces: string[] = [];
  writeJson(big, (s) => void pieces.push(s), false);
  const indented: string[] = [];
  writeJson(one, (s) => void indented.push(s), true);
  assert.equal(indented.join(''), JSON.stringify(one, null, 2) + '\n');
  assert.ok(pieces.length >= 3, `${pieces.length} pieces`);
  assert.equal(pieces.join(''), JSON.stringify(big) + '\n');
});
