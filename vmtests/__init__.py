"""vmtests: run pybpf's pytest suite inside qemu guests on other kernels.

The host needs only the standard library, qemu-system-x86 and busybox-static.
Kernels come from Debian's archive (a private apt root, the host's apt is not
touched), are cached under ~/.cache/pybpf-vmtests, and boot under TCG with
this machine's root filesystem shared read-only over virtio-9p. The guest
runs the host's own python3 on the checkout; results come back over a
virtio-serial port and a junit xml in a shared directory.

Entry point: ``python3 -m vmtests run 6.1 6.12 -- -m vm tests/``.
"""
