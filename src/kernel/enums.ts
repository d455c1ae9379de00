/**
 * Names for the numbers the kernel prints in /proc/net/sctp/* (net/sctp/proc.c,
 * include/net/sctp/constants.h, include/uapi/linux/sctp.h). One place for all of them.
 */

/** remaddr STATE: enum sctp_transport_state (SCTP_TRANSPORT_*). */
export const PATH_STATES: Readonly<Record<number, PathState>> = {
  0: 'INACTIVE',
  1: 'PF',
  2: 'ACTIVE',
  3: 'UNCONFIRMED',
  65535: 'UNKNOWN',
};
export type PathState = 'INACTIVE' | 'PF' | 'ACTIVE' | 'UNCONFIRMED' | 'UNKNOWN';
export const PATH_STATE_NAMES: readonly PathState[] = ['ACTIVE', 'PF', 'INACTIVE', 'UNCONFIRMED', 'UNKNOWN'];

export function pathStateName(code: number): PathState {
  return PATH_STATES[code] ?? 'UNKNOWN';
}

/** assocs ST: enum sctp_state. */
export const ASSOC_STATES = [
  'CLOSED',
  'COOKIE_WAIT',
  'COOKIE_ECHOED',
  'ESTABLISHED',
  'SHUTDOWN_PENDING',
  'SHUTDOWN_SENT',
  'SHUTDOWN_RECEIVED',
  'SHUTDOWN_ACK_SENT',
] as const;
export type AssocState = (typeof ASSOC_STATES)[number] | 'UNKNOWN';

export function assocStateName(code: number): AssocState {
  return ASSOC_STATES[code] ?? 'UNKNOWN';
}

/** assocs/eps STY: enum sctp_socket_type. */
export const SOCKET_STYLES = ['one-to-many', 'peeled-off', 'one-to-one'] as const;
export type SocketStyle = (typeof SOCKET_STYLES)[number] | 'unknown';

export function socketStyleName(code: number): SocketStyle {
  return SOCKET_STYLES[code] ?? 'unknown';
}

/** assocs/eps SST: sk->sk_state, which SCTP maps onto the TCP numbers (enum sctp_sock_state). */
const SOCKET_STATES: Readonly<Record<number, string>> = {
  1: 'ESTABLISHED',
  2: 'SYN_SENT',
  7: 'CLOSED',
  8: 'CLOSE_WAIT',
  10: 'LISTEN',
};

export function socketStateName(code: number): string {
  return SOCKET_STATES[code] ?? `UNKNOWN(${code})`;
}

/** Association states in which the association carries (or can carry) data. */
export function isUpState(state: AssocState): boolean {
  return state === 'ESTABLISHED' || state === 'SHUTDOWN_PENDING' || state === 'SHUTDOWN_RECEIVED';
}

/** address families as the probes print them (include/linux/socket.h) */
export const AF_INET = 2;
export const AF_INET6 = 10;

/** Arguments of sctp_assoc_control_transport() and the SCTP_ASSOC_CHANGE states, as probes see them. */
/** kernel enum sctp_transport_cmd */
export const TRANSPORT_CMDS: Record<number, string> = { 0: 'UP', 1: 'DOWN', 2: 'PF', 3: 'ON', 4: 'OFF' };
/** kernel sctp_sn_error_t values passed to sctp_assoc_control_transport */
export const TRANSPORT_ERRORS: Record<number, string> = {
  0: 'FAILED_THRESHOLD',
  1: 'RECEIVED_SACK',
  2: 'HEARTBEAT_SUCCESS',
  3: 'RESPONSE_TO_USER_REQ',
  4: 'INTERNAL_ERROR',
  5: 'SHUTDOWN_GUARD_EXPIRES',
  6: 'PEER_FAULTY',
};
/** enum sctp_sac_state (SCTP_ASSOC_CHANGE) */
export const ASSOC_CHANGES: Record<number, string> = {
  0: 'COMM_UP',
  1: 'COMM_LOST',
  2: 'RESTART',
  3: 'SHUTDOWN_COMP',
  4: 'CANT_STR_ASSOC',
};
