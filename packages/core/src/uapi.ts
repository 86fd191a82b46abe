/**
 * Numbers from Linux's include/uapi/linux/bpf.h. Values equal the UAPI; a test
 * checks them against the kernel headers when they are installed.
 */

/** enum bpf_cmd */
export enum BpfCmd {
  MapCreate = 0,
  MapLookupElem = 1,
  MapUpdateElem = 2,
  MapDeleteElem = 3,
  MapGetNextKey = 4,
  ProgLoad = 5,
  ObjPin = 6,
  ObjGet = 7,
  ProgAttach = 8,
  ProgDetach = 9,
  ProgTestRun = 10,
  ProgGetNextId = 11,
  MapGetNextId = 12,
  ProgGetFdById = 13,
  MapGetFdById = 14,
  ObjGetInfoByFd = 15,
  ProgQuery = 16,
  RawTracepointOpen = 17,
  BtfLoad = 18,
  BtfGetFdById = 19,
  TaskFdQuery = 20,
  MapLookupAndDeleteElem = 21,
  MapFreeze = 22,
  BtfGetNextId = 23,
  MapLookupBatch = 24,
  MapLookupAndDeleteBatch = 25,
  MapUpdateBatch = 26,
  MapDeleteBatch = 27,
  LinkCreate = 28,
  LinkUpdate = 29,
  LinkGetFdById = 30,
  LinkGetNextId = 31,
  EnableStats = 32,
  IterCreate = 33,
  LinkDetach = 34,
  ProgBindMap = 35,
  TokenCreate = 36,
}

/** enum bpf_map_type */
export enum MapType {
  Unspec = 0,
  Hash = 1,
  Array = 2,
  ProgArray = 3,
  PerfEventArray = 4,
  PercpuHash = 5,
  PercpuArray = 6,
  StackTrace = 7,
  CgroupArray = 8,
  LruHash = 9,
  LruPercpuHash = 10,
  LpmTrie = 11,
  ArrayOfMaps = 12,
  HashOfMaps = 13,
  Devmap = 14,
  Sockmap = 15,
  Cpumap = 16,
  Xskmap = 17,
  Sockhash = 18,
  CgroupStorage = 19,
  ReuseportSockarray = 20,
  PercpuCgroupStorage = 21,
  Queue = 22,
  Stack = 23,
  SkStorage = 24,
  DevmapHash = 25,
  StructOps = 26,
  Ringbuf = 27,
  InodeStorage = 28,
  TaskStorage = 29,
  BloomFilter = 30,
  UserRingbuf = 31,
  CgrpStorage = 32,
  Arena = 33,
}

/** enum bpf_prog_type */
export enum ProgType {
  Unspec = 0,
  SocketFilter = 1,
  Kprobe = 2,
  SchedCls = 3,
  SchedAct = 4,
  Tracepoint = 5,
  Xdp = 6,
  PerfEvent = 7,
  CgroupSkb = 8,
  CgroupSock = 9,
  LwtIn = 10,
  LwtOut = 11,
  LwtXmit = 12,
  SockOps = 13,
  SkSkb = 14,
  CgroupDevice = 15,
  SkMsg = 16,
  RawTracepoint = 17,
  CgroupSockAddr = 18,
  LwtSeg6local = 19,
  LircMode2 = 20,
  SkReuseport = 21,
  FlowDissector = 22,
  CgroupSysctl = 23,
  RawTracepointWritable = 24,
  CgroupSockopt = 25,
  Tracing = 26,
  StructOps = 27,
  Ext = 28,
  Lsm = 29,
  SkLookup = 30,
  Syscall = 31,
  Netfilter = 32,
}

