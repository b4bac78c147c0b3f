// config/validation: server-side TLS settings (Gateway servers, Sidecar ingress listeners).
import type { Issues } from './context.ts';
import { asArr, asStr, isPlainObject, p } from './context.ts';

const CIPHER_SUITES = new Set([
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305', 'ECDHE-ECDSA-AES128-SHA', 'ECDHE-RSA-AES128-SHA',
  'ECDHE-ECDSA-AES256-SHA', 'ECDHE-RSA-AES256-SHA', 'AES128-GCM-SHA256', 'AES256-GCM-SHA384', 'AES128-SHA', 'AES256-SHA', 'DES-CBC3-SHA',
]);

export function checkServerTLS(tls: unknown, path: string, issues: Issues): void {
  if (!isPlainObject(tls)) return;
  const mode = asStr(tls.mode) ?? 'PASSTHROUGH';
  const ciphers = asArr(tls.cipherSuites).filter((c): c is string => typeof c === 'string');
  if ((tls.minProtocolVersion === 'TLSV1_0' || tls.minProtocolVersion === 'TLSV1_1') && ciphers.length === 0) {
    issues.warn(p(path, 'minProtocolVersion'), 'TLS versions below TLSV1_2 require setting compatible ciphers, as the defaults no longer include them');
  }
  const invalid = ciphers.filter((c) => !CIPHER_SUITES.has(c));
  if (invalid.length > 0) issues.warn(p(path, 'cipherSuites'), `ignoring invalid cipher suites: ${[...new Set(invalid)].sort().join(', ')}`);
  const dup = ciphers.filter((c, i) => CIPHER_SUITES.has(c) && ciphers.indexOf(c) !== i);
  if (dup.length > 0) issues.warn(p(path, 'cipherSuites'), `ignoring duplicate cipher suites: ${[...new Set(dup)].sort().join(', ')}`);
  const certs = asArr(tls.tlsCertificates);
  const credNames = asArr(tls.credentialNames);
  if (mode === 'ISTIO_MUTUAL') {
    const forbidden: [string, boolean][] = [
      ['serverCertificate', !!tls.serverCertificate], ['privateKey', !!tls.privateKey], ['caCertificates', !!tls.caCertificates],
      ['tlsCertificates', certs.length > 0], ['credentialName', !!tls.credentialName], ['credentialNames', credNames.length > 0],
    ];
    for (const [f, set] of forbidden) if (set) issues.error(p(path, f), `ISTIO_MUTUAL TLS cannot have associated ${f}`);
    return;
  }
  if ((mode === 'PASSTHROUGH' || mode === 'AUTO_PASSTHROUGH') && (tls.caCrl || tls.serverCertificate || tls.privateKey || tls.caCertificates || certs.length > 0 || tls.credentialName || credNames.length > 0)) {
    issues.warn(path, `${mode} mode does not use certificates, they will be ignored`);
  }
  const sources = [!!tls.serverCertificate && !!tls.privateKey, !!tls.credentialName, credNames.length > 0, certs.length > 0].filter(Boolean).length;
  if (sources > 1) issues.error(path, 'only one of credentialName, credentialNames, serverCertificate/privateKey, tlsCertificates should be specified');
  const terminating = mode === 'SIMPLE' || mode === 'MUTUAL' || mode === 'OPTIONAL_MUTUAL';
  if (terminating && (tls.credentialName || credNames.length > 0)) return; // certificates come from the credential
  if (terminating) {
    const label = mode === 'SIMPLE' ? 'SIMPLE TLS' : 'MUTUAL TLS';
    if (mode !== 'SIMPLE' && !tls.caCertificates) issues.error(p(path, 'caCertificates'), `${label} requires a client CA bundle`);
    const toCheck = certs.length > 0 ? certs.map((c, i) => [c, `${path}.tlsCertificates[${i}]`] as const) : [[tls, path] as const];
    for (const [c, cp] of toCheck) {
      if (!isPlainObject(c)) continue;
      if (!c.serverCertificate) issues.error(p(cp, 'serverCertificate'), `${label} requires a server certificate`);
      if (!c.privateKey) issues.error(p(cp, 'privateKey'), `${label} requires a private key`);
    }
  }
  if (tls.caCrl) {
    if (tls.credentialName) issues.error(p(path, 'caCrl'), 'CRL is not supported with credentialName. CRL has to be specified in the credential');
    if (mode === 'SIMPLE') issues.error(p(path, 'caCrl'), 'CRL is not supported with SIMPLE TLS');
  }
}
