/* hist.c - see hist.h. */
#include "hist.h"

int rd_hist_bin(int32_t s)
{
	if (s < 0)
		s = 0;
	if (s < 60)
		return s;
	if (s < 300)
		return 60 + (s - 60) / 10;
	if (s < 1800)
		return 84 + (s - 300) / 60;
	if (s < 7200)
		return 109 + (s - 1800) / 300;
	return RD_HIST_BINS - 1;
}

int32_t rd_hist_bin_low(int bin)
{
	if (bin < 60)
		return bin;
	if (bin < 84)
		return 60 + (bin - 60) * 10;
	if (bin < 109)
		return 300 + (bin - 84) * 60;
	if (bin < 127)
		return 1800 + (bin - 109) * 300;
	return 7200;
}

int32_t rd_hist_quantile(const uint64_t bins[RD_HIST_BINS], int pct)
{
	uint64_t n = 0, rank, seen = 0;

	for (int i = 0; i < RD_HIST_BINS; i++)
		n += bins[i];
	if (n == 0)
		return -1;
	rank = (n * (uint64_t)pct + 99) / 100;
	if (rank < 1)
		rank = 1;
	for (int i = 0; i < RD_HIST_BINS; i++) {
		seen += bins[i];
		if (seen >= rank)
			return rd_hist_bin_low(i);
	}
	return rd_hist_bin_low(RD_HIST_BINS - 1);
}

int rd_mhist_bin(int64_t s)
{
	if (s < 0)
		s = 0;
	if (s < 3600)
		return (int)(s / 60);
	if (s < 86400)
		return 60 + (int)((s - 3600) / 900);
	if (s < 1209600)
		return 152 + (int)((s - 86400) / 3600);
	return RD_MHIST_BINS - 1;
}

int64_t rd_mhist_bin_low(int bin)
{
	if (bin < 60)
		return (int64_t)bin * 60;
	if (bin < 152)
		return 3600 + (int64_t)(bin - 60) * 900;
	if (bin < 464)
		return 86400 + (int64_t)(bin - 152) * 3600;
	return 1209600;
}
