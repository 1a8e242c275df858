/* A second working scheduler, built differently: a custom dispatch queue created in ops.init
 * and drained into each CPU's local queue in ops.dispatch. */
#include "common.bpf.h"

#define SHARED_DSQ 1

SEC("struct_ops.s/dsq_init")
s32 BPF_PROG(dsq_init)
{
	return scx_bpf_create_dsq(SHARED_DSQ, -1);
}

SEC("struct_ops/dsq_enqueue")
void BPF_PROG(dsq_enqueue, struct task_struct *p, u64 enq_flags)
{
	scx_bpf_dsq_insert(p, SHARED_DSQ, SCX_SLICE_DFL, enq_flags);
}

SEC("struct_ops/dsq_dispatch")
void BPF_PROG(dsq_dispatch, s32 cpu, struct task_struct *prev)
{
	scx_bpf_dsq_move_to_local(SHARED_DSQ);
}

SEC(".struct_ops.link")
struct sched_ext_ops ops = {
	.init = (void *)dsq_init,
	.enqueue = (void *)dsq_enqueue,
	.dispatch = (void *)dsq_dispatch,
	.name = OPS_NAME,
};
