// config/validation: the VirtualService schema (HTTP, TLS and TCP routes as in Istio's networking API).
import { arr, bool, dur, enm, int32, map, obj, str, strMap, strs, uint32, type Schema } from './schema.ts';
import { destination, headers, percent, stringMatch } from './common.ts';

const httpMatch: Schema = obj({
  name: str(),
  uri: stringMatch,
  scheme: stringMatch,
  method: stringMatch,
  authority: stringMatch,
  headers: map(stringMatch),
  port: uint32,
  sourceLabels: strMap,
  gateways: strs,
  queryParams: map(stringMatch),
  ignoreUriCase: bool,
  withoutHeaders: map(stringMatch),
  sourceNamespace: str(),
  statPrefix: str(),
});

const httpRoute: Schema = obj({
  name: str(),
  match: arr(httpMatch),
  route: arr(obj({ destination, weight: int32, headers }, { required: ['destination'] })),
  redirect: obj(
    {
      uri: str(),
      authority: str(),
      port: uint32,
      derivePort: enm(['FROM_PROTOCOL_DEFAULT', 'FROM_REQUEST_PORT']),
      scheme: str(),
      redirectCode: uint32,
      prefixRewrite: str(),
    },
    { oneOf: ['port', 'derivePort'] },
  ),
  directResponse: obj({ status: uint32, body: obj({ string: str(), bytes: str() }, { oneOf: ['string', 'bytes'] }) }, { required: ['status'] }),
  delegate: obj({ name: str(), namespace: str() }),
  rewrite: obj({ uri: str(), authority: str(), uriRegexRewrite: obj({ match: str(), rewrite: str() }) }),
  timeout: dur,
  retries: obj({
    attempts: int32,
    perTryTimeout: dur,
    retryOn: str(),
    retryRemoteLocalities: bool,
    retryIgnorePreviousHosts: bool,
    backoff: dur,
  }),
  fault: obj({
    delay: obj({ fixedDelay: dur, exponentialDelay: dur, percentage: percent, percent: int32 }, { oneOf: ['fixedDelay', 'exponentialDelay'] }),
    abort: obj({ httpStatus: int32, grpcStatus: str(), http2Error: str(), percentage: percent }, { oneOf: ['httpStatus', 'grpcStatus', 'http2Error'] }),
  }),
  mirror: destination,
  mirrors: arr(obj({ destination, percentage: percent }, { required: ['destination'] })),
  mirrorPercent: uint32,
  mirror_percent: uint32,
  mirrorPercentage: percent,
  corsPolicy: obj({
    allowOrigin: strs,
    allowOrigins: arr(stringMatch),
    allowMethods: strs,
    allowHeaders: strs,
    exposeHeaders: strs,
    maxAge: dur,
    allowCredentials: bool,
    unmatchedPreflights: enm(['UNSPECIFIED', 'FORWARD', 'IGNORE']),
  }),
  headers,
}, {
  // Fields of Istio's older v1alpha3 API that its own samples still carry; kept loadable, with a warning.
  removed: {
    websocketUpgrade: 'WebSocket upgrades are always allowed',
    appendHeaders: 'use headers.request.add',
    appendRequestHeaders: 'use headers.request.add',
    removeRequestHeaders: 'use headers.request.remove',
    appendResponseHeaders: 'use headers.response.add',
    removeResponseHeaders: 'use headers.response.remove',
  },
});

const routeDestination: Schema = obj({ destination, weight: int32 }, { required: ['destination'] });
const l4Match = {
  destinationSubnets: strs,
  port: uint32,
  sourceLabels: strMap,
  gateways: strs,
  sourceNamespace: str(),
};

export const virtualServiceSpec: Schema = obj({
  hosts: strs,
  gateways: strs,
  http: arr(httpRoute),
  tls: arr(obj({ match: arr(obj({ sniHosts: strs, ...l4Match }, { required: ['sniHosts'] })), route: arr(routeDestination) }, { required: ['match'] })),
  tcp: arr(obj({ match: arr(obj({ ...l4Match, sourceSubnet: str() })), route: arr(routeDestination) })),
  exportTo: strs,
});

