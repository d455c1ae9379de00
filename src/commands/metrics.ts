/**
 * `sctpdiag metrics`: the Prometheus exporter. Serves /metrics and /healthz
 * on --listen (default 127.0.0.1:10132); --once prints the exposition text and
 * exits. Everything is validated before anything is started.
 */
import { Command, Option } from 'commander';
import { globals } from '../context.js';
import { EXIT, SctpdiagError, usageError } from '../errors.js';
import { DEFAULT_LISTEN, parseListen } from '../metrics/listen.js';
import type { EventMode, ExporterOptions } from '../metrics/server.js';
import { procfsReader } from '../metrics/source.js';
import { checkSctpDir } from '../procfs/read.js';
import { DEFAULT_LINKS_FILE, loadLinks } from '../links/load.js';
import { writeTextfile } from '../metrics/textfile.js';

interface MetricsFlags {
  listen: string;
  minInterval: string;
  allNetns?: boolean;
  pathRto?: boolean;
  maxAssociations: string;
  maxPaths: string;
  events: EventMode;
  once?: boolean;
  links?: string;
  output?: string;
  webConfig?: string;
}

function parseCount(name: string, v: string, max: number): number {
  if (!/^\d{1,9}$/.test(v) || Number(v) > max) throw usageError(`${name}: ${JSON.stringify(v)} is not a number between 0 and ${max}`);
  return Number(v);
}

export function exporterOptions(o: MetricsFlags, g: { procRoot: string; netns: string | null; hz: number | undefined }): ExporterOptions {
  const minIntervalMs = parseCount('--min-interval', o.minInterval, 3_600_000);
  if (minIntervalMs < 100) throw usageError('--min-interval: at least 100 ms');
  if (o.allNetns && g.procRoot !== '/proc') throw usageError('--all-netns cannot be used with --proc-root');
  return {
    reader: procfsReader({ procRoot: g.procRoot, netns: g.netns, hz: g.hz, allNetns: o.allNetns === true }),
    minIntervalMs,
    registry: {
      netnsLabel: o.allNetns === true,
      maxAssociations: parseCount('--max-associations', o.maxAssociations, 1_000_000),
      pathRto: o.pathRto === true,
      maxPaths: parseCount('--max-paths', o.maxPaths, 1_000_000),
    },
    events: o.events,
    procRoot: g.procRoot,
    netns: g.netns,
    hz: g.hz,
  };
}

export function metricsCommand(): Command {
  return new Command('metrics')
    .description('Prometheus exporter: serve /metrics and /healthz (scale out through Prometheus federation)')
    .option('--listen <addr:port>', 'address to listen on (IPv6 in brackets); 0.0.0.0 exposes it to the network', DEFAULT_LISTEN)
    .option('--min-interval <ms>', 'read procfs at most once per this many ms, however often Prometheus scrapes (less often after slow reads)', '1000')
    .option('--all-netns', 'also export every named network namespace, with a netns label (needs root)')
    .option('--path-rto', 'per-path RTO gauges (sctp_path_rto_seconds; one series per path, capped by --max-paths)')
    .option('--max-associations <n>', 'per-association series for at most this many associations (0: none)', '500')
    .option('--max-paths <n>', 'with --path-rto: at most this many per-path series', '200')
    .addOption(
      new Option('--events <source>', 'event counts from: auto (bpf if usable, else procfs diffs), procfs (never bpf), off')
        .choices(['auto', 'procfs', 'off'])
        .default('auto'),
    )
    .option('--once', 'print the metrics once on stdout and exit (no server)')
    .option('--output <file>', 'with --once: write the exposition to FILE atomically (temp file + rename), for node_exporter\'s textfile collector')
    .option('--web-config <file>', 'TLS and basic auth (bcrypt) in exporter-toolkit\'s web-config format')
    .option('--links <file>', `named links: sctp_link_* series and a link label (default ${DEFAULT_LINKS_FILE} when it exists)`)
    .action(async (o: MetricsFlags, cmd: Command) => {
      const g = globals(cmd);
      const listen = parseListen(o.listen);
      if (o.output !== undefined && !o.once) throw usageError('--output needs --once (textfile mode)');
      const opts = exporterOptions(o, g);
      opts.registry = { ...opts.registry, links: await loadLinks(o.links ?? null) };
      await checkSctpDir(g.procRoot);
      if (o.once) {
        const { createExporter } = await import('../metrics/server.js');
        const ex = await createExporter({ ...opts, events: 'off' });
        try {
          const text = await ex.render();
          const r = ex.cache.peek();
          if (r?.error) throw new SctpdiagError(r.error, EXIT.FAILURE);
          if (o.output !== undefined) await writeTextfile(o.output, text);
          else process.stdout.write(text);
        } finally {
          await ex.stop();
        }
        return;
      }
      const { startMetricsServer } = await import('../metrics/server.js');
      const { loadWebConfig, exposureWarning } = await import('../metrics/webconfig.js');
      const web = o.webConfig !== undefined ? await loadWebConfig(o.webConfig) : null;
      const warning = exposureWarning(listen.host, web);
      if (warning) process.stderr.write(`sctpdiag: ${warning}\n`);
      const srv = await startMetricsServer(listen, opts, web);
      process.stderr.write(`sctpdiag: serving ${srv.url}/metrics and ${srv.url}/healthz (events: ${o.events})\n`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void srv.close().then(resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
