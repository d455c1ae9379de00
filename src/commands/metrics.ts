/**
 * `sctpdiag metrics`: the Prometheus exporter. Serves /metrics and /healthz
 * on --listen (default 127.0.0.1:10132); --once prints the exposition text and
 * exits. Everything is validated before anything is started.
 */
import { Command, Option } from 'commander';
import { globals } from '../context.js';
import { EXIT, SctpdiagError, usageError } from '../errors.js';
import { DEFAULT_LISTEN } from '../metrics/listen.js';
import type { EventMode, ExporterOptions } from '../metrics/server.js';
import { procfsReader } from '../metrics/source.js';
import { checkSctpDir } from '../procfs/read.js';
import { parseListen, parseNumber } from './options.js';
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
  maxRequests: string;
  links?: string;
  output?: string;
  webConfig?: string;
}

export function exporterOptions(o: MetricsFlags, g: { procRoot: string; netns: string | null; hz: number | undefined }): ExporterOptions {
  const minIntervalMs = parseNumber(o.minInterval, '--min-interval', 100, 3_600_000, 'a number of milliseconds');
  if (o.allNetns && g.procRoot !== '/proc') throw usageError('--all-netns cannot be used with --proc-root');
  return {
    reader: procfsReader({ procRoot: g.procRoot, netns: g.netns, hz: g.hz, allNetns: o.allNetns === true }),
    minIntervalMs,
    registry: {
      netnsLabel: o.allNetns === true,
      maxAssociations: parseNumber(o.maxAssociations, '--max-associations', 0, 1_000_000, 'a count'),
      pathRto: o.pathRto === true,
      maxPaths: parseNumber(o.maxPaths, '--max-paths', 0, 1_000_000, 'a count'),
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
    .option('--path-rto', 'per-path RTO gauges (sctp_path_rto_seconds; one series per path, capped by --max-paths), with bpf also SRTT, cwnd, ssthresh, flight, MTU, errors')
    .option('--max-associations <n>', 'per-association series for at most this many associations (0: none)', '500')
    .option('--max-paths <n>', 'with --path-rto: at most this many per-path series', '200')
    .addOption(
      new Option('--events <source>', 'event counts from: auto (bpf if usable, else procfs diffs), procfs (never bpf), off')
        .choices(['auto', 'procfs', 'off'])
        .default('auto'),
    )
    .option('--once', 'print the metrics once on stdout and exit (no server)')
    .option('--max-requests <n>', 'requests in flight at once, over all connections (more get 503 at once)', '40')
    .option('--output <file>', 'with --once: write the exposition to FILE atomically (temp file + rename), for node_exporter\'s textfile collector')
    .option('--web-config <file>', 'TLS and basic auth (bcrypt) in exporter-toolkit\'s web-config format')
    .option('--links <file>', `named links: sctp_link_* series and a link label (default ${DEFAULT_LINKS_FILE} when it exists)`)
    .action(async (o: MetricsFlags, cmd: Command) => {
      const g = globals(cmd);
      const listen = parseListen(o.listen);
      if (o.output !== undefined && !o.once) throw usageError('--output needs --once (textfile mode)');
      const opts = exporterOptions(o, g);
      const maxRequests = parseNumber(o.maxRequests, '--max-requests', 1, 10_000, 'a number of requests');
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
      const srv = await startMetricsServer(listen, opts, { limits: { maxRequests } }, web);
      await new Promise<void>((resolve) => {
        // SIGHUP (a closed terminal, or `systemctl reload`): there is nothing to reload, the
        // configuration is the command line, so keep serving instead of dying
        const hup = () => process.stderr.write('sctpdiag: SIGHUP ignored (the configuration is the command line: restart to change it)\n');
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          process.off('SIGHUP', hup);
          // exit within 2 s whatever is still running
          setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref();
          void srv.close().then(resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
        process.on('SIGHUP', hup);
        // announced only once the handlers are in place: a supervisor may signal as soon as it reads this
        process.stderr.write(`sctpdiag: serving ${srv.url}/metrics and ${srv.url}/healthz (events: ${o.events})\n`);
      });
    });
}
