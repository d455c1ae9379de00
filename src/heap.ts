/**
 * V8's heap policy, by kind of command. The executable starts node with small
 * young-generation semi-spaces only (cli.ts's shebang): right for a one-shot
 * command such as `status`, whose garbage dies young.
 *
 * A long-running command (`top`, `trace`, the `metrics` server) reads 10k
 * associations again and again, and with V8's default growth its old
 * generation grows to 175–250 MB; under `--optimize-for-size` it stays near
 * 110 MB. That flag costs a one-shot `status` ~25% more CPU (host bench, 10k),
 * so it is not in the shebang: each long-running command turns it on when it
 * starts. V8 reads it when it sizes the heap, so setting it at run time works
 * (`npm run bench`: `top` live at 10k, 115 MB either way, 214 MB without).
 * They also turn V8's baseline compiler back on, which the shebang turns off
 * for one-shot commands: code that runs for hours gains from it.
 */
import { setFlagsFromString } from 'node:v8';

let small = false;

/** For a command that keeps running: favour a small heap over speed, and compile hot code as V8 normally does. */
export function preferSmallHeap(): void {
  if (small) return;
  small = true;
  setFlagsFromString('--optimize-for-size');
  setFlagsFromString('--sparkplug');
}
