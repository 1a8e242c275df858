/* A scheduler the verifier rejects: it dereferences a plain number as a pointer.
 * Its loader fails to attach, as a broken real scheduler would. */
#include "common.bpf.h"

SEC("struct_ops/bad_enqueue")
void BPF_PROG(bad_enqueue, struct task_struct *p, u64 enq_flags)
{
	u64 *bogus = (u64 *)enq_flags;

	scx_bpf_dsq_insert(p, SCX_DSQ_GLOBAL, *bogus, enq_flags);
}

SEC(".struct_ops.link")
struct sched_ext_ops ops = {
	.enqueue = (void *)bad_enqueue,
	.name = OPS_NAME,
};
