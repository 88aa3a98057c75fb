/* hist.h - the mergeable wait-time histogram behind the wait quantiles.
 *
 * Fixed bins, so histograms from any minute, hour, day or daemon add up bin by
 * bin. The layout is part of the documented contract (docs/indicators.md):
 *   0..59 s    one bin per second   (bins 0..59)
 *   60..299 s  10 s bins            (bins 60..83)
 *   300..1799  60 s bins            (bins 84..108)
 *   1800..7199 300 s bins           (bins 109..126)
 *   >= 7200 s  one overflow bin     (bin 127)
 * A quantile is the lower bound of the bin holding the nearest-rank sample
 * (rank ceil(pct*n/100), integer arithmetic), so it is exact for waits under one minute. */
#ifndef RD_HIST_H
#define RD_HIST_H

#include <stdint.h>

#define RD_HIST_BINS 128

int rd_hist_bin(int32_t seconds);
int32_t rd_hist_bin_low(int bin);
/* -1 when the histogram is empty. */
int32_t rd_hist_quantile(const uint64_t bins[RD_HIST_BINS], int pct);

/* Reply delays of mails span minutes to weeks, so they have their own
 * layout (also documented): 0..59 min one bin per minute (bins 0..59); 1 h to
 * 24 h by quarter-hours (60..151); 1 to 14 days by hours (152..463); then one
 * overflow bin (464). Same quantile rule. */
#define RD_MHIST_BINS 465

int rd_mhist_bin(int64_t seconds);
int64_t rd_mhist_bin_low(int bin);

#endif
