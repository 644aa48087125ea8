// A worker of the SIMD kernel pool (see pool.ts), for Node's worker_threads and browser Web
// Workers alike. Plain JavaScript with no imports, so that it loads as it is in any host.
//
// It receives { module, memory, control, threadIndex }, instantiates the kernels against the
// shared memory, answers 'ready', then blocks on the control block: each new generation names a
// kernel and a job address; the worker runs its share of the job (work items come from the job's
// atomic counter), counts itself done and blocks again. It never returns to the event loop until
// the pool sets STOP.
const GEN = 0;
const KERNEL = 1;
const JOB = 2;
const DONE = 3;
const STOP = 4;
const ERRORS = 5;
const KERNELS = ['igemm_run', 'dw_run', 'layer_norm_run', 'layer_norm_grad_run'];

async function start(port, msg) {
  const { module, memory, control } = msg;
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  const ctrl = new Int32Array(control);
  // Read the generation before saying 'ready': the pool may publish its first job as soon as it
  // hears 'ready', and a generation read after that would already include the job, which this
  // worker would then wait past forever (and the caller with it).
  let gen = Atomics.load(ctrl, GEN);
  port.postMessage('ready');
  for (;;) {
    Atomics.wait(ctrl, GEN, gen);
    gen = Atomics.load(ctrl, GEN);
    if (Atomics.load(ctrl, STOP)) break;
    try {
      instance.exports[KERNELS[Atomics.load(ctrl, KERNEL)]](Atomics.load(ctrl, JOB));
    } catch {
      Atomics.add(ctrl, ERRORS, 1);
    }
    Atomics.add(ctrl, DONE, 1);
    Atomics.notify(ctrl, DONE);
  }
  port.postMessage('stopped');
}

if (typeof process !== 'undefined' && process.versions?.node) {
  const { parentPort } = await import('node:worker_threads');
  parentPort.once('message', (msg) => start(parentPort, msg));
} else {
  self.addEventListener('message', (e) => start(self, e.data), { once: true });
}
