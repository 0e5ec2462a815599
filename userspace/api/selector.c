// SPDX-License-Identifier: GPL-2.0
/*
 * Label and field selectors, with the grammar and the semantics of
 * Kubernetes' k8s.io/apimachinery/pkg/labels and pkg/fields: kubectl and
 * every client library build their ?labelSelector= and ?fieldSelector=
 * text for those parsers, so anything they accept must parse here to the
 * same meaning, and anything they refuse is refused here too.
 *
 * Both kinds parse into one list of requirements, all of which must hold.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selector.h"
#include "util.h"

/* Longest name part of a qualified name, and longest label value. */
#define QUALIFIED_NAME_MAX	63
#define LABEL_VALUE_MAX		63
#define DNS1123_SUBDOMAIN_MAX	253

enum sel_op {
	SEL_IN,		/* =, ==, in: present with one of the values */
	SEL_NOT_IN,	/* !=, notin: absent, or none of the values */
	SEL_EXISTS,	/* key */
	SEL_NOT_EXISTS,	/* !key */
	SEL_GT,		/* key>N: present, an integer, greater */
	SEL_LT,		/* key<N */
};

struct requirement {
	char *key;
	enum sel_op op;
	char **values;
	size_t nvalues;
	long long number;	/* SEL_GT and SEL_LT */
};

struct skiff_selector {
	bool fields;		/* a field selector: missing fields read "" */
	size_t n;
	size_t cap;
	struct requirement *reqs;
};

