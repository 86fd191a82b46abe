// SPDX-License-Identifier: MIT
/*
 * bloom-filter probe: runs a script of BPF_MAP_TYPE_BLOOM_FILTER commands on
 * the real kernel and prints each result (-errno or 0), one line each, for
 * bloom-filter.test.ts to compare with bpfsim. Commands act on the last map
 * created successfully:
 *
 *   create VS MAX FLAGS EXTRA   push HEX FLAGS   peek HEX
 *   delete   next   pop HEX
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/bpf.h>

static long sys_bpf(int cmd, union bpf_attr *a)
{
	long r = syscall(__NR_bpf, cmd, a, sizeof(*a));
	return r < 0 ? -errno : r;
}

static void hex(const char *s, unsigned char *b)
{
	for (size_t i = 0; s[2 * i] && s[2 * i + 1]; i++)
		sscanf(s + 2 * i, "%2hhx", &b[i]);
}

int main(void)
{
	char line[4096], op[32], arg[2048];
	unsigned char v[1024], k[8];
	int fd = -1;

	while (fgets(line, sizeof(line), stdin)) {
		union bpf_attr a;
		unsigned vs, max, fl;
		unsigned long long extra;
		long r;

		memset(&a, 0, sizeof(a));
		memset(v, 0, sizeof(v));
		if (sscanf(line, "%31s", op) != 1)
			continue;
		if (!strcmp(op, "create")) {
			sscanf(line, "%*s %u %u %u %llu", &vs, &max, &fl, &extra);
			a.map_type = BPF_MAP_TYPE_BLOOM_FILTER;
			a.value_size = vs;
			a.max_entries = max;
			a.map_flags = fl;
			a.map_extra = extra;
			r = sys_bpf(BPF_MAP_CREATE, &a);
			if (r >= 0)
				fd = r, r = 0;
		} else if (!strcmp(op, "push")) {
			sscanf(line, "%*s %2047s %u", arg, &fl);
			hex(arg, v);
			a.map_fd = fd, a.value = (unsigned long)v, a.flags = fl;
			r = sys_bpf(BPF_MAP_UPDATE_ELEM, &a);
		} else if (!strcmp(op, "peek") || !strcmp(op, "pop")) {
			sscanf(line, "%*s %2047s", arg);
			hex(arg, v);
			a.map_fd = fd, a.value = (unsigned long)v;
			r = sys_bpf(op[1] == 'e' ? BPF_MAP_LOOKUP_ELEM : BPF_MAP_LOOKUP_AND_DELETE_ELEM, &a);
		} else if (!strcmp(op, "delete")) {
			a.map_fd = fd;
			r = sys_bpf(BPF_MAP_DELETE_ELEM, &a);
		} else if (!strcmp(op, "next")) {
			a.map_fd = fd, a.next_key = (unsigned long)k;
			r = sys_bpf(BPF_MAP_GET_NEXT_KEY, &a);
		} else {
			r = -9999;
		}
		printf("%ld\n", r);
	}
	return 0;
}
