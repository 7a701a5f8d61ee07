import { setFlagsFromString } from 'node:v8';

/**
 * Turns off V8's garbage collection of WebAssembly code, before PGlite's module is compiled.
 * The V8 of Node.js 24.21 can abort the whole process ("Check failed:
 * jit_page_->allocations_.erase(addr) == 1", in ThreadIsolation::UnregisterWasmAllocation)
 * when it frees wasm code that tier-up replaced, on a background thread; seen in the test
 * suite, where many embedded databases open and close in one process. Without code GC that
 * code is never freed one piece at a time. PGlite is one module, so what is kept is a few
 * MB. V8 flags are per process and this one is read when a code GC would start, so setting
 * it at run time takes effect; calling it again is harmless.
 */
export function keepWasmCode(): void {
  setFlagsFromString('--no-wasm-code-gc');
}