/** enum bpf_attach_type (the ones bpfsim has hooks for, plus their neighbours). */
export enum AttachType {
  CgroupInetIngress = 0,
  CgroupInetEgress = 1,
  CgroupInetSockCreate = 2,
  CgroupSockOps = 3,
  SkSkbStreamParser = 4,
  SkSkbStreamVerdict = 5,
  CgroupDevice = 6,
  SkMsgVerdict = 7,
  CgroupInet4Bind = 8,
  CgroupInet6Bind = 9,
  CgroupInet4Connect = 10,
  CgroupInet6Connect = 11,
  CgroupInet4PostBind = 12,
  CgroupInet6PostBind = 13,
  CgroupUdp4Sendmsg = 14,
  CgroupUdp6Sendmsg = 15,
  LircMode2 = 16,
  FlowDissector = 17,
  CgroupSysctl = 18,
  CgroupUdp4Recvmsg = 19,
  CgroupUdp6Recvmsg = 20,
  CgroupGetsockopt = 21,
  CgroupSetsockopt = 22,
  TraceRawTp = 23,
  TraceFentry = 24,
  TraceFexit = 25,
  ModifyReturn = 26,
  LsmMac = 27,
  TraceIter = 28,
  CgroupInet4Getpeername = 29,
  CgroupInet6Getpeername = 30,
  CgroupInet4Getsockname = 31,
  CgroupInet6Getsockname = 32,
  XdpDevmap = 33,
  CgroupInetSockRelease = 34,
  XdpCpumap = 35,
  SkLookup = 36,
  Xdp = 37,
  SkSkbVerdict = 38,
  SkReuseportSelect = 39,
  SkReuseportSelectOrMigrate = 40,
  PerfEvent = 41,
  TraceKprobeMulti = 42,
  LsmCgroup = 43,
  StructOps = 44,
  Netfilter = 45,
  TcxIngress = 46,
  TcxEgress = 47,
  TraceUprobeMulti = 48,
  CgroupUnixConnect = 49,
  CgroupUnixSendmsg = 50,
  CgroupUnixRecvmsg = 51,
  CgroupUnixGetpeername = 52,
  CgroupUnixGetsockname = 53,
  NetkitPrimary = 54,
  NetkitPeer = 55,
  TraceKprobeSession = 56,
  TraceUprobeSession = 57,
}

/** BPF_MAP_UPDATE_ELEM flags (elem_flags). */
export const BPF_ANY = 0;
export const BPF_NOEXIST = 1;
export const BPF_EXIST = 2;
export const BPF_F_LOCK = 4;

/** map_flags for BPF_MAP_CREATE. */
export const BPF_F_NO_PREALLOC = 1 << 0;
export const BPF_F_NO_COMMON_LRU = 1 << 1;
export const BPF_F_NUMA_NODE = 1 << 2;
export const BPF_F_RDONLY = 1 << 3;
export const BPF_F_WRONLY = 1 << 4;
export const BPF_F_STACK_BUILD_ID = 1 << 5;
export const BPF_F_ZERO_SEED = 1 << 6;
export const BPF_F_RDONLY_PROG = 1 << 7;
export const BPF_F_WRONLY_PROG = 1 << 8;
export const BPF_F_CLONE = 1 << 9;
export const BPF_F_MMAPABLE = 1 << 10;
export const BPF_F_PRESERVE_ELEMS = 1 << 11;
export const BPF_F_INNER_MAP = 1 << 12;
export const BPF_F_LINK = 1 << 13;
export const BPF_F_PATH_FD = 1 << 14;
export const BPF_F_VTYPE_BTF_OBJ_FD = 1 << 15;
export const BPF_F_TOKEN_FD = 1 << 16;
export const BPF_F_SEGV_ON_FAULT = 1 << 17;
export const BPF_F_NO_USER_CONV = 1 << 18;

/** BPF_PROG_LOAD prog_flags. */
export const BPF_F_STRICT_ALIGNMENT = 1 << 0;
export const BPF_F_ANY_ALIGNMENT = 1 << 1;
export const BPF_F_TEST_RND_HI32 = 1 << 2;
export const BPF_F_TEST_STATE_FREQ = 1 << 3;
export const BPF_F_SLEEPABLE = 1 << 4;
export const BPF_F_XDP_HAS_FRAGS = 1 << 5;
export const BPF_F_XDP_DEV_BOUND_ONLY = 1 << 6;

/** BPF_PROG_TEST_RUN flags. */
export const BPF_F_TEST_RUN_ON_CPU = 1 << 0;
export const BPF_F_TEST_XDP_LIVE_FRAMES = 1 << 1;
export const BPF_F_TEST_SKB_CHECKSUM_COMPLETE = 1 << 2;

/** Helper flags. */
export const BPF_F_INDEX_MASK = 0xffffffffn;
export const BPF_F_CURRENT_CPU = 0xffffffffn;

/** Object name length (BPF_OBJ_NAME_LEN). */
export const BPF_OBJ_NAME_LEN = 16;

/** Size of a program's stack frame and the deepest call chain. */
export const MAX_BPF_STACK = 512;
export const MAX_CALL_FRAMES = 8;
export const MAX_TAIL_CALL_CNT = 33;

/** XDP actions. */
export enum XdpAction {
  Aborted = 0,
  Drop = 1,
  Pass = 2,
  Tx = 3,
  Redirect = 4,
}

/** tc actions (TC_ACT_*). */
export enum TcAction {
  Unspec = -1,
  Ok = 0,
  Reclassify = 1,
  Shot = 2,
  Pipe = 3,
  Stolen = 4,
  Queued = 5,
  Repeat = 6,
  Redirect = 7,
}
