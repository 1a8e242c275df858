/* Shared by the test schedulers (vmlinux.h from linux-bpf-dev declares the scx kfuncs).
 * OPS_NAME is set by the build (-DOPS_NAME='"tfifo"') so one source can make several programs. */
#pragma once
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#ifndef OPS_NAME
#error "build with -DOPS_NAME='\"name\"'"
#endif

char _license[] SEC("license") = "GPL";
