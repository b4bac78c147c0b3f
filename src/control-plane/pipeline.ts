// control-plane (composition): the default pipeline — config objects -> immutable snapshot -> PushContext
// -> a per-proxy generator closure for the xDS server. No logic of its own: it only wires stages.
import type { ConfigObject, ConfigStore } from '../config/types.ts';
import type { Clock } from '../common/clock.ts';
import { buildSnapshot } from '../model/snapshot.ts';
import { PushContext } from '../model/push-context.ts';
import { generate } from '../xds/translate/generate.ts';
import type { ProxyGenerator } from '../xds/server/server.ts';

export interface Pipeline {
  /** Build everything one push needs from the objects in force; the closure is called per proxy. */
  build(objects: ConfigObject[], version: string): ProxyGenerator;
}

export const defaultPipeline: Pipeline = {
  build(objects, version) {
    const ctx = new PushContext(buildSnapshot(objects, version));
    return (proxy) => generate(ctx, proxy);
  },
};

export async function openFileStore(dir: string, opts: { clock?: Clock; debounceMs?: number }): Promise<ConfigStore> {
  // Loaded on demand: a control plane fed by another store never needs the file watcher.
  const { FileStore } = await import('../config/store/file.ts');
  return FileStore.open(dir, opts);
}
