/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one place for kernel-version differences. nfdsr is built and tested
 * against Debian's 6.1 and 6.12 kernels; keep the module's API surface small
 * so this file stays short.
 */
#ifndef NFDSR_COMPAT_H
#define NFDSR_COMPAT_H

#include <linux/version.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 1, 0)
#error "nfdsr needs Linux 6.1 or newer"
#endif

#endif /* NFDSR_COMPAT_H */
