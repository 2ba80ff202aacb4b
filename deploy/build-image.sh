#!/bin/bash
# Build the pybpf container image (Containerfile) without any registry.
#
# The base is the build host's own Python: its interpreter, its standard
# library (without tests, IDLE, tkinter, ensurepip, lib2to3) and every
# shared library that the interpreter and its extension modules load
# (found with ldd), copied into rootfs.tar. pybpf is built into a wheel
# from this tree; pyelftools and construct come as wheels from pip (its
# cache, or the package index). The wheels are unpacked (they are pure
# Python) and byte-compiled by that same Python into site/.
#
# usage: deploy/build-image.sh [TAG]     (default localhost/pybpf:dev)
# env:   PYTHON  the interpreter to ship (default /usr/bin/python3)
#        BUILDER podman (default) or docker
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
TAG=${1:-localhost/pybpf:dev}
PY=$(readlink -f "${PYTHON:-/usr/bin/python3}")
BUILDER=${BUILDER:-podman}
CTX=$(mktemp -d /tmp/pybpf-image-XXXXXX)
trap 'rm -rf "$CTX"' EXIT

read -r VER STDLIB DYNLOAD < <("$PY" -c '
import sys, sysconfig
print("%d.%d" % sys.version_info[:2], sysconfig.get_paths()["stdlib"], sysconfig.get_config_var("DESTSHARED"))')

# 1. rootfs: interpreter, standard library, shared libraries
ROOT=$CTX/rootfs
mkdir -p "$ROOT/usr/bin" "$ROOT/tmp"
chmod 1777 "$ROOT/tmp"
cp "$PY" "$ROOT/usr/bin/python$VER"
ln -s "python$VER" "$ROOT/usr/bin/python3"
tar -C / --exclude=__pycache__ --exclude="${STDLIB#/}/test" --exclude="${STDLIB#/}/idlelib" \
    --exclude="${STDLIB#/}/tkinter" --exclude="${STDLIB#/}/turtledemo" \
    --exclude="${STDLIB#/}/ensurepip" --exclude="${STDLIB#/}/lib2to3" \
    --exclude="${STDLIB#/}/site-packages" --exclude="${STDLIB#/}/dist-packages" \
    -cf - "${STDLIB#/}" "${DYNLOAD#/}" | tar -C "$ROOT" -xf -
for f in "$PY" "$DYNLOAD"/*.so; do
    ldd "$f" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'
done | sort -u | while read -r lib; do
    cp -L --parents "$lib" "$ROOT"
done
# the loader is found at its canonical path (/lib64 is a link on merged-/usr hosts)
for link in /lib64 /lib /bin /sbin; do
    [ -L "$link" ] && [ ! -e "$ROOT$link" ] && cp -P "$link" "$ROOT$link"
done
"$PY" -m compileall -q -j 0 "$ROOT${STDLIB}" >/dev/null || true
tar -C "$ROOT" -cf "$CTX/rootfs.tar" .

# 2. site: pybpf and its two dependencies. The wheel is built from a clean
# copy of the tree: pip builds in the source directory, and a build/ left
# there by an earlier build brings back modules that no longer exist.
mkdir "$CTX/src"
tar -C "$SRC" --exclude=./build --exclude=./.venv --exclude=./.git --exclude='*.egg-info' \
    --exclude=__pycache__ -cf - . | tar -C "$CTX/src" -xf -
"${PIP_PYTHON:-python3}" -m pip wheel -q -w "$CTX/wheels" "$CTX/src"
ls "$CTX/wheels"
"$PY" - "$CTX/wheels" "$CTX/site" <<'PYEOF'
import glob, sys, zipfile
for wheel in sorted(glob.glob(sys.argv[1] + "/*.whl")):
    zipfile.ZipFile(wheel).extractall(sys.argv[2])
PYEOF
"$PY" -m compileall -q "$CTX/site" >/dev/null

# 3. the image
cp "$SRC/Containerfile" "$CTX/Containerfile"
"$BUILDER" build -q -f "$CTX/Containerfile" -t "$TAG" "$CTX"
