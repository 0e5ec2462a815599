/* SPDX-License-Identifier: GPL-2.0 */
/* Kubernetes resource quantities. */

#ifndef SKIFF_QUANTITY_H
#define SKIFF_QUANTITY_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Reads @text ("500m", "128Mi", "2") into *@out, in thousandths when
 * @milli (CPU), rounded up; -1 when it is not a quantity (or negative,
 * or too large).
 */
int skiff_parse_quantity(const char *text, bool milli, int64_t *out);

#endif /* SKIFF_QUANTITY_H */
