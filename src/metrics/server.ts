/**
 * The exporter: an HTTP server with /metrics (Prometheus text format) and
 * /healthz, over a SnapshotCache so procfs is read at most once per
 * min-interval whatever the scrape rate. Fleets scale out through Prometheus
 * (and federation), not through anything here.
 * Work is bounded: the text is rendered once per reading and the same text
 * served to every scrape of it; requests in flight are capped in total (like
 * node_exporter's --web.max-requests) and per connection (pipelining), the
 * excess answered 503 at once; connections are capped; close() drops them all.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { EventBus } from '../events/types.js';
import { EXIT, SctpdiagError } from '../errors.js';
import { EventCounts, startPipeline, type PipelineHandle } from './events.js';
import { urlHost, type ListenAddress } from './listen.js';
import { buildMetrics, eventLinkResolver, type MetricsModel, type RegistryOptions, DEFAULT_REGISTRY_OPTIONS } from './registry.js';
import { SnapshotCache, type Reading, type SnapshotReader } from './source.js';
import type { WebConfig } from './webconfig.js';

export type EventMode = 'auto' | 'procfs' | 'off';

export interface ExporterOptions {
  reader: SnapshotReader;
  minIntervalMs: number;
  registry?: Partial<RegistryOptions>;
  /** where events come from; auto: bpf if usable, else procfs diffs; procfs: never bpf */
  events?: EventMode;
  /** for the trace pipeline */
  procRoot?: string;
  netns?: string | null;
  hz?: number | undefined;
}

export interface Exporter {
  cache: SnapshotCache;
  model: MetricsModel;
  counts: EventCounts;
  bus: EventBus;
  /** the Prometheus text, as /metrics serves it: rendered once per reading */
  render(): Promise<string>;
  /** how many times the text was rendered (tests count work with it) */
  readonly renders: number;
  contentType: string;
  stop(): Promise<void>;
}

export async function createExporter(o: ExporterOptions): Promise<Exporter> {
  const cache = new SnapshotCache(o.reader, o.minIntervalMs);
  const model = buildMetrics({ ...DEFAULT_REGISTRY_OPTIONS, ...(o.registry ?? {}) });
  const bus = new EventBus();
  const counts = new EventCounts();
  const detach = counts.attach(bus);
  counts.linkOf = eventLinkResolver(model, o.registry?.links ?? []);
  const mode = o.events ?? 'auto';
  let pipeline: PipelineHandle | null = null;
  let refreshTimer: NodeJS.Timeout | null = null;
  let stopped = false;
  if (mode !== 'off') {
    pipeline = startPipeline({
      bus,
      procRoot: o.procRoot ?? '/proc',
      netns: o.netns ?? null,
      hz: o.hz,
      intervalMs: o.minIntervalMs,
      noBpf: mode === 'procfs',
    });
    const p = pipeline;
    cache.onRead((_prev, cur) => {
      if (!cur.error && cur.snapshots[0]) p.push(cur.snapshots[0]);
    });
    // reads between scrapes too, so procfs-derived events keep coming: once per served interval
    const refresh = () => {
      refreshTimer = setTimeout(() => void cache.get().finally(() => stopped || refresh()), cache.peek()?.servedForMs ?? o.minIntervalMs);
      refreshTimer.unref();
    };
    void cache.get().finally(refresh);
  }
  // one render per reading, shared by every request for it (bpf event counts are at most one interval old)
  let rendered: { reading: Reading; text: Promise<string> } | null = null;
  let renders = 0;
  const renderReading = async (r: Reading): Promise<string> => {
    renders++;
    if (pipeline) {
      counts.types = pipeline.types();
      counts.lostEvents = Math.max(counts.lostEvents, pipeline.lostEvents());
    }
    model.update(r, pipeline ? counts : null);
    return model.registry.metrics();
  };
  return {
    cache,
    model,
    counts,
    bus,
    contentType: model.registry.contentType,
    get renders() {
      return renders;
    },
    async render() {
      const r = await cache.get();
      if (rendered?.reading !== r) rendered = { reading: r, text: renderReading(r) };
      return rendered.text;
    },
    async stop() {
      stopped = true;
      if (refreshTimer) clearTimeout(refreshTimer);
      detach();
      await pipeline?.stop();
    },
  };
}

export interface RunningServer {
  server: Server;
  url: string;
  port: number;
  exporter: Exporter;
  stats: RequestStats;
  /** drop every connection at once, stop the exporter (at most ~1.5 s for its event pipeline) */
  close(): Promise<void>;
}

export interface ServerOptions {
  limits?: Partial<RequestLimits>;
  /** where failures the clients are not told about go (default: stderr) */
  log?: (line: string) => void;
}

function send(res: ServerResponse, status: number, type: string, body: string, head: boolean): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(head ? undefined : body);
}

