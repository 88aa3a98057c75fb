/* notify.h - systemd's notification protocol (Type=notify), spoken directly
 * over $NOTIFY_SOCKET so the daemon needs no libsystemd. A no-op elsewhere. */
#ifndef RD_NOTIFY_H
#define RD_NOTIFY_H

void rd_notify(const char *state);

/* The watchdog period systemd asks for (WatchdogSec=, as $WATCHDOG_USEC,
 * for this process per $WATCHDOG_PID), in microseconds; 0 when none. */
long long rd_notify_watchdog_usec(void);

#endif
