// examples/bookinfo: details service — the book's facts (as Istio's Bookinfo details v1).
import { serve, instance } from './lib.ts';

serve('details', async (_req, url) => {
  const m = /^\/details\/(\d+)$/.exec(url.pathname);
  if (url.pathname === '/health') return { json: { status: 'Details is healthy' } };
  if (!m) return { status: 404, json: { error: 'please provide numeric product id' } };
  return {
    json: {
      id: Number(m[1]), author: 'William Shakespeare', year: 1595, type: 'paperback', pages: 200,
      publisher: 'PublisherA', language: 'English', 'ISBN-10': '1234567890', 'ISBN-13': '123-1234567890',
      instance,
    },
  };
});
