/** The reference interpreter engine. */
export * from "./interpreter.js";
export { VmState, VM_EXITED, VM_PAUSED, VM_TAILCALL } from "./state.js";
export { predecode, type Predecoded } from "./predecode.js";
