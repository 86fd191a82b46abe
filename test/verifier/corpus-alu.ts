/** ALU: scalar bounds through every operation, and what is allowed on pointers. */
import * as a from "./asm.js";
import { category, ret0, ARRAY8, ARRAY16, lookupChecked, unknownFromMap } from "./corpus-util.js";

const { ok, bad } = category("alu");
const M8 = { maps: [ARRAY8] };
const M16 = { maps: [ARRAY16] };

/** r1 = skb->len (u32), then `ops`, then read 1 byte at value + r1 (value size 8). */
const idx = (ops: a.Slot[], size = "b"): (a.Slot | a.Slot[])[] => [
  a.ldx("w", 7, 1, 0), ...lookupChecked(0), a.movr(1, 7), ...ops, a.addr(0, 1), a.ldx(size, 0, 0, 0), a.exit(),
];
/** Same with an unknown u64 (may be negative) read from the map value. */
const idx64 = (ops: a.Slot[], size = "b"): (a.Slot | a.Slot[])[] => [
  ...unknownFromMap, ...ops, a.movr(0, 6), a.addr(0, 1), a.ldx(size, 0, 0, 0), a.exit(),
];

export const aluCases = [
  bad("div by zero imm", "div by zero", [a.mov(0, 1), a.alu64i("div", 0, 0), a.exit()]),
  bad("mod by zero imm", "div by zero", [a.mov(0, 1), a.alu64i("mod", 0, 0), a.exit()]),
  ok("div by zero reg is defined", [a.mov(0, 1), a.mov(1, 0), a.alu64r("div", 0, 1), a.exit()]),
  ok("signed div", [a.mov(0, -7), a.raw(0x37, 0, 0, 1, 2), a.exit()]),
  bad("shift by 64", "invalid shift 64", [a.mov(0, 1), a.alu64i("lsh", 0, 64), a.exit()]),
  bad("32-bit shift by 32", "invalid shift 32", [a.mov(0, 1), a.alu32i("rsh", 0, 32), a.exit()]),
  ok("variable shift result unknown", [a.ldx("w", 2, 1, 0), a.mov(0, 1), a.alu64r("lsh", 0, 2), a.exit()]),
  bad("read uninit register", "R2 !read_ok", [a.movr(0, 2), a.exit()]),
  bad("add uninit src", "R3 !read_ok", [a.mov(0, 0), a.addr(0, 3), a.exit()]),
  bad("write frame pointer", "frame pointer is read only", [a.mov(10, 0), a.mov(0, 0), a.exit()]),
  bad("register 11", "R11 is invalid", [a.mov(11, 0), a.mov(0, 0), a.exit()]),
  bad("ALU reserved src field", "BPF_ALU uses reserved fields", [a.mov(0, 0), a.raw(0x07, 0, 1, 0, 1), a.exit()]),
  bad("MOV reserved off field", "BPF_MOV uses reserved fields", [a.raw(0xb7, 0, 0, 3, 0), a.exit()]),
  bad("END with bad width", "BPF_END uses reserved fields", [a.mov(0, 0), a.be(0, 8), a.exit()]),
  ok("byte swaps", [a.mov(0, 0x1234), a.be(0, 16), a.bswap(0, 32), a.exit()]),
  ok("and bounds index", idx([a.and(1, 7)]), M8),
  bad("and bounds too wide", "max value is outside of the allowed memory range", idx([a.and(1, 15)]), M8),
  ok("jgt bounds index", idx([a.jmpi("jgt", 1, 7, 3)]).slice(0, 0).concat([
    a.ldx("w", 7, 1, 0), ...lookupChecked(0), a.movr(1, 7), a.jmpi("jgt", 1, 7, 3), a.addr(0, 1), a.ldx("b", 0, 0, 0), a.exit(), a.mov(0, 0), a.exit(),
  ]), M8),
  bad("jgt off by one", "max value is outside of the allowed memory range", [
    a.ldx("w", 7, 1, 0), ...lookupChecked(0), a.movr(1, 7), a.jmpi("jgt", 1, 8, 3), a.addr(0, 1), a.ldx("b", 0, 0, 0), a.exit(), a.mov(0, 0), a.exit(),
  ], M8),
  ok("jge bounds index", [
    a.ldx("w", 7, 1, 0), ...lookupChecked(0), a.movr(1, 7), a.jmpi("jge", 1, 8, 3), a.addr(0, 1), a.ldx("b", 0, 0, 0), a.exit(), a.mov(0, 0), a.exit(),
  ], M8),
  ok("jlt bounds index", [
    a.ldx("w", 7, 1, 0), ...lookupChecked(0), a.movr(1, 7), a.jmpi("jlt", 1, 8, 2), a.mov(0, 0), a.exit(), a.addr(0, 1), a.ldx("b", 0, 0, 0), a.exit(),
  ], M8),
  ok("jle bounds index", [
    a.ldx("w", 7, 1, 0), ...lookupChecked(0), a.movr(1, 7), a.jmpi("jle", 1, 7, 2), a.mov(0, 0), a.exit(), a.addr(0, 1), a.ldx("b", 0, 0, 0), a.exit(),
  ], M8),
  bad("signed check on u64 leaves negatives", "unbounded min value", [
    ...unknownFromMap, a.jmpi("jsgt", 1, 7, 4), a.movr(0, 6), a.addr(0, 1), a.ldx("b", 0, 0, 0), a.exit(), a.mov(0, 0), a.exit(),
  ], M8),
  ok("signed check both sides", [
    ...unknownFromMap, a.jmpi("jsgt", 1, 7, 5), a.jmpi("jslt", 1, 0, 4), a.movr(0, 6), a.addr(0, 1), a.ldx("b", 0, 0, 0), a.exit(), a.mov(0, 0), a.exit(),
  ], M8),
  ok("unsigned check on u64", [
    ...unknownFromMap, a.jmpi("jgt", 1, 7, 4), a.movr(0, 6), a.addr(0, 1), a.ldx("b", 0, 0, 0), a.exit(), a.mov(0, 0), a.exit(),
  ], M8),
  bad("jmp32 check leaves upper bits", "unbounded min value", [
    ...unknownFromMap, a.jmp32i("jgt", 1, 7, 4), a.movr(0, 6), a.addr(0, 1), a.ldx("b", 0, 0, 0), a.exit(), a.mov(0, 0), a.exit(),
  ], M8),
  ok("jmp32 check on u32", [
    a.ldx("w", 7, 1, 0), ...lookupChecked(0), a.movr(1, 7), a.jmp32i("jgt", 1, 7, 3), a.addr(0, 1), a.ldx("b", 0, 0, 0), a.exit(), a.mov(0, 0), a.exit(),
  ], M8),
  ok("mul bounds", idx([a.and(1, 3), a.alu64i("mul", 1, 2)], "h"), M8),
  bad("mul bounds too wide", "max value is outside", idx([a.and(1, 3), a.alu64i("mul", 1, 3)], "h"), M8),
  ok("lsh bounds", idx([a.and(1, 3), a.alu64i("lsh", 1, 1)], "h"), M8),
  bad("lsh bounds too wide", "max value is outside", idx([a.and(1, 3), a.alu64i("lsh", 1, 2)], "h"), M8),
  ok("rsh of u32", idx([a.alu64i("rsh", 1, 29)]), M8),
  bad("rsh not enough", "max value is outside", idx([a.alu64i("rsh", 1, 28)]), M8),
  bad("arsh keeps sign", "min value is negative", idx64([a.alu64i("arsh", 1, 60)]), M8),
  bad("neg makes negative", "min value is negative", idx([a.and(1, 7), a.neg(1)]), M8),
  ok("or bounds", idx([a.and(1, 3), a.alu64i("or", 1, 4)]), M8),
  bad("or past the end", "is outside of the allowed memory range", idx([a.and(1, 3), a.alu64i("or", 1, 8)]), M8),
  ok("xor bounds", idx([a.and(1, 3), a.alu64i("xor", 1, 4)]), M8),
  ok("sub keeps positive", idx([a.and(1, 7), a.alu64i("or", 1, 4), a.alu64i("sub", 1, 4)]), M8),
  bad("sub may underflow", "min value is negative", idx([a.and(1, 7), a.alu64i("sub", 1, 1)]), M8),
  bad("w-mov of u64 is up to 4G", "unbounded memory access", idx64([a.mov32r(1, 1)]), M8),
  ok("w-and bounds", idx64([a.alu32i("and", 1, 7)]), M8),
  bad("movsx s8 may be negative", "min value is negative", idx([a.and(1, 0xff), a.movsx(1, 1, 8)]), M8),
  ok("movsx of small positive", idx([a.and(1, 0x7f), a.movsx(1, 1, 8), a.alu64i("rsh", 1, 4)]), M8),
  ok("linked copies share bounds", [
    a.ldx("w", 7, 1, 0), ...lookupChecked(0), a.movr(1, 7), a.movr(2, 1), a.jmpi("jgt", 2, 7, 3), a.addr(0, 1), a.ldx("b", 0, 0, 0), a.exit(), a.mov(0, 0), a.exit(),
  ], M8),
  ok("jeq constant pins value", [
    a.ldx("w", 7, 1, 0), ...lookupChecked(0), a.movr(1, 7), a.jmpi("jne", 1, 4, 3), a.addr(0, 1), a.ldx("w", 0, 0, 0), a.exit(), a.mov(0, 0), a.exit(),
  ], M8),
  bad("jne constant on the other edge", "unbounded memory access", [
    a.ldx("w", 7, 1, 0), ...lookupChecked(0), a.movr(1, 7), a.jmpi("jeq", 1, 4, 3), a.addr(0, 1), a.ldx("w", 0, 0, 0), a.exit(), a.mov(0, 0), a.exit(),
  ], M8),
  ok("reg-reg compare bounds", [
    a.ldx("w", 7, 1, 0), ...lookupChecked(0), a.movr(1, 7), a.mov(2, 8), a.jmpr("jge", 1, 2, 3), a.addr(0, 1), a.ldx("b", 0, 0, 0), a.exit(), a.mov(0, 0), a.exit(),
  ], M8),
  ok("16-byte value with offset", idx([a.and(1, 7)], "dw"), M16),
  bad("32-bit pointer arithmetic", "R1 32-bit pointer arithmetic prohibited", [a.alu32i("add", 1, 4), a.mov(0, 0), a.exit()]),
  bad("pointer plus pointer", "R1 pointer += pointer prohibited", [a.addr(1, 10), a.mov(0, 0), a.exit()]),
  ok("pointer minus pointer", [a.movr(2, 10), a.movr(0, 1), a.alu64r("sub", 0, 2), a.exit()]),
  bad("bitwise on pointer", "R1 bitwise operator &= on pointer prohibited", [a.and(1, 1), a.mov(0, 0), a.exit()]),
  bad("multiply pointer", "R1 pointer arithmetic with *= operator prohibited", [a.alu64i("mul", 1, 2), a.mov(0, 0), a.exit()]),
  bad("map_ptr arithmetic", "R1 pointer arithmetic on map_ptr prohibited", [...a.ldMap(1, 0), a.add(1, 8), a.mov(0, 0), a.exit()], M8),
  bad("arithmetic before null check", "R0 pointer arithmetic on map_value_or_null prohibited, null-check it first", [
    ...lookupChecked(0).slice(0, 6), a.add(0, 4), a.mov(0, 0), a.exit(),
  ], M8),
  bad("subtract pointer from scalar", "R2 tried to subtract pointer from scalar", [a.mov(2, 5), a.alu64r("sub", 2, 10), a.mov(0, 0), a.exit()]),
  bad("stack pointer subtraction", "R1 subtraction from stack pointer prohibited", [a.movr(1, 10), a.alu64i("sub", 1, 8), a.mov(0, 0), a.exit()]),
  bad("pointer plus unbounded", "math between map_value pointer and register with unbounded min value is not allowed", idx64([]), M8),
  bad("pointer plus huge constant", "math between map_value pointer and 536870912 is not allowed", [
    ...lookupChecked(0), a.add(0, 0x20000000), a.ldx("b", 0, 0, 0), a.exit(),
  ], M8),
  bad("neg of pointer then deref", "R1 invalid mem access 'scalar'", [a.neg(1), a.ldx("b", 0, 1, 0), a.exit()]),
  ok("scalar plus pointer", [a.mov(2, 4), a.addr(2, 10), a.st("w", 2, -12, 1), a.mov(0, 0), a.exit()]),
  ok("ret0 baseline", ret0),
];