static int __attribute__((format(printf, 3, 4)))
fail(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	if (err && err_len) {
		va_start(ap, fmt);
		vsnprintf(err, err_len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int nomem(char *err, size_t err_len)
{
	if (err && err_len)
		snprintf(err, err_len, "out of memory");
	return -ENOMEM;
}

/* ---- validation of keys and values, as k8s.io/apimachinery validation */

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9], or "" when @empty_ok. */
static bool is_qualified_token(const char *s, size_t len, bool empty_ok)
{
	size_t i;

	if (!len)
		return empty_ok;
	if (!is_alnum(s[0]) || !is_alnum(s[len - 1]))
		return false;
	for (i = 1; i + 1 < len; i++)
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' &&
		    s[i] != '.')
			return false;
	return true;
}

static bool is_dns_label_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Lower case DNS labels joined by dots, each starting and ending alnum. */
static bool is_dns1123_subdomain(const char *s, size_t len)
{
	size_t i;

	if (!len || len > DNS1123_SUBDOMAIN_MAX)
		return false;
	if (!is_dns_label_char(s[0]) || !is_dns_label_char(s[len - 1]))
		return false;
	for (i = 1; i + 1 < len; i++) {
		if (is_dns_label_char(s[i]))
			continue;
		/* '-' inside a label, '.' between two of them */
		if (s[i] == '-' && s[i - 1] != '.' && s[i + 1] != '.')
			continue;
		if (s[i] == '.' && is_dns_label_char(s[i - 1]) &&
		    is_dns_label_char(s[i + 1]))
			continue;
		return false;
	}
	return true;
}

/**
 * validate_key() - check a label key as Kubernetes' IsQualifiedName does
 * @key: the key
 * @err: where to say what is wrong
 * @err_len: size of @err
 *
 * Return: 0, or -EINVAL naming the key and the broken rule.
 */
static int validate_key(const char *key, char *err, size_t err_len)
{
	const char *slash = strchr(key, '/');
	const char *name = slash ? slash + 1 : key;
	size_t len = strlen(name);

	if (slash && strchr(name, '/'))
		return fail(err, err_len,
			    "invalid label key \"%s\": more than one '/'", key);
	if (slash && slash == key)
		return fail(err, err_len,
			    "invalid label key \"%s\": empty prefix before '/'",
			    key);
	if (slash && !is_dns1123_subdomain(key, slash - key))
		return fail(err, err_len,
			    "invalid label key \"%s\": the prefix must be a DNS subdomain (lower case alphanumerics, '-' and '.', at most %d characters)",
			    key, DNS1123_SUBDOMAIN_MAX);
	if (!len)
		return fail(err, err_len,
			    "invalid label key \"%s\": empty name", key);
	if (len > QUALIFIED_NAME_MAX)
		return fail(err, err_len,
			    "invalid label key \"%s\": the name is longer than %d characters",
			    key, QUALIFIED_NAME_MAX);
	if (!is_qualified_token(name, len, false))
		return fail(err, err_len,
			    "invalid label key \"%s\": the name must be alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric",
			    key);
	return 0;
}

static int validate_value(const char *key, const char *value, char *err,
			  size_t err_len)
{
	size_t len = strlen(value);

	if (len > LABEL_VALUE_MAX)
		return fail(err, err_len,
			    "invalid value \"%s\" for label \"%s\": longer than %d characters",
			    value, key, LABEL_VALUE_MAX);
	if (!is_qualified_token(value, len, true))
		return fail(err, err_len,
			    "invalid value \"%s\" for label \"%s\": must be empty or alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric",
			    value, key);
	return 0;
}

/* strconv.ParseInt(s, 10, 64): optional sign, decimal digits, in range. */
static bool parse_int64(const char *s, long long *out)
{
	const char *digits = (*s == '+' || *s == '-') ? s + 1 : s;
	char *end;

	if (!*digits || strspn(digits, "0123456789") != strlen(digits))
		return false;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return !errno && !*end;
}

/* ---- the selector and its requirements -------------------------------- */

static struct skiff_selector *selector_new(bool fields)
{
	struct skiff_selector *sel = calloc(1, sizeof(*sel));

	if (sel)
		sel->fields = fields;
	return sel;
}

static void requirement_free(struct requirement *req)
{
	size_t i;

	for (i = 0; i < req->nvalues; i++)
		free(req->values[i]);
	free(req->values);
	free(req->key);
}

void skiff_selector_free(struct skiff_selector *sel)
{
	size_t i;

	if (!sel)
		return;
	for (i = 0; i < sel->n; i++)
		requirement_free(&sel->reqs[i]);
	free(sel->reqs);
	free(sel);
}

/* A new requirement at the end of @sel, with a copy of @key and no value. */
static struct requirement *requirement_add(struct skiff_selector *sel,
					   const char *key, size_t key_len,
					   enum sel_op op)
{
	struct requirement *req;

	if (sel->n == sel->cap) {
		size_t cap = sel->cap ? 2 * sel->cap : 4;

		req = reallocarray(sel->reqs, cap, sizeof(*req));
		if (!req)
			return NULL;
		sel->reqs = req;
		sel->cap = cap;
	}
	req = &sel->reqs[sel->n];
	memset(req, 0, sizeof(*req));
	req->key = strndup(key, key_len);
	if (!req->key)
		return NULL;
	req->op = op;
	sel->n++;
	return req;
}

/* Adds a value to @req unless it has it already: values are a set. */
static int requirement_value(struct requirement *req, const char *value,
			     size_t len)
{
	char **values;
	size_t i;

	for (i = 0; i < req->nvalues; i++)
		if (strlen(req->values[i]) == len &&
		    !memcmp(req->values[i], value, len))
			return 0;
	values = reallocarray(req->values, req->nvalues + 1, sizeof(*values));
	if (!values)
		return -ENOMEM;
	req->values = values;
	values[req->nvalues] = strndup(value, len);
	if (!values[req->nvalues])
		return -ENOMEM;
	req->nvalues++;
	return 0;
}

/**
 * requirement_check() - the rules of Kubernetes' labels.NewRequirement
 * @req: a requirement with its key, operator and values
 * @err: where to say what is wrong
 * @err_len: size of @err
 *
 * Return: 0, or -EINVAL: a bad key or value, an empty set for in and notin,
 * values for exists and does-not-exist, a non-integer for gt and lt.
 */
static int requirement_check(struct requirement *req, char *err,
			     size_t err_len)
{
	size_t i;
	int ret;

	ret = validate_key(req->key, err, err_len);
	if (ret)
		return ret;
	switch (req->op) {
	case SEL_IN:
	case SEL_NOT_IN:
		if (!req->nvalues)
			return fail(err, err_len,
				    "label \"%s\": the values of 'in' and 'notin' must not be empty",
				    req->key);
		break;
	case SEL_EXISTS:
	case SEL_NOT_EXISTS:
		if (req->nvalues)
			return fail(err, err_len,
				    "label \"%s\": 'exists' and 'does not exist' take no values",
				    req->key);
		break;
	case SEL_GT:
	case SEL_LT:
		if (req->nvalues != 1 ||
		    !parse_int64(req->values[0], &req->number))
			return fail(err, err_len,
				    "label \"%s\": 'gt' and 'lt' take one integer value",
				    req->key);
		break;
	}
	for (i = 0; i < req->nvalues; i++) {
		ret = validate_value(req->key, req->values[i], err, err_len);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- label selector text ------------------------------------------------
 *
 * The lexer and the recursive descent below follow the grammar of
 * labels.Parse: identifiers run to the next blank or special character
 * (=!(),<>), "in" and "notin" are keywords only where an operator is
 * expected, and "==" and "!=" are the only two-character symbols.
 */

enum tok {
	T_END,
	T_IDENT,
	T_COMMA,
	T_EQ,
	T_DEQ,
	T_NEQ,
	T_NOT,
	T_LPAR,
	T_RPAR,
	T_GT,
	T_LT,
	T_IN,
	T_NOTIN,
};

struct token {
	enum tok type;
	const char *text;
	size_t len;
};

struct parser {
	struct token *toks;
	size_t n;
	size_t pos;		/* the next token */
	size_t cur;		/* the token next() returned last */
	struct skiff_selector *sel;
	char *err;
	size_t err_len;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_special(char c)
{
	return c && strchr("=!(),<>", c);
}

static enum tok special_token(const char *s, size_t *len)
{
	*len = 2;
	if (s[0] == '=' && s[1] == '=')
		return T_DEQ;
	if (s[0] == '!' && s[1] == '=')
		return T_NEQ;
	*len = 1;
	switch (s[0]) {
	case '=':
		return T_EQ;
	case '!':
		return T_NOT;
	case '(':
		return T_LPAR;
	case ')':
		return T_RPAR;
	case ',':
		return T_COMMA;
	case '<':
		return T_LT;
	default:
		return T_GT;
	}
}

static enum tok word_token(const char *s, size_t len)
{
	if (len == 2 && !memcmp(s, "in", 2))
		return T_IN;
	if (len == 5 && !memcmp(s, "notin", 5))
		return T_NOTIN;
	return T_IDENT;
}

/* Splits @text into tokens, the last one T_END. */
static int lex(struct parser *p, const char *text)
{
	size_t cap = strlen(text) + 1;
	const char *s = text;

	/* No token is shorter than a character: this is enough. */
	p->toks = calloc(cap, sizeof(*p->toks));
	if (!p->toks)
		return -ENOMEM;
	for (;;) {
		struct token *t = &p->toks[p->n++];

		while (is_blank(*s))
			s++;
		t->text = s;
		if (!*s) {
			t->type = T_END;
			return 0;
		}
		if (is_special(*s)) {
			t->type = special_token(s, &t->len);
		} else {
			while (s[t->len] && !is_blank(s[t->len]) &&
			       !is_special(s[t->len]))
				t->len++;
			t->type = word_token(s, t->len);
		}
		s += t->len;
	}
}

/* Where values are expected, "in" and "notin" are plain identifiers. */
static enum tok peek(struct parser *p, bool values)
{
	enum tok type = p->toks[p->pos].type;

	if (values && (type == T_IN || type == T_NOTIN))
		return T_IDENT;
	return type;
}

static enum tok next(struct parser *p, bool values)
{
	enum tok type = peek(p, values);

	p->cur = p->pos;
	if (type != T_END)
		p->pos++;
	return type;
}

/* Fails naming the token at @pos (or the end) and what was expected. */
static int unexpected(struct parser *p, size_t pos, const char *expected)
{
	const struct token *t = &p->toks[pos];

	if (t->type == T_END)
		return fail(p->err, p->err_len,
			    "label selector: found end of selector, expected %s",
			    expected);
	return fail(p->err, p->err_len,
		    "label selector: found '%.*s', expected %s",
		    (int)t->len, t->text, expected);
}

static const struct token *last(struct parser *p)
{
	return &p->toks[p->cur];
}

/* ( value, value, ... ): empty places between commas are "" values. */
static int parse_value_list(struct parser *p, struct requirement *req)
{
	const struct token *t;
	int ret = 0;

	for (;;) {
		switch (next(p, true)) {
		case T_IDENT:
			t = last(p);
			ret = requirement_value(req, t->text, t->len);
			if (ret)
				return ret;
			if (peek(p, true) == T_RPAR)
				return 0;
			if (peek(p, true) != T_COMMA)
				return unexpected(p, p->pos, "',' or ')'");
			break;
		case T_COMMA:
			/* "(,", ",)" and ",," each stand for an empty value */
			if (!req->nvalues)
				ret = requirement_value(req, "", 0);
			if (!ret && peek(p, true) == T_RPAR)
				return requirement_value(req, "", 0);
			if (!ret && peek(p, true) == T_COMMA) {
				next(p, true);
				ret = requirement_value(req, "", 0);
			}
			if (ret)
				return ret;
			break;
		default:
			return unexpected(p, p->cur, "',' or an identifier");
		}
	}
}

static int parse_values(struct parser *p, struct requirement *req)
{
	int ret;

	if (next(p, true) != T_LPAR)
		return unexpected(p, p->cur, "'('");
	switch (peek(p, true)) {
	case T_IDENT:
	case T_COMMA:
		ret = parse_value_list(p, req);
		if (ret)
			return ret;
		if (next(p, true) != T_RPAR)
			return unexpected(p, p->cur, "')'");
		return 0;
	case T_RPAR:
		/* "()" is the set of the empty value, as Kubernetes reads it */
		next(p, true);
		return requirement_value(req, "", 0);
	default:
		return unexpected(p, p->pos, "',', ')' or an identifier");
	}
}

/* The value after =, == or !=: nothing there is the empty value. */
static int parse_exact_value(struct parser *p, struct requirement *req)
{
	enum tok type = peek(p, true);

	if (type == T_END || type == T_COMMA)
		return requirement_value(req, "", 0);
	if (next(p, true) != T_IDENT)
		return unexpected(p, p->cur, "an identifier");
	return requirement_value(req, last(p)->text, last(p)->len);
}

static int binary_op(enum tok type, enum sel_op *op)
{
	switch (type) {
	case T_EQ:
	case T_DEQ:
	case T_IN:
		*op = SEL_IN;
		return 0;
	case T_NEQ:
	case T_NOTIN:
		*op = SEL_NOT_IN;
		return 0;
	case T_GT:
		*op = SEL_GT;
		return 0;
	case T_LT:
		*op = SEL_LT;
		return 0;
	default:
		return -EINVAL;
	}
}

/* [!]key, or key OP value(s) */
static int parse_requirement(struct parser *p)
{
	enum sel_op op = SEL_EXISTS;
	const struct token *key;
	struct requirement *req;
	enum tok type;
	int ret;

	type = next(p, true);
	if (type == T_NOT) {
		op = SEL_NOT_EXISTS;
		type = next(p, true);
	}
	if (type != T_IDENT)
		return unexpected(p, p->cur, "an identifier");
	key = last(p);
	type = peek(p, true);
	if (op == SEL_EXISTS && type != T_END && type != T_COMMA) {
		type = next(p, false);
		if (binary_op(type, &op))
			return unexpected(p, p->cur,
				     "one of in, notin, =, ==, !=, >, <");
	}
	req = requirement_add(p->sel, key->text, key->len, op);
	if (!req)
		return -ENOMEM;
	if (op == SEL_IN || op == SEL_NOT_IN) {
		if (type == T_IN || type == T_NOTIN)
			ret = parse_values(p, req);
		else
			ret = parse_exact_value(p, req);
	} else if (op == SEL_GT || op == SEL_LT) {
		ret = parse_exact_value(p, req);
	} else {
		ret = 0;
	}
	return ret ? ret : requirement_check(req, p->err, p->err_len);
}

static int parse_label_text(struct parser *p)
{
	enum tok type;
	int ret;

	for (;;) {
		type = peek(p, true);
		if (type == T_END)
			return 0;
		if (type != T_IDENT && type != T_NOT)
			return unexpected(p, p->pos,
				     "'!', an identifier or end of selector");
		ret = parse_requirement(p);
		if (ret)
			return ret;
		type = next(p, true);
		if (type == T_END)
			return 0;
		if (type != T_COMMA)
			return unexpected(p, p->cur,
				     "',' or end of selector");
		type = peek(p, true);
		if (type != T_IDENT && type != T_NOT)
			return unexpected(p, p->pos, "an identifier after ','");
	}
}

int skiff_label_selector_parse(const char *text, struct skiff_selector **sel,
			       char *err, size_t err_len)
{
	struct parser p = { .err = err, .err_len = err_len };
	int ret;

	*sel = NULL;
	p.sel = selector_new(false);
	ret = p.sel ? lex(&p, text ? text : "") : -ENOMEM;
	if (!ret)
		ret = parse_label_text(&p);
	free(p.toks);
	if (ret == -ENOMEM)
		nomem(err, err_len);
	if (ret) {
		skiff_selector_free(p.sel);
		return ret;
	}
	*sel = p.sel;
	return 0;
}

/* ---- LabelSelector objects --------------------------------------------- */

static int add_match_labels(struct skiff_selector *sel, const json_t *labels,
			    char *err, size_t err_len)
{
	struct requirement *req;
	const char *key;
	json_t *value;

	if (!json_is_object(labels))
		return fail(err, err_len, "matchLabels must be an object");
	/* json_object_foreach() wants a mutable object; it is only read. */
	json_object_foreach((json_t *)labels, key, value) {
		if (!json_is_string(value))
			return fail(err, err_len,
				    "matchLabels: the value of \"%s\" must be a string",
				    key);
		req = requirement_add(sel, key, strlen(key), SEL_IN);
		if (!req || requirement_value(req, json_string_value(value),
					      json_string_length(value)))
			return nomem(err, err_len);
		if (requirement_check(req, err, err_len))
			return -EINVAL;
	}
	return 0;
}

static int expression_op(const char *name, enum sel_op *op)
{
	static const struct {
		const char *name;
		enum sel_op op;
	} ops[] = {
		{ "In", SEL_IN },
		{ "NotIn", SEL_NOT_IN },
		{ "Exists", SEL_EXISTS },
		{ "DoesNotExist", SEL_NOT_EXISTS },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		if (!strcmp(name, ops[i].name)) {
			*op = ops[i].op;
			return 0;
		}
	}
	return -EINVAL;
}

static int add_expression(struct skiff_selector *sel, size_t index,
			  const json_t *expr, char *err, size_t err_len)
{
	const json_t *key = json_object_get(expr, "key");
	const json_t *op = json_object_get(expr, "operator");
	const json_t *values = json_object_get(expr, "values");
	struct requirement *req;
	enum sel_op sel_op;
	size_t i;

	if (!json_is_object(expr))
		return fail(err, err_len,
			    "matchExpressions[%zu] must be an object", index);
	if (!json_is_string(key))
		return fail(err, err_len,
			    "matchExpressions[%zu].key must be a string",
			    index);
	if (!json_is_string(op) ||
	    expression_op(json_string_value(op), &sel_op))
		return fail(err, err_len,
			    "matchExpressions[%zu].operator must be one of In, NotIn, Exists, DoesNotExist",
			    index);
	if (values && !json_is_null(values) && !json_is_array(values))
		return fail(err, err_len,
			    "matchExpressions[%zu].values must be a list",
			    index);
	req = requirement_add(sel, json_string_value(key),
			      json_string_length(key), sel_op);
	if (!req)
		return nomem(err, err_len);
	for (i = 0; i < json_array_size(values); i++) {
		const json_t *v = json_array_get(values, i);

		if (!json_is_string(v))
			return fail(err, err_len,
				    "matchExpressions[%zu].values[%zu] must be a string",
				    index, i);
		if (requirement_value(req, json_string_value(v),
				      json_string_length(v)))
			return nomem(err, err_len);
	}
	return requirement_check(req, err, err_len);
}

static int add_match_expressions(struct skiff_selector *sel,
				 const json_t *exprs, char *err,
				 size_t err_len)
{
	size_t i;
	int ret;

	if (!json_is_array(exprs))
		return fail(err, err_len, "matchExpressions must be a list");
	for (i = 0; i < json_array_size(exprs); i++) {
		ret = add_expression(sel, i, json_array_get(exprs, i), err,
				     err_len);
		if (ret)
			return ret;
	}
	return 0;
}

int skiff_label_selector_from_json(const json_t *obj,
				   struct skiff_selector **sel,
				   char *err, size_t err_len)
{
	const json_t *labels = json_object_get(obj, "matchLabels");
	const json_t *exprs = json_object_get(obj, "matchExpressions");
	struct skiff_selector *s;
	int ret = 0;

	*sel = NULL;
	if (obj && !json_is_null(obj) && !json_is_object(obj))
		return fail(err, err_len, "a label selector must be an object");
	s = selector_new(false);
	if (!s)
		return nomem(err, err_len);
	if (labels && !json_is_null(labels))
		ret = add_match_labels(s, labels, err, err_len);
	if (!ret && exprs && !json_is_null(exprs))
		ret = add_match_expressions(s, exprs, err, err_len);
	if (ret) {
		skiff_selector_free(s);
		return ret;
	}
	*sel = s;
	return 0;
}

/* ---- field selector text ------------------------------------------------
 *
 * As fields.ParseSelector: terms split at commas that no backslash escapes,
 * each split at its first "!=", "==" or "=" (the field name cannot be
 * escaped), the value unescaped (\\, \, and \= only). Blanks are part of
 * the names and values, as there.
 */

/* The end of the term starting at @s: an unescaped comma or the end. */
static const char *term_end(const char *s)
{
	for (; *s && *s != ','; s++)
		if (*s == '\\' && s[1])
			s++;
	return s;
}

static int unescape_value(const char *s, size_t len, char *out, char *err,
			  size_t err_len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] == ',' || s[i] == '=')
			return fail(err, err_len,
				    "field selector: unescaped '%c' in value \"%.*s\"",
				    s[i], (int)len, s);
		if (s[i] != '\\') {
			*out++ = s[i];
			continue;
		}
		if (i + 1 == len || !strchr("\\,=", s[i + 1]))
			return fail(err, err_len,
				    "field selector: invalid escape sequence in value \"%.*s\"",
				    (int)len, s);
		*out++ = s[++i];
	}
	*out = '\0';
	return 0;
}

static bool field_allowed(const char *const *fields, const char *path)
{
	if (!fields)
		return true;
	for (; *fields; fields++)
		if (!strcmp(*fields, path))
			return true;
	return false;
}

static int parse_field_term(struct skiff_selector *sel, const char *term,
			    size_t len, const char *const *fields, char *err,
			    size_t err_len)
{
	struct requirement *req;
	size_t i, op_len;
	enum sel_op op;
	char *value;
	int ret;

	for (i = 0; i < len; i++)
		if (term[i] == '=' || (term[i] == '!' && i + 1 < len &&
				       term[i + 1] == '='))
			break;
	if (i == len)
		return fail(err, err_len,
			    "field selector: can't understand '%.*s'",
			    (int)len, term);
	op = term[i] == '!' ? SEL_NOT_IN : SEL_IN;
	op_len = (i + 1 < len && term[i + 1] == '=') ? 2 : 1;
	if (!i)
		return fail(err, err_len,
			    "field selector: no field name in '%.*s'",
			    (int)len, term);
	req = requirement_add(sel, term, i, op);
	if (!req)
		return nomem(err, err_len);
	if (!field_allowed(fields, req->key))
		return fail(err, err_len, "field label not supported: %s",
			    req->key);
	value = malloc(len - i - op_len + 1);
	if (!value)
		return nomem(err, err_len);
	ret = unescape_value(term + i + op_len, len - i - op_len, value, err,
			     err_len);
	if (!ret && requirement_value(req, value, strlen(value)))
		ret = nomem(err, err_len);
	free(value);
	return ret;
}

int skiff_field_selector_parse(const char *text, const char *const *fields,
			       struct skiff_selector **sel,
			       char *err, size_t err_len)
{
	struct skiff_selector *s;
	const char *end;
	int ret = 0;

	*sel = NULL;
	s = selector_new(true);
	if (!s)
		return nomem(err, err_len);
	for (; text && *text && !ret; text = *end ? end + 1 : end) {
		end = term_end(text);
		if (end > text)
			ret = parse_field_term(s, text, end - text, fields, err,
					       err_len);
	}
	if (ret) {
		skiff_selector_free(s);
		return ret;
	}
	*sel = s;
	return 0;
}

/* ---- matching ----------------------------------------------------------- */

bool skiff_selector_empty(const struct skiff_selector *sel)
{
	return !sel || !sel->n;
}

/*
 * The text a JSON value reads as: strings as they are, other scalars as
 * their JSON text; NULL and null read as absent. Returns a string to free
 * in *@buf when it had to make one.
 */
static const char *value_text(const json_t *v, char **buf)
{
	*buf = NULL;
	if (!v || json_is_null(v))
		return NULL;
	if (json_is_string(v))
		return json_string_value(v);
	*buf = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	return *buf ? *buf : "";
}

static bool has_value(const struct requirement *req, const char *value)
{
	size_t i;

	for (i = 0; i < req->nvalues; i++)
		if (!strcmp(req->values[i], value))
			return true;
	return false;
}

/* Does @req hold for a key whose value is @value (NULL: absent)? */
static bool requirement_matches(const struct requirement *req,
				const char *value)
{
	long long number;

	switch (req->op) {
	case SEL_IN:
		return value && has_value(req, value);
	case SEL_NOT_IN:
		return !value || !has_value(req, value);
	case SEL_EXISTS:
		return value;
	case SEL_NOT_EXISTS:
		return !value;
	case SEL_GT:
		return value && parse_int64(value, &number) &&
		       number > req->number;
	case SEL_LT:
		return value && parse_int64(value, &number) &&
		       number < req->number;
	}
	return false;
}

bool skiff_selector_match_labels(const struct skiff_selector *sel,
				 const json_t *labels)
{
	const char *value;
	char *buf;
	size_t i;
	bool ok;

	for (i = 0; sel && i < sel->n; i++) {
		value = value_text(json_object_get(labels, sel->reqs[i].key),
				   &buf);
		ok = requirement_matches(&sel->reqs[i], value);
		free(buf);
		if (!ok)
			return false;
	}
	return true;
}

/* The field at a dotted @path of @object, or NULL. */
static const json_t *field_at(const json_t *object, const char *path)
{
	const char *dot;
	char name[256];

	while ((dot = strchr(path, '.'))) {
		if ((size_t)(dot - path) >= sizeof(name))
			return NULL;
		memcpy(name, path, dot - path);
		name[dot - path] = '\0';
		object = json_object_get(object, name);
		path = dot + 1;
	}
	return json_object_get(object, path);
}

bool skiff_selector_match_fields(const struct skiff_selector *sel,
				 const json_t *object)
{
	const char *value;
	char *buf;
	size_t i;
	bool ok;

	for (i = 0; sel && i < sel->n; i++) {
		value = value_text(field_at(object, sel->reqs[i].key), &buf);
		/* A field selector reads a missing field as "". */
		if (!value && sel->fields)
			value = "";
		ok = requirement_matches(&sel->reqs[i], value);
		free(buf);
		if (!ok)
			return false;
	}
	return true;
}
