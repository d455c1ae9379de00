import test from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatIPv6, fromKernel, normaliseUserAddress, parseIPv6 } from '../../src/model/addr.js';

test('kernel IPv6 (8 uncompressed groups) is shown in RFC 5952 form, kernel form kept', () => {
  const a = fromKernel('fd00:0003:0000:0000:0000:0000:0000:0002');
  assert.deepEqual(a, { address: 'fd00:3::2', kernelAddress: 'fd00:0003:0000:0000:0000:0000:0000:0002', family: 6 });
  assert.equal(fromKernel('0000:0000:0000:0000:0000:0000:0000:0000')?.address, '::');
  assert.equal(fromKernel('0000:0000:0000:0000:0000:0000:0000:0001')?.address, '::1');
  assert.equal(fromKernel('0000:0000:0000:0000:0000:ffff:0a01:0002')?.address, '::ffff:10.1.0.2');
  assert.equal(fromKernel('10.1.0.2')?.family, 4);
});

test('RFC 5952: longest zero run compressed, first of equal runs, single zero group not compressed', () => {
  assert.equal(formatIPv6([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1]), '2001:db8::1:0:0:1');
  assert.equal(formatIPv6([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1]), '2001:db8:0:1:1:1:1:1');
  assert.equal(formatIPv6([0x2001, 0, 0, 1, 0, 0, 0, 1]), '2001:0:0:1::1');
});

test('user addresses are normalised and garbage is refused', () => {
  assert.equal(normaliseUserAddress('FD00:3:0::2'), 'fd00:3::2');
  assert.equal(normaliseUserAddress('[fd00:3::2]'), 'fd00:3::2');
  assert.equal(normaliseUserAddress('::ffff:1.2.3.4'), '::ffff:1.2.3.4');
  for (const bad of ['', '10.1.0.256', '1.2.3', 'fd00::3::2', '$(reboot)', '10.0.0.1;ls', '1:2:3:4:5:6:7:8:9'])
    assert.equal(normaliseUserAddress(bad), null, bad);
});

test('property: format(parse(x)) round-trips for every 8-group address', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }), (g) => {
      const kernel = g.map((x) => x.toString(16).padStart(4, '0')).join(':');
      const shown = fromKernel(kernel)!.address;
      assert.deepEqual(parseIPv6(shown), g);
    }),
  );
});

test('property: parseIPv6 never throws on arbitrary text', () => {
  fc.assert(fc.property(fc.string(), (s) => void parseIPv6(s)));
});
