/** Map flags the verifier reads (linux/bpf.h). */
export const BPF_F_RDONLY_PROG = 1 << 7;
export const BPF_F_WRONLY_PROG = 1 << 8;
