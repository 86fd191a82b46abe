/**
 * Helper prototypes as data (the kernel's `struct bpf_func_proto`): the
 * verifier reads these; the implementations live elsewhere and are looked up
 * by the same Linux helper id.
 */

/** enum bpf_arg_type, the subset bpfsim's helpers use (names as in the kernel). */
export enum ArgType {
  DontCare = "ARG_DONTCARE",
  Anything = "ARG_ANYTHING",
  ConstMapPtr = "ARG_CONST_MAP_PTR",
  PtrToMapKey = "ARG_PTR_TO_MAP_KEY",
  PtrToMapValue = "ARG_PTR_TO_MAP_VALUE",
  /** Initialised memory of the size given by the next ARG_CONST_SIZE* argument. */
  PtrToMem = "ARG_PTR_TO_MEM",
  PtrToMemOrNull = "ARG_PTR_TO_MEM_OR_NULL",
  /** Memory the helper writes (need not be initialised). */
  PtrToUninitMem = "ARG_PTR_TO_UNINIT_MEM",
  ConstSize = "ARG_CONST_SIZE",
  ConstSizeOrZero = "ARG_CONST_SIZE_OR_ZERO",
  ConstAllocSizeOrZero = "ARG_CONST_ALLOC_SIZE_OR_ZERO",
  PtrToCtx = "ARG_PTR_TO_CTX",
  PtrToCtxOrNull = "ARG_PTR_TO_CTX_OR_NULL",
  PtrToSpinLock = "ARG_PTR_TO_SPIN_LOCK",
  PtrToFunc = "ARG_PTR_TO_FUNC",
  PtrToStackOrNull = "ARG_PTR_TO_STACK_OR_NULL",
  PtrToLong = "ARG_PTR_TO_LONG",
  PtrToConstStr = "ARG_PTR_TO_CONST_STR",
  PtrToRingbufMem = "ARG_PTR_TO_RINGBUF_MEM",
  PtrToSocket = "ARG_PTR_TO_SOCKET",
  PtrToBtfId = "ARG_PTR_TO_BTF_ID",
}

/** enum bpf_return_type, the subset used. */
export enum RetType {
  Integer = "RET_INTEGER",
  Void = "RET_VOID",
  PtrToMapValueOrNull = "RET_PTR_TO_MAP_VALUE_OR_NULL",
  /** ringbuf_reserve: memory of the size in arg 2, or NULL; acquires a reference. */
  PtrToAllocMemOrNull = "RET_PTR_TO_ALLOC_MEM_OR_NULL",
  PtrToSocketOrNull = "RET_PTR_TO_SOCKET_OR_NULL",
  PtrToBtfId = "RET_PTR_TO_BTF_ID",
}

/** One helper's prototype. */
export interface HelperProto {
  readonly id: number;
  /** Without the `bpf_` prefix, as in `enum bpf_func_id`: "map_lookup_elem". */
  readonly name: string;
  readonly ret: RetType;
  /** Up to five arguments, in register order r1..r5. */
  readonly args: readonly ArgType[];
  /** Only for GPL-compatible programs. */
  readonly gplOnly?: boolean;
  /** Reads or writes packet data (invalidates packet pointers if it may change the packet). */
  readonly pktAccess?: boolean;
  /** Releases the reference acquired by another helper (ringbuf submit/discard: arg index). */
  readonly releaseArg?: number;
  /** Acquires a reference (ringbuf_reserve, sk_lookup). */
  readonly acquires?: boolean;
  /** Map types accepted by a ConstMapPtr argument, when restricted (tail_call: PROG_ARRAY). */
  readonly mapTypes?: readonly number[];
}
