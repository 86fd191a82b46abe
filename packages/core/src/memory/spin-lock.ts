/**
 * Spin locks on one i32 word of the arena: the model of the kernel's
 * `struct bpf_spin_lock` (4 bytes, 0 = unlocked) and of bucket locks.
 *
 * Who may call: any thread — syscall on a user thread, program on a CPU.
 * Critical sections are short (a bucket splice, a value copy), so a waiter
 * spins a while and then sleeps on the word with Atomics.wait, which Node
 * allows on every thread. Release is a store with release semantics
 * (Atomics.store is sequentially consistent) followed by a notify only if
 * someone slept (word == 2), like a futex-based mutex.
 *
 * Word states: 0 unlocked, 1 locked, 2 locked with sleepers.
 */

/**
 * Spin rounds before sleeping. Round r reads the word up to 2^min(r, 6)
 * times (exponential backoff; reading only, so waiters do not keep taking
 * the word's cache line from the holder), then tries once. The rounds add
 * up to a few microseconds, many times a bucket splice, so a holder that is
 * running gets through without anyone sleeping. Sleeping pays off only when
 * the holder is off its core (more threads than cores); a too-early sleep
 * costs a notify on every later unlock (the word stays 2) and a wake-up.
 */
const SPIN_ROUNDS = 24;

/** Acquire the lock at byte offset `off` (4-byte aligned) of `i32`'s buffer. */
export function spinLock(i32: Int32Array, off: number): void {
  const w = off >>> 2;
  if (Atomics.compareExchange(i32, w, 0, 1) === 0) return;
  for (let r = 0; r < SPIN_ROUNDS; r++) {
    const reads = 1 << (r < 6 ? r : 6);
    for (let i = 0; i < reads; i++) if (Atomics.load(i32, w) === 0) break;
    if (Atomics.load(i32, w) === 0 && Atomics.compareExchange(i32, w, 0, 1) === 0) return;
  }
  // Slow path: mark contended and sleep until the holder notifies.
  while (Atomics.exchange(i32, w, 2) !== 0) {
    Atomics.wait(i32, w, 2, 1);
  }
}

/** Try once; true if acquired. */
export function spinTryLock(i32: Int32Array, off: number): boolean {
  return Atomics.compareExchange(i32, off >>> 2, 0, 1) === 0;
}

/** Release the lock at byte offset `off`. */
export function spinUnlock(i32: Int32Array, off: number): void {
  const w = off >>> 2;
  if (Atomics.exchange(i32, w, 0) === 2) Atomics.notify(i32, w, 1);
}
