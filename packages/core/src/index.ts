export * from "./errno.js";
export * from "./uapi.js";
export * from "./memory/arena-api.js";
export * from "./maps/map-ops.js";
export * from "./exec/engine.js";
export * from "./memory/spin-lock.js";
export * from "./maps/registry.js";
