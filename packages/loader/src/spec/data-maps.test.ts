import { describe, expect, it } from "vitest";
import { internalMapName } from "./data-maps.js";
import { adjustRingbufSize } from "./btf-maps.js";

describe("internalMapName (libbpf's naming of global data maps)", () => {
  it("keeps 8 characters of the object name before a short section name", () => {
    expect(internalMapName("my_object_name", ".rodata")).toBe("my_objec.rodata");
    expect(internalMapName("my_object_name", ".bss")).toBe("my_objec.bss");
    expect(internalMapName("my_object_name", ".kconfig")).toBe("my_obje.kconfig");
    expect(internalMapName("globals", ".data")).toBe("globals.data");
  });
  it("uses custom section names alone, truncated to 15 characters", () => {
    expect(internalMapName("prog", ".data.custom")).toBe(".data.custom");
    expect(internalMapName("prog", ".rodata.abracadabra")).toBe(".rodata.abracad");
  });
  it("replaces characters the kernel refuses", () => {
    expect(internalMapName("a-b c", ".data")).toBe("a_b_c.data");
  });
  it("works without an object name", () => {
    expect(internalMapName("", ".rodata")).toBe(".rodata");
  });
});

describe("adjustRingbufSize", () => {
  it("rounds up to a power-of-2 number of pages, leaves valid sizes and 0 alone", () => {
    expect(adjustRingbufSize(0)).toBe(0);
    expect(adjustRingbufSize(1)).toBe(4096);
    expect(adjustRingbufSize(4096)).toBe(4096);
    expect(adjustRingbufSize(10000)).toBe(16384);
    expect(adjustRingbufSize(3 * 4096)).toBe(16384);
    expect(adjustRingbufSize(1 << 28)).toBe(1 << 28);
  });
});
