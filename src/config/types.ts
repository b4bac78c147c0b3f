// config: the shape of a configuration object (Istio's Kubernetes-style resource), validation issues,
// and the config store interface that file, memory, etcd and Kubernetes stores implement.

export interface ObjectMeta {
  name: string;
  namespace: string; // defaulted to "default" when a document has none
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  resourceVersion?: string;
  generation?: number;
}

/** Where a document came from: file path (as given by the user) and 0-based document index. */
export interface SourceRef { file: string; document: number }

export interface ConfigObject<S = any> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: S;
  /** Kubernetes kinds keep their other top-level fields (data, subsets, endpoints, ...). */
  extra?: Record<string, unknown>;
  source?: SourceRef;
}

export type Severity = 'error' | 'warning' | 'notice';

export interface ValidationIssue {
  severity: Severity;
  code: string; // a RIG1xx code from common/errors.ts
  file?: string;
  document?: number; // 0-based index in the file
  kind?: string;
  name?: string; // namespace/name when known
  path: string; // field path as Istio names it, e.g. "spec.http[0].route[1].weight"
  message: string;
}

export interface ConfigKey { kind: string; namespace: string; name: string }

export function keyOf(o: { kind: string; metadata: { namespace: string; name: string } }): string {
  return `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`;
}

export interface ConfigEvent { type: 'add' | 'update' | 'delete'; object: ConfigObject }

export interface ConfigStore {
  /** Every object currently in force (last good version of each), optionally of one kind / namespace. */
  list(kind?: string, namespace?: string): ConfigObject[];
  get(kind: string, namespace: string, name: string): ConfigObject | undefined;
  /** Called with batches of changes; returns an unsubscribe function. */
  watch(handler: (events: ConfigEvent[]) => void): () => void;
  /** Problems currently known (files that stopped parsing, invalid documents). */
  issues(): ValidationIssue[];
  /**
   * Optional: called whenever issues() changes, including when no object changed (a file stopped parsing and its
   * last good version keeps serving, so watch() sees nothing). Returns an unsubscribe function.
   */
  onIssues?(handler: (issues: ValidationIssue[]) => void): () => void;
  /** Write side, used by `rig apply` / `rig delete`; returns the issues that stopped the write. */
  apply?(objects: ConfigObject[]): Promise<ValidationIssue[]>;
  delete?(keys: ConfigKey[]): Promise<void>;
  close(): Promise<void>;
}
