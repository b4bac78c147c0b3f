// bench/proxy: the nginx baselines for the proxy benchmark (issue 3) — the single reverse proxy, and the plaintext
// nginx pair (wrk -> nginx A -> nginx B -> backend) that is the apples-to-apples baseline for two sidecars.
import { nginxHead } from './tls-nginx.ts';

/**
 * One reverse proxy as issue 3 describes nginx: one worker, access_log off, upstream keepalive (512: enough idle
 * upstream connections for c=200; with 64 nginx reconnected per request past 64), X-Request-Id set, one response
 * header added. `listenH2` adds an h2c listener (prior knowledge) for the h2load rows.
 */
export function nginxProxyConf(dir: string, listen: number, listenH2: number | undefined, upstream: number): string {
  return nginxHead(dir) + `  upstream backend { server 127.0.0.1:${upstream}; keepalive 512; }
  server {
    listen 127.0.0.1:${listen};
${listenH2 !== undefined ? `    listen 127.0.0.1:${listenH2} http2;\n` : ''}    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Request-Id $request_id;
      add_header X-Upstream-Service-Time $upstream_response_time;
    }
  }
}
`;
}

export interface NginxPairPorts { a: number; aH2: number; b: number }

/**
 * The plaintext pair: A (the client sidecar's place: h1 and h2c listeners) proxies to B (the server sidecar's
 * place), B to the backend. Both run the single nginx's configuration unchanged, so the pair costs what two of
 * the reference proxies cost — what two sidecars should be compared with. A -> B is HTTP/1.1 with keepalive
 * (nginx cannot proxy to an h2 upstream), as the sidecars' hop is for an `http` port.
 */
export function nginxPairConfs(dirA: string, dirB: string, p: NginxPairPorts, backendPort: number): { a: string; b: string } {
  return { a: nginxProxyConf(dirA, p.a, p.aH2, p.b), b: nginxProxyConf(dirB, p.b, undefined, backendPort) };
}
