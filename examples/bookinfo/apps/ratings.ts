// examples/bookinfo: ratings service — star ratings per reviewer (as Istio's Bookinfo ratings v1).
import { serve, instance } from './lib.ts';

serve('ratings', async (_req, url) => {
  if (url.pathname === '/health') return { json: { status: 'Ratings is healthy' } };
  const m = /^\/ratings\/(\d+)$/.exec(url.pathname);
  if (!m) return { status: 404, json: { error: 'please provide numeric product id' } };
  return { json: { id: Number(m[1]), ratings: { Reviewer1: 5, Reviewer2: 4 }, instance } };
});
