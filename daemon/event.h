/* event.h - the normalized events that collectors emit to the core.
 *
 * A collector turns its source's lines into these, whatever the source
 * (queue_log, AMI, CDR, JSON). Strings are borrowed: they are valid only for
 * the duration of the emit call; the core copies what it keeps. */
#ifndef RD_EVENT_H
#define RD_EVENT_H

#include <stdint.h>

enum rd_call_ev_type {
	RD_CALL_ENTER = 1, /* caller joined the queue */
	RD_CALL_CONNECT,   /* an agent picked up; wait_s = hold time */
	RD_CALL_COMPLETE,  /* answered call ended normally; talk_s = talk time */
	RD_CALL_TRANSFER,  /* answered call ended by transfer; talk_s if known */
	RD_CALL_ABANDON,   /* caller hung up while waiting; wait_s */
	RD_CALL_EXIT,      /* the system removed the caller (timeout, empty, key, withdraw) */
	RD_CALL_REFUSED,   /* join refused (full, join-empty, closed) where the source says so */
	RD_CALL_IVR,       /* call completed inside the IVR without an agent */
	RD_CALL_RESET,     /* the source restarted (QUEUESTART): every open call of it ends */
};

#define RD_UNKNOWN (-1) /* for wait_s / talk_s when the source does not report it */

struct rd_call_event {
	enum rd_call_ev_type type;
	int64_t ts;         /* UTC epoch seconds at which the source wrote the event */
	const char *callid; /* caller's unique id (NULL for RD_CALL_RESET) */
	const char *queue;  /* queue name (NULL for RD_CALL_RESET) */
	const char *agent;  /* member name, or NULL */
	int32_t wait_s;     /* RD_UNKNOWN when not reported */
	int32_t talk_s;     /* RD_UNKNOWN when not reported */
	const char *reason; /* source verb, e.g. "EXITWITHTIMEOUT"; may be NULL */
};

/* --- mail ------------------------------------------------------------------
 * One functional mailbox (contact@, titres@ ...) is identified by its address,
 * lowercased, exactly as configured. Message-IDs keep their angle brackets. */

enum rd_mail_ev_type {
	RD_MAIL_RECEIVED = 1, /* a message was delivered to a functional mailbox */
	RD_MAIL_REJECTED,     /* the MTA refused or bounced a message meant for it */
	RD_MAIL_ACK,          /* an automatic acknowledgement went to the sender of msgid */
	RD_MAIL_SENT,         /* a message left from the mailbox (or one of its agents) */
	RD_MAIL_FLAGS,        /* msgid's full flag set in a folder after a change */
	RD_MAIL_CLOSED,       /* msgid was deleted/expunged, or moved to folder */
};

/* IMAP system flags, as the mail_log plugin prints them. */
#define RD_MAIL_F_ANSWERED 0x01u
#define RD_MAIL_F_FLAGGED  0x02u
#define RD_MAIL_F_DELETED  0x04u
#define RD_MAIL_F_SEEN     0x08u
#define RD_MAIL_F_DRAFT    0x10u

/* Why a message is automatic (0 = written by a person). */
#define RD_MAIL_AUTO_SUBMITTED  0x01u /* Auto-Submitted: other than "no" */
#define RD_MAIL_AUTO_XAUTOREPLY 0x02u /* X-Autoreply: */
#define RD_MAIL_AUTO_PRECEDENCE 0x04u /* Precedence: bulk, junk, list, auto_reply */
#define RD_MAIL_AUTO_NULLSENDER 0x08u /* envelope sender <> */
#define RD_MAIL_AUTO_DAEMON     0x10u /* MAILER-DAEMON, postmaster, owner-*, *-request */

struct rd_mail_event {
	enum rd_mail_ev_type type;
	int64_t ts;              /* UTC epoch seconds */
	const char *mailbox;     /* the functional address */
	const char *msgid;       /* Message-ID "<...>", or NULL when the source does not say */
	const char *sender;      /* envelope sender; "" for the null sender */
	const char *in_reply_to; /* SENT: In-Reply-To msgid, or NULL */
	const char *references;  /* SENT: References msgids separated by spaces, or NULL */
	const char *folder;      /* FLAGS / CLOSED: the IMAP folder (CLOSED: moved there) */
	const char *user;        /* IMAP or SASL user who acted, when known */
	uint32_t flags;          /* FLAGS: RD_MAIL_F_* after the change */
	uint32_t automatic;      /* RECEIVED / SENT: RD_MAIL_AUTO_* reasons, 0 = human */
};

/* Position of a collector in its source: the file identity and the byte
 * offset just after the last complete line consumed. Committed to
 * PostgreSQL in the same transaction as the rows derived from the lines. */
struct rd_cursor {
	uint64_t dev;
	uint64_t ino;
	uint64_t offset;
	uint64_t fingerprint; /* hash of the file's first bytes (see tail.h); 0 = unknown */
	uint64_t size;        /* size of the file when the cursor was taken (for lag) */
};

#endif
