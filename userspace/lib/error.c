// SPDX-License-Identifier: GPL-2.0
/*
 * struct skiff_error helpers.
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

void skiff_error_clear(struct skiff_error *e)
{
	e->err = 0;
	e->msg[0] = '\0';
	e->bad_attr_offset = -1;
	e->missing_type = 0;
}

int skiff_error_set(struct skiff_error *e, int err, const char *fmt, ...)
{
	va_list ap;

	skiff_error_clear(e);
	e->err = err;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return err;
}

void skiff_error_print(const char *prefix, const struct skiff_error *e)
{
	if (e->msg[0])
		fprintf(stderr, "%s: %s: %s\n", prefix, strerror(-e->err),
			e->msg);
	else
		fprintf(stderr, "%s: %s\n", prefix, strerror(-e->err));
}
