// SPDX-License-Identifier: GPL-2.0
/*
 * Taints, tolerations and node affinity, as Kubernetes' component-helpers
 * (scheduling/corev1) decide them.
 */

#include <stdlib.h>
#include <string.h>

#include "nodematch.h"

static const char *str(const json_t *obj, const char *field)
{
	return json_string_value(json_object_get(obj, field)) ?: "";
}

bool skiff_tolerates(const json_t *tolerations, const json_t *taint)
{
	const json_t *t;
	const char *op;
	size_t i;

	json_array_foreach(tolerations, i, t) {
		if ((*str(t, "effect") && strcmp(str(t, "effect"), str(taint, "effect"))) ||
		    (*str(t, "key") && strcmp(str(t, "key"), str(taint, "key"))))
			continue;
		op = str(t, "operator");
		if (!strcmp(op, "Exists"))
			return true;
		if ((!*op || !strcmp(op, "Equal")) &&
		    !strcmp(str(t, "value"), str(taint, "value")))
			return true;
	}
	return false;
}

const json_t *skiff_untolerated_taint(const json_t *taints,
				      const json_t *tolerations,
				      bool no_schedule)
{
	const json_t *taint;
	const char *effect;
	size_t i;

	json_array_foreach(taints, i, taint) {
		effect = str(taint, "effect");
		if (strcmp(effect, "NoExecute") &&
		    (!no_schedule || strcmp(effect, "NoSchedule")))
			continue;
		if (!skiff_tolerates(tolerations, taint))
			return taint;
	}
	return NULL;
}

static bool in_values(const json_t *values, const char *v)
{
	const json_t *x;
	size_t i;

	json_array_foreach(values, i, x)
		if (!strcmp(json_string_value(x) ?: "", v))
			return true;
	return false;
}

/* A NodeSelectorRequirement on @actual (NULL: no such label). */
static bool requirement(const json_t *req, const char *actual)
{
	const char *op = str(req, "operator");
	const json_t *values = json_object_get(req, "values");
	long long have, want;
	char *end;

	if (!strcmp(op, "In"))
		return actual && in_values(values, actual);
	if (!strcmp(op, "NotIn"))
		return !actual || !in_values(values, actual);
	if (!strcmp(op, "Exists"))
		return actual;
	if (!strcmp(op, "DoesNotExist"))
		return !actual;
	if ((strcmp(op, "Gt") && strcmp(op, "Lt")) || !actual || !*actual ||
	    json_array_size(values) != 1)
		return false;
	have = strtoll(actual, &end, 10);
	if (*end)
		return false;
	want = strtoll(json_string_value(json_array_get(values, 0)) ?: "x",
		       &end, 10);
	if (*end)
		return false;
	return op[0] == 'G' ? have > want : have < want;
}

static bool term_matches(const json_t *term, const json_t *labels,
			 const char *name)
{
	const json_t *exprs = json_object_get(term, "matchExpressions");
	const json_t *fields = json_object_get(term, "matchFields");
	const json_t *req;
	size_t i;

	if (!json_array_size(exprs) && !json_array_size(fields))
		return false;
	json_array_foreach(exprs, i, req)
		if (!requirement(req, json_string_value(json_object_get(labels,
									str(req, "key")))))
			return false;
	json_array_foreach(fields, i, req)
		if (strcmp(str(req, "key"), "metadata.name") ||
		    !requirement(req, name))
			return false;
	return true;
}

const json_t *skiff_required_node_affinity(const json_t *spec)
{
	const json_t *affinity = json_object_get(spec, "affinity");

	return json_object_get(json_object_get(affinity, "nodeAffinity"),
			       "requiredDuringSchedulingIgnoredDuringExecution");
}

bool skiff_node_affinity_matches(const json_t *selector,
				 const json_t *required,
				 const json_t *labels, const char *name)
{
	const json_t *v;
	const char *key, *label;
	size_t i;

	json_object_foreach((json_t *)selector, key, v) {
		label = json_string_value(json_object_get(labels, key));
		if (!label || strcmp(label, json_string_value(v) ?: ""))
			return false;
	}
	if (!required)
		return true;
	json_array_foreach(json_object_get(required, "nodeSelectorTerms"), i, v)
		if (term_matches(v, labels, name))
			return true;
	return false;
}
