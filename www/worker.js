// The training worker. The page sends it the CPU-only wasm module it already compiled (so that
// module is downloaded and compiled once) and whether the browser has a WebGPU adapter. With
// one, the worker runs the WebGPU build instead (convlab-web-gpu: burn-wgpu's kernel compiler
// is three quarters of it, so pages without WebGPU never download it); if that build fails to
// load, it runs the CPU module and leaves the reason where the Rust side reports it. Either
// module's start function sees a worker scope and serves the page's requests from then on.
self.onmessage = async (event) => {
  self.onmessage = null;
  const { module, webgpu } = event.data;
  if (webgpu) {
    try {
      const gpu = await import('./convlab-web-gpu.js');
      await gpu.default({ module_or_path: new URL('convlab-web-gpu_bg.wasm', import.meta.url) });
      return;
    } catch (error) {
      console.error('convlab: the WebGPU module did not load; training on the CPU', error);
      self.convlabGpuModuleError = String(error);
    }
  }
  const cpu = await import('./convlab-web.js');
  await cpu.default({ module_or_path: module });
};
