/**
 * Association filters shared by status, trace and top. Parsed and validated
 * once from user text; matching is pure.
 */
import { ASSOC_STATES, PATH_STATE_NAMES } from '../kernel/enums.js';
import { usageError } from '../errors.js';
import { normaliseUserAddress } from './addr.js';
import type { Association } from './snapshot.js';

export interface AssocFilter {
  assocId?: number;
  port?: number;
  peer?: string;
  /** an association state (ESTABLISHED…) or a path state (ACTIVE, PF, INACTIVE…) */
  state?: string;
}

export function parseAssocId(text: string, option = '--assoc'): number {
  if (!/^\d{1,10}$/.test(text) || Number(text) > 0xffffffff)
    throw usageError(`${option}: ${JSON.stringify(text)} is not an association id (0..4294967295)`);
  return Number(text);
}

export function parsePort(text: string, option = '--port'): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535)
    throw usageError(`${option}: ${JSON.stringify(text)} is not a port (1..65535)`);
  return Number(text);
}

export function parsePeer(text: string, option = '--peer'): string {
  const a = normaliseUserAddress(text);
  if (!a) throw usageError(`${option}: ${JSON.stringify(text)} is not an IPv4 or IPv6 address`);
  return a;
}

export const STATE_FILTERS: readonly string[] = [...ASSOC_STATES, ...PATH_STATE_NAMES];

export function parseStateFilter(text: string, option = '--state'): string {
  const s = text.toUpperCase().replace(/-/g, '_');
  if (!STATE_FILTERS.includes(s))
    throw usageError(`${option}: unknown state ${JSON.stringify(text)}`, `one of: ${STATE_FILTERS.join(', ')}`);
  return s;
}

export function matchAssoc(a: Association, f: AssocFilter): boolean {
  if (f.assocId !== undefined && a.id !== f.assocId) return false;
  if (f.port !== undefined && a.localPort !== f.port && a.peerPort !== f.port) return false;
  if (f.peer !== undefined && !a.paths.some((p) => p.address === f.peer)) return false;
  if (f.state !== undefined && a.state !== f.state && !a.paths.some((p) => p.state === f.state)) return false;
  return true;
}

export function isEmptyFilter(f: AssocFilter): boolean {
  return f.assocId === undefined && f.port === undefined && f.peer === undefined && f.state === undefined;
}
