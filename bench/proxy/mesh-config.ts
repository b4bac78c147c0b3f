// bench/proxy: the Istio config of the bench's Rigging rows (run.ts, hold.ts) — service "backend" on port 9080, a
// VirtualService routing every path to it, and its one workload.
import { serviceEntry, workloadEntry } from '../../test/helpers/fixtures.ts';

/** Backend at `backendAddr` (port `backendPort` when given: the one-proxy rows, else behind its sidecar's 9080). */
export function meshConfig(backendAddr: string, backendPort: number | undefined, serviceAccount?: string): string {
  return serviceEntry('backend') + `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: backend, namespace: default}
spec:
  hosts: [backend.default.svc.cluster.local]
  http:
  - match: [{uri: {prefix: /}}]
    route: [{destination: {host: backend.default.svc.cluster.local, port: {number: 9080}}}]
    timeout: 10s
---
` + workloadEntry('backend-1', backendAddr, { ports: backendPort ? { http: backendPort } : undefined, labels: { app: 'backend' }, serviceAccount });
}
