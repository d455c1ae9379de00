/** Paths and small utilities shared by the tests. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../src/paths.js';

export const ROOT = PACKAGE_ROOT;
export const FIXTURES = join(ROOT, 'test', 'fixtures');
export const REAL = join(FIXTURES, 'linux-6.1-debian');
export const CAPTURES = join(FIXTURES, 'captures');
export const GOLDEN = join(ROOT, 'test', 'golden');
export const CLI = join(ROOT, 'dist', 'src', 'cli.js');

export function real(rel: string): string {
  return readFileSync(join(REAL, rel), 'utf8');
}

export function capture(name: string): string {
  return join(CAPTURES, name);
}
