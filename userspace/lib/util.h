/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Small helpers shared by the userspace programs.
 */

#ifndef SKIFF_UTIL_H
#define SKIFF_UTIL_H

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif /* SKIFF_UTIL_H */
