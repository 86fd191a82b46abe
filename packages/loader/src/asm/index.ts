/** Assembler, disassembler and conformance `.data` parser. */
export * from "./assembler.js";
export * from "./disassembler.js";
export * from "./llvm-syntax.js";
export * from "./data-file.js";
export * from "./conformance-runner.js";
export * from "./llvm-parse.js";
