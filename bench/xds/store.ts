// bench/xds: a minimal in-memory ConfigStore for the benchmark (no validation: the objects are generated).
import type { ConfigEvent, ConfigObject, ConfigStore, ValidationIssue } from '../../src/config/types.ts';
import { keyOf } from '../../src/config/types.ts';

export class BenchStore implements ConfigStore {
  private objects = new Map<string, ConfigObject>();
  private handlers = new Set<(e: ConfigEvent[]) => void>();
  list(kind?: string, namespace?: string): ConfigObject[] {
    return [...this.objects.values()].filter((o) => (!kind || o.kind === kind) && (!namespace || o.metadata.namespace === namespace));
  }
  get(kind: string, namespace: string, name: string): ConfigObject | undefined { return this.objects.get(`${kind}/${namespace}/${name}`); }
  watch(h: (e: ConfigEvent[]) => void): () => void { this.handlers.add(h); return () => this.handlers.delete(h); }
  issues(): ValidationIssue[] { return []; }
  async apply(objs: ConfigObject[]): Promise<ValidationIssue[]> {
    const events: ConfigEvent[] = objs.map((o) => ({ type: this.objects.has(keyOf(o)) ? 'update' : 'add', object: o }));
    for (const o of objs) this.objects.set(keyOf(o), o);
    for (const h of this.handlers) h(events);
    return [];
  }
  async close(): Promise<void> { this.handlers.clear(); }
}
