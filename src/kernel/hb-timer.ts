/**
 * Whether a path entering PF gets its heartbeat timer pulled in. Kernel fact
 * (net/sctp): sctp_do_8_2_transport_strike() calls sctp_transport_reset_hb_timer()
 * at PF entry to send the next heartbeat after max(RTO/2, HZ/5) + U[0, RTO).
 * Before 8f35ae17ef56 ("sctp: do not check hb_timer.expires when resetting
 * hb_timer"; mainline 6.2, stable 6.1.11) that reset only ever moved a pending
 * timer later (time_before(hb_timer.expires, expires) || !timer_pending), so at
 * PF entry the timer the ACTIVE path had armed — sctp_generate_heartbeat_event()
 * re-arms it to the last DATA sent + RTO/2 + hb_interval, no jitter — stays, and
 * the first heartbeat after PF waits for it. Read in the sources: Debian's 5.10.223
 * (bullseye) still checks the expiry; Debian's 6.1 took the fix with 6.1.11
 * (package 6.1.11-1, ABI 6.1.0-4). Other series before 6.1 are taken as 5.10.
 */
import { kernelVersion } from './sysctl-catalog.js';

export interface PfHbReset {
  /** true: the reset at PF entry takes effect (the model's heartbeat timing after PF) */
  resets: boolean;
  /** why, for the model's note (null when the release is unknown: current kernels assumed) */
  reason: string | null;
}

/** first 6.1 stable release with 8f35ae17ef56, and the Debian ABI (6.1.0-N) that carries it */
const FIXED_61_SUBLEVEL = 11;
const FIXED_61_DEBIAN_ABI = 4;

export function pfResetsHbTimer(release: string | null | undefined): PfHbReset {
  const v = kernelVersion(release);
  if (!v) return { resets: true, reason: null };
  const [major, minor] = v;
  if (major > 6 || (major === 6 && minor >= 2)) return { resets: true, reason: null };
  if (major === 6 && minor === 1) {
    // Debian prints 6.1.0-<ABI>-<flavour> whatever the upstream sublevel: the ABI number tells
    const m = /^6\.1\.(\d+)(?:-(\d+))?/.exec(release!)!;
    const sub = Number(m[1]);
    const abi = m[2] === undefined ? null : Number(m[2]);
    if (sub >= FIXED_61_SUBLEVEL || (sub === 0 && abi !== null && abi >= FIXED_61_DEBIAN_ABI)) return { resets: true, reason: null };
  }
  return { resets: false, reason: `Linux ${release} (before 6.1.11/6.2)` };
}
