// control-plane (composition): options -> config store -> snapshot pipeline -> xDS server + debug API.
// Config changes rebuild the snapshot and hand the server a new generator; a config problem is reported
// (file, document, path) while the last good objects keep serving (the store keeps them).
import type { ConfigStore, ValidationIssue } from '../config/types.ts';
import { realClock, type Clock } from '../common/clock.ts';
import { logger as makeLogger, type Logger } from '../common/logger.ts';
import { errorMessage } from '../common/errors.ts';
import { XdsServer } from '../xds/server/server.ts';
import { createDebugServer, type DebugServer } from '../xds/server/debug.ts';
import type { Pipeline } from './pipeline.ts';
import { CertificateAuthority, certificateServiceHandlers, istioCertificateService } from '../ca/index.ts';
import { meshConfigFrom } from '../model/mesh.ts';
import { JwksResolver } from '../xds/translate/security/jwks-resolver.ts';
import { securityIssues } from '../xds/translate/security/index.ts';
import type { PushSnapshot } from '../model/types.ts';

export interface ControlPlaneOptions {
  /** A directory of Istio YAML to watch (a FileStore is opened on it), or... */
  configDir?: string;
  /** ...a store someone else owns (e.g. `rig up`'s overlay store). Closed by close() only if we opened it. */
  store?: ConfigStore;
  xdsPort?: number; // default 15010, 0 = any free port
  debugPort?: number; // default 15014, 0 = any free port
  host?: string; // default 127.0.0.1
  clock?: Clock;
  /** Push debounce (ms); defaults from settings (RIG_DEBOUNCE_MS / RIG_DEBOUNCE_MAX_MS). */
  debounceMs?: number;
  debounceMaxMs?: number;
  /** File store debounce for editors' bursts of writes (ms). */
  fileDebounceMs?: number;
  logger?: Logger;
  /** Replace the snapshot/translation wiring (tests, benchmarks). Default: model + xds/translate. */
  pipeline?: Pipeline;
  /**
   * Certificate authority behind the CertificateService on the xDS port: a directory of plugged-in CA files
   * (root-cert.pem, root-key.pem or ca-cert.pem + ca-key.pem, cert-chain.pem), or a ready CA. Default: a
   * self-signed root generated at start. Its trust domain is the mesh config's at start (default "cluster.local").
   */
  caDir?: string;
  ca?: CertificateAuthority;
  trustDomain?: string;
}

export interface ControlPlane {
  readonly xds: XdsServer;
  /** Signs workload certificates (served as istio.v1.auth.IstioCertificateService on the xDS port). */
  readonly ca: CertificateAuthority;
  readonly store: ConfigStore;
  readonly xdsPort: number;
  readonly debugPort: number;
  readonly host: string;
  /** Version of the config last handed to the xDS server. */
  readonly version: string;
  /** The snapshot of the config last handed to the xDS server (undefined if the pipeline does not expose one). */
  readonly snapshot: PushSnapshot | undefined;
  /**
   * Call `handler` with each snapshot built from here on (after it is handed to the xDS server), so local readers of
   * the config reuse the control plane's build instead of making their own. Returns the unsubscribe function.
   */
  onSnapshot(handler: (snapshot: PushSnapshot) => void): () => void;
  /** Rebuild and push now (also runs on every store change). */
  rebuild(): void;
  close(): Promise<void>;
}

function issueLine(i: ValidationIssue): string {
  const where = [i.file ?? '', i.document !== undefined ? `doc ${i.document}` : '', i.kind && i.name ? `${i.kind} ${i.name}` : '', i.path].filter(Boolean).join(' ');
  return `${i.severity} [${i.code}] ${where}: ${i.message}`;
}

/** A list's issues diffed against the previous call: `added` for each new one, `resolved` for each gone. */
function issueReporter(resolved: (line: string) => void, added: (i: ValidationIssue, line: string) => void): (issues: readonly ValidationIssue[]) => void {
  let reported = new Set<string>();
  return (issues) => {
    const now = new Set<string>();
    for (const i of issues) {
      const line = issueLine(i);
      now.add(line);
      if (!reported.has(line)) added(i, line);
    }
    for (const r of reported) if (!now.has(r)) resolved(r);
    reported = now;
  };
}

