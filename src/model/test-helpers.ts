// model: test helper — YAML text to ConfigObjects without validation, so model tests do not depend on config/validation.
import { parseAllDocuments } from 'yaml';
import type { ConfigObject } from '../config/types.ts';

const ENVELOPE = new Set(['apiVersion', 'kind', 'metadata', 'spec']);

/** Every document of `text` as a ConfigObject (namespace defaulted to "default", other top-level fields in `extra`). */
export function objectsFromYaml(text: string, file = 'test.yaml'): ConfigObject[] {
  const out: ConfigObject[] = [];
  parseAllDocuments(text).forEach((d, i) => {
    const v = d.toJS() as Record<string, any> | null;
    if (!v) return;
    const extra: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (!ENVELOPE.has(k)) extra[k] = x;
    const o: ConfigObject = {
      apiVersion: v.apiVersion, kind: v.kind,
      metadata: { ...v.metadata, namespace: v.metadata?.namespace || 'default' },
      spec: v.spec, source: { file, document: i },
    };
    if (Object.keys(extra).length) o.extra = extra;
    out.push(o);
  });
  return out;
}

/** The Zipkin collector tracing tests report to: ServiceEntry zipkin.istio-system, port 9411, one endpoint 10.6.0.9. */
export const ZIPKIN_COLLECTOR_YAML = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: zipkin, namespace: istio-system}
spec:
  hosts: [zipkin.istio-system.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 9411, name: http-zipkin, protocol: HTTP}]
  endpoints: [{address: 10.6.0.9}]
`;

/** The istio mesh ConfigMap declaring one Zipkin extension provider named zipkin (ZIPKIN_COLLECTOR_YAML's service). */
export const ZIPKIN_PROVIDER_MESH_YAML = `apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    extensionProviders:
    - name: zipkin
      zipkin: {service: zipkin.istio-system.svc.cluster.local, port: 9411}
`;
