// config/store: FileStore — a directory of Istio/Kubernetes YAML watched live; `rig apply` writes under DIR/.applied/.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { stringify } from 'yaml';
import { ErrorCodes, RigError, errorMessage } from '../../common/errors.ts';
import { realClock, type Clock, type TimerHandle } from '../../common/clock.ts';
import { logger, type Logger } from '../../common/logger.ts';
import type { ConfigEvent, ConfigKey, ConfigObject, ConfigStore, ValidationIssue } from '../types.ts';
import { keyOf } from '../types.ts';
import { parseConfigText, validateObject } from '../load.ts';
import { DirWatcher } from './dir-watch.ts';
import { diffViews, listView, viewKey, Watchers } from './events.ts';

/**
 * Where `rig apply` keeps what it wrote, inside the config directory, one file per object:
 * DIR/.applied/NAMESPACE/KIND-NAME.yaml (kind lower-cased). Being files, applied objects survive
 * restarts; they take precedence over the same object in a user's file (a notice says so), and
 * `rig delete` removes only these files. Other directories and files whose names start with "." are ignored.
 */
export const APPLIED_DIR = '.applied';
const EXTENSIONS = ['.yaml', '.yml', '.json'];

export interface FileStoreOptions {
  clock?: Clock;
  /** Quiet period after the last file event before re-reading (ms). Default 100. */
  debounceMs?: number;
  /** Longest a stream of events may delay a re-read (ms). Default 10 x debounceMs. */
  maxDelayMs?: number;
  logger?: Logger;
}

interface FileState {
  path: string;
  /** Load order: the earlier file keeps an object both define. */
  seq: number;
  hash: string; // of the text last read, to skip events that changed nothing
  objects: ConfigObject[]; // in force: the last good version, or the valid part of a file that never loaded cleanly
  issues: ValidationIssue[]; // problems of the text last read
  good: boolean; // `objects` come from a version without errors
  applied: boolean; // under DIR/.applied/
}

export class FileStore implements ConfigStore {
  readonly dir: string;
  private readonly clock: Clock;
  private readonly debounceMs: number;
  private readonly maxDelayMs: number;
  private readonly log: Logger;
  private readonly files = new Map<string, FileState>();
  private view = new Map<string, ConfigObject>();
  private owner = new Map<string, string>(); // object key -> file path that provides it
  private conflictIssues: ValidationIssue[] = [];
  private readonly watchers = new Watchers();
  private readonly issueHandlers = new Set<(issues: ValidationIssue[]) => void>();
  private lastIssuesJson = '[]';
  private readonly dirWatch: DirWatcher;
  private pending = new Set<string>();
  private timer: TimerHandle | undefined;
  private firstPendingAt: number | undefined;
  private queue: Promise<void> = Promise.resolve();
  private nextSeq = 1;
  private closed = false;

  private constructor(dir: string, opts: FileStoreOptions) {
    this.dir = dir;
    this.clock = opts.clock ?? realClock;
    this.debounceMs = opts.debounceMs ?? 100;
    this.maxDelayMs = opts.maxDelayMs ?? this.debounceMs * 10;
    this.log = opts.logger ?? logger('config/store/file');
    this.dirWatch = new DirWatcher((p) => this.onFsChange(p));
  }

  /** Load `dir` recursively and start watching it. Throws RigError CONFIG_READ when `dir` is not a readable directory. */
  static async open(dir: string, opts: FileStoreOptions = {}): Promise<FileStore> {
    let isDir = false;
    try { isDir = (await stat(dir)).isDirectory(); } catch (e) {
      throw new RigError(ErrorCodes.CONFIG_READ, `config directory ${dir}: ${errorMessage(e)}`, { dir });
    }
    if (!isDir) throw new RigError(ErrorCodes.CONFIG_READ, `config directory ${dir}: not a directory`, { dir });
    const store = new FileStore(dir, opts);
    await store.scanDir(dir, 0);
    store.recompute();
    return store;
  }

  list(kind?: string, namespace?: string): ConfigObject[] { return listView(this.view, kind, namespace); }

  get(kind: string, namespace: string, name: string): ConfigObject | undefined { return this.view.get(viewKey(kind, namespace, name)); }

  watch(handler: (events: ConfigEvent[]) => void): () => void { return this.watchers.add(handler); }

