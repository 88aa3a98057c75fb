/* notify.h - systemd's notification protocol (Type=notify), spoken directly
 * over $NOTIFY_SOCKET so the daemon needs no libsystemd. A no-op elsewhere. */
#ifndef RD_NOTIFY_H
#define RD_NOTIFY_H

void rd_notify(const char *state);

#endif
