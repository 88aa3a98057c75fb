/* Unit tests: histogram bins and nearest-rank quantiles (daemon/hist.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hist.h"

static void test_bins(void **state)
{
	assert_int_equal(rd_hist_bin(-3), 0);
	assert_int_equal(rd_hist_bin(0), 0);
	assert_int_equal(rd_hist_bin(59), 59);
	assert_int_equal(rd_hist_bin(60), 60);
	assert_int_equal(rd_hist_bin(299), 83);
	assert_int_equal(rd_hist_bin(300), 84);
	assert_int_equal(rd_hist_bin(1799), 108);
	assert_int_equal(rd_hist_bin(1800), 109);
	assert_int_equal(rd_hist_bin(7199), 126);
	assert_int_equal(rd_hist_bin(7200), 127);
	assert_int_equal(rd_hist_bin(1000000), 127);
	/* every bin's lower bound maps back to the bin */
	for (int b = 0; b < RD_HIST_BINS; b++)
		assert_int_equal(rd_hist_bin(rd_hist_bin_low(b)), b);
}

static void test_quantiles(void **state)
{
	uint64_t h[RD_HIST_BINS];

	memset(h, 0, sizeof(h));
	assert_int_equal(rd_hist_quantile(h, 50), -1);
	/* waits 1..10 s */
	for (int s = 1; s <= 10; s++)
		h[rd_hist_bin(s)]++;
	assert_int_equal(rd_hist_quantile(h, 50), 5); /* rank 5 */
	assert_int_equal(rd_hist_quantile(h, 90), 9); /* rank 9 */
	assert_int_equal(rd_hist_quantile(h, 91), 10);
	/* one long wait lands on its bin's lower bound */
	memset(h, 0, sizeof(h));
	h[rd_hist_bin(437)]++;
	assert_int_equal(rd_hist_quantile(h, 50), 420);
}

/* Merging is adding bins: the quantile of the sum equals the quantile of
 * all samples together. */
static void test_merge(void **state)
{
	uint64_t a[RD_HIST_BINS], b[RD_HIST_BINS], all[RD_HIST_BINS];

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	memset(all, 0, sizeof(all));
	for (int s = 0; s < 100; s++) {
		uint64_t *x = s % 3 ? a : b;

		x[rd_hist_bin(s * 7)]++;
		all[rd_hist_bin(s * 7)]++;
	}
	for (int i = 0; i < RD_HIST_BINS; i++)
		a[i] += b[i];
	assert_memory_equal(a, all, sizeof(a));
	assert_int_equal(rd_hist_quantile(a, 90), rd_hist_quantile(all, 90));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bins),
	    cmocka_unit_test(test_quantiles),
	    cmocka_unit_test(test_merge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
