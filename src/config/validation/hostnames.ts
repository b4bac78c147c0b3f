// config/validation: "namespace/dnsName" host entries of Gateway servers and Sidecar egress listeners.
import type { Issues } from './context.ts';
import { isDNS1123Label, isIPAddress, partialWildcardProblem, wildcardDomainProblem } from './values.ts';

function hostPartProblems(host: string, isGateway: boolean): string[] {
  const out: string[] = [];
  if (host !== '*' && !host.includes('.')) out.push('short names (non FQDN) are not allowed');
  const prob = wildcardDomainProblem(host);
  // A gateway may also name an IP address.
  if (prob && !(isGateway && isIPAddress(host))) out.push(prob);
  const pw = partialWildcardProblem(host);
  if (pw) out.push(pw);
  return out;
}

export function checkNamespaceSlashHost(host: string, isGateway: boolean, path: string, issues: Issues): void {
  const slash = host.indexOf('/');
  if (slash < 0) {
    if (isGateway) report(hostPartProblems(host, true), path, issues); // the older form without a namespace
    else issues.error(path, 'host must be of form namespace/dnsName');
    return;
  }
  const ns = host.slice(0, slash);
  const name = host.slice(slash + 1);
  if (ns === '' || name === '') issues.error(path, 'config namespace and dnsName in host entry cannot be empty');
  if (!isGateway) {
    const bare = ns.startsWith('~') ? ns.slice(1) : ns;
    if (bare !== '' && bare !== '*' && bare !== '.' && !isDNS1123Label(bare)) issues.error(path, `invalid namespace value "${ns}" in sidecar`);
  } else if (ns !== '*' && ns !== '.' && !isDNS1123Label(ns)) {
    issues.error(path, `invalid namespace value "${ns}" in gateway`);
  }
  report(hostPartProblems(name, isGateway), path, issues);
}

/** One issue per host, naming every problem with it. */
function report(problems: string[], path: string, issues: Issues): void {
  if (problems.length > 0) issues.error(path, problems.join('; '));
}
