// schema/event.schema.json stays equal to src/events/types.ts.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { packageRoot } from '../../src/package-files.js';
const PACKAGE_ROOT = packageRoot();
import { EVENT_SCHEMA_VERSION, EVENT_TYPES, SOURCE_REASONS, type SctpEvent } from '../../src/events/types.js';

interface Schema {
  required: string[];
  properties: Record<string, { const?: number; enum?: string[]; properties?: Record<string, unknown> }>;
}
const schema = JSON.parse(readFileSync(`${PACKAGE_ROOT}/schema/event.schema.json`, 'utf8')) as Schema;

test('event types and version match the code', () => {
  assert.deepEqual(schema.properties.type!.enum, [...EVENT_TYPES]);
  assert.equal(schema.properties.schemaVersion!.const, EVENT_SCHEMA_VERSION);
  const items = (schema.properties.sources as unknown as { items: { properties: { reason: { enum: string[] } } } }).items;
  assert.deepEqual(items.properties.reason.enum, [...SOURCE_REASONS]);
});

test('every SctpEvent field is documented', () => {
  const full: Required<SctpEvent> = {
    schemaVersion: 1,
    time: '',
    kernelNs: '1',
    type: 'path.state',
    source: 'bpf',
    severity: 'info',
    netns: null,
    assoc: { id: 1, localPort: 1, peerPort: 1, localAddresses: [], owners: [] },
    path: '',
    from: null,
    to: null,
    activePath: null,
    reason: '',
    metrics: {},
    link: '',
    direction: 'in',
    cause: '',
    sources: [],
  };
  assert.deepEqual(Object.keys(schema.properties).sort(), Object.keys(full).sort());
  assert.deepEqual(Object.keys(schema.properties.assoc!.properties!).sort(), Object.keys(full.assoc).sort());
  for (const r of schema.required) assert.ok(r in full);
});
