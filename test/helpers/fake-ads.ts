// test/helpers: a scriptable ADS server (SotW and delta) on 127.0.0.1 for xDS client tests: records every request;
// the test answers them with respond()/respondDelta().
import * as grpc from '@grpc/grpc-js';
import { pack } from '../../src/envoy/protos.ts';
import { adsServiceClient, type DeltaDiscoveryRequest, type DeltaDiscoveryResponse, type DiscoveryRequest, type DiscoveryResponse } from '../../src/proxy/xds-client/ads-proto.ts';

type Call = grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>;
type DeltaCall = grpc.ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;

/** A scriptable ADS server: records requests; the test answers them. */
export class FakeAds {
  server = new grpc.Server();
  requests: DiscoveryRequest[] = [];
  calls: Call[] = [];
  deltaRequests: DeltaDiscoveryRequest[] = [];
  deltaCalls: DeltaCall[] = [];
  port = 0;
  private nonce = 0;
  async start(port = 0): Promise<void> {
    this.server.addService(adsServiceClient().service, {
      StreamAggregatedResources: (call: Call) => {
        this.calls.push(call);
        call.on('data', (r: DiscoveryRequest) => this.requests.push(r));
        call.on('error', () => {});
        call.on('end', () => call.end());
      },
      DeltaAggregatedResources: (call: DeltaCall) => {
        this.deltaCalls.push(call);
        call.on('data', (r: DeltaDiscoveryRequest) => this.deltaRequests.push(r));
        call.on('error', () => {});
        call.on('end', () => call.end());
      },
    });
    this.port = await new Promise<number>((res, rej) => this.server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  }
  respond(typeUrl: string, version: string, resources: Record<string, unknown>[]): string {
    const nonce = `n${++this.nonce}`;
    const call = this.calls[this.calls.length - 1]!;
    call.write({ type_url: typeUrl, version_info: version, nonce, resources: resources.map((r) => pack(typeUrl, r)) });
    return nonce;
  }
  respondDelta(typeUrl: string, resources: Record<string, unknown>[], removed: string[] = [], version = 'x'): string {
    const nonce = `d${++this.nonce}`;
    const call = this.deltaCalls[this.deltaCalls.length - 1]!;
    call.write({
      type_url: typeUrl, system_version_info: 'sys', nonce, removed_resources: removed,
      resources: resources.map((r) => ({ name: String(r.name ?? r.cluster_name), version, resource: pack(typeUrl, r) })),
    });
    return nonce;
  }
  stop(): void {
    for (const c of [...this.calls, ...this.deltaCalls]) c.destroy();
    this.server.forceShutdown();
  }
  /** Requests of a type, newest last. */
  of(typeUrl: string): DiscoveryRequest[] {
    return this.requests.filter((r) => r.type_url === typeUrl);
  }
}

