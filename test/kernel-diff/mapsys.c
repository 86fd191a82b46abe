// SPDX-License-Identifier: MIT
/*
 * mapsys: runs a script of map syscalls on the real kernel and prints each
 * result, for the kernel-differential test. Built by the test with gcc.
 *
 * Input: one command per line, numbers in decimal, byte strings in hex
 * ("-" for a NULL pointer). Maps are named by handle: the index of the
 * `create` that made them (-1 when it failed). Output: one line per command:
 *
 *   create TYPE KSZ VSZ MAX FLAGS [NAME]     -> ret
 *   update H KEY VALUE FLAGS                 -> ret
 *   lookup H KEY VSZ FLAGS                   -> ret VALUE
 *   lookup_and_delete H KEY VSZ FLAGS        -> ret VALUE
 *   delete H KEY                             -> ret
 *   next H KEY|- KSZ                         -> ret NEXTKEY
 *   lookup_batch H IN|- COUNT KSZ VSZ EFLAGS FLAGS          -> ret count KEYS VALUES OUT
 *   lookup_and_delete_batch (same)                           -> ret count KEYS VALUES OUT
 *   update_batch H KEYS VALUES COUNT EFLAGS FLAGS            -> ret count
 *   delete_batch H KEYS COUNT EFLAGS FLAGS                   -> ret count
 *   freeze H                                 -> ret
 *   info H                                   -> ret type key value max flags
 *
 * `ret` is the syscall's return value, or -errno when it failed; for create
 * it is 0 on success (the fd itself is not comparable).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/bpf.h>

#define MAXH 256
#define BUF (1 << 20)

static int fds[MAXH];
static int nh;
static unsigned char b1[BUF], b2[BUF], b3[BUF], b4[BUF];
static char line[4 * BUF + 64], s1[2 * BUF + 8], s2[2 * BUF + 8];

static long sys_bpf(int cmd, union bpf_attr *a)
{
	long r = syscall(__NR_bpf, cmd, a, sizeof(*a));
	return r < 0 ? -errno : r;
}

/* Parse hex into buf; returns the pointer or NULL for "-". */
static void *hex(const char *s, unsigned char *buf)
{
	size_t n = strlen(s);

	if (!strcmp(s, "-"))
		return NULL;
	for (size_t i = 0; i + 1 < n + 1 && i / 2 < BUF; i += 2) {
		unsigned v;

		if (sscanf(s + i, "%2x", &v) != 1)
			break;
		buf[i / 2] = v;
	}
	return buf;
}

