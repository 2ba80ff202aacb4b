/* Paths from kernel `struct path`s without bpf_d_path (not allowed from
 * tracepoints): walk dentries up to the root of the task's mount tree.
 *
 * The buffer receives the components leaf first, each NUL-terminated
 * ("file\0dir\0usr\0"); user space reverses them and joins them with '/'.
 * gadget_read_path() returns the number of bytes used, with
 * GADGET_PATH_TRUNCATED set when the walk stopped before the root. The walk
 * runs in bpf_loop() so the verifier checks one step, not every depth.
 */
#ifndef __GADGET_PATH_H
#define __GADGET_PATH_H

#include "gadget/common.h"

#define GADGET_PATH_MAX 1024          /* bytes of one path buffer */
#define GADGET_NAME_MAX 256           /* one component with its NUL */
#define GADGET_PATH_DEPTH 48          /* steps at most (components + mounts) */
#define GADGET_PATH_TRUNCATED 0x8000

struct gadget_path_walk {
	char *buf;
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
	__u32 off;
	__u32 done;
};

static long gadget_path_step(__u64 index, void *ctx)
{
	struct gadget_path_walk *w = ctx;
	struct dentry *dentry = w->dentry, *mnt_root, *parent;
	struct vfsmount *vfsmnt = w->vfsmnt;
	struct mount *mnt = w->mnt, *mnt_parent;
	const unsigned char *name;
	__u32 off = w->off;
	long n;

	mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	parent = BPF_CORE_READ(dentry, d_parent);
	if (dentry == mnt_root || dentry == parent) {
		if (dentry != mnt_root) {
			w->done = 1; /* detached tree */
			return 1;
		}
		mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
		if (mnt_parent == mnt) {
			w->done = 1; /* the root of this mount tree */
			return 1;
		}
		w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = mnt_parent;
		w->vfsmnt = &mnt_parent->mnt;
		return 0;
	}
	if (off > GADGET_PATH_MAX - GADGET_NAME_MAX)
		return 1;
	name = BPF_CORE_READ(dentry, d_name.name);
	n = bpf_probe_read_kernel_str(w->buf + off, GADGET_NAME_MAX, name);
	if (n <= 0)
		return 1;
	w->off = off + n;
	w->dentry = parent;
	return 0;
}

static __always_inline __u32 gadget_read_path(char *buf, const struct path *kpath)
{
	struct vfsmount *vfsmnt = BPF_CORE_READ(kpath, mnt);
	struct gadget_path_walk w = {};

	w.buf = buf;
	w.dentry = BPF_CORE_READ(kpath, dentry);
	w.vfsmnt = vfsmnt;
	w.mnt = container_of(vfsmnt, struct mount, mnt);
	bpf_loop(GADGET_PATH_DEPTH, gadget_path_step, &w, 0);
	return w.done ? w.off : (w.off | GADGET_PATH_TRUNCATED);
}

#endif /* __GADGET_PATH_H */
