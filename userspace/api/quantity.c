// SPDX-License-Identifier: GPL-2.0
/*
 * Kubernetes resource quantities ("500m", "128Mi", "1.5G", "2"), read as
 * the scheduler and the kubelet need them: whole units or thousandths,
 * rounded up as Kubernetes rounds (a request is never made smaller).
 */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "quantity.h"
#include "util.h"

/* Rounding noise of a decimal fraction, not to round 0.1 * 1000 up. */
#define EPSILON 0.000000001

int skiff_parse_quantity(const char *text, bool milli, int64_t *out)
{
	static const struct {
		const char *suffix;
		double factor;
	} suffixes[] = {
		{ "Ki", 1024.0 }, { "Mi", 1048576.0 }, { "Gi", 1073741824.0 },
		{ "Ti", 1099511627776.0 }, { "Pi", 1125899906842624.0 },
		{ "Ei", 1152921504606846976.0 }, { "m", 0.001 }, { "k", 1e3 },
		{ "M", 1e6 }, { "G", 1e9 }, { "T", 1e12 }, { "P", 1e15 },
		{ "E", 1e18 }, { "", 1.0 },
	};
	double v;
	char *end;
	size_t i;

	if (!text || !*text)
		return -1;
	v = strtod(text, &end);
	if (end == text || v < 0 || !isfinite(v))
		return -1;
	for (i = 0; i < ARRAY_SIZE(suffixes); i++) {
		if (strcmp(end, suffixes[i].suffix))
			continue;
		v *= suffixes[i].factor;
		if (milli)
			v *= 1000;
		if (v > 9e18)
			return -1;
		*out = (int64_t)ceil(v - EPSILON);
		return 0;
	}
	return -1;
}