static void phex(const unsigned char *p, size_t n)
{
	putchar(' ');
	if (!n)
		putchar('-');
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

static int fd_of(int h)
{
	return h >= 0 && h < nh ? fds[h] : -1;
}

int main(void)
{
	char op[64];

	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin)) {
		union bpf_attr a;
		long r;
		int h;
		unsigned t, ks, vs, mx, fl, cnt, ef, bf;
		char name[64] = "";

		memset(&a, 0, sizeof(a));
		if (sscanf(line, "%63s", op) != 1)
			continue;
		if (!strcmp(op, "create")) {
			sscanf(line, "%*s %u %u %u %u %u %63s", &t, &ks, &vs, &mx, &fl, name);
			a.map_type = t; a.key_size = ks; a.value_size = vs;
			a.max_entries = mx; a.map_flags = fl;
			strncpy(a.map_name, name, sizeof(a.map_name));
			if (strlen(name) >= sizeof(a.map_name))
				memcpy(a.map_name, name, sizeof(a.map_name));
			r = sys_bpf(BPF_MAP_CREATE, &a);
			fds[nh++] = r < 0 ? -1 : (int)r;
			printf("%ld\n", r < 0 ? r : 0);
		} else if (!strcmp(op, "update")) {
			sscanf(line, "%*s %d %s %s %u", &h, s1, s2, &fl);
			a.map_fd = fd_of(h);
			a.key = (uintptr_t)hex(s1, b1);
			a.value = (uintptr_t)hex(s2, b2);
			a.flags = fl;
			printf("%ld\n", sys_bpf(BPF_MAP_UPDATE_ELEM, &a));
		} else if (!strcmp(op, "lookup") || !strcmp(op, "lookup_and_delete")) {
			sscanf(line, "%*s %d %s %u %u", &h, s1, &vs, &fl);
			memset(b2, 0, vs);
			a.map_fd = fd_of(h);
			a.key = (uintptr_t)hex(s1, b1);
			a.value = (uintptr_t)b2;
			a.flags = fl;
			r = sys_bpf(op[6] ? BPF_MAP_LOOKUP_AND_DELETE_ELEM : BPF_MAP_LOOKUP_ELEM, &a);
			printf("%ld", r);
			phex(b2, r == 0 ? vs : 0);
			putchar('\n');
		} else if (!strcmp(op, "delete")) {
			sscanf(line, "%*s %d %s", &h, s1);
			a.map_fd = fd_of(h);
			a.key = (uintptr_t)hex(s1, b1);
			printf("%ld\n", sys_bpf(BPF_MAP_DELETE_ELEM, &a));
		} else if (!strcmp(op, "next")) {
			sscanf(line, "%*s %d %s %u", &h, s1, &ks);
			memset(b2, 0, ks);
			a.map_fd = fd_of(h);
			a.key = (uintptr_t)hex(s1, b1);
			a.next_key = (uintptr_t)b2;
			r = sys_bpf(BPF_MAP_GET_NEXT_KEY, &a);
			printf("%ld", r);
			phex(b2, r == 0 ? ks : 0);
			putchar('\n');
		} else if (!strcmp(op, "lookup_batch") || !strcmp(op, "lookup_and_delete_batch")) {
			sscanf(line, "%*s %d %s %u %u %u %u %u", &h, s1, &cnt, &ks, &vs, &ef, &bf);
			memset(b2, 0, (size_t)cnt * ks);
			memset(b3, 0, (size_t)cnt * vs);
			memset(b4, 0, ks);
			a.batch.map_fd = fd_of(h);
			a.batch.in_batch = (uintptr_t)hex(s1, b1);
			a.batch.out_batch = (uintptr_t)b4;
			a.batch.keys = (uintptr_t)b2;
			a.batch.values = (uintptr_t)b3;
			a.batch.count = cnt;
			a.batch.elem_flags = ef;
			a.batch.flags = bf;
			r = sys_bpf(op[7] == 'b' ? BPF_MAP_LOOKUP_BATCH : BPF_MAP_LOOKUP_AND_DELETE_BATCH, &a);
			printf("%ld %u", r, a.batch.count);
			phex(b2, (size_t)a.batch.count * ks);
			phex(b3, (size_t)a.batch.count * vs);
			phex(b4, a.batch.count ? ks : 0);
			putchar('\n');
		} else if (!strcmp(op, "update_batch")) {
			sscanf(line, "%*s %d %s %s %u %u %u", &h, s1, s2, &cnt, &ef, &bf);
			a.batch.map_fd = fd_of(h);
			a.batch.keys = (uintptr_t)hex(s1, b1);
			a.batch.values = (uintptr_t)hex(s2, b2);
			a.batch.count = cnt;
			a.batch.elem_flags = ef;
			a.batch.flags = bf;
			r = sys_bpf(BPF_MAP_UPDATE_BATCH, &a);
			printf("%ld %u\n", r, a.batch.count);
		} else if (!strcmp(op, "delete_batch")) {
			sscanf(line, "%*s %d %s %u %u %u", &h, s1, &cnt, &ef, &bf);
			a.batch.map_fd = fd_of(h);
			a.batch.keys = (uintptr_t)hex(s1, b1);
			a.batch.count = cnt;
			a.batch.elem_flags = ef;
			a.batch.flags = bf;
			r = sys_bpf(BPF_MAP_DELETE_BATCH, &a);
			printf("%ld %u\n", r, a.batch.count);
		} else if (!strcmp(op, "freeze")) {
			sscanf(line, "%*s %d", &h);
			a.map_fd = fd_of(h);
			printf("%ld\n", sys_bpf(BPF_MAP_FREEZE, &a));
		} else if (!strcmp(op, "info")) {
			struct bpf_map_info info;

			sscanf(line, "%*s %d", &h);
			memset(&info, 0, sizeof(info));
			a.info.bpf_fd = fd_of(h);
			a.info.info_len = sizeof(info);
			a.info.info = (uintptr_t)&info;
			r = sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a);
			printf("%ld %u %u %u %u %u %s\n", r, info.type, info.key_size, info.value_size,
			       info.max_entries, info.map_flags, info.name[0] ? info.name : "-");
		} else {
			printf("?\n");
		}
	}
	return 0;
}
