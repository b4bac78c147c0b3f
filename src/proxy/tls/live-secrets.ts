// proxy/tls: the secrets the data plane resolves SDS names against — the local certificate agent's "default" and
// "ROOTCA" first (Istio's agent serves these to Envoy), then whatever secrets arrived over xDS. The generation
// moves when either changes, so cached TLS contexts are rebuilt after a rotation or an SDS push.
import type { SecretConfig } from '../config/types.ts';
import type { SecretSource } from './context.ts';

/** The SDS names the certificate agent serves (Istio's istio-agent serves these to Envoy; istiod never sends them). */
export const WORKLOAD_SECRET = 'default';
export const ROOT_SECRET = 'ROOTCA';
export const isAgentSecret = (name: string): boolean => name === WORKLOAD_SECRET || name === ROOT_SECRET;

export interface AgentLike {
  secret(name: string): SecretConfig | undefined;
  readonly generation: number;
}

export class LiveSecrets implements SecretSource {
  private xds: ReadonlyMap<string, SecretConfig> = new Map();
  private xdsGen = 0;
  constructor(private agent?: AgentLike) {}

  setAgent(a: AgentLike | undefined): void { this.agent = a; this.xdsGen++; }

  /** The secrets of the latest xDS snapshot (identity-compared: only a new map moves the generation). */
  setXdsSecrets(m: ReadonlyMap<string, SecretConfig>): void {
    if (m === this.xds) return;
    this.xds = m;
    this.xdsGen++;
  }

  /** Whether the certificate agent serves this name now (it has its certificate). */
  fromAgent(name: string): boolean {
    return this.agent?.secret(name) !== undefined;
  }

  get(name: string): SecretConfig | undefined {
    return this.agent?.secret(name) ?? this.xds.get(name);
  }

  get generation(): number {
    return this.xdsGen * 1_000_003 + (this.agent?.generation ?? 0);
  }
}
