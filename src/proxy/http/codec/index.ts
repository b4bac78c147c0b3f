// proxy/http/codec: public surface of the strict HTTP/1.1 codec.
export * from './head.ts';
export { parseRequestHead, parseResponseHead } from './parser.ts';
export { ChunkedDecoder, chunkHeader, CHUNK_TAIL, lastChunk, encodeChunked, type DataSink } from './chunked.ts';
export { forwardHeaders, serializeRequestHead, serializeResponseHead, reasonPhrase } from './serialize.ts';
export { parseContentLength, listTokens, validAuthority } from './fields.ts';
