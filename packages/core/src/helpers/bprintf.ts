/**
 * The kernel's limited printf for bpf_trace_printk and bpf_snprintf
 * (kernel/bpf/helpers.c `bpf_bprintf_prepare`): conversions %d %i %u %x %X
 * %c %s %p and %%, length modifiers l and ll, optional flags "0+- " and a
 * decimal width. Anything else, a non-printable byte, or more conversions
 * than allowed makes the whole call fail with -EINVAL, as in Linux.
 *
 * Differences kept on purpose (docs/COMPAT.md): %p prints the raw arena
 * address as 16 hex digits (Linux hashes it unless %px), and %s reads from
 * the arena only; an unreadable string prints as empty, as Linux does after
 * a faulting copy.
 *
 * Who may call: program on a CPU (through the helpers).
 */
import type { ArenaApi } from "../memory/arena-api.js";
import { readCString } from "./helper-env.js";

/** Linux's MAX_BPRINTF_BUF: the formatted output is cut at this many bytes. */
export const MAX_BPRINTF_BUF = 1024;
/** MAX_BPRINTF_VARARGS (bpf_snprintf); trace_printk allows 3. */
export const MAX_BPRINTF_VARARGS = 12;

/** Formats `fmt` with `args`; returns the text, or null when the format is invalid. */
export function bprintf(arena: ArenaApi, fmt: string, args: readonly bigint[], maxArgs: number): string | null {
  let out = "";
  let argi = 0;
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt.charCodeAt(i);
    // isascii && (isprint || isspace)
    if (c > 0x7e || (c < 0x20 && !(c >= 0x09 && c <= 0x0d))) return null;
    if (fmt[i] !== "%") {
      out += fmt[i];
      continue;
    }
    i++;
    if (fmt[i] === "%") {
      out += "%";
      continue;
    }
    if (argi >= maxArgs || argi >= args.length) return null;
    let flags = "";
    while (i < fmt.length && "0+- ".includes(fmt[i]!)) flags += fmt[i++];
    let width = 0;
    while (i < fmt.length && fmt[i]! >= "0" && fmt[i]! <= "9") width = width * 10 + Number(fmt[i++]);
    let longs = 0;
    while (fmt[i] === "l" && longs < 2) {
      longs++;
      i++;
    }
    const conv = fmt[i];
    const arg = args[argi++]!;
    let body: string;
    switch (conv) {
      case "d":
      case "i":
        body = (longs ? BigInt.asIntN(64, arg) : BigInt.asIntN(32, arg)).toString();
        break;
      case "u":
        body = (longs ? BigInt.asUintN(64, arg) : BigInt.asUintN(32, arg)).toString();
        break;
      case "x":
      case "X": {
        const v = longs ? BigInt.asUintN(64, arg) : BigInt.asUintN(32, arg);
        body = conv === "x" ? v.toString(16) : v.toString(16).toUpperCase();
        break;
      }
      case "c":
        if (longs) return null;
        body = String.fromCharCode(Number(arg & 0xffn));
        break;
      case "p":
        if (longs) return null;
        body = BigInt.asUintN(64, arg).toString(16).padStart(16, "0");
        break;
      case "s":
        if (longs) return null;
        body = (BigInt.asUintN(64, arg) < 2n ** 32n ? readCString(arena, Number(arg), MAX_BPRINTF_BUF) : null) ?? "";
        break;
      default:
        return null;
    }
    out += pad(body, flags, width, conv === "d" || conv === "i");
  }
  return out.length > MAX_BPRINTF_BUF - 1 ? out.slice(0, MAX_BPRINTF_BUF - 1) : out;
}

function pad(body: string, flags: string, width: number, signed: boolean): string {
  if (signed && !body.startsWith("-")) {
    if (flags.includes("+")) body = `+${body}`;
    else if (flags.includes(" ")) body = ` ${body}`;
  }
  if (body.length >= width) return body;
  if (flags.includes("-")) return body.padEnd(width);
  if (flags.includes("0")) {
    const sign = /^[-+ ]/.test(body) ? body[0]! : "";
    return sign + body.slice(sign.length).padStart(width - sign.length, "0");
  }
  return body.padStart(width);
}
