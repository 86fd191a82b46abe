/**
 * The verifier log of BPF_PROG_LOAD (kernel/bpf/log.c): attribute checks,
 * the two buffer modes and the ENOSPC rule.
 *
 *  - log_buf and log_size come together; a buffer needs log_level != 0;
 *    log_level is within BPF_LOG_MASK; log_size <= UINT_MAX >> 2. Else -EINVAL.
 *  - Rotating mode (the default since Linux 6.4) keeps the *end* of the log;
 *    BPF_LOG_FIXED keeps the beginning. Either way the buffer is
 *    NUL-terminated and `log_true_size` reports the bytes the whole log needs
 *    at its longest: the verifier's level-1 log shrinks when it rewinds to a
 *    branch point, and Linux sizes the log by its peak (len_max).
 *  - A log that ever outgrew the buffer makes the load fail with -ENOSPC,
 *    whatever the verdict: Linux 6.18's bpf_check() lets the log's ENOSPC
 *    replace the verifier's own error (checked against the kernel by the
 *    verifier corpus test). The verifier hook returns that ENOSPC itself for a
 *    rejected program (`overflowed`); checks before the verifier write lines
 *    far shorter than any buffer a loader passes.
 *
 * Syscall context.
 */
import { Errno } from "../errno.js";

export const BPF_LOG_LEVEL1 = 1;
export const BPF_LOG_LEVEL2 = 2;
export const BPF_LOG_STATS = 4;
export const BPF_LOG_FIXED = 8;
export const BPF_LOG_MASK = BPF_LOG_LEVEL1 | BPF_LOG_LEVEL2 | BPF_LOG_STATS | BPF_LOG_FIXED;

export class VerifierLog {
  private text = "";
  /** The longest the log has been, with its NUL (0: as long as `text`). */
  private peak = 0;
  constructor(
    readonly level: number,
    private readonly buf: Uint8Array | null,
    private readonly size: number,
  ) {}

  /** bpf_verifier_log_attr_valid(): 0 or -EINVAL. */
  static check(level: number, buf: Uint8Array | null | undefined, size: number): number {
    if (!Number.isInteger(level) || !Number.isInteger(size) || size < 0) return -Errno.EINVAL;
    if (!!buf !== size > 0) return -Errno.EINVAL;
    if (buf && level === 0) return -Errno.EINVAL;
    if (level & ~BPF_LOG_MASK) return -Errno.EINVAL;
    if (size > 0xffffffff >>> 2) return -Errno.EINVAL;
    if (buf && buf.length < size) return -Errno.EFAULT;
    return 0;
  }

  /** Appends text (levels are the caller's business: only called when level != 0). */
  write(s: string): void {
    if (this.level) this.text += s;
  }

  /**
   * Records that the log was at some point `n` bytes long with its NUL
   * (VerifierResult.logTrueSize), though less of it is left now.
   */
  noteTrueSize(n: number): void {
    if (this.level && n > this.peak) this.peak = n;
  }

  /** Whether the log ever outgrew the user's buffer (finalize will return -ENOSPC). */
  get overflowed(): boolean {
    return !!this.buf && this.size > 0 && this.trueSize > this.size;
  }

  get contents(): string {
    return this.text;
  }

  /** Bytes the whole log needs, with its NUL (log_true_size). */
  get trueSize(): number {
    return Math.max(this.text.length === 0 ? 0 : this.text.length + 1, this.peak);
  }

  /** Copies the log into the user's buffer. Returns 0, or -ENOSPC if it was cut. */
  finalize(): number {
    if (!this.buf || this.size === 0) return 0;
    const bytes = Uint8Array.from(this.text, (c) => c.charCodeAt(0) & 0xff);
    if (bytes.length < this.size) {
      this.buf.set(bytes);
      this.buf[bytes.length] = 0;
      return this.overflowed ? -Errno.ENOSPC : 0;
    }
    const keep = this.size - 1;
    const part = this.level & BPF_LOG_FIXED ? bytes.subarray(0, keep) : bytes.subarray(bytes.length - keep);
    this.buf.set(part);
    this.buf[keep] = 0;
    return -Errno.ENOSPC;
  }
}
