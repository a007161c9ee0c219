// Counts what a trainer asks of WebGPU, for bench.mjs's per-step cost table: compute dispatches,
// queue submits, bytes written from the CPU, buffers / pipelines / shader modules / bind groups
// created, and read-backs (mapAsync). Installed before the trainer runs: in a page through
// Playwright's addInitScript (TF.js, jax-js), in convlab's worker by prepending it to worker.js.
// The prototypes are wrapped, so every caller is seen, whichever library or binding it uses.
// `globalThis.gpuCount` holds the running totals; `gpuCountMarks` a copy of them at each mark.
(() => {
  if (!globalThis.GPUDevice || globalThis.gpuCount) return;
  const count = (globalThis.gpuCount = {
    dispatches: 0,
    submits: 0,
    commandBuffers: 0,
    writes: 0,
    bytesWritten: 0,
    buffers: 0,
    bufferBytes: 0,
    pipelines: 0,
    shaderModules: 0,
    bindGroups: 0,
    copies: 0,
    readBacks: 0,
  });
  const marks = (globalThis.gpuCountMarks = []);
  globalThis.gpuCountMark = (label) => marks.push({ label, ...count });

  const wrap = (proto, name, counter) => {
    const original = proto?.[name];
    if (typeof original !== 'function') return;
    proto[name] = function (...args) {
      counter(...args);
      return original.apply(this, args);
    };
  };
  // writeBuffer's offset and size are in elements for a typed array, in bytes for an
  // ArrayBuffer or DataView.
  const written = (data, dataOffset = 0, size) => {
    const element = data.BYTES_PER_ELEMENT ?? 1;
    const total = data.byteLength / element;
    return (size ?? total - dataOffset) * element;
  };
  wrap(GPUComputePassEncoder.prototype, 'dispatchWorkgroups', () => count.dispatches++);
  wrap(GPUComputePassEncoder.prototype, 'dispatchWorkgroupsIndirect', () => count.dispatches++);
  wrap(GPUQueue.prototype, 'submit', (buffers) => {
    count.submits++;
    count.commandBuffers += buffers?.length ?? 0;
  });
  wrap(GPUQueue.prototype, 'writeBuffer', (_buffer, _offset, data, dataOffset, size) => {
    count.writes++;
    count.bytesWritten += written(data, dataOffset, size);
  });
  wrap(GPUQueue.prototype, 'writeTexture', (_destination, data) => {
    count.writes++;
    count.bytesWritten += data.byteLength;
  });
  wrap(GPUDevice.prototype, 'createBuffer', (descriptor) => {
    count.buffers++;
    count.bufferBytes += descriptor?.size ?? 0;
  });
  wrap(GPUDevice.prototype, 'createComputePipeline', () => count.pipelines++);
  wrap(GPUDevice.prototype, 'createComputePipelineAsync', () => count.pipelines++);
  wrap(GPUDevice.prototype, 'createRenderPipeline', () => count.pipelines++);
  wrap(GPUDevice.prototype, 'createRenderPipelineAsync', () => count.pipelines++);
  wrap(GPUDevice.prototype, 'createShaderModule', () => count.shaderModules++);
  wrap(GPUDevice.prototype, 'createBindGroup', () => count.bindGroups++);
  wrap(GPUCommandEncoder.prototype, 'copyBufferToBuffer', () => count.copies++);
  wrap(GPUBuffer.prototype, 'mapAsync', () => count.readBacks++);

  // In convlab's worker: a mark at each batch report and epoch end the worker posts, so the
  // bench reads per-step costs between reports; the marks go to the console at the test result.
  if (globalThis.WorkerGlobalScope && self instanceof WorkerGlobalScope) {
    const post = self.postMessage.bind(self);
    self.postMessage = (message, ...rest) => {
      const event = message?.reply === 'training' ? message.data : undefined;
      if (event?.event === 'batch') globalThis.gpuCountMark({ epoch: event.epoch, batch: event.batch });
      if (event?.event === 'epoch') globalThis.gpuCountMark({ epochEnd: event.epoch });
      if (message?.reply === 'tested') console.debug(`convlab gpu-count: ${JSON.stringify(marks)}`);
      return post(message, ...rest);
    };
  }
})();
