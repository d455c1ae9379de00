/**
 * Association filters shared by status, trace and top (commands/options.ts
 * parses them from user text); matching is pure.
 */
import type { Association } from './snapshot.js';

export interface AssocFilter {
  assocId?: number;
  port?: number;
  peer?: string;
  /** an association state (ESTABLISHED…) or a path state (ACTIVE, PF, INACTIVE…) */
  state?: string;
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
