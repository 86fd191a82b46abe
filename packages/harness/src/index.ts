export * from "./machine/machine.js";
export * from "./machine/hooks.js";
export * from "./machine/rng.js";
export * from "./machine/cpus-stepped.js";
export * from "./sources/packets.js";
export * from "./sources/rss.js";
export * from "./sources/tracing.js";
export * from "./perf/perf-buffer.js";
