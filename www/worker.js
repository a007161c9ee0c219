// The training worker, or one of its helpers. Its first message (from the page's
// `start_worker`) carries the CPU-only wasm module the page already compiled, so that module is downloaded and compiled once, and
// whether it may use WebGPU (not when the student chose the CPU). Where it may and the browser
// gives an adapter, the worker runs the WebGPU build instead (convlab-web-gpu, which has the CPU
// backend too: burn-wgpu's kernel compiler is most of it, so browsers without WebGPU never
// download it). Otherwise, or if that build fails to load, it
// runs the CPU module and leaves the reason in `convlabCpuReason`, which the backend badge
// shows. Either module's start function sees a worker scope and serves the page from then on.
// A helper (first message `helper: true`, from the training worker) runs the CPU module and
// computes its share of each batch's gradients for the training worker.
// A worker that dies must say so: an error or a rejected promise that reaches this scope (a
// wasm trap, an out-of-memory abort, a failed import) becomes the page's `crashed` reply (the
// typed FromWorker::Crashed), and the page starts a fresh worker. A Rust panic is reported
// by the module's own panic hook first.
const crashed = (message) => {
  const who = self.convlabHelper ? 'the helper worker' : 'the training worker';
  self.postMessage({ reply: 'crashed', data: { message: `${who} stopped: ${message}` } });
};
self.addEventListener('error', (event) => crashed(event.message || String(event.error)));
self.addEventListener('unhandledrejection', (event) => crashed(String(event.reason)));

// burn-wgpu asks for its device inside the WebGPU module; keep it and watch its `lost`
// promise (a GPU reset, a driver crash, destroy()), whose reason the worker reports.
if (self.GPUAdapter) {
  const requestDevice = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (...args) {
    const device = await requestDevice.apply(this, args);
    self.convlabGpuDevice = device;
    device.lost.then((info) => {
      self.convlabGpuLost ??= info.message ? `${info.reason}: ${info.message}` : `${info.reason}`;
    });
    return device;
  };
}

self.onmessage = async (event) => {
  self.onmessage = null;
  const { module, webgpu, helper } = event.data;
  // The training worker starts its helpers (one per further core, for the CPU backend) with
  // this same module.
  self.convlabCpuModule = module;
  if (helper) {
    self.convlabHelper = true;
  } else if (!webgpu) {
    self.convlabCpuReason = 'the CPU was chosen when the page opened; reload to use WebGPU';
  } else if (await self.navigator.gpu?.requestAdapter().catch(() => null)) {
    try {
      const gpu = await import('./convlab-web-gpu.js');
      await gpu.default({ module_or_path: new URL('convlab-web-gpu_bg.wasm', import.meta.url) });
      return;
    } catch (error) {
      console.error('convlab: the WebGPU module did not load; training on the CPU', error);
      self.convlabCpuReason = `convlab's WebGPU module did not load: ${error}`;
    }
  }
  const cpu = await import('./convlab-web-cpu.js');
  await cpu.default({ module_or_path: module });
};
