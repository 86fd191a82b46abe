export * from "./protocol.js";
export * from "./run-loop.js";
export * from "./stepped-runner.js";
export * from "./cpu-context.js";
export * from "./ctx-build.js";
export * from "./endpoint.js";

/** URL of the built worker entry (from src/ or dist/ alike: workers always load built JS), for `new Worker(cpuWorkerUrl, ...)`. */
export const cpuWorkerUrl: URL = new URL("../dist/worker.js", import.meta.url);
