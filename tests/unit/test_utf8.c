/* test_utf8.c - rd_utf8_valid: where the first ill-formed sequence starts
 * (the queue_log and mail log parser tests cover the whole table of good
 * and bad sequences through the parsers' reject reasons). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "utf8.h"

/* bad < 0: valid, else the offset of the first ill-formed sequence. */
static void expect(const char *s, size_t len, long bad)
{
	size_t off = 12345;

	if (bad < 0) {
		assert_int_equal(rd_utf8_valid(s, len, &off), 1);
		assert_int_equal(off, 12345); /* left alone */
		return;
	}
	assert_int_equal(rd_utf8_valid(s, len, &off), 0);
	assert_int_equal(off, (size_t)bad);
	assert_int_equal(rd_utf8_valid(s, len, NULL), 0);
}

static void test_offsets(void **state)
{
	(void)state;
	expect("", 0, -1);
	expect("caf\xc3\xa9", 5, -1);
	expect("a\0b", 3, -1); /* U+0000 is well-formed: callers check NUL apart */
	expect("\x80", 1, 0);
	expect("ab\xc3\x28", 4, 2);           /* lead byte without its continuation */
	expect("\xc3\xa9\xed\xa0\x80", 5, 2); /* a surrogate after a good character */
	expect("abc\xf4\x90\x80\x80", 7, 3);  /* above U+10FFFF */
	expect("abc\xe0\x80\xaf", 6, 3);      /* overlong */
	expect("ab\xe2\x82", 4, 2);           /* cut by the end */
	expect("ab\xe2\x82\xac", 4, 2);       /* cut by len, not by the data */
	expect("ab\xe2\x82\xac", 5, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_offsets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
