/**
 * `--listen ADDR:PORT` parsing, strict: an IPv4 literal, a bracketed IPv6
 * literal or `localhost`, and a port 0–65535. Anything else is a usage error
 * before any socket is opened.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { usageError } from '../errors.js';

/** 10132: 9100–9999 is all claimed on Prometheus' default-port-allocations list (9464: OpenTelemetry JS); SCTP is IP protocol 132 */
export const DEFAULT_LISTEN = '127.0.0.1:10132';

export interface ListenAddress {
  host: string;
  port: number;
}

export function parseListen(text: string): ListenAddress {
  const bad = (why: string) =>
    usageError(`--listen ${JSON.stringify(text)}: ${why}`, 'use ADDR:PORT, e.g. 127.0.0.1:10132, 0.0.0.0:10132 or [::1]:10132');
  let host: string;
  let portText: string;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  if (v6) {
    host = v6[1]!;
    portText = v6[2]!;
    if (!isIPv6(host)) throw bad(`${host} is not an IPv6 address`);
  } else {
    const m = /^([^:[\]]+):(\d+)$/.exec(text);
    if (!m) throw bad('expected ADDR:PORT');
    host = m[1]!;
    portText = m[2]!;
    if (host !== 'localhost' && !isIPv4(host)) throw bad(`${host} is not an IPv4 address (IPv6 goes in brackets)`);
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) throw bad(`port ${portText} is not 0–65535`);
  return { host, port: Number(portText) };
}

/** URL host part for an address (brackets for IPv6). */
export function urlHost(host: string): string {
  return isIPv6(host) ? `[${host}]` : host;
}