  /** Problems of every file as last read (parse errors, invalid documents) plus conflicts between files. */
  issues(): ValidationIssue[] {
    const out: ValidationIssue[] = [];
    for (const p of [...this.files.keys()].sort()) out.push(...this.files.get(p)!.issues);
    return [...out, ...this.conflictIssues];
  }

  onIssues(handler: (issues: ValidationIssue[]) => void): () => void {
    const h = (i: ValidationIssue[]) => handler(i);
    this.issueHandlers.add(h);
    return () => { this.issueHandlers.delete(h); };
  }

  /** Which file an object in force comes from. */
  fileOf(kind: string, namespace: string, name: string): string | undefined { return this.owner.get(viewKey(kind, namespace, name)); }

  /** How many changed paths wait for the debounce timer (diagnostics and tests). */
  pendingChanges(): number { return this.pending.size; }

  /** Process file events now instead of after the debounce; resolves when the store reflects them. */
  sync(): Promise<void> { return this.flush(); }

  async apply(objects: ConfigObject[]): Promise<ValidationIssue[]> {
    if (this.closed) throw new RigError(ErrorCodes.CONFIG_WRITE, `config store ${this.dir} is closed`);
    const norm = objects.map((o) => ({ ...o, metadata: { ...o.metadata, namespace: o.metadata?.namespace || 'default' } }));
    const errors = norm.flatMap((o) => validateObject(o)).filter((i) => i.severity === 'error');
    if (errors.length > 0) return errors;
    const paths: string[] = [];
    for (const o of norm) {
      const p = this.appliedPath(o.kind, o.metadata.namespace, o.metadata.name);
      const doc: Record<string, unknown> = { apiVersion: o.apiVersion, kind: o.kind, metadata: o.metadata };
      if (o.spec !== undefined) doc.spec = o.spec;
      Object.assign(doc, o.extra ?? {});
      try {
        await mkdir(join(p, '..'), { recursive: true });
        const tmp = `${p}.${process.pid}.tmp`; // write then rename: the watcher never sees half a file
        await writeFile(tmp, stringify(doc), 'utf8');
        await rename(tmp, p);
      } catch (e) {
        throw new RigError(ErrorCodes.CONFIG_WRITE, `apply ${o.kind} ${o.metadata.namespace}/${o.metadata.name}: cannot write ${p}: ${errorMessage(e)}`, { file: p });
      }
      paths.push(p);
    }
    await this.enqueue(paths);
    return [];
  }

