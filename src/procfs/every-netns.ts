/**
 * The snapshot of every named network namespace, each read by a child
 * sctpdiag inside it (`status --json`): the one fan-out behind
 * `status --all-netns` and `metrics --all-netns`.
 */
import { listNetns, runInNetns } from '../netns.js';
import type { Snapshot } from '../model/snapshot.js';

export interface EveryNetnsOptions {
  hz?: number | undefined;
  /** look up owning processes (a walk of every /proc/PID/fd: status yes, every scrape no) */
  owners: boolean;
  /** a namespace that could not be read (no SCTP, not permitted…) */
  onError?: (name: string, why: string) => void;
}

export async function readEveryNetns(o: EveryNetnsOptions): Promise<Snapshot[]> {
  const out: Snapshot[] = [];
  for (const name of await listNetns()) {
    const args = [...(o.hz !== undefined ? ['--hz', String(o.hz)] : []), '--json', 'status', ...(o.owners ? [] : ['--no-owners'])];
    const res = await runInNetns({ kind: 'name', name }, args, true);
    if (res.code !== 0) {
      o.onError?.(name, (res.stderr ?? '').trim() || `exit ${res.code}`);
      continue;
    }
    try {
      const r = JSON.parse(res.stdout ?? '') as Snapshot;
      if (!Array.isArray(r.associations)) throw new Error('no associations');
      const { takenAt, kernelRelease, hz, endpoints, associations, snmp, warnings } = r;
      out.push({ takenAt, netns: name, kernelRelease, hz, endpoints, associations, snmp, warnings });
    } catch (e) {
      o.onError?.(name, `unreadable output: ${(e as Error).message}`);
    }
  }
  return out;
}
