/** The rows of /proc/net/sctp as procfs/parse.ts reads them: what the model is built from. */
import type { Address } from './addr.js';

/** A process holding a socket (procfs/owners.ts finds them). */
export interface Owner {
  pid: number;
  comm: string;
}

export interface ParseWarning {
  file: string;
  line: number;
  message: string;
}

export interface LocalAddrRow extends Address {
  /** `*` in LADDRS: the source address used toward the primary path */
  primarySource: boolean;
}

export interface RemoteAddrRow extends Address {
  /** `*` in RADDRS: the primary path (not necessarily the one carrying traffic) */
  primary: boolean;
}

export interface AssocRow {
  line: number;
  sty: number;
  sst: number;
  st: number;
  hashBucket: number;
  assocId: number;
  txQueue: number;
  rxQueue: number;
  uid: number;
  inode: number;
  lport: number;
  rport: number;
  laddrs: LocalAddrRow[];
  raddrs: RemoteAddrRow[];
  /** heartbeat interval, jiffies */
  hbint: number;
  ins: number;
  outs: number;
  /** configured Association.Max.Retrans (a limit, not a counter) */
  maxrt: number;
  t1x: number;
  t2x: number;
  /** T3 data retransmissions */
  rtxc: number;
  wmema?: number;
  wmemq?: number;
  sndbuf?: number;
  rcvbuf?: number;
}

export interface EndpointRow {
  line: number;
  sty: number;
  sst: number;
  hashBucket: number;
  lport: number;
  uid: number;
  inode: number;
  laddrs: Address[];
}

export interface RemaddrRow {
  line: number;
  address: Address;
  assocId: number;
  hbActive: boolean;
  /** jiffies */
  rto: number;
  maxPathRtx: number;
  state: number;
}

export interface Parsed<T> {
  rows: T[];
  warnings: ParseWarning[];
  /** the file as named in warnings */
  file?: string;
}