  /** Remove objects written by apply(). Objects defined in the user's own files are left (and logged): edit those files instead. */
  async delete(keys: ConfigKey[]): Promise<void> {
    if (this.closed) throw new RigError(ErrorCodes.CONFIG_WRITE, `config store ${this.dir} is closed`);
    const paths: string[] = [];
    for (const k of keys) {
      const p = this.appliedPath(k.kind, k.namespace || 'default', k.name);
      try { await rm(p, { force: true }); } catch (e) {
        throw new RigError(ErrorCodes.CONFIG_WRITE, `delete ${k.kind} ${k.namespace}/${k.name}: cannot remove ${p}: ${errorMessage(e)}`, { file: p });
      }
      paths.push(p);
    }
    await this.enqueue(paths);
    for (const k of keys) {
      const from = this.fileOf(k.kind, k.namespace || 'default', k.name);
      if (from) this.log.warn({ kind: k.kind, namespace: k.namespace, name: k.name, file: from }, 'object is defined in a config file; delete it there');
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
    this.dirWatch.close();
    this.watchers.clear();
    this.issueHandlers.clear();
    await this.queue;
  }

  // ---- watching

  private onFsChange(path: string): void {
    if (this.closed) return;
    this.pending.add(path);
    const now = this.clock.now();
    this.firstPendingAt ??= now;
    this.clock.clearTimeout(this.timer);
    const wait = Math.max(0, Math.min(this.debounceMs, this.firstPendingAt + this.maxDelayMs - now));
    this.timer = this.clock.setTimeout(() => { void this.flush(); }, wait);
  }

  private flush(): Promise<void> {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.firstPendingAt = undefined;
    const paths = [...this.pending].sort();
    this.pending.clear();
    return this.enqueue(paths);
  }

  /** Changes are processed one batch at a time, in order; each batch ends with one recompute and one event batch. */
  private enqueue(paths: string[]): Promise<void> {
    const run = async () => {
      if (this.closed) return;
      for (const p of paths) {
        try { await this.handlePath(p); } catch (e) { this.log.error({ path: p, err: errorMessage(e) }, 'cannot process config change'); }
      }
      if (!this.closed) this.recompute();
    };
    this.queue = this.queue.then(run, run);
    return this.queue;
  }

  private async handlePath(p: string): Promise<void> {
    if (this.ignored(p)) {
      // A hidden entry changed. In a Kubernetes ConfigMap mount the visible files are symlinks through the hidden
      // "..data" link, which is swapped atomically on update: re-read the visible files of that directory.
      const parent = dirname(p);
      if (!this.ignored(parent) && this.dirWatch.has(parent)) await this.refreshFilesIn(parent);
      return;
    }
    let st: Awaited<ReturnType<typeof stat>> | undefined;
    try { st = await stat(p); } catch { st = undefined; }
    if (!st) { this.removeUnder(p); return; }
    if (st.isDirectory()) {
      const found = new Set<string>();
      await this.scanDir(p, 0, found);
      const prefix = p.endsWith(sep) ? p : p + sep;
      for (const f of [...this.files.keys()]) if (f.startsWith(prefix) && !found.has(f)) this.files.delete(f);
      return;
    }
    if (st.isFile() && isConfigFile(p)) await this.loadFile(p);
  }

  /** Watch `d` and load every config file below it (sorted, so load order is stable). */
  private async scanDir(d: string, depth: number, found?: Set<string>): Promise<void> {
    if (depth > 64) return; // bounded: a symlink loop cannot recurse forever
    this.dirWatch.add(d); // before reading, so files created meanwhile are reported
    let entries;
    try {
      entries = (await readdir(d, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch (e) {
      this.log.warn({ dir: d, err: errorMessage(e) }, 'cannot read config directory');
      return;
    }
    for (const e of entries) {
      const full = join(d, e.name);
      if (this.ignored(full)) continue;
      if (e.isDirectory()) await this.scanDir(full, depth + 1, found);
      else if ((e.isFile() || e.isSymbolicLink()) && isConfigFile(full)) {
        found?.add(full);
        await this.loadFile(full);
      }
    }
  }

  /** Re-read the config files directly in `d` (unchanged ones are skipped by their hash). */
  private async refreshFilesIn(d: string): Promise<void> {
    let entries;
    try { entries = await readdir(d, { withFileTypes: true }); } catch { return; }
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const full = join(d, e.name);
      if (!this.ignored(full) && (e.isFile() || e.isSymbolicLink()) && isConfigFile(full)) await this.loadFile(full);
    }
  }

  private removeUnder(p: string): void {
    const prefix = p.endsWith(sep) ? p : p + sep;
    for (const f of [...this.files.keys()]) if (f === p || f.startsWith(prefix)) this.files.delete(f);
    this.dirWatch.removeUnder(p);
  }

  /** Hidden entries (".git", editor files) are not config; DIR/.applied is. Paths outside DIR are ignored. */
  private ignored(p: string): boolean {
    const rel = relative(this.dir, p);
    if (rel === '') return false;
    if (rel.startsWith('..')) return true;
    const parts = rel.split(sep);
    return parts.some((part, i) => part.startsWith('.') && !(i === 0 && part === APPLIED_DIR));
  }

  private async loadFile(p: string): Promise<void> {
    let text: string;
    try {
      text = await readFile(p, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') { this.removeUnder(p); return; }
      const prev = this.files.get(p);
      const issue: ValidationIssue = { severity: 'error', code: ErrorCodes.CONFIG_READ, file: p, path: '', message: `cannot read: ${errorMessage(e)}` };
      this.log.warn({ file: p, err: errorMessage(e) }, 'cannot read config file; keeping what it held before');
      this.files.set(p, prev ? { ...prev, issues: [issue], hash: '' } : { path: p, seq: this.nextSeq++, hash: '', objects: [], issues: [issue], good: false, applied: this.isApplied(p) });
      return;
    }
    const hash = createHash('sha1').update(text).digest('hex');
    const prev = this.files.get(p);
    if (prev && prev.hash === hash) return;
    const r = parseConfigText(text, p);
    const issues = r.issues.slice();
    const hasErrors = issues.some((i) => i.severity === 'error');
    let objects = r.objects;
    let good = !hasErrors;
    if (hasErrors && prev?.good) {
      objects = prev.objects;
      good = true;
      issues.push({
        severity: 'warning', code: ErrorCodes.CONFIG_INVALID, file: p, path: '',
        message: `keeping the last good version of this file (${objects.length} object${objects.length === 1 ? '' : 's'}) until its errors are fixed`,
      });
    }
    for (const i of issues) {
      if (i.severity === 'error') this.log.warn({ file: i.file, document: i.document, kind: i.kind, name: i.name, path: i.path, code: i.code }, i.message);
    }
    this.files.set(p, { path: p, seq: prev?.seq ?? this.nextSeq++, hash, objects, issues, good, applied: this.isApplied(p) });
  }

  private isApplied(p: string): boolean {
    return relative(this.dir, p).split(sep)[0] === APPLIED_DIR;
  }

  private appliedPath(kind: string, namespace: string, name: string): string {
    const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
    return join(this.dir, APPLIED_DIR, safe(namespace), `${safe(kind.toLowerCase())}-${safe(name)}.yaml`);
  }

  // ---- the view in force

  /** Decide which file provides each object, record conflicts, and emit what changed as one batch. */
  private recompute(): void {
    const cands = new Map<string, { state: FileState; obj: ConfigObject }[]>();
    const states = [...this.files.values()].sort((a, b) => a.seq - b.seq);
    for (const state of states) {
      for (const obj of state.objects) {
        const k = keyOf(obj);
        const l = cands.get(k);
        if (l) l.push({ state, obj }); else cands.set(k, [{ state, obj }]);
      }
    }
    const next = new Map<string, ConfigObject>();
    const owner = new Map<string, string>();
    const conflicts: ValidationIssue[] = [];
    for (const k of [...cands.keys()].sort()) {
      const list = cands.get(k)!;
      const applied = list.find((c) => c.state.applied);
      const prevOwner = this.owner.get(k);
      // The file that already provides an object keeps it ("keep the first"), unless rig apply overrides it.
      const win = applied ?? list.find((c) => c.state.path === prevOwner) ?? list[0]!;
      next.set(k, win.obj);
      owner.set(k, win.state.path);
      for (const c of list) {
        if (c === win) continue;
        const o = c.obj;
        const base = {
          code: ErrorCodes.CONFIG_CONFLICT, file: c.state.path, kind: o.kind, name: `${o.metadata.namespace}/${o.metadata.name}`, path: 'metadata.name',
          ...(o.source ? { document: o.source.document } : {}),
        };
        if (win.state.applied && !c.state.applied) {
          conflicts.push({ ...base, severity: 'notice', message: `overridden by rig apply (${win.state.path})` });
        } else if (c.state.path === win.state.path) {
          conflicts.push({ ...base, severity: 'error', message: `${o.kind} ${base.name} is defined twice in this file; the first definition is used` });
        } else {
          conflicts.push({ ...base, severity: 'error', message: `${o.kind} ${base.name} is already defined in ${win.state.path}; that definition is kept and this one is ignored` });
        }
      }
    }
    for (const c of conflicts) {
      if (c.severity === 'error' && !this.conflictIssues.some((x) => x.file === c.file && x.name === c.name && x.message === c.message)) {
        this.log.warn({ file: c.file, kind: c.kind, name: c.name }, c.message);
      }
    }
    const events = diffViews(this.view, next);
    this.view = next;
    this.owner = owner;
    this.conflictIssues = conflicts;
    this.watchers.emit(events);
    const issues = this.issues();
    const json = JSON.stringify(issues);
    if (json !== this.lastIssuesJson) {
      this.lastIssuesJson = json;
      for (const h of [...this.issueHandlers]) {
        try { h(issues); } catch (e) { this.log.error({ err: errorMessage(e) }, 'config issues handler threw'); }
      }
    }
  }
}

function isConfigFile(p: string): boolean {
  const base = p.slice(p.lastIndexOf(sep) + 1);
  return !base.startsWith('.') && EXTENSIONS.some((x) => base.endsWith(x));
}
