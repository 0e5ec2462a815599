/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Does a pod go on a node: taints against tolerations, nodeSelector and
 * required node affinity, with Kubernetes' rules (its component-helpers).
 * The scheduler filters with them and the DaemonSet controller picks its
 * nodes with them, so both agree.
 */

#ifndef SKIFF_NODEMATCH_H
#define SKIFF_NODEMATCH_H

#include <stdbool.h>

#include <jansson.h>

/* Kubernetes' ToleratesTaint: does one of @tolerations (array) tolerate @taint? */
bool skiff_tolerates(const json_t *tolerations, const json_t *taint);

/*
 * The first of @taints (array) with effect NoExecute, or NoSchedule as well
 * when @no_schedule, that @tolerations do not tolerate; NULL if none.
 */
const json_t *skiff_untolerated_taint(const json_t *taints,
				      const json_t *tolerations,
				      bool no_schedule);

/*
 * nodeSelector (@selector, an object of label: value, may be NULL) and
 * the required node affinity (@required, the pod's
 * affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution,
 * NULL: none) against a node's @labels and @name. Its nodeSelectorTerms
 * are ORed (none: nothing matches), a term's requirements ANDed, an empty
 * term matches nothing; operators In, NotIn, Exists, DoesNotExist, Gt, Lt;
 * matchFields on metadata.name.
 */
bool skiff_node_affinity_matches(const json_t *selector,
				 const json_t *required,
				 const json_t *labels, const char *name);

/* The pod spec's requiredDuringSchedulingIgnoredDuringExecution, or NULL. */
const json_t *skiff_required_node_affinity(const json_t *spec);

#endif /* SKIFF_NODEMATCH_H */
