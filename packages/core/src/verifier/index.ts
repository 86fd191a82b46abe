/**
 * The eBPF verifier: Linux's model of program safety (control flow, register
 * types and bounds, stack, pointers, helpers, references, bounded loops,
 * state pruning) with Linux's verdicts, errno values and log wording.
 */
export { verify } from "./verifier.js";
export type { VerifierEnv, VerifierResult, MapInfo, InsnFacts } from "./env.js";
export { disasm } from "./disasm.js";
export { decodeInsns, type Insn } from "./insn.js";
