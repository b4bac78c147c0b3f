// cli: proxy-config / proxy-status tables from hand-made resources — the columns people scan.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clustersTable, endpointsTable, listenersTable, routesTable } from './proxy-config.ts';
import { statusTable, proxyName } from './proxy-status.ts';

test('clusters: Istio names split into fqdn/port/subset/direction', () => {
  const t = clustersTable([
    { name: 'outbound|9080|v1|reviews.default.svc.cluster.local', type: 'EDS', metadata: { filter_metadata: { istio: { config: '/apis/networking.istio.io/v1/namespaces/default/destination-rule/reviews' } } } },
    { name: 'BlackHoleCluster', type: 'STATIC' },
  ]);
  const lines = t.trimEnd().split('\n');
  assert.match(lines[0]!, /^SERVICE FQDN\s+PORT\s+SUBSET\s+DIRECTION\s+TYPE\s+DESTINATION RULE$/);
  assert.match(lines[1]!, /^reviews\.default\.svc\.cluster\.local\s+9080\s+v1\s+outbound\s+EDS\s+reviews\.default$/);
  assert.match(lines[2]!, /^BlackHoleCluster\s+-\s+-\s+-\s+STATIC\s+-$/);
});

test('routes, listeners and endpoints tables', () => {
  const routes = routesTable([{ name: '9080', virtual_hosts: [{ name: 'reviews:9080', domains: ['reviews', 'reviews:9080'], routes: [
    { match: { prefix: '/', headers: [{ name: 'end-user' }] }, route: { cluster: 'outbound|9080|v2|reviews' } },
    { match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'a', weight: { value: 80 } }, { name: 'b', weight: { value: 20 } }] } } },
  ] }] }]);
  assert.match(routes, /9080\s+reviews:9080\s+reviews \+ 1 more\.\.\.\s+\/\* \+1 header\s+outbound\|9080\|v2\|reviews/);
  assert.match(routes, /a 80, b 20/);
  const listeners = listenersTable([
    { name: '0.0.0.0_9080', address: { socket_address: { address: '0.0.0.0', port_value: 9080 } }, filter_chains: [{ filters: [{ name: 'hcm', typed_config: { rds: { route_config_name: '9080' } } }] }] },
    { name: 'reviews:9080', api_listener: { api_listener: { rds: { route_config_name: 'outbound|9080||reviews' } } } },
  ]);
  assert.match(listeners, /0\.0\.0\.0_9080\s+0\.0\.0\.0\s+9080\s+ALL\s+Route: 9080/);
  assert.match(listeners, /reviews:9080\s+-\s+-\s+api listener \(proxyless gRPC\)\s+Route: outbound\|9080\|\|reviews/);
  const eps = endpointsTable([{ cluster_name: 'c', endpoints: [{ locality: { region: 'r', zone: 'z' }, lb_endpoints: [
    { endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 80 } } }, health_status: 'UNHEALTHY' },
  ] }] }, { cluster_name: 'empty' }]);
  assert.match(eps, /10\.0\.0\.1:80\s+UNHEALTHY\s+1\s+r\/z\s+0\s+c/);
  assert.match(eps, /\(none\)\s+-\s+-\s+-\s+-\s+empty/);
});

test('proxy-status shows per-type sync state and NACK errors', () => {
  const t = statusTable([{
    connectionId: 'c1', proxyId: 'sidecar~10.0.0.1~app.ns~ns.svc.cluster.local', protocol: 'sotw', proxyType: 'sidecar', connectedAt: '', configVersion: 'v7',
    types: [
      { type: 'clusters', typeUrl: '', state: 'SYNCED', wildcard: true, subscribed: 0, resources: 3 },
      { type: 'listeners', typeUrl: '', state: 'NACKED', wildcard: true, subscribed: 0, resources: 1, error: 'bad filter' },
    ],
  }], '127.0.0.1:15014');
  assert.equal(proxyName('sidecar~10.0.0.1~app.ns~ns.svc.cluster.local'), 'app.ns');
  assert.match(t, /app\.ns\s+sidecar\s+SYNCED\s+NACKED \(bad filter\)\s+NOT SENT\s+NOT SENT\s+NOT SENT\s+sotw\s+127\.0\.0\.1:15014\s+v7/);
});
