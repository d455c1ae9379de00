/**
 * The exporter: an HTTP server with /metrics (Prometheus text format) and
 * /healthz, over a SnapshotCache so procfs is read at most once per
 * min-interval whatever the scrape rate. Fleets scale out through Prometheus
 * (and federation), not through anything here.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventBus } from '../events/types.js';
import { EXIT, SctpdiagError } from '../errors.js';
import { preferSmallHeap } from '../heap.js';
import { EventCounts, startPipeline, type PipelineHandle } from './events.js';
import { urlHost, type ListenAddress } from './listen.js';
import { buildMetrics, eventLinkResolver, type MetricsModel, type RegistryOptions, DEFAULT_REGISTRY_OPTIONS } from './registry.js';
import { SnapshotCache, type SnapshotReader } from './source.js';
import { createWebServer, type WebConfig } from './webconfig.js';

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
  /** the Prometheus text, as /metrics serves it */
  render(): Promise<string>;
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
  if (mode !== 'off') {
    pipeline = startPipeline({
      bus,
      procRoot: o.procRoot ?? '/proc',
      netns: o.netns ?? null,
      hz: o.hz,
      intervalMs: o.minIntervalMs,
      noBpf: mode === 'procfs',
      // the pipeline polls through the cache: procfs is still read once per interval
      getSnapshot: async () => {
        const r = await cache.get();
        if (r.error || !r.snapshots[0]) throw new Error(r.error ?? 'no snapshot');
        return r.snapshots[0];
      },
    });
  }
  return {
    cache,
    model,
    counts,
    bus,
    contentType: model.registry.contentType,
    async render() {
      const r = await cache.get();
      if (pipeline) {
        counts.source = pipeline.source();
        counts.lostEvents = Math.max(counts.lostEvents, pipeline.lostEvents());
      }
      model.update(r, pipeline ? counts : null);
      return model.registry.metrics();
    },
    async stop() {
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
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, type: string, body: string, head: boolean): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(head ? undefined : body);
}

export function handler(exporter: Exporter) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', false);
    }
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      exporter.render().then(
        (text) => send(res, 200, exporter.contentType, text, head),
        (e: Error) => send(res, 500, 'text/plain; charset=utf-8', `error: ${e.message}\n`, head),
      );
      return;
    }
    if (path === '/healthz') {
      // healthy when the last read worked (or none happened yet and one succeeds now)
      exporter.cache.get().then(
        (r) => (r.error ? send(res, 503, 'text/plain; charset=utf-8', `unhealthy: ${r.error}\n`, head) : send(res, 200, 'text/plain; charset=utf-8', 'ok\n', head)),
        (e: Error) => send(res, 503, 'text/plain; charset=utf-8', `unhealthy: ${e.message}\n`, head),
      );
      return;
    }
    if (path === '/')
      return send(res, 200, 'text/html; charset=utf-8', '<html><body><h1>sctpdiag exporter</h1><p><a href="/metrics">/metrics</a> · <a href="/healthz">/healthz</a></p></body></html>\n', head);
    send(res, 404, 'text/plain; charset=utf-8', 'not found: try /metrics or /healthz\n', head);
  };
}

export async function startMetricsServer(listen: ListenAddress, o: ExporterOptions, web: WebConfig | null = null): Promise<RunningServer> {
  preferSmallHeap();
  const exporter = await createExporter(o);
  const server = createWebServer(web, handler(exporter));
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
    async close() {
      await exporter.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
