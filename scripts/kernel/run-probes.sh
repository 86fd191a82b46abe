#!/bin/sh
# Build and run the kernel probes (root, gcc). The map syscall probe replays
# array-probe.txt through the differential test's helper; obj-probe needs a
# bpffs mount and mounts a private one in a temporary directory if needed.
set -e
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'umount "$tmp/bpffs" 2>/dev/null || true; rm -rf "$tmp"' EXIT
gcc -O1 -o "$tmp/mapsys" "$here/../../test/kernel-diff/mapsys.c"
gcc -O1 -o "$tmp/obj-probe" "$here/obj-probe.c"
echo "== map syscalls (array-probe.txt)"
"$tmp/mapsys" < "$here/array-probe.txt" | paste -d'|' "$here/array-probe.txt" - | sed 's/|/  =>  /'
echo "== object commands"
mkdir "$tmp/bpffs"
mount -t bpf bpf "$tmp/bpffs"
"$tmp/obj-probe" "$tmp/bpffs"
