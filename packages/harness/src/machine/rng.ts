/**
 * A small seeded PRNG (mulberry32): every random choice the machine makes —
 * the stepped scheduler's, the event sources' — comes from one of these, so a
 * run is reproducible from its seed.
 */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform u32. */
  u32(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor((this.u32() / 0x100000000) * n);
  }
  /** Uniform float in [0, 1). */
  float(): number {
    return this.u32() / 0x100000000;
  }
  /** A derived generator (independent stream for a sub-component). */
  fork(tag: number): Rng {
    return new Rng(Math.imul(this.u32() ^ tag, 0x9e3779b1));
  }
}
