export {};
export * from "./asm/index.js";
