/**
 * A rejection: the errno Linux returns and the log line it prints. Thrown
 * inside the verifier and turned into a `VerifierResult` by `verify`.
 */
import type { ErrnoName } from "../errno.js";

export class VerifierError extends Error {
  constructor(
    readonly errnoName: ErrnoName,
    readonly logMessage: string,
    readonly insn: number,
    /** Lines the kernel prints after the message (loop states), and whether the message lacks its newline. */
    readonly trailer: string[] = [],
    readonly noNewline = false,
  ) {
    super(logMessage);
    this.name = "VerifierError";
  }
}
