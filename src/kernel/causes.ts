/**
 * SCTP error cause codes (RFC 9260 §3.3.10, with RFC 5061's ASCONF causes and
 * RFC 4895's HMAC cause, as the kernel's enum sctp_error has them) and chunk
 * type names (RFC 9260 §3.2 and its extensions). Each cause has a bounded
 * label for metrics; codes outside the table are `other`, a chunk without a
 * cause is `none`.
 */

export interface Cause {
  code: number;
  /** RFC name */
  name: string;
  /** metrics label (bounded set) */
  label: string;
}

const TABLE: readonly Cause[] = [
  { code: 1, name: 'Invalid Stream Identifier', label: 'invalid_stream' },
  { code: 2, name: 'Missing Mandatory Parameter', label: 'missing_parameter' },
  { code: 3, name: 'Stale Cookie Error', label: 'stale_cookie' },
  { code: 4, name: 'Out of Resource', label: 'out_of_resource' },
  { code: 5, name: 'Unresolvable Address', label: 'unresolvable_address' },
  { code: 6, name: 'Unrecognized Chunk Type', label: 'unrecognized_chunk' },
  { code: 7, name: 'Invalid Mandatory Parameter', label: 'invalid_parameter' },
  { code: 8, name: 'Unrecognized Parameters', label: 'unrecognized_parameters' },
  { code: 9, name: 'No User Data', label: 'no_user_data' },
  { code: 10, name: 'Cookie Received While Shutting Down', label: 'cookie_while_shutting_down' },
  { code: 11, name: 'Restart of an Association with New Addresses', label: 'restart_new_addresses' },
  { code: 12, name: 'User-Initiated Abort', label: 'user_abort' },
  { code: 13, name: 'Protocol Violation', label: 'protocol_violation' },
  { code: 0xa0, name: 'Request to Delete Last Remaining IP Address', label: 'delete_last_address' },
  { code: 0xa1, name: 'Operation Refused Due to Resource Shortage', label: 'resource_shortage' },
  { code: 0xa2, name: 'Request to Delete Source IP Address', label: 'delete_source_address' },
  { code: 0xa3, name: 'Association Aborted Due to Illegal ASCONF-ACK', label: 'illegal_asconf_ack' },
  { code: 0xa4, name: 'Request Refused - No Authorization', label: 'no_authorization' },
  { code: 0x105, name: 'Unsupported HMAC Identifier', label: 'unsupported_hmac' },
];

const BY_CODE = new Map(TABLE.map((c) => [c.code, c]));

/** every metrics label a cause can have, in table order, then `none` and `other` */
export const CAUSE_LABELS: readonly string[] = [...TABLE.map((c) => c.label), 'none', 'other'];

/** A cause code as the chunk carries it; null: the chunk has no cause. */
export function causeOf(code: number | null): Cause {
  if (code === null) return { code: 0, name: 'no cause given', label: 'none' };
  return BY_CODE.get(code) ?? { code, name: `unknown cause ${code}`, label: 'other' };
}

export const CHUNK_ABORT = 6;

const CHUNK_TYPES: Readonly<Record<number, string>> = {
  0: 'DATA',
  1: 'INIT',
  2: 'INIT-ACK',
  3: 'SACK',
  4: 'HEARTBEAT',
  5: 'HEARTBEAT-ACK',
  6: 'ABORT',
  7: 'SHUTDOWN',
  8: 'SHUTDOWN-ACK',
  9: 'ERROR',
  10: 'COOKIE-ECHO',
  11: 'COOKIE-ACK',
  12: 'ECNE',
  13: 'CWR',
  14: 'SHUTDOWN-COMPLETE',
  15: 'AUTH',
  64: 'I-DATA',
  128: 'ASCONF-ACK',
  130: 'RE-CONFIG',
  132: 'PAD',
  192: 'FORWARD-TSN',
  193: 'ASCONF',
  194: 'I-FORWARD-TSN',
};

export function chunkTypeName(type: number): string {
  return CHUNK_TYPES[type] ?? `chunk type ${type}`;
}
