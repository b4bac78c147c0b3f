// config/store: watch a directory tree by watching every directory (Node 20 has no recursive fs.watch on Linux).
import { watch, type FSWatcher } from 'node:fs';
import { join, sep } from 'node:path';
import { logger } from '../../common/logger.ts';

const log = logger('config/store/watch');

/**
 * One fs.watch per directory. Each event reports the path that changed (the directory itself when the
 * platform gives no file name); the owner re-examines that path, which is how new and removed
 * directories are found (the owner calls add()/removeUnder()).
 */
export class DirWatcher {
  private readonly watchers = new Map<string, FSWatcher>();
  constructor(private readonly onChange: (path: string) => void) {}

  has(dir: string): boolean { return this.watchers.has(dir); }

  add(dir: string): void {
    if (this.watchers.has(dir)) return;
    try {
      const w = watch(dir, { persistent: false }, (_event, filename) => {
        this.onChange(filename ? join(dir, filename.toString()) : dir);
      });
      // The directory went away (or is unreadable): forget it; its parent's watcher reports the removal.
      w.on('error', (err) => {
        log.debug({ dir, err: String(err) }, 'directory watcher closed');
        this.remove(dir);
        this.onChange(dir);
      });
      this.watchers.set(dir, w);
    } catch (err) {
      log.warn({ dir, err: String(err) }, 'cannot watch directory; changes in it will not be seen');
    }
  }

  /** Stop watching `dir` and everything below it. */
  removeUnder(dir: string): void {
    const prefix = dir.endsWith(sep) ? dir : dir + sep;
    for (const d of [...this.watchers.keys()]) if (d === dir || d.startsWith(prefix)) this.remove(d);
  }

  private remove(dir: string): void {
    const w = this.watchers.get(dir);
    if (!w) return;
    this.watchers.delete(dir);
    try { w.close(); } catch { /* already closed */ }
  }

  dirs(): string[] { return [...this.watchers.keys()].sort(); }

  close(): void {
    for (const d of [...this.watchers.keys()]) this.remove(d);
  }
}
