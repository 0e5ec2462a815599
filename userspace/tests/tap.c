// SPDX-License-Identifier: GPL-2.0
/*
 * TAP version 13 output for the unit tests.
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"

static int planned = -1;
static int ran;
static int failed;

void tap_plan(int count)
{
	planned = count;
	printf("TAP version 13\n1..%d\n", count);
}

static bool report(bool pass, const char *fmt, va_list ap)
{
	ran++;
	if (!pass)
		failed++;
	printf("%s %d - ", pass ? "ok" : "not ok", ran);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
	return pass;
}

bool tap_ok(bool pass, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(pass, fmt, ap);
	va_end(ap);
	return pass;
}

bool tap_is_int(long long got, long long want, const char *fmt, ...)
{
	bool pass = got == want;
	va_list ap;

	va_start(ap, fmt);
	report(pass, fmt, ap);
	va_end(ap);
	if (!pass)
		tap_diag("got %lld, want %lld", got, want);
	return pass;
}

bool tap_is_str(const char *got, const char *want, const char *fmt, ...)
{
	bool pass = got && want && !strcmp(got, want);
	va_list ap;

	va_start(ap, fmt);
	report(pass, fmt, ap);
	va_end(ap);
	if (!pass)
		tap_diag("got \"%s\", want \"%s\"", got ? got : "(null)",
			 want ? want : "(null)");
	return pass;
}

void tap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

int tap_done(void)
{
	if (planned >= 0 && ran != planned) {
		tap_diag("planned %d tests but ran %d", planned, ran);
		return 1;
	}
	return failed ? 1 : 0;
}
