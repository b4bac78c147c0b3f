// config/store: choose a ConfigStore from a location — a directory (FileStore) or memory; etcd and Kubernetes are reserved.
import { ErrorCodes, RigError } from '../../common/errors.ts';
import type { Clock } from '../../common/clock.ts';
import type { ConfigStore } from '../types.ts';
import { FileStore } from './file.ts';
import { MemoryStore } from './memory.ts';

export { FileStore, APPLIED_DIR } from './file.ts';
export { MemoryStore } from './memory.ts';

export interface OpenStoreOptions { clock?: Clock; debounceMs?: number }

/**
 * "memory:" -> MemoryStore; "file:DIR" or a plain path -> FileStore.
 * Reserved for stores not written yet, so callers and flags can already name them:
 * "etcd://HOST:PORT/PREFIX" (an etcd store: list + watch on a key prefix, apply = put) and
 * "k8s:" / "kube:" (a Kubernetes store: informers on the Istio CRDs and Service/EndpointSlice).
 */
export async function openStore(location: string, opts: OpenStoreOptions = {}): Promise<ConfigStore> {
  if (location === 'memory:' || location === 'memory') return new MemoryStore();
  if (location.startsWith('etcd://') || location.startsWith('k8s:') || location.startsWith('kube:')) {
    throw new RigError(ErrorCodes.CONFIG_READ, `config store "${location}": this kind of store is not implemented yet (use a directory)`, { location });
  }
  const dir = location.startsWith('file:') ? location.slice('file:'.length) : location;
  return FileStore.open(dir, opts);
}
