#!/bin/sh
# Rebuild the third-party corpus objects in tests/corpus/libbpf-tools from BCC's
# libbpf-tools sources (a copy is in ../shared/anchors/bcc-libbpf-tools; any
# checkout of iovisor/bcc's libbpf-tools works): clang-19 -g -O2 against the
# repo's x86 vmlinux.h, then llvm-strip -g (DWARF out, .BTF and .BTF.ext kept).
# sigsnoop needs bpf_ksym_exists and two kfunc declarations that Debian's
# libbpf 1.1 headers lack: pybpf_ksym_compat.h supplies them (force-included).
# Usage: tests/corpus/build_libbpf_tools.sh [SOURCES_DIR]; builds in a temp dir.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SRC=${1:-$ROOT/../shared/anchors/bcc-libbpf-tools}
OUT=$ROOT/tests/corpus/libbpf-tools
CLANG=${CLANG:-clang-19}; STRIP=${STRIP:-llvm-strip-19}
TOOLS="bindsnoop biolatency execsnoop hardirqs ksnoop llcstat mountsnoop opensnoop runqlat
       sigsnoop softirqs tcpconnect tcplife vfsstat"
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
cp -r "$SRC"/. "$TMP"/
for t in $TOOLS; do
  extra=""
  [ "$t" = sigsnoop ] && extra="-include $ROOT/tests/corpus/pybpf_ksym_compat.h"
  "$CLANG" -g -O2 -target bpf -D__TARGET_ARCH_x86 -I"$ROOT/bpf/include/x86" -I"$TMP" \
    -fdebug-prefix-map="$TMP"=. $extra -c "$TMP/$t.bpf.c" -o "$TMP/$t.bpf.o"
  "$STRIP" -g "$TMP/$t.bpf.o" -o "$OUT/$t.bpf.o"
  echo "built $OUT/$t.bpf.o"
done
