/**
 * `metrics --web-config FILE`: TLS and basic auth for the exporter, in
 * exporter-toolkit's web-config format (what node_exporter and Prometheus read),
 * so one file serves a fleet's exporters:
 *
 *   tls_server_config:
 *     cert_file: server.crt        # relative paths: beside the web-config file
 *     key_file: server.key
 *     min_version: TLS12           # optional: TLS12 (default), TLS13
 *     client_ca_file: ca.crt       # optional, with client_auth_type
 *     client_auth_type: RequireAndVerifyClientCert
 *   basic_auth_users:
 *     prometheus: $2y$10$...       # bcrypt hashes (htpasswd -nBC 10)
 *
 * Every key is checked: a misspelt security setting is an error, never ignored.
 * bcrypt is bcryptjs (pure JS: the single executable has no native addons);
 * verified credentials are cached (by SHA-256, bounded) as exporter-toolkit
 * does, so a scrape costs one bcrypt at most once per credential.
 */
import { createHash } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { dirname, isAbsolute, resolve } from 'node:path';
import bcrypt from 'bcryptjs';
import { parse as parseYaml } from 'yaml';
import { EXIT, SctpdiagError } from '../errors.js';
import { readRegularFile } from '../safefs.js';

const MAX_CONFIG_BYTES = 64 * 1024;
const MAX_PEM_BYTES = 1024 * 1024;
const MAX_USERS = 100;
/** bcrypt: $2a$/$2b$/$2y$, cost 04–31, 53 characters of salt and hash */
const BCRYPT = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;

export interface WebConfig {
  file: string;
  tls: { cert: string; key: string; minVersion: 'TLSv1.2' | 'TLSv1.3'; ca?: string; requestCert: boolean; rejectUnauthorized: boolean } | null;
  users: Map<string, string>;
}

