/** The exporter's listen address (parsed strictly by commands/options.ts parseListen). */
import { isIPv6 } from 'node:net';

/** 10132: 9100–9999 is all claimed on Prometheus' default-port-allocations list (9464: OpenTelemetry JS); SCTP is IP protocol 132 */
export const DEFAULT_LISTEN = '127.0.0.1:10132';

export interface ListenAddress {
  host: string;
  port: number;
}

/** URL host part for an address (brackets for IPv6). */
export function urlHost(host: string): string {
  return isIPv6(host) ? `[${host}]` : host;
}
