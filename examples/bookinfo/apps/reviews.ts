// examples/bookinfo: reviews service — v1 shows no stars, v2 black stars, v3 red stars (set by $VERSION), calling
// ratings for v2/v3 with a 10 s timeout, as Istio's Bookinfo reviews does.
import { serve, get, propagate, instance } from './lib.ts';

const version = process.env.VERSION ?? 'v1';
const ratingsUrl = process.env.RATINGS_URL ?? 'http://ratings:9080';
const withRatings = version !== 'v1';
const color = version === 'v3' ? 'red' : 'black';

serve(`reviews-${version}`, async (req, url) => {
  if (url.pathname === '/health') return { json: { status: 'Reviews is healthy' } };
  const m = /^\/reviews\/(\d+)$/.exec(url.pathname);
  if (!m) return { status: 404, json: { error: 'please provide numeric product id' } };
  const id = Number(m[1]);
  const reviews: { reviewer: string; text: string; rating?: { stars?: number; color?: string; error?: string } }[] = [
    { reviewer: 'Reviewer1', text: 'An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!' },
    { reviewer: 'Reviewer2', text: 'Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare.' },
  ];
  if (withRatings) {
    try {
      const r = await get(`${ratingsUrl}/ratings/${id}`, propagate(req), 10_000);
      if (r.status !== 200) throw new Error(`ratings answered ${r.status}`);
      const body = JSON.parse(r.body) as { ratings: Record<string, number> };
      for (const rev of reviews) rev.rating = { stars: body.ratings[rev.reviewer], color };
    } catch (e) {
      console.error(`ratings call failed: ${(e as Error).message}`);
      for (const rev of reviews) rev.rating = { error: 'Ratings service is currently unavailable' };
    }
  }
  return { json: { id, podname: instance, clustername: 'null', version, reviews } };
});
