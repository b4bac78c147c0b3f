// examples/bookinfo: productpage — the front end. Calls details and reviews (3 s timeout, reviews tried twice, as
// Istio's productpage), shows which reviews instance answered, and sends `end-user` for a signed-in user.
import type http from 'node:http';
import { serve, get, propagate, instance } from './lib.ts';

const detailsUrl = process.env.DETAILS_URL ?? 'http://details:9080';
const reviewsUrl = process.env.REVIEWS_URL ?? 'http://reviews:9080';

interface Review { reviewer: string; text: string; rating?: { stars?: number; color?: string; error?: string } }
interface Reviews { podname?: string; version?: string; reviews: Review[] }

function userOf(req: http.IncomingMessage, url: URL): string | undefined {
  const q = url.searchParams.get('u');
  if (q) return q;
  const m = /(?:^|;\s*)user=([^;]+)/.exec(req.headers.cookie ?? '');
  return m ? decodeURIComponent(m[1]) : undefined;
}

async function details(headers: Record<string, string>, id: number): Promise<Record<string, unknown> | { error: string }> {
  try {
    const r = await get(`${detailsUrl}/details/${id}`, headers, 3000);
    if (r.status !== 200) return { error: `Sorry, product details are currently unavailable for this book. (details answered ${r.status})` };
    return JSON.parse(r.body) as Record<string, unknown>;
  } catch (e) {
    return { error: `Sorry, product details are currently unavailable for this book. (${(e as Error).message})` };
  }
}

async function reviews(headers: Record<string, string>, id: number): Promise<Reviews | { error: string }> {
  let last = '';
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const r = await get(`${reviewsUrl}/reviews/${id}`, headers, 3000);
      if (r.status === 200) return JSON.parse(r.body) as Reviews;
      last = `reviews answered ${r.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
  }
  return { error: `Sorry, product reviews are currently unavailable for this book. (${last})` };
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]!));

function page(user: string | undefined, d: Record<string, unknown> | { error: string }, r: Reviews | { error: string }): string {
  const det = 'error' in d ? `<p class="error">${esc(String(d.error))}</p>`
    : `<dl>${['type', 'pages', 'publisher', 'language', 'ISBN-10', 'ISBN-13'].map((k) => `<dt>${k}</dt><dd>${esc(String(d[k]))}</dd>`).join('')}</dl>`;
  const rev = 'error' in r ? `<p class="error">${esc(r.error)}</p>`
    : r.reviews.map((x) => {
      const stars = x.rating?.stars !== undefined
        ? `<span class="stars" style="color:${x.rating.color}">${'★'.repeat(x.rating.stars)}${'☆'.repeat(5 - x.rating.stars)}</span>`
        : x.rating?.error ? `<span class="error">${esc(x.rating.error)}</span>` : '';
      return `<blockquote><p>${esc(x.text)}</p><small>${esc(x.reviewer)}</small> ${stars}</blockquote>`;
    }).join('') + `<p class="served-by">Reviews served by: <b>${esc(r.podname ?? '?')}</b> (${esc(r.version ?? '?')})</p>`;
  return `<!doctype html><html><head><title>Simple Bookstore App</title></head><body>
<header>BookInfo Sample ${user ? `— signed in as <b>${esc(user)}</b> <a href="/logout">sign out</a>` : '<form method="post" action="/login" style="display:inline"><input name="username" placeholder="user"><button>Sign in</button></form>'}</header>
<h1>The Comedy of Errors</h1>
<section><h2>Book Details</h2>${det}</section>
<section><h2>Book Reviews</h2>${rev}</section>
<footer>productpage ${esc(instance)}</footer></body></html>`;
}

serve('productpage', async (req, url) => {
  const headers = propagate(req);
  const user = userOf(req, url);
  if (user) headers['end-user'] = user;
  switch (url.pathname) {
    case '/':
      return { html: '<a href="/productpage">Normal user</a> | <a href="/productpage?u=jason">Test user (jason)</a>' };
    case '/health':
      return { json: { status: 'Product page is healthy' } };
    case '/login': {
      const body = await new Promise<string>((res) => { let s = ''; req.on('data', (c) => (s += c)); req.on('end', () => res(s)); });
      const name = new URLSearchParams(body).get('username') ?? 'jason';
      return { status: 302, html: '', headers: { location: '/productpage', 'set-cookie': `user=${encodeURIComponent(name)}; Path=/` } };
    }
    case '/logout':
      return { status: 302, html: '', headers: { location: '/productpage', 'set-cookie': 'user=; Path=/; Max-Age=0' } };
    case '/productpage': {
      const [d, r] = await Promise.all([details(headers, 0), reviews(headers, 0)]);
      return { html: page(user, d, r) };
    }
    case '/api/v1/products':
      return { json: [{ id: 0, title: 'The Comedy of Errors' }] };
    case '/api/v1/products/0':
      return { json: await details(headers, 0) };
    case '/api/v1/products/0/reviews':
      return { json: await reviews(headers, 0) };
    default:
      return { status: 404, json: { error: 'not found' } };
  }
});