const TLS_KEYS = ['cert_file', 'key_file', 'min_version', 'client_ca_file', 'client_auth_type'];
const CLIENT_AUTH = ['NoClientCert', 'VerifyClientCertIfGiven', 'RequireAndVerifyClientCert'];

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parse and check a web-config file's text; file names the file in errors, base resolves relative paths. */
export function parseWebConfig(text: string, file: string): { tls: Record<string, string> | null; users: Map<string, string> } {
  const bad = (why: string) => new SctpdiagError(`--web-config ${file}: ${why}`, EXIT.USAGE, 'the format is exporter-toolkit\'s web-config: see sctpdiag(8), metrics');
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 0 });
  } catch (e) {
    throw bad(`not YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) doc = {};
  if (!isMap(doc)) throw bad('expected a mapping at the top');
  for (const k of Object.keys(doc))
    if (k !== 'tls_server_config' && k !== 'basic_auth_users') throw bad(`unsupported key ${JSON.stringify(k)} (supported: tls_server_config, basic_auth_users)`);
  let tls: Record<string, string> | null = null;
  const t = doc['tls_server_config'];
  if (t !== undefined && t !== null) {
    if (!isMap(t)) throw bad('tls_server_config: expected a mapping');
    tls = {};
    for (const [k, v] of Object.entries(t)) {
      if (!TLS_KEYS.includes(k)) throw bad(`tls_server_config: unsupported key ${JSON.stringify(k)} (supported: ${TLS_KEYS.join(', ')})`);
      if (typeof v !== 'string' || v === '') throw bad(`tls_server_config.${k}: expected a non-empty string`);
      tls[k] = v;
    }
    if (!tls['cert_file'] || !tls['key_file']) throw bad('tls_server_config needs both cert_file and key_file');
    if (tls['min_version'] && !['TLS12', 'TLS13'].includes(tls['min_version'])) throw bad(`tls_server_config.min_version: ${tls['min_version']} (TLS12 or TLS13)`);
    const auth = tls['client_auth_type'] ?? 'NoClientCert';
    if (!CLIENT_AUTH.includes(auth)) throw bad(`tls_server_config.client_auth_type: ${auth} (${CLIENT_AUTH.join(', ')})`);
    if (auth !== 'NoClientCert' && !tls['client_ca_file']) throw bad(`tls_server_config.client_auth_type ${auth} needs client_ca_file`);
  }
  const users = new Map<string, string>();
  const u = doc['basic_auth_users'];
  if (u !== undefined && u !== null) {
    if (!isMap(u)) throw bad('basic_auth_users: expected a mapping of user: bcrypt hash');
    for (const [name, hash] of Object.entries(u)) {
      if (name === '' || name.includes(':') || /[\x00-\x1f\x7f]/.test(name)) throw bad(`basic_auth_users: bad user name ${JSON.stringify(name)}`);
      if (typeof hash !== 'string' || !BCRYPT.test(hash)) throw bad(`basic_auth_users.${name}: not a bcrypt hash ($2y$10$..., e.g. from htpasswd -nBC 10 ${name})`);
      users.set(name, hash);
    }
    if (users.size > MAX_USERS) throw bad(`basic_auth_users: at most ${MAX_USERS} users`);
  }
  return { tls, users };
}

/** Read a web-config file and the PEM files it names (regular files, size-capped). */
export async function loadWebConfig(file: string): Promise<WebConfig> {
  const { tls, users } = parseWebConfig(await readRegularFile(file, MAX_CONFIG_BYTES), file);
  const at = (p: string) => (isAbsolute(p) ? p : resolve(dirname(file), p));
  let t: WebConfig['tls'] = null;
  if (tls) {
    const auth = tls['client_auth_type'] ?? 'NoClientCert';
    t = {
      cert: await readRegularFile(at(tls['cert_file']!), MAX_PEM_BYTES),
      key: await readRegularFile(at(tls['key_file']!), MAX_PEM_BYTES),
      minVersion: tls['min_version'] === 'TLS13' ? 'TLSv1.3' : 'TLSv1.2',
      requestCert: auth !== 'NoClientCert',
      rejectUnauthorized: auth === 'RequireAndVerifyClientCert',
      ...(tls['client_ca_file'] ? { ca: await readRegularFile(at(tls['client_ca_file']), MAX_PEM_BYTES) } : {}),
    };
  }
  return { file, tls: t, users };
}

/** compared against when the user is unknown, so an unknown user costs what a known one does */
const DUMMY_HASH = '$2b$10$' + 'a'.repeat(53);
const CACHE_MAX = 256;

/** Basic auth in front of a handler: 401 with a challenge unless the credentials match a bcrypt hash. */
export function withBasicAuth(users: ReadonlyMap<string, string>, next: RequestListener): RequestListener {
  if (users.size === 0) return next;
  const cache = new Map<string, boolean>();
  const deny = (res: ServerResponse) => {
    res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="sctpdiag", charset="UTF-8"', 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end('unauthorized\n');
  };
  return (req: IncomingMessage, res: ServerResponse) => {
    const m = /^Basic ([A-Za-z0-9+/=]{1,1024})$/.exec(req.headers.authorization ?? '');
    if (!m) return deny(res);
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return deny(res);
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const hash = users.get(user);
    const key = createHash('sha256').update(`${user}\0${password}\0${hash ?? ''}`).digest('hex');
    const cached = cache.get(key);
    if (cached !== undefined) return cached ? next(req, res) : deny(res);
    bcrypt.compare(password, hash ?? DUMMY_HASH).then(
      (ok) => {
        const good = ok && hash !== undefined;
        if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
        cache.set(key, good);
        if (good) next(req, res);
        else deny(res);
      },
      () => deny(res),
    );
  };
}

/** The exporter's server: HTTPS when the web config has TLS, basic auth when it has users. */
export function createWebServer(web: WebConfig | null, handler: RequestListener): Server {
  const h = withBasicAuth(web?.users ?? new Map(), handler);
  if (!web?.tls) return createHttpServer(h);
  const t = web.tls;
  return createHttpsServer({ cert: t.cert, key: t.key, minVersion: t.minVersion, requestCert: t.requestCert, rejectUnauthorized: t.rejectUnauthorized, ...(t.ca ? { ca: t.ca } : {}) }, h);
}

/** Exposed beyond loopback without TLS or auth: the operator is warned (metrics command). */
export function exposureWarning(host: string, web: WebConfig | null): string | null {
  const loopback = host === 'localhost' || host === '::1' || /^127\./.test(host);
  if (loopback) return null;
  const missing = [web?.tls ? null : 'TLS', web && web.users.size > 0 ? null : 'authentication'].filter(Boolean);
  if (missing.length === 0) return null;
  return `warning: listening on ${host} without ${missing.join(' or ')}: anyone who can reach the port reads the metrics (use --web-config)`;
}
