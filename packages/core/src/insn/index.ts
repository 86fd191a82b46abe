/** Instruction encoding, decoding and the opcode metadata table. */
export * from "./opcodes.js";
export * from "./opcode-table.js";
export * from "./codec.js";
