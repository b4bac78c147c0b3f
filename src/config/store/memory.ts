// config/store: an in-memory ConfigStore (tests, `rig up` without files, and the base for future etcd/Kubernetes caches).
import type { ConfigEvent, ConfigKey, ConfigObject, ConfigStore, ValidationIssue } from '../types.ts';
import { keyOf } from '../types.ts';
import { ErrorCodes, RigError } from '../../common/errors.ts';
import { validateObject } from '../load.ts';
import { diffViews, listView, viewKey, Watchers } from './events.ts';

export interface MemoryStoreOptions {
  /** Validator used by apply(); defaults to config/load.ts validateObject. */
  validate?: (o: ConfigObject) => ValidationIssue[];
}

/**
 * Objects held in memory. apply() validates every object first and writes nothing if any has an error
 * (all or nothing, so a `rig apply -f` of several documents never half-lands); each apply/delete emits
 * one batch of events to watchers, synchronously, before its promise resolves.
 */
export class MemoryStore implements ConfigStore {
  private view = new Map<string, ConfigObject>();
  private readonly watchers = new Watchers();
  private readonly validate: (o: ConfigObject) => ValidationIssue[];
  private lastIssues: ValidationIssue[] = [];
  private closed = false;

  constructor(initial: readonly ConfigObject[] = [], opts: MemoryStoreOptions = {}) {
    this.validate = opts.validate ?? validateObject;
    for (const o of initial) this.view.set(keyOf(o), normalize(o));
  }

  list(kind?: string, namespace?: string): ConfigObject[] { return listView(this.view, kind, namespace); }

  get(kind: string, namespace: string, name: string): ConfigObject | undefined { return this.view.get(viewKey(kind, namespace, name)); }

  watch(handler: (events: ConfigEvent[]) => void): () => void { return this.watchers.add(handler); }

  /** Issues of the last apply() that was refused (none once a later apply succeeds). */
  issues(): ValidationIssue[] { return this.lastIssues.slice(); }

  async apply(objects: ConfigObject[]): Promise<ValidationIssue[]> {
    this.assertOpen();
    const normalized = objects.map(normalize);
    const issues = normalized.flatMap((o) => this.validate(o));
    if (issues.some((i) => i.severity === 'error')) {
      this.lastIssues = issues;
      return issues.filter((i) => i.severity === 'error');
    }
    this.lastIssues = [];
    const next = new Map(this.view);
    for (const o of normalized) next.set(keyOf(o), o);
    this.commit(next);
    return [];
  }

  async delete(keys: ConfigKey[]): Promise<void> {
    this.assertOpen();
    const next = new Map(this.view);
    for (const k of keys) next.delete(viewKey(k.kind, k.namespace || 'default', k.name));
    this.commit(next);
  }

  /** Replace everything at once (one batch): what a full resync from an external source looks like. */
  replaceAll(objects: readonly ConfigObject[]): void {
    this.assertOpen();
    const next = new Map<string, ConfigObject>();
    for (const o of objects) next.set(keyOf(o), normalize(o));
    this.commit(next);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watchers.clear();
  }

  private commit(next: Map<string, ConfigObject>): void {
    const events = diffViews(this.view, next);
    this.view = next;
    this.watchers.emit(events);
  }

  private assertOpen(): void {
    if (this.closed) throw new RigError(ErrorCodes.CONFIG_WRITE, 'memory config store is closed');
  }
}

function normalize(o: ConfigObject): ConfigObject {
  if (o.metadata && o.metadata.namespace) return o;
  return { ...o, metadata: { ...o.metadata, namespace: 'default' } };
}
