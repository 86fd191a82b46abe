export * from "./machine/machine.js";
export * from "./machine/hooks.js";
export * from "./machine/rng.js";
export * from "./machine/cpus-stepped.js";