export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const log = opts.logger ?? makeLogger('control-plane');
  const clock = opts.clock ?? realClock;
  const host = opts.host ?? '127.0.0.1';
  const pipeline = opts.pipeline ?? (await import('./pipeline.ts')).defaultPipeline;
  let store = opts.store;
  const ownStore = !store;
  if (!store) {
    if (!opts.configDir) throw new Error('control plane needs configDir or store');
    store = await (await import('./pipeline.ts')).openFileStore(opts.configDir, { clock, debounceMs: opts.fileDebounceMs });
  }
  // the mesh config's trustDomain at start (Istio's default cluster.local); later edits need a restart, as a root change would
  const trustDomain = opts.trustDomain ?? meshConfigFrom(store.list()).trustDomain;
  const ca = opts.ca ?? (opts.caDir ? await CertificateAuthority.load(opts.caDir, { trustDomain }) : await CertificateAuthority.generate({ trustDomain }));
  const services = [{ definition: istioCertificateService, implementation: certificateServiceHandlers(ca, log.child({ module: 'ca' })) }];
  const xds = new XdsServer({ clock, debounceMs: opts.debounceMs, debounceMaxMs: opts.debounceMaxMs, logger: log.child({ module: 'xds-server' }), services });
  let seq = 0;
  let version = '';
  let snapshot: PushSnapshot | undefined;
  const snapshotHandlers = new Set<(s: PushSnapshot) => void>();
  let lastIssues: ValidationIssue[] = [];
  // what translation could not do as written (security policies, telemetry: tracing and access logs): logged once per change
  let telemetry: ValidationIssue[] = [];
  // jwksUri values are fetched outside translation; a result arriving or changing rebuilds (and pushes) again
  let rebuildSoon: () => void = () => {};
  const jwks = new JwksResolver({ clock, logger: log.child({ module: 'jwks' }), onChange: () => rebuildSoon() });

  // each list logs an issue once when it appears and once when it is gone
  const reportConfigIssues = issueReporter((line) => log.info(`config issue resolved: ${line}`), (i, line) => {
    if (i.severity === 'error') log.error({ file: i.file, document: i.document, path: i.path, code: i.code }, `config issue: ${line} (last good config keeps serving)`);
    else if (i.severity === 'warning') log.warn({ file: i.file, document: i.document, path: i.path, code: i.code }, `config issue: ${line}`);
  });
  const reportIssues = () => {
    lastIssues = store!.issues();
    reportConfigIssues(lastIssues);
  };

  // rebuild passes the objects and JWKS it built with; the debug API reads the store as it is now
  const securityNow = (objects = store!.list(), resolved = jwks.resolve(objects)): ValidationIssue[] => {
    const of = (k: string) => objects.filter((o) => o.kind === k);
    // CUSTOM providers are checked against the mesh config and registry of the snapshot last built
    const s = snapshot;
    const lookup = s ? (h: string) => s.services.find((x) => x.hostname === h) : undefined;
    return securityIssues({ authorizationPolicies: of('AuthorizationPolicy'), requestAuthentications: of('RequestAuthentication'), jwks: resolved, mesh: s?.mesh, domainSuffix: s?.domainSuffix }, lookup);
  };

  const reportTranslationIssues = issueReporter((line) => log.info(`translation issue resolved: ${line}`), (i, line) =>
    log.warn({ kind: i.kind, name: i.name, path: i.path, code: i.code }, `translation issue: ${line}`));

  const rebuild = () => {
    reportIssues();
    const v = `${new Date().toISOString()}/${++seq}`;
    try {
      const objects = store!.list();
      const resolved = jwks.resolve(objects);
      const gen = pipeline.build(objects, v, { jwks: resolved });
      version = v;
      xds.update(v, gen);
      snapshot = gen.snapshot;
      if (snapshot) {
        for (const h of snapshotHandlers) {
          try { h(snapshot); } catch (e) { log.error({ version: v, err: errorMessage(e) }, 'a snapshot listener failed'); }
        }
      }
      try {
        telemetry = gen.issues?.() ?? [];
      } catch (e) {
        log.error({ version: v, err: errorMessage(e) }, 'listing telemetry issues failed');
        telemetry = [];
      }
      reportTranslationIssues([...securityNow(objects, resolved), ...telemetry]);
      log.info({ version: v, objects: objects.length, issues: lastIssues.length }, 'config version built');
    } catch (e) {
      log.error({ version: v, err: errorMessage(e), stack: e instanceof Error ? e.stack : undefined }, 'building the config snapshot failed; the previous config keeps serving');
    }
  };

  rebuildSoon = () => rebuild();
  rebuild();
  const unwatchConfig = store.watch(() => rebuild());
  // A file that turns invalid changes no object (the last good ones keep serving), so there is no config
  // event: stores that can say when their issues change (FileStore.onIssues) get reported at once.
  const unwatchIssues = (store as ConfigStore & { onIssues?: (h: (i: ValidationIssue[]) => void) => () => void }).onIssues?.(() => reportIssues());
  const unwatch = () => { unwatchConfig(); unwatchIssues?.(); };
  let xdsPort: number;
  let debugPort: number;
  let debug: DebugServer;
  try {
    xdsPort = await xds.listen(opts.xdsPort ?? 15010, host);
    debug = createDebugServer({
      xds,
      ready: () => version !== '',
      configz: () => ({
        version,
        objects: store!.list().map((o) => ({ apiVersion: o.apiVersion, kind: o.kind, metadata: o.metadata, spec: o.spec, source: o.source })),
        issues: store!.issues(),
        // what translation could not do as written (CUSTOM, targetRef, JWKS fetch failures naming policy and URI)
        securityIssues: securityNow(),
        // Telemetry / MeshConfig settings that cannot be applied as written: tracing providers (unknown, not zipkin,
        // no such service) and access logging (CEL filters not translated, providers not emitted)
        telemetryIssues: telemetry,
        /** @deprecated the same list under its old name (it always held access-log issues too); removed in the next release */
        tracingIssues: telemetry,
        jwks: jwks.status(),
      }),
    });
    debugPort = await debug.listen(opts.debugPort ?? 15014, host);
  } catch (e) {
    unwatch();
    jwks.close();
    await xds.close();
    if (ownStore) await store.close();
    throw e;
  }
  const s = store;
  return {
    xds, ca, store: s, xdsPort, debugPort, host,
    get version() { return version; },
    get snapshot() { return snapshot; },
    onSnapshot(handler) {
      snapshotHandlers.add(handler);
      return () => { snapshotHandlers.delete(handler); };
    },
    rebuild,
    async close() {
      unwatch();
      snapshotHandlers.clear();
      jwks.close();
      await Promise.all([xds.close(), debug.close()]);
      if (ownStore) await s.close();
    },
  };
}
