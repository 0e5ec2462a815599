// SPDX-License-Identifier: GPL-2.0
/*
 * The table of served resources. Short names, categories and field
 * selectors are those of Kubernetes, so that kubectl finds what its users
 * type (po, deploy, `get all`, --field-selector spec.nodeName=...).
 */

#include <string.h>

#include "resources.h"
#include "util.h"

#define LIST(...) ((const char *const []){ __VA_ARGS__, NULL })
#define NONE ((const char *const []){ NULL })
#define CORE "", "v1", "v1"
#define APPS "apps", "v1", "apps/v1"
#define BATCH "batch", "v1", "batch/v1"
#define COORDINATION "coordination.k8s.io", "v1", "coordination.k8s.io/v1"
#define META_FIELDS "metadata.name", "metadata.namespace"

const struct api_resource api_resources[] = {
	{ CORE, "namespaces", "namespace", "Namespace", "NamespaceList",
	  RES_STATUS | RES_SHORT_NAME, LIST("ns"), NONE,
	  LIST(META_FIELDS, "status.phase") },
	{ CORE, "nodes", "node", "Node", "NodeList",
	  RES_STATUS, LIST("no"), NONE,
	  LIST(META_FIELDS, "spec.unschedulable") },
	{ CORE, "pods", "pod", "Pod", "PodList",
	  RES_NAMESPACED | RES_STATUS, LIST("po"), LIST("all"),
	  LIST(META_FIELDS, "spec.nodeName", "spec.restartPolicy",
	       "spec.schedulerName", "spec.serviceAccountName",
	       "spec.hostNetwork", "status.phase", "status.podIP",
	       "status.nominatedNodeName") },
	{ CORE, "services", "service", "Service", "ServiceList",
	  RES_NAMESPACED | RES_STATUS | RES_SHORT_NAME, LIST("svc"),
	  LIST("all"), LIST(META_FIELDS) },
	{ CORE, "endpoints", "endpoints", "Endpoints", "EndpointsList",
	  RES_NAMESPACED, LIST("ep"), NONE, LIST(META_FIELDS) },
	{ CORE, "configmaps", "configmap", "ConfigMap", "ConfigMapList",
	  RES_NAMESPACED, LIST("cm"), NONE, LIST(META_FIELDS) },
	{ CORE, "secrets", "secret", "Secret", "SecretList",
	  RES_NAMESPACED, NONE, NONE, LIST(META_FIELDS, "type") },
	{ CORE, "events", "event", "Event", "EventList",
	  RES_NAMESPACED, LIST("ev"), NONE,
	  LIST(META_FIELDS, "involvedObject.kind",
	       "involvedObject.namespace", "involvedObject.name",
	       "involvedObject.uid", "involvedObject.apiVersion",
	       "involvedObject.resourceVersion", "involvedObject.fieldPath",
	       "reason", "reportingComponent", "source", "type") },
	{ APPS, "deployments", "deployment", "Deployment",
	  "DeploymentList",
	  RES_NAMESPACED | RES_STATUS | RES_SCALE | RES_GENERATION,
	  LIST("deploy"), LIST("all"), LIST(META_FIELDS) },
	{ APPS, "replicasets", "replicaset", "ReplicaSet",
	  "ReplicaSetList",
	  RES_NAMESPACED | RES_STATUS | RES_SCALE | RES_GENERATION,
	  LIST("rs"), LIST("all"), LIST(META_FIELDS, "status.replicas") },
	{ APPS, "daemonsets", "daemonset", "DaemonSet",
	  "DaemonSetList", RES_NAMESPACED | RES_STATUS | RES_GENERATION,
	  LIST("ds"), LIST("all"), LIST(META_FIELDS) },
	{ APPS, "statefulsets", "statefulset", "StatefulSet",
	  "StatefulSetList",
	  RES_NAMESPACED | RES_STATUS | RES_SCALE | RES_GENERATION,
	  LIST("sts"), LIST("all"), LIST(META_FIELDS) },
	{ APPS, "controllerrevisions", "controllerrevision",
	  "ControllerRevision", "ControllerRevisionList", RES_NAMESPACED,
	  NONE, NONE, LIST(META_FIELDS) },
	{ BATCH, "jobs", "job", "Job", "JobList",
	  RES_NAMESPACED | RES_STATUS | RES_GENERATION, NONE, LIST("all"),
	  LIST(META_FIELDS, "status.successful") },
	{ COORDINATION, "leases", "lease", "Lease", "LeaseList",
	  RES_NAMESPACED, NONE, NONE, LIST(META_FIELDS) },
};

const unsigned int api_resource_count =
	ARRAY_SIZE(api_resources);

/* In the order discovery lists them; the first of a group is preferred. */
const struct api_group_version api_group_versions[] = {
	{ APPS },
	{ BATCH },
	{ COORDINATION },
};

const unsigned int api_group_version_count =
	ARRAY_SIZE(api_group_versions);

const struct api_resource *api_resource_find(const char *group,
					     const char *version,
					     const char *plural)
{
	unsigned int i;

	for (i = 0; i < api_resource_count; i++) {
		const struct api_resource *res = &api_resources[i];

		if (!strcmp(res->group, group) &&
		    !strcmp(res->version, version) &&
		    !strcmp(res->plural, plural))
			return res;
	}
	return NULL;
}

const char *const *api_resource_fields(const struct api_resource *res)
{
	return res->field_selectors;
}
