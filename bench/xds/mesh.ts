// bench/xds: the synthetic mesh of the xDS benchmark — N ServiceEntries (STATIC, MESH_INTERNAL) with
// M endpoints each in namespace "bench", and the VirtualService whose edits drive route changes.
import type { ConfigObject } from '../../src/config/types.ts';

export const NS = 'bench';
export const host = (i: number) => `svc-${i}.${NS}.svc.cluster.local`;

export function serviceEntry(i: number, endpointsPer: number, gen = 0): ConfigObject {
  return {
    apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: `svc-${i}`, namespace: NS },
    spec: {
      hosts: [host(i)], location: 'MESH_INTERNAL', resolution: 'STATIC',
      ports: [{ number: 8080, name: 'http', protocol: 'HTTP' }],
      endpoints: Array.from({ length: endpointsPer }, (_, j) => ({
        address: `10.${(i >> 8) & 255}.${i & 255}.${j + 1 + gen}`, labels: { app: `svc-${i}`, version: j % 2 ? 'v2' : 'v1' },
      })),
    },
  };
}

export function virtualService(i: number, weightV1: number): ConfigObject {
  return {
    apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: `svc-${i}`, namespace: NS },
    spec: {
      hosts: [host(i)],
      http: [{ route: [
        { destination: { host: host(i), port: { number: 8080 } }, weight: weightV1 },
        { destination: { host: host(i), port: { number: 8080 } }, weight: 100 - weightV1 },
      ] }],
    },
  };
}

export function nodeId(k: number): string {
  return `sidecar~10.250.${k >> 8}.${k & 255}~client-${k}.${NS}~${NS}.svc.cluster.local`;
}
