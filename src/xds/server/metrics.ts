// xds/server (serving): counters and gauges of the xDS server, rendered as Prometheus text. Names follow
// Istio's pilot metrics (pilot_xds, pilot_xds_pushes, pilot_total_xds_rejects) so dashboards carry over.

type Labels = Record<string, string>;

interface Series { help: string; kind: 'counter' | 'gauge'; values: Map<string, { labels: Labels; value: number }> }

export class Metrics {
  private series = new Map<string, Series>();
  private def(name: string, kind: 'counter' | 'gauge', help: string): Series {
    let s = this.series.get(name);
    if (!s) { s = { help, kind, values: new Map() }; this.series.set(name, s); }
    return s;
  }
  private key(labels: Labels): string { return JSON.stringify(Object.entries(labels).sort()); }
  inc(name: string, help: string, labels: Labels = {}, by = 1): void {
    const s = this.def(name, 'counter', help);
    const k = this.key(labels);
    const v = s.values.get(k);
    if (v) v.value += by; else s.values.set(k, { labels, value: by });
  }
  set(name: string, help: string, value: number, labels: Labels = {}): void {
    const s = this.def(name, 'gauge', help);
    s.values.set(this.key(labels), { labels, value });
  }
  get(name: string, labels: Labels = {}): number {
    return this.series.get(name)?.values.get(this.key(labels))?.value ?? 0;
  }
  /** Sum over every label set of a metric. */
  total(name: string): number {
    let t = 0;
    for (const v of this.series.get(name)?.values.values() ?? []) t += v.value;
    return t;
  }
  render(): string {
    const lines: string[] = [];
    for (const [name, s] of [...this.series].sort((a, b) => a[0].localeCompare(b[0]))) {
      lines.push(`# HELP ${name} ${s.help}`, `# TYPE ${name} ${s.kind}`);
      for (const { labels, value } of s.values.values()) {
        const l = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',');
        lines.push(`${name}${l ? `{${l}}` : ''} ${value}`);
      }
    }
    return lines.join('\n') + '\n';
  }
}

export const M = {
  connected: ['pilot_xds', 'Number of connected xDS streams.'],
  pushes: ['pilot_xds_pushes', 'xDS responses sent, by type.'],
  rejects: ['pilot_total_xds_rejects', 'xDS responses rejected (NACKed) by proxies, by type.'],
  requests: ['rig_xds_requests_total', 'xDS requests received, by type.'],
  stale: ['rig_xds_stale_nonce_total', 'Requests ignored because their nonce was stale or unknown.'],
  unknownType: ['rig_xds_unknown_type_total', 'Requests for type URLs this server does not serve.'],
  rateLimited: ['rig_xds_rate_limited_total', 'Re-requests deferred by the per-stream rate limit.'],
  badNode: ['rig_xds_bad_node_total', 'Streams refused because the node was missing or not in Istio form.'],
  fullPushes: ['rig_xds_full_pushes_total', 'Config updates pushed to every connected proxy.'],
  pushSeconds: ['rig_xds_last_push_seconds', 'Duration of the last full push (generate + encode + send).'],
  configVersion: ['rig_xds_config_updates_total', 'Config versions received by the server.'],
  encodeErrors: ['rig_xds_generate_problems_total', 'Resources dropped (encoding) or inconsistent (missing EDS/RDS).'],
} as const;
