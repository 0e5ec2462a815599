/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kubernetes protobuf bodies (Content-Type application/vnd.kubernetes.protobuf,
 * as kubectl 1.32's typed commands send them) to the JSON object the same
 * client would have sent as JSON, so that the apiserver reads both alike.
 *
 * A body is the magic "k8s\0" then a runtime.Unknown message: typeMeta
 * {apiVersion, kind}, raw (the object's own message), contentEncoding and
 * contentType (both empty). The schema is k8s_schema.h's: the kinds
 * skiff-apiserver serves and everything they contain.
 *
 * The JSON is what Kubernetes' Go types write: fields in their order, kind
 * and apiVersion first; empty fields left out where the Go field says
 * omitempty, a pointer field kept when sent even as 0, false or "";
 * Time and MicroTime as RFC 3339, Duration as "1h2m3s", IntOrString as a
 * number or a string, Quantity as its string, bytes in base64,
 * RawExtension and FieldsV1 as the JSON they hold, map keys sorted.
 *
 * Anything the schema does not know is an error, never dropped: an
 * unknown field number, a wrong wire type, truncated or overlong data,
 * invalid UTF-8, nesting deeper than K8S_PROTOBUF_MAX_DEPTH messages, or
 * a decoded object far larger than the body (memory amplification).
 */

#ifndef SKIFF_K8S_PROTOBUF_H
#define SKIFF_K8S_PROTOBUF_H

#include <stddef.h>

#include <jansson.h>

#define K8S_PROTOBUF_MEDIA_TYPE "application/vnd.kubernetes.protobuf"
#define K8S_PROTOBUF_MAX_DEPTH 32

/*
 * The object in a protobuf request body, as JSON (a new reference), or
 * NULL with @err saying what is wrong and where (a JSON path and the
 * protobuf message, e.g. "k8s.io.api.core.v1.Container at
 * spec.template.spec.containers[0]: unknown field 99 (wire type 2)").
 */
json_t *k8s_protobuf_to_json(const void *body, size_t len, char *err,
			     size_t err_len);

/*
 * One message of the schema without the envelope, by its full protobuf
 * name ("k8s.io.api.core.v1.PodSpec"), in its JSON form (an object, or a
 * string, number or null for the special kinds such as Time).
 */
json_t *k8s_protobuf_message_to_json(const char *message, const void *buf,
				     size_t len, char *err, size_t err_len);

#endif /* SKIFF_K8S_PROTOBUF_H */
