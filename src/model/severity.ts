/** How bad a finding, a doctor check or an event is, in rising order. */
export type Severity = 'ok' | 'info' | 'warn' | 'fail';
export const SEVERITY_ORDER: readonly Severity[] = ['ok', 'info', 'warn', 'fail'];
