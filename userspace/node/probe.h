/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Container probes (liveness, readiness, startup) as the kubelet runs
 * them, on the agent's event loop and never blocking it:
 *   exec       the command run in the container (through the runtime's
 *              exec), success when it exits 0 within timeoutSeconds
 *   httpGet    GET http://HOST:PORT/PATH (host: the pod IP unless given;
 *              scheme HTTP; httpHeaders sent), success for 200..399,
 *              through libcurl on the loop
 *   tcpSocket  a TCP connection to HOST:PORT opens within the timeout
 * Fields and defaults are Kubernetes': initialDelaySeconds 0,
 * periodSeconds 10, timeoutSeconds 1, successThreshold 1,
 * failureThreshold 3; a named port is looked up in the container's
 * ports. The result changes only after successThreshold successes in a
 * row or failureThreshold failures in a row.
 */

#ifndef SKIFF_PROBE_H
#define SKIFF_PROBE_H

#include <netinet/in.h>
#include <stdbool.h>

#include <jansson.h>

#include "error.h"
#include "loop.h"

struct skiff_probe;

/*
 * The probe's result changed: @ok true (success threshold reached) or
 * false (failure threshold reached), with a message saying what the last
 * attempt saw ("HTTP probe failed with statuscode: 500").
 */
typedef void (*skiff_probe_fn)(bool ok, const char *message, void *arg);

/*
 * Starts probing as @spec (a Probe object: exec/httpGet/tcpSocket and the
 * timing fields) says, for a container with @ports (its ports array, may
 * be NULL) in a pod at @pod_ip. @exec_argv is the prefix that runs a
 * command in the container (skiff_runtime_exec_argv()), NULL-terminated;
 * the probe keeps a copy. The first attempt is after initialDelaySeconds.
 * -EINVAL with @e when @spec has no handler or a bad field.
 */
int skiff_probe_start(struct skiff_probe **probep, struct skiff_loop *loop,
		      const json_t *spec, const json_t *ports,
		      struct in_addr pod_ip, const char *const *exec_argv,
		      skiff_probe_fn fn, void *arg, struct skiff_error *e);
/* Stops probing (an attempt in flight is abandoned); NULL is fine. */
void skiff_probe_stop(struct skiff_probe *probe);

#endif /* SKIFF_PROBE_H */
