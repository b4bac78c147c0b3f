// bench/proxy: the nginx baseline for the mesh path with mTLS (issue 3) — nginx A (plaintext listener, like the
// client sidecar) -> nginx B over mutual TLS (like the server sidecar) -> backend, certificates from src/ca.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CertificateAuthority } from '../../src/ca/index.ts';

export interface TlsPairFiles { root: string; serverChain: string; serverKey: string; clientChain: string; clientKey: string }

/** Workload certificates for both nginx legs from a fresh CA (SPIFFE URI SANs, as the sidecars get). */
export async function writeTlsPairCerts(dir: string): Promise<TlsPairFiles> {
  const ca = await CertificateAuthority.generate();
  const server = await ca.issue({ namespace: 'default', serviceAccount: 'backend' });
  const client = await ca.issue({ namespace: 'default', serviceAccount: 'client' });
  const f: TlsPairFiles = {
    root: join(dir, 'root.pem'), serverChain: join(dir, 'server.pem'), serverKey: join(dir, 'server-key.pem'),
    clientChain: join(dir, 'client.pem'), clientKey: join(dir, 'client-key.pem'),
  };
  writeFileSync(f.root, ca.rootCertPem());
  writeFileSync(f.serverChain, server.certChain.join(''));
  writeFileSync(f.serverKey, server.privateKeyPem, { mode: 0o600 });
  writeFileSync(f.clientChain, client.certChain.join(''));
  writeFileSync(f.clientKey, client.privateKeyPem, { mode: 0o600 });
  return f;
}

/** The nginx.conf preamble every bench nginx shares (one worker, temp paths under `dir`); the caller closes `http {`. */
export const nginxHead = (dir: string): string => `worker_processes 1;
daemon off;
error_log ${dir}/error.log warn;
pid ${dir}/nginx.pid;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
`;

/**
 * nginx A: plaintext listener, upstream nginx B over TLS with a client certificate. A does not verify B's
 * certificate: nginx's proxy_ssl_verify also checks a host name, and workload certificates carry only a SPIFFE
 * URI SAN. (Verification costs per handshake only; with keepalive and session reuse handshakes are rare.)
 */
export function nginxClientConf(dir: string, listen: number, serverPort: number, f: TlsPairFiles): string {
  return nginxHead(dir) + `  upstream mesh_server { server 127.0.0.1:${serverPort}; keepalive 512; }
  server {
    listen 127.0.0.1:${listen};
    location / {
      proxy_pass https://mesh_server;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Request-Id $request_id;
      proxy_ssl_certificate ${f.clientChain};
      proxy_ssl_certificate_key ${f.clientKey};
      proxy_ssl_trusted_certificate ${f.root};
      proxy_ssl_verify off;
      proxy_ssl_session_reuse on;
      proxy_ssl_protocols TLSv1.2 TLSv1.3;
      add_header X-Upstream-Service-Time $upstream_response_time;
    }
  }
}
`;
}

/** nginx B: TLS listener requiring a client certificate signed by the mesh root (mutual TLS), upstream the backend. */
export function nginxServerConf(dir: string, listen: number, backendPort: number, f: TlsPairFiles): string {
  return nginxHead(dir) + `  upstream backend { server 127.0.0.1:${backendPort}; keepalive 512; }
  server {
    listen 127.0.0.1:${listen} ssl;
    ssl_certificate ${f.serverChain};
    ssl_certificate_key ${f.serverKey};
    ssl_client_certificate ${f.root};
    ssl_verify_client on;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:SSL:1m;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}
