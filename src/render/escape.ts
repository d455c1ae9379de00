/**
 * Text from outside (a process's comm, which any local user sets; capture metadata; file names in a capture; kernel
 * strings) must not drive the terminal: control characters (C0, DEL, C1), line and paragraph separators and
 * bidirectional overrides are shown as \xHH or \u{HHHH}. JSON needs none of this (JSON.stringify escapes them).
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function escapeControl(s: string): string {
  return s.replace(UNSAFE, (c) => {
    const n = c.charCodeAt(0);
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u{${n.toString(16)}}`;
  });
}
