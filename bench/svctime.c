// SPDX-License-Identifier: GPL-2.0
/*
 * svctime: how long the data plane library takes to program services,
 * timed around the library call alone (no process start, no parsing): the
 * figure a node agent that keeps its data plane open pays per change.
 *
 *   svctime -b kmod|nft sync LIST
 *	makes the service table exactly LIST's (skiff_dp_service_sync, one
 *	netlink request for kmod, one nf_tables batch for nft) and prints
 *	the milliseconds it took. LIST has one service a line,
 *	"VIP BACKEND1 BACKEND2": VIP:80/tcp to BACKENDn:8080.
 *
 *   svctime -b kmod|nft update REPS VIP
 *	REPS times: adds the service VIP:80/tcp (two backends) and removes
 *	it again (skiff_dp_service_set, skiff_dp_service_del); prints the
 *	median add and remove times in milliseconds.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dataplane.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void service_init(struct skiff_dp_service *svc, struct in_addr vip)
{
	memset(svc, 0, sizeof(*svc));
	svc->vip = vip;
	svc->port = 80;
	svc->proto = SKIFF_DP_TCP;
}

static void endpoint_init(struct skiff_dp_endpoint *b, struct in_addr addr)
{
	memset(b, 0, sizeof(*b));
	b->addr = addr;
	b->port = 8080;
	b->weight = 1;
}

static int fail(const char *what, const struct skiff_error *e)
{
	skiff_error_print(what, e);
	return 1;
}

static int do_sync(struct skiff_dp *dp, const char *path)
{
	struct skiff_dp_service_spec *specs = NULL;
	struct skiff_dp_endpoint *eps = NULL;
	char vip[64], b1[64], b2[64];
	size_t n = 0, cap = 0, i;
	struct skiff_error e;
	struct in_addr a[3];
	double t0, t1;
	FILE *f;
	int err;

	f = fopen(path, "r");
	if (!f) {
		perror(path);
		return 1;
	}
	while (fscanf(f, "%63s %63s %63s", vip, b1, b2) == 3) {
		if (inet_pton(AF_INET, vip, &a[0]) != 1 ||
		    inet_pton(AF_INET, b1, &a[1]) != 1 ||
		    inet_pton(AF_INET, b2, &a[2]) != 1) {
			fprintf(stderr, "svctime: %s: bad line %zu\n", path, n + 1);
			return 1;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			specs = realloc(specs, cap * sizeof(*specs));
			eps = realloc(eps, 2 * cap * sizeof(*eps));
			if (!specs || !eps) {
				fprintf(stderr, "svctime: out of memory\n");
				return 1;
			}
		}
		service_init(&specs[n].svc, a[0]);
		endpoint_init(&eps[2 * n], a[1]);
		endpoint_init(&eps[2 * n + 1], a[2]);
		specs[n].count = 2;
		n++;
	}
	fclose(f);
	/* eps moved while growing: point the specs at it now. */
	for (i = 0; i < n; i++)
		specs[i].backends = &eps[2 * i];

	t0 = now_ms();
	err = skiff_dp_service_sync(dp, specs, n, &e);
	t1 = now_ms();
	free(specs);
	free(eps);
	if (err)
		return fail("svctime: sync", &e);
	printf("%.3f\n", t1 - t0);
	return 0;
}

static int do_update(struct skiff_dp *dp, int reps, const char *vip)
{
	struct skiff_dp_endpoint backends[2];
	struct skiff_dp_service svc;
	double *adds, *dels, t0;
	struct skiff_error e;
	struct in_addr a;
	int i;

	if (reps < 1 || inet_pton(AF_INET, vip, &a) != 1)
		return 2;
	service_init(&svc, a);
	inet_pton(AF_INET, "10.245.255.1", &a);
	endpoint_init(&backends[0], a);
	inet_pton(AF_INET, "10.246.255.1", &a);
	endpoint_init(&backends[1], a);
	adds = calloc(reps, sizeof(*adds));
	dels = calloc(reps, sizeof(*dels));
	if (!adds || !dels)
		return 1;
	for (i = 0; i < reps; i++) {
		t0 = now_ms();
		if (skiff_dp_service_set(dp, &svc, backends, 2, &e))
			return fail("svctime: service set", &e);
		adds[i] = now_ms() - t0;
		t0 = now_ms();
		if (skiff_dp_service_del(dp, &svc, &e))
			return fail("svctime: service del", &e);
		dels[i] = now_ms() - t0;
	}
	printf("%.3f %.3f\n", median(adds, reps), median(dels, reps));
	free(adds);
	free(dels);
	return 0;
}

int main(int argc, char **argv)
{
	enum skiff_dp_backend backend;
	struct skiff_error e;
	struct skiff_dp *dp;
	int rc;

	if (argc < 4 || strcmp(argv[1], "-b") ||
	    skiff_dp_backend_parse(argv[2], &backend)) {
		fprintf(stderr, "usage: svctime -b kmod|nft sync LIST\n"
				"       svctime -b kmod|nft update REPS VIP\n");
		return 2;
	}
	if (skiff_dp_open(&dp, backend, &e))
		return fail("svctime", &e);
	if (!strcmp(argv[3], "sync") && argc == 5)
		rc = do_sync(dp, argv[4]);
	else if (!strcmp(argv[3], "update") && argc == 6)
		rc = do_update(dp, atoi(argv[4]), argv[5]);
	else
		rc = 2;
	if (rc == 2)
		fprintf(stderr, "svctime: bad arguments\n");
	skiff_dp_close(dp);
	return rc;
}
