// SPDX-License-Identifier: GPL-2.0
/*
 * Durations as the control-plane daemons' flags take them: Go's
 * ParseDuration units, or plain seconds; and what is refused.
 */

#include "leader.h"
#include "tap.h"

int main(void)
{
	tap_plan(19);

	tap_is_int(skiff_parse_duration("15s"), 15000, "seconds");
	tap_is_int(skiff_parse_duration("500ms"), 500, "milliseconds");
	tap_is_int(skiff_parse_duration("1m"), 60000, "minutes");
	tap_is_int(skiff_parse_duration("1h"), 3600000, "hours");
	tap_is_int(skiff_parse_duration("1m30s"), 90000, "minutes and seconds");
	tap_is_int(skiff_parse_duration("1.5s"), 1500, "fractions");
	tap_is_int(skiff_parse_duration("2h0m1s"), 7201000, "three units");
	tap_is_int(skiff_parse_duration("15"), 15000, "plain seconds");
	tap_is_int(skiff_parse_duration("0s"), 0, "zero");
	tap_is_int(skiff_parse_duration(""), -1, "empty refused");
	tap_is_int(skiff_parse_duration("-1s"), -1, "negative refused");
	tap_is_int(skiff_parse_duration("1x"), -1, "unknown unit refused");
	tap_is_int(skiff_parse_duration("1sec"), -1, "longer unit refused");
	tap_is_int(skiff_parse_duration("s"), -1, "no number refused");
	tap_is_int(skiff_parse_duration("1s "), -1, "trailing space refused");
	tap_is_int(skiff_parse_duration("soon"), -1, "words refused");
	tap_is_int(skiff_parse_duration("0x10s"), -1, "hex refused");
	tap_is_int(skiff_parse_duration("inf"), -1, "infinity refused");
	tap_is_int(skiff_parse_duration("1.2.3s"), -1, "two points refused");
	return tap_done();
}
