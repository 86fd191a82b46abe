import { describe, expect, it } from "vitest";
import { BpfError, Errno } from "@bpfsim/core";
import { reviveError, serialising, serializeError } from "./protocol.js";

describe("errors across the control plane", () => {
  it("keep errno, name and message, and the worker's stack", () => {
    const e = new BpfError(Errno.EBUSY, "hook busy");
    const s = structuredClone(serializeError(e)); // what postMessage would carry
    const back = reviveError(s);
    expect(back).toBeInstanceOf(BpfError);
    expect(back.errno).toBe(Errno.EBUSY);
    expect(back.message).toBe("EBUSY: hook busy");
    expect(back.stack).toContain("in CPU worker");
  });

  it("turn a non-BpfError into EIO, keeping its message", () => {
    const back = reviveError(structuredClone(serializeError(new TypeError("boom"))));
    expect(back.errno).toBe(Errno.EIO);
    expect(back.name).toBe("TypeError");
    expect(back.message).toContain("boom");
  });

  it("wrap every method so it rejects with a serialised error", async () => {
    const api = serialising({
      async ok() {
        return 1;
      },
      async bad(): Promise<number> {
        throw new BpfError(Errno.ENOENT, "no such program");
      },
    });
    await expect(api.ok()).resolves.toBe(1);
    await expect(api.bad()).rejects.toMatchObject({ __bpfsimError: true, errno: Errno.ENOENT });
  });
});
