/**
 * comlink's `Endpoint` over a Node.js MessagePort or Worker (comlink ships
 * one for Node, but only as a UMD file TypeScript cannot type under NodeNext).
 */
import type { Endpoint } from "comlink";

interface NodePort {
  postMessage(message: unknown, transfer?: readonly unknown[]): void;
  on(event: "message", listener: (data: unknown) => void): unknown;
  off(event: "message", listener: (data: unknown) => void): unknown;
}

export function nodeEndpoint(port: NodePort): Endpoint {
  const listeners = new WeakMap<object, (data: unknown) => void>();
  return {
    postMessage: (message: unknown, transfer?: unknown[]) => port.postMessage(message, transfer as readonly unknown[]),
    addEventListener: (_type: string, handler: unknown) => {
      const l = (data: unknown) => {
        if (typeof handler === "function") handler({ data });
        else (handler as { handleEvent(e: unknown): void }).handleEvent({ data });
      };
      listeners.set(handler as object, l);
      port.on("message", l);
    },
    removeEventListener: (_type: string, handler: unknown) => {
      const l = listeners.get(handler as object);
      if (!l) return;
      port.off("message", l);
      listeners.delete(handler as object);
    },
  } as Endpoint;
}
