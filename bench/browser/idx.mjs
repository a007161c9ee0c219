// One gzipped IDX file (Fashion-MNIST's format) fetched and parsed, for the bench's library
// pages (tfjs.html, jaxjs.html): its shape and its bytes after the header.
export async function idx(url) {
  const response = await fetch(url);
  const stream = response.body.pipeThrough(new DecompressionStream('gzip'));
  const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  const dims = bytes[3];
  const view = new DataView(bytes.buffer);
  const shape = [...Array(dims).keys()].map((i) => view.getUint32(4 + 4 * i));
  return { shape, values: bytes.subarray(4 + 4 * dims) };
}
