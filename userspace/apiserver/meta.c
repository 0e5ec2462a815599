// SPDX-License-Identifier: GPL-2.0
/*
 * Object metadata rules: name syntax, uids, timestamps, resourceVersions.
 */

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "api.h"

/*
 * DNS-1123: a label is at most 63 of [a-z0-9-], starting and ending with
 * an alphanumeric; a subdomain is at most 253 of labels joined by dots.
 * Kubernetes names most objects as subdomains, and namespaces, services
 * and the like as labels (they become DNS names themselves).
 */
bool meta_valid_name(const char *name, bool label, char *err, size_t len)
{
	size_t n = strlen(name), run = 0, i;
	const char *what = label ? "a lowercase RFC 1123 label" :
				   "a lowercase RFC 1123 subdomain";

	if (!n) {
		snprintf(err, len, "name or generateName is required");
		return false;
	}
	if (n > (label ? 63u : 253u)) {
		snprintf(err, len,
			 "Invalid value: \"%.64s...\": must be no more than %d characters",
			 name, label ? 63 : 253);
		return false;
	}
	for (i = 0; i < n; i++) {
		char c = name[i];
		bool alnum = islower((unsigned char)c) ||
			     isdigit((unsigned char)c);

		if (c == '.' && !label) {
			if (!run || name[i - 1] == '-')
				goto bad;
			run = 0;
			continue;
		}
		if (!alnum && c != '-')
			goto bad;
		if (c == '-' && !run)
			goto bad;
		if (++run > 63)
			goto bad;
	}
	if (name[n - 1] == '-' || name[n - 1] == '.')
		goto bad;
	return true;
bad:
	snprintf(err, len,
		 "Invalid value: \"%s\": %s must consist of lower case alphanumeric characters, '-'%s and must start and end with an alphanumeric character",
		 name, what, label ? "" : " or '.'");
	return false;
}

void meta_new_uid(char out[37])
{
	unsigned char b[16];

	if (getrandom(b, sizeof(b), 0) != sizeof(b)) {
		/* getrandom on a booted kernel does not fail for 16 bytes */
		abort();
	}
	b[6] = (b[6] & 0x0f) | 0x40;	/* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
}

void meta_now(char out[32])
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

bool meta_parse_rv(const char *text, int64_t *rv)
{
	char *end;
	long long v;

	if (!text || !*text || !isdigit((unsigned char)*text))
		return false;
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno || *end || v < 0)
		return false;
	*rv = v;
	return true;
}
