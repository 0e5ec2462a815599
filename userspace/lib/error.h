/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Why an operation failed: an errno and, where one exists, a message (the
 * kernel's extack, or our own words) naming what was wrong.
 */

#ifndef SKIFF_ERROR_H
#define SKIFF_ERROR_H

#include <stdint.h>

/**
 * struct skiff_error - why a request failed
 * @err: negative errno (or -ENOENT when skiff.ko is not loaded)
 * @msg: the kernel's extack message, or our own when the kernel gave none;
 *	empty when there is nothing to add to strerror(-@err)
 * @bad_attr_offset: byte offset of the attribute the kernel blamed, counted
 *	from the start of the request's netlink header; -1 when none
 * @missing_type: attribute type the kernel reported missing; 0 when none
 */
struct skiff_error {
	int err;
	char msg[256];
	int32_t bad_attr_offset;
	uint32_t missing_type;
};

void skiff_error_clear(struct skiff_error *e);
/* Sets @e to @err with a printf-style message; returns @err. */
int skiff_error_set(struct skiff_error *e, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prints "PREFIX: strerror: message" to stderr. */
void skiff_error_print(const char *prefix, const struct skiff_error *e);

#endif /* SKIFF_ERROR_H */
