/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A tiny TAP producer for the userspace unit tests, read by prove(1).
 *
 *	tap_plan(3);
 *	tap_ok(x == 1, "x is one");
 *	tap_is_int(got, want, "what it is");
 *	tap_is_str(got, want, "what it is");
 *	return tap_done();
 */

#ifndef SKIFF_TAP_H
#define SKIFF_TAP_H

#include <stdbool.h>

void tap_plan(int count);
bool tap_ok(bool pass, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
bool tap_is_int(long long got, long long want, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool tap_is_str(const char *got, const char *want, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Exit status for main(): 0 when every planned test ran and passed. */
int tap_done(void);

#endif /* SKIFF_TAP_H */
