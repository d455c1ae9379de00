/**
 * When a path can enter the Potentially-Failed state. Kernel fact (net/sctp
 * sm_sideeffect.c, sctp_do_8_2_transport_strike()): a path goes PF when
 * pf_enable and pf_retrans < error_count < path_max_retrans, and error_count
 * counts up one by one, so PF needs pf_retrans + 1 < path_max_retrans
 * (pf 0 / pmr 1 never enters PF; lab-confirmed). doctor, the catalog rules and
 * the failover model all ask this one function.
 */
export interface PfParams {
  pfEnable: boolean;
  pfRetrans: number;
  pathMaxRetrans: number;
}

export function pfReachable(p: PfParams): boolean {
  return p.pfEnable && p.pfRetrans + 1 < p.pathMaxRetrans;
}
