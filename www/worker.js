// The training worker. The page sends it the wasm module it already compiled (so the module is
// downloaded and compiled once); the module's start function sees a worker scope and serves
// the page's requests from then on.
import init from './convlab-web.js';

self.onmessage = async (event) => {
  self.onmessage = null;
  await init({ module_or_path: event.data });
};
