/**
 * Helpers with a numeric form (the clock reads: bpf_ktime_get_ns,
 * bpf_ktime_get_coarse_ns, bpf_ktime_get_boot_ns) cross from JIT code with
 * no BigInt when the machine clock offers a number reading; the value is
 * the same clock's, as the interpreter sees it. A clock without one (a
 * stepped machine's), or a CPU whose helper was replaced, takes the regular
 * call.
 */
import { describe, expect, it } from "vitest";
import { KERNEL_OWNER, Kernel, getEngine, hostClock, kernelHelperEnv, nowNs, progCpuContext, type CpuContext, type MachineClock } from "@bpfsim/core";
import { assemble } from "@bpfsim/loader";

const KTIME = 5;
const KTIME_BOOT = 125;
const KTIME_COARSE = 160;

function setup(clock: MachineClock) {
  const k = Kernel.create({ ncpus: 1, size: 16 * 1024 * 1024 });
  k.arena.alloc(64, KERNEL_OWNER);
  const cpu = progCpuContext(k, 0, kernelHelperEnv(k, () => undefined, clock));
  return { k, cpu };
}

const run = (engine: "jit" | "interpreter", src: string, k: Kernel, cpu: CpuContext): bigint =>
  getEngine(engine)!.compile({ insns: assemble(src), progType: 0, name: "t" }, k.arena).run(0n, cpu);

describe("JIT helpers with a numeric form", () => {
  it.each([KTIME, KTIME_BOOT, KTIME_COARSE])("helper %i reads the host clock, non-decreasing, on both engines", (id) => {
    const { k, cpu } = setup(hostClock);
    for (const engine of ["jit", "interpreter"] as const) {
      const before = nowNs();
      const t = run(engine, `call ${id}\nexit`, k, cpu);
      const after = nowNs();
      expect(t >= before && t <= after).toBe(true);
      // Two reads in a row never go back: r0 = second - first, as a signed value >= 0.
      const d = BigInt.asIntN(64, run(engine, `call ${id}\nmov %r6, %r0\ncall ${id}\nsub %r0, %r6\nexit`, k, cpu));
      expect(d >= 0n).toBe(true);
    }
  });

  it("a clock without a number reading (stepped machine) gives its own value through the regular call", () => {
    const sim: MachineClock = { monoNs: () => 123_456_789_012_345_678n, bootNs: () => 5n, taiNs: () => 6n, hz: 250 };
    const { k, cpu } = setup(sim);
    expect(run("jit", `call ${KTIME}\nexit`, k, cpu)).toBe(123_456_789_012_345_678n);
    expect(run("jit", `call ${KTIME_BOOT}\nexit`, k, cpu)).toBe(5n);
  });

  it("a number reading of 2^53 or more takes the regular call (a double would round it)", () => {
    const big = 2n ** 60n + 1n;
    const clock: MachineClock = { monoNs: () => big, bootNs: () => big, taiNs: () => big, hz: 250, monoNsNum: () => Number(big), bootNsNum: () => Number(big) };
    const { k, cpu } = setup(clock);
    expect(run("jit", `call ${KTIME}\nexit`, k, cpu)).toBe(big);
  });

  it("a CPU whose helper was replaced calls the replacement", () => {
    const { k, cpu } = setup(hostClock);
    const helpers = [...cpu.helpers];
    helpers[KTIME] = () => 42n;
    expect(run("jit", `call ${KTIME}\nexit`, k, { ...cpu, helpers })).toBe(42n);
  });
});
