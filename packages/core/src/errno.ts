/**
 * Linux errno values (asm-generic/errno-base.h, errno.h) and the one error
 * type the API throws.
 */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOSPC: 28,
  ERANGE: 34,
  EDEADLK: 35,
  ENAMETOOLONG: 36,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ELOOP: 40,
  ENOMSG: 42,
  ENODATA: 61,
  EOVERFLOW: 75,
  EBADFD: 77,
  EOPNOTSUPP: 95,
  ENOTSUPP: 524,
} as const;

export type ErrnoName = keyof typeof Errno;

const byNumber = new Map<number, ErrnoName>(
  (Object.entries(Errno) as [ErrnoName, number][]).map(([k, v]) => [v, k]),
);

/** The errno name for a (positive or negative) number, or `E<n>` if unknown. */
export function errnoName(n: number): string {
  return byNumber.get(Math.abs(n)) ?? `E${Math.abs(n)}`;
}

/**
 * The only error type bpfsim's API throws. `errno` is positive (EINVAL = 22);
 * the raw `bpf()` form returns `-errno` instead of throwing.
 */
export class BpfError extends Error {
  readonly errno: number;
  readonly code: string;
  constructor(errno: number | ErrnoName, message?: string) {
    const n = typeof errno === "number" ? Math.abs(errno) : Errno[errno];
    const code = errnoName(n);
    super(message ? `${code}: ${message}` : code);
    this.name = "BpfError";
    this.errno = n;
    this.code = code;
  }
}

/** Throws a BpfError if `ret` is a negative errno, else returns it. */
export function check(ret: number, what?: string): number {
  if (ret < 0) throw new BpfError(-ret, what);
  return ret;
}
