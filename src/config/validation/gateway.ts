// config/validation: Gateway — schema and Istio's rules for servers, ports, binds, hosts and TLS.
import type { ConfigObject } from '../types.ts';
import type { Issues } from './context.ts';
import { asArr, asNum, asObj, asStr, isPlainObject, p } from './context.ts';
import { arr, obj, str, strMap, strs, uint32, type Schema } from './schema.ts';
import { serverTLS } from './common.ts';
import { checkNamespaceSlashHost } from './hostnames.ts';
import { checkServerTLS } from './servertls.ts';
import { isDNS1123Label, isHTTPProtocol, isIPAddress, isTLSProtocol, parseProtocol, unixAddressProblem } from './values.ts';

export const gatewaySpec: Schema = obj({
  servers: arr(
    obj(
      {
        port: obj({ number: uint32, protocol: str(), name: str(), targetPort: uint32 }, { required: ['number', 'protocol', 'name'] }),
        bind: str(),
        hosts: strs,
        tls: serverTLS,
        defaultEndpoint: str(),
        name: str(),
      },
      { required: ['port', 'hosts'] },
    ),
  ),
  selector: strMap,
});

export function checkGateway(obj: ConfigObject, issues: Issues): void {
  const spec = obj.spec as Record<string, any>;
  const name = obj.metadata.name;
  if (typeof name === 'string' && !isDNS1123Label(name)) issues.error('metadata.name', `invalid gateway name: "${name}" (a gateway name must be a DNS label, without dots)`);
  const servers = asArr(spec.servers);
  if (servers.length === 0) issues.error('spec.servers', 'gateway must have at least one server');
  const portNames = new Set<string>();
  servers.forEach((s, i) => {
    const sp = `spec.servers[${i}]`;
    if (!isPlainObject(s)) {
      if (s === null) issues.error(sp, 'server may not be null');
      return;
    }
    checkServer(s, sp, issues);
    const port = asObj(s.port);
    const pn = asStr(port.name);
    if (pn !== undefined) {
      if (portNames.has(pn)) issues.error(`${sp}.port.name`, `port names in servers must be unique: duplicate name ${pn}`);
      portNames.add(pn);
    }
    if (!isHTTPProtocol(parseProtocol(asStr(port.protocol))) && asObj(s.tls).httpsRedirect === true) issues.warn(`${sp}.tls.httpsRedirect`, 'tls.httpsRedirect should only be used with http servers');
  });
}

function checkServer(s: Record<string, any>, path: string, issues: Issues): void {
  const hosts = asArr(s.hosts);
  if (Array.isArray(s.hosts) && hosts.length === 0) issues.error(p(path, 'hosts'), 'server config must contain at least one host');
  hosts.forEach((h, i) => {
    if (typeof h === 'string') checkNamespaceSlashHost(h, true, `${path}.hosts[${i}]`, issues);
  });
  const bind = asStr(s.bind) ?? '';
  let portOk = isPlainObject(s.port);
  if (isPlainObject(s.port)) {
    const port = s.port;
    const proto = parseProtocol(asStr(port.protocol));
    if (proto === 'unsupported') {
      issues.error(`${path}.port.protocol`, `invalid protocol "${port.protocol}", supported protocols are HTTP, HTTP2, GRPC, GRPC-WEB, MONGO, REDIS, MYSQL, TCP`);
      portOk = false;
    }
    const n = asNum(port.number) ?? 0;
    if ((n > 0 || !bind.startsWith('unix://')) && (n < 1 || n > 65535)) {
      issues.error(`${path}.port.number`, `port must be between 1-65535 (got ${n})`);
      portOk = false;
    }
    if ((asNum(port.targetPort) ?? 0) > 0) issues.error(`${path}.port.targetPort`, 'targetPort has no impact on Gateways');
    if (port.name === '') issues.error(`${path}.port.name`, 'port name must be set');
  }
  if (bind.startsWith('unix://')) {
    const prob = unixAddressProblem(bind.slice('unix://'.length));
    if (prob) issues.error(p(path, 'bind'), prob);
    if ((asNum(asObj(s.port).number) ?? 0) !== 0) issues.error(p(path, 'port.number'), 'port number must be 0 for unix domain socket');
  } else if (bind !== '' && !isIPAddress(bind)) issues.error(p(path, 'bind'), `${bind} is not a valid IP`);
  checkServerTLS(s.tls, p(path, 'tls'), issues);
  if (portOk) {
    const proto = parseProtocol(asStr(asObj(s.port).protocol));
    const tls = s.tls;
    if (isTLSProtocol(proto) && !isPlainObject(tls)) issues.error(p(path, 'tls'), 'server must have TLS settings for HTTPS/TLS protocols');
    else if (!isTLSProtocol(proto) && isPlainObject(tls)) {
      if (isHTTPProtocol(proto)) {
        const mode = asStr(tls.mode) ?? 'PASSTHROUGH';
        const passthrough = mode === 'PASSTHROUGH' || mode === 'AUTO_PASSTHROUGH';
        if (!passthrough || tls.caCertificates || tls.privateKey || tls.serverCertificate) issues.error(p(path, 'tls'), 'server cannot have TLS settings for plain text HTTP ports');
      } else issues.error(p(path, 'tls'), 'server cannot have TLS settings for non HTTPS/TLS ports');
    }
  }
}