export interface RequestLimits {
  /** requests in flight over all connections (node_exporter --web.max-requests: 40) */
  maxRequests: number;
  /** requests in flight on one connection (HTTP/1.1 pipelining); Prometheus sends one at a time */
  maxPerConnection: number;
  /** open connections (server.maxConnections: more are closed at once) */
  maxConnections: number;
}

export const DEFAULT_LIMITS: RequestLimits = { maxRequests: 40, maxPerConnection: 4, maxConnections: 64 };

/** What the handler did; tests check the limits with it. */
export class RequestStats {
  inFlight = 0;
  peakInFlight = 0;
  peakPerConnection = 0;
  /** answered 503 because a limit was reached */
  rejected = 0;
}

const TEXT = 'text/plain; charset=utf-8';

export function handler(exporter: Exporter, limits: RequestLimits = DEFAULT_LIMITS, stats = new RequestStats(), log: (line: string) => void = () => undefined) {
  const perSocket = new WeakMap<Socket, number>();
  let lastLogged = '';
  const logOnce = (msg: string) => {
    if (msg !== lastLogged) log(msg);
    lastLogged = msg;
  };
  return (req: IncomingMessage, res: ServerResponse): void => {
    const head = req.method === 'HEAD';
    const sock = req.socket;
    const mine = perSocket.get(sock) ?? 0;
    if (stats.inFlight >= limits.maxRequests || mine >= limits.maxPerConnection) {
      stats.rejected++;
      res.setHeader('Retry-After', '1');
      return send(res, 503, TEXT, 'too many requests in flight\n', head);
    }
    // in flight until the response is handed to the socket (or the socket dies)
    stats.inFlight++;
    perSocket.set(sock, mine + 1);
    stats.peakInFlight = Math.max(stats.peakInFlight, stats.inFlight);
    stats.peakPerConnection = Math.max(stats.peakPerConnection, mine + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      stats.inFlight--;
      perSocket.set(sock, (perSocket.get(sock) ?? 1) - 1);
    };
    res.once('finish', release);
    res.once('close', release);

    if (req.method !== 'GET' && !head) {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, 405, TEXT, 'method not allowed\n', false);
    }
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      exporter.render().then(
        (text) => send(res, 200, exporter.contentType, text, head),
        (e: Error) => {
          logOnce(`sctpdiag: rendering /metrics failed: ${e.message}`);
          send(res, 500, TEXT, 'internal error (see the exporter\'s log)\n', head);
        },
      );
      return;
    }
    if (path === '/healthz') {
      // healthy when the last read worked (or none happened yet and one succeeds now); the
      // reason goes to the exporter's log, never to the client (it names files and paths)
      exporter.cache.get().then(
        (r) => {
          if (!r.error) return send(res, 200, TEXT, 'ok\n', head);
          logOnce(`sctpdiag: reading procfs failed: ${r.error}`);
          send(res, 503, TEXT, 'unhealthy: the last procfs read failed (see the exporter\'s log)\n', head);
        },
        (e: Error) => {
          logOnce(`sctpdiag: reading procfs failed: ${e.message}`);
          send(res, 503, TEXT, 'unhealthy: the last procfs read failed (see the exporter\'s log)\n', head);
        },
      );
      return;
    }
    if (path === '/')
      return send(res, 200, 'text/html; charset=utf-8', '<html><body><h1>sctpdiag exporter</h1><p><a href="/metrics">/metrics</a> · <a href="/healthz">/healthz</a></p></body></html>\n', head);
    send(res, 404, TEXT, 'not found: try /metrics or /healthz\n', head);
  };
}

export async function startMetricsServer(listen: ListenAddress, o: ExporterOptions, so: ServerOptions = {}, web: WebConfig | null = null): Promise<RunningServer> {
  const exporter = await createExporter(o);
  const limits = { ...DEFAULT_LIMITS, ...(so.limits ?? {}) };
  const stats = new RequestStats();
  // the web server (http, https, crypto, bcrypt, yaml) is loaded only to serve: ~30 ms of CPU less for `metrics --once`
  const { createWebServer } = await import('./webconfig.js');
  const server = createWebServer(web, handler(exporter, limits, stats, so.log ?? ((l) => process.stderr.write(l + '\n'))));
  server.maxConnections = limits.maxConnections;
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      void exporter.stop();
      reject(
        new SctpdiagError(
          `cannot listen on ${urlHost(listen.host)}:${listen.port}: ${e.code === 'EADDRINUSE' ? 'address in use' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EADDRNOTAVAIL' ? 'address not available on this host' : e.message}`,
          e.code === 'EACCES' ? EXIT.PERMISSION : EXIT.FAILURE,
        ),
      );
    };
    server.once('error', onError);
    server.listen(listen.port, listen.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    url: `${web?.tls ? 'https' : 'http'}://${urlHost(listen.host)}:${port}`,
    exporter,
    stats,
    async close() {
      // connections first: a backlog of pipelined requests must not delay the exit
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exporter.stop(), new Promise<void>((r) => (timer = setTimeout(r, 1500).unref()))]);
      clearTimeout(timer);
      await closed;
    },
  };
}
