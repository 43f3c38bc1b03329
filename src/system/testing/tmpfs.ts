/** A small tmpfs for tests of full disks: mounted only where the test runs as root. */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Mounts a tmpfs of `size` (e.g. `2m`) at `dir`; returns why it could not, or undefined. */
export function mountTmpfs(dir: string, size: string): string | undefined {
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  mkdirSync(dir, { recursive: true });
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (mount.status !== 0) return `mount -t tmpfs failed: ${mount.stderr.trim() || mount.error?.message}`;
  return undefined;
}

export function unmount(dir: string): void {
  spawnSync('umount', ['-l', dir]);
}

/** Fills the file system holding `dir` up to its last byte. */
export function fill(dir: string): void {
  const chunk = Buffer.alloc(64 * 1024, 1);
  for (let i = 0; ; i++) {
    try {
      writeFileSync(join(dir, `filler-${i}`), chunk);
    } catch {
      // The last file may hold part of a chunk; a smaller write may still fit.
      try {
        writeFileSync(join(dir, `filler-${i}-tail`), Buffer.alloc(512, 1));
      } catch {
        return;
      }
      return;
    }
  }
}
