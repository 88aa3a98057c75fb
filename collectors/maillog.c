/* maillog.c - the "maillog" collector: follows a Postfix / Dovecot mail log
 * with rd_tail and turns what happens to the functional mailboxes into mail
 * events (maillog_parse.c reads the lines).
 *
 * Keys: path (required), mailboxes (required: comma-separated addresses),
 * users ("address=imapuser [imapuser2], ..." : IMAP/SASL users acting for a
 * mailbox), aliases (address=alias..., the addresses Postfix rewrites to a
 * mailbox), closed_folders (comma list), timezone (of year-less stamps;
 * default the system's), max_line (size, default 1M), stat_interval
 * (duration, default 5s), max_open (size, default 64M) and max_open_age
 * (duration, default 1d): how far back a queue ID still open may hold the
 * resume point.
 *
 * Postfix writes one line per step of a message, all carrying its queue ID:
 * client= (or pickup uid=) opens a "life", cleanup names its Message-ID and
 * logs the headers that header_checks INFO, qmgr its envelope sender, the
 * delivery agents one line per recipient, "removed" ends it (and the ID may
 * be used again). Events are emitted once per life and mailbox.
 *
 * Restart safety: the cursor handed to the core is the first line of the
 * oldest life still open in the file being read, so that after a crash its
 * lines are read again (the core ignores events it already has). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "fnv.h"
#include "collector.h"
#include "config.h"
#include "filesrc.h"
#include "log.h"
#include "maillog_parse.h"
#include "tail.h"
#include "tz.h"
#include "utf8.h"

#define ML_DEF_MAX_OPEN  ((uint64_t)64 << 20)
#define ML_MIN_MAX_OPEN  ((uint64_t)1 << 16)
#define ML_DEF_MAX_AGE_S 86400
#define ML_MIN_AGE_MS    INT64_C(60000)
#define ML_MAX_AGE_MS    (INT64_C(30) * 86400000)
#define ML_MAX_BOXES     256
#define ML_MAX_USERS     1024
#define ML_MAX_FOLDERS   64
#define ML_MAX_LIVES     65536 /* beyond, the oldest life is forgotten */
#define ML_BUCKETS       4096  /* power of two */
#define ML_RECENT        2048  /* deliveries remembered: acks, duplicates, cut msgids */
#define ML_SEEN          128   /* recent copies, closes and acks (mail_log, Sieve) */
#define ML_MOVE_S        600   /* a copy then an expunge this close is a move */
#define ML_SESSION_S     3600  /* longest SMTP session looked back at on disconnect */
#define ML_LIFE_RCPTS    8
#define ML_QID_MAX       24
#define ML_NAME_MAX      128

/* What was done for one mailbox in one life. */
enum { ML_R_RECEIVED = 1, ML_R_REJECTED = 2, ML_R_DEFERRED = 4 };

struct ml_rcpt {
	uint16_t box;
	uint8_t done;
};

/* One queue ID from client=/uid= (or its first line) to "removed". */
struct ml_life {
	struct ml_life *qnext, *mnext; /* hash chains by queue ID, by Message-ID */
	struct ml_life *older, *newer; /* creation order = line order */
	char qid[ML_QID_MAX];
	uint64_t off; /* offset of its first line */
	uint32_t gen; /* file generation of that offset */
	int64_t start_ts;
	int64_t msgid_ts;  /* when cleanup named it: a reply is dated there */
	int64_t smtpd_pid; /* 0 unless opened by smtpd */
	uint64_t mhash;
	char *msgid, *sender, *irt, *refs, *sasl;
	uint32_t automatic; /* from header INFO lines */
	unsigned queued : 1, notification : 1, sent_done : 1, ack_done : 1;
	uint8_t nrcpt;
	struct ml_rcpt rcpt[ML_LIFE_RCPTS];
};

/* A delivery to a mailbox, remembered for acknowledgements (who wrote to
 * it), duplicates (LMTP and Postfix both log it) and msgids that mail_log
 * cut at 80 bytes. */
struct ml_recent {
	char *msgid, *sender;
	uint16_t box;
	int64_t ts;
};

enum ml_seen_kind { ML_SEEN_COPY = 1, ML_SEEN_CLOSED, ML_SEEN_ACK };

struct ml_seen {
	enum ml_seen_kind kind;
	uint16_t box;
	int64_t ts;
	char user[ML_NAME_MAX];
	char folder[ML_NAME_MAX];
	char msgid[ML_MSGID_MAX];
};

/* An IMAP/SASL user acting for a mailbox. own: named like the mailbox, so
 * that deliveries to it are the mailbox's (an agent's own INBOX is not). */
struct ml_user {
	char *name;
	uint16_t box;
	int own;
};

struct maillog {
	struct rd_collector *c;
	struct rd_filesrc fs; /* path, max_line, stat_interval; the tail */
	uint64_t max_open;
	int64_t max_age_s;
	char *box[ML_MAX_BOXES];
	size_t nbox;
	struct ml_user *pending; /* "users" pairs, resolved by check() */
	size_t npending;
	struct ml_user *user;
	size_t nuser;
	struct ml_user *alias; /* "aliases" pairs: an address entry, then its aliases */
	size_t nalias;
	char *folder[ML_MAX_FOLDERS];
	size_t nfolder;
	struct rd_tz *tz; /* NULL: UTC */
	int tz_set;

	struct ml_life *qtab[ML_BUCKETS], *mtab[ML_BUCKETS];
	struct ml_life *oldest, *newest;
	size_t nlives;
	uint32_t gen, chunk_gen; /* file generation now, at the last chunk */
	int have_off;
	uint64_t last_off;
	int64_t prev_ts, last_ts;
	struct ml_recent recent[ML_RECENT];
	size_t recent_next;
	struct ml_seen seen[ML_SEEN];
	size_t seen_next;
	uint64_t forgotten; /* lives dropped since the last report */
};

static void ml_on_line(void *arg, const struct rd_filesrc_line *in);
static void ml_track_offset(void *arg, uint64_t offset);
static int ml_on_chunk(void *arg, const struct rd_cursor *cursor);

/* The parser splits lines in place: they come with a copy. Every offset
 * is tracked (file generations), and the resume point is held back. */
static const struct rd_filesrc_ops ml_ops = {
    .line = ml_on_line, .seen = ml_track_offset, .chunk = ml_on_chunk, .copy = 1};

static void *ml_create(struct rd_collector *c)
{
	struct maillog *q = calloc(1, sizeof(*q));

	if (q == NULL)
		return NULL;
	q->c = c;
	rd_filesrc_init(&q->fs, c, &ml_ops, q, RD_FILESRC_SAY_RANGE);
	q->max_open = ML_DEF_MAX_OPEN;
	q->max_age_s = ML_DEF_MAX_AGE_S;
	return q;
}

/* --- strings ------------------------------------------------------------- */

static void ml_lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* Bounded copy of src into dst[cap], lower-cased when lower. */
static void ml_copy_lower(char *dst, size_t cap, const char *src, int lower)
{
	ml_copy(dst, cap, src);
	if (lower)
		ml_lower(dst);
}

/* Replace *field with a bounded copy of src (NULL clears it). Out of
 * memory, the field is left NULL: the value is lost, which is logged. */
static void ml_set(struct maillog *q, char **field, const char *src, size_t cap, int lower)
{
	char buf[ML_REFS_MAX], *dup = NULL;

	if (src != NULL) {
		ml_copy_lower(buf, cap < sizeof(buf) ? cap : sizeof(buf), src, lower);
		dup = strdup(buf);
		if (dup == NULL)
			rd_collector_log(q->c, RD_LOG_ERR, "out of memory: a mail value was lost");
	}
	free(*field);
	*field = dup;
}

static uint64_t ml_hash(const char *s)
{
	return rd_fnv1a_str(RD_FNV_BASIS, s);
}

/* --- configuration -------------------------------------------------------- */

/* An address as configured: one '@', no blanks, valid UTF-8. */
static int ml_check_addr(const char *a, char *err, size_t errlen)
{
	const char *at = strchr(a, '@');

	if (at == NULL || at == a || at[1] == '\0' || strchr(at + 1, '@') != NULL ||
	    strpbrk(a, " \t<>,=") != NULL || strlen(a) >= ML_ADDR_MAX ||
	    !rd_utf8_valid(a, strlen(a), NULL))
		return rd_filesrc_fail(err, errlen, "'%s' is not a mail address", a);
	return 0;
}

static void ml_free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
}

/* "contact@example.org, titres@example.org". The old list stays on error. */
static int ml_set_boxes(struct maillog *q, const char *value, char *err, size_t errlen)
{
	char *buf = strdup(value), *cur = buf, *a, *v[ML_MAX_BOXES];
	size_t n = 0;
	int rc = 0;

	if (buf == NULL)
		return rd_filesrc_fail(err, errlen, "out of memory");
	while (rc == 0 && (a = rd_filesrc_next_item(&cur)) != NULL) {
		ml_lower(a);
		if (ml_check_addr(a, err, errlen) != 0)
			rc = -1;
		else if (n == ML_MAX_BOXES)
			rc = rd_filesrc_fail(err, errlen, "mailboxes: more than %d", ML_MAX_BOXES);
		for (size_t i = 0; rc == 0 && i < n; i++)
			if (strcmp(v[i], a) == 0)
				rc = rd_filesrc_fail(err, errlen, "mailboxes: '%s' given twice", a);
		if (rc == 0 && (v[n++] = strdup(a)) == NULL)
			rc = rd_filesrc_fail(err, errlen, "out of memory");
	}
	free(buf);
	if (rc == 0 && n == 0)
		rc = rd_filesrc_fail(err, errlen, "mailboxes: no address");
	if (rc != 0) {
		ml_free_strings(v, n);
		return -1;
	}
	ml_free_strings(q->box, q->nbox);
	memcpy(q->box, v, n * sizeof(v[0]));
	q->nbox = n;
	return 0;
}

static void ml_free_users(struct ml_user *u, size_t n)
{
	for (size_t i = 0; i < n && u != NULL; i++)
		free(u[i].name);
	free(u);
}

/* Append (name, box, own) to the array *v of *n entries. */
static int ml_user_add(struct ml_user **v, size_t *n, const char *name, uint16_t box, int own)
{
	struct ml_user *grown;

	if (*n == ML_MAX_USERS)
		return -1;
	grown = realloc(*v, (*n + 1) * sizeof(**v));
	if (grown == NULL)
		return -1;
	*v = grown;
	if ((grown[*n].name = strdup(name)) == NULL)
		return -1;
	grown[*n].box = box;
	grown[*n].own = own;
	(*n)++;
	return 0;
}

/* One "address=user1 user2" pair: the address goes first (box = 0xFFFF
 * marks it), its users after it (box = 0). Resolved by check(). */
static int ml_users_pair(const char *key, struct ml_user **v, size_t *n, char *pair, char *err,
                         size_t errlen)
{
	char *eq = strchr(pair, '='), *addr, *save = NULL, *u;
	int users = 0;

	if (eq == NULL)
		return rd_filesrc_fail(err, errlen, "%s: '%s' is not address=name", key,
		                       rd_filesrc_trim(pair));
	*eq = '\0';
	addr = rd_filesrc_trim(pair);
	ml_lower(addr);
	if (ml_check_addr(addr, err, errlen) != 0)
		return -1;
	if (ml_user_add(v, n, addr, 0xFFFF, 0) != 0)
		return rd_filesrc_fail(err, errlen, "%s: too many or out of memory", key);
	for (u = strtok_r(eq + 1, " \t", &save); u != NULL; u = strtok_r(NULL, " \t", &save)) {
		ml_lower(u);
		if (strlen(u) >= ML_NAME_MAX || !rd_utf8_valid(u, strlen(u), NULL))
			return rd_filesrc_fail(err, errlen, "%s: '%s' is not a %s", key, u,
			                       strcmp(key, "users") == 0 ? "user name"
			                                                 : "mail address");
		if (ml_user_add(v, n, u, 0, 0) != 0)
			return rd_filesrc_fail(err, errlen, "%s: too many or out of memory", key);
		users++;
	}
	if (users == 0)
		return rd_filesrc_fail(err, errlen, "%s: no %s for '%s'", key,
		                       strcmp(key, "users") == 0 ? "user" : "alias", addr);
	return 0;
}

/* "address=name name, address=name": users (IMAP/SASL logins acting for a
 * mailbox) or aliases (addresses Postfix rewrites to it). */
static int ml_set_pairs(const char *key, const char *value, struct ml_user **pending,
                        size_t *npending, char *err, size_t errlen)
{
	char *buf = strdup(value), *cur = buf, *pair;
	struct ml_user *v = NULL;
	size_t n = 0;
	int rc = 0;

	if (buf == NULL)
		return rd_filesrc_fail(err, errlen, "out of memory");
	while (rc == 0 && (pair = rd_filesrc_next_item(&cur)) != NULL)
		rc = ml_users_pair(key, &v, &n, pair, err, errlen);
	free(buf);
	if (rc != 0) {
		ml_free_users(v, n);
		return -1;
	}
	ml_free_users(*pending, *npending);
	*pending = v;
	*npending = n;
	return 0;
}

/* "Trash, Archives/Closed": IMAP names as the log shows them. */
static int ml_set_folders(struct maillog *q, const char *value, char *err, size_t errlen)
{
	char *buf = strdup(value), *cur = buf, *f, *v[ML_MAX_FOLDERS];
	size_t n = 0;
	int rc = 0;

	if (buf == NULL)
		return rd_filesrc_fail(err, errlen, "out of memory");
	while (rc == 0 && (f = rd_filesrc_next_item(&cur)) != NULL) {
		if (n == ML_MAX_FOLDERS || strlen(f) >= ML_NAME_MAX ||
		    !rd_utf8_valid(f, strlen(f), NULL))
			rc = rd_filesrc_fail(
			    err, errlen, "closed_folders: '%s' refused (too long or too many)", f);
		else if ((v[n++] = strdup(f)) == NULL)
			rc = rd_filesrc_fail(err, errlen, "out of memory");
	}
	free(buf);
	if (rc != 0) {
		ml_free_strings(v, n);
		return -1;
	}
	ml_free_strings(q->folder, q->nfolder);
	memcpy(q->folder, v, n * sizeof(v[0]));
	q->nfolder = n;
	return 0;
}

/* An IANA zone name, e.g. Europe/Paris ("" would be the system's zone,
 * which is what leaving the key out means). */
static int ml_set_timezone(struct maillog *q, const char *value, char *err, size_t errlen)
{
	char why[256];
	struct rd_tz *tz;

	if (*value == '\0')
		return rd_filesrc_fail(err, errlen,
		                       "timezone: '' is not a time zone name (e.g. Europe/Paris)");
	tz = rd_tz_load(value, why, sizeof(why));
	if (tz == NULL)
		return rd_filesrc_fail(err, errlen, "timezone: %s", why);
	rd_tz_free(q->tz);
	q->tz = tz;
	q->tz_set = 1;
	return 0;
}

static int ml_set_size(const char *key, const char *value, uint64_t min, uint64_t max,
                       uint64_t *out, char *err, size_t errlen)
{
	uint64_t v;

	if (rd_parse_size(value, &v, err, errlen) != 0)
		return -1;
	if (v < min || v > max)
		return rd_filesrc_fail(err, errlen, "%s out of range: '%s'", key, value);
	*out = v;
	return 0;
}

static int ml_set_duration(const char *key, const char *value, int64_t min, int64_t max,
                           int64_t *out, char *err, size_t errlen)
{
	int64_t ms;

	if (rd_parse_duration_ms(value, &ms, err, errlen) != 0)
		return -1;
	if (ms < min || ms > max)
		return rd_filesrc_fail(err, errlen, "%s out of range: '%s'", key, value);
	*out = ms;
	return 0;
}

static int ml_configure(void *priv, const char *key, const char *value, char *err, size_t errlen)
{
	struct maillog *q = priv;
	int64_t ms = 0;
	int rc = rd_filesrc_configure(&q->fs, key, value, err, errlen);

	if (rc != 1)
		return rc;
	if (strcmp(key, "mailboxes") == 0)
		return ml_set_boxes(q, value, err, errlen);
	if (strcmp(key, "users") == 0)
		return ml_set_pairs(key, value, &q->pending, &q->npending, err, errlen);
	if (strcmp(key, "aliases") == 0)
		return ml_set_pairs(key, value, &q->alias, &q->nalias, err, errlen);
	if (strcmp(key, "closed_folders") == 0)
		return ml_set_folders(q, value, err, errlen);
	if (strcmp(key, "timezone") == 0)
		return ml_set_timezone(q, value, err, errlen);
	if (strcmp(key, "max_open") == 0)
		return ml_set_size(key, value, ML_MIN_MAX_OPEN, UINT64_C(1) << 40, &q->max_open,
		                   err, errlen);
	if (strcmp(key, "max_open_age") == 0) {
		rc = ml_set_duration(key, value, ML_MIN_AGE_MS, ML_MAX_AGE_MS, &ms, err, errlen);
		if (rc == 0)
			q->max_age_s = ms / 1000;
		return rc;
	}
	return rd_filesrc_fail(err, errlen, "unknown key '%s' for a maillog collector", key);
}

static int ml_box_index(const struct maillog *q, const char *addr)
{
	const char *target = NULL;

	if (addr == NULL || *addr == '\0')
		return -1;
	for (size_t i = 0; i < q->nbox; i++)
		if (strcasecmp(q->box[i], addr) == 0)
			return (int)i;
	/* an alias, as smtpd and cleanup log it before virtual_alias_maps */
	for (size_t i = 0; i < q->nalias; i++) {
		if (q->alias[i].box == 0xFFFF)
			target = q->alias[i].name;
		else if (target && strcasecmp(q->alias[i].name, addr) == 0)
			for (size_t j = 0; j < q->nbox; j++)
				if (strcmp(q->box[j], target) == 0)
					return (int)j;
	}
	return -1;
}

/* The users named like each mailbox: the address, and its local part when
 * no other mailbox has the same one. */
static int ml_own_users(struct maillog *q)
{
	for (size_t i = 0; i < q->nbox; i++) {
		const char *at = strchr(q->box[i], '@');
		size_t len = (size_t)(at - q->box[i]);
		char local[ML_ADDR_MAX];
		int unique = 1;

		if (ml_user_add(&q->user, &q->nuser, q->box[i], (uint16_t)i, 1) != 0)
			return -1;
		for (size_t k = 0; k < q->nbox; k++)
			if (k != i && strncmp(q->box[k], q->box[i], len + 1) == 0)
				unique = 0;
		memcpy(local, q->box[i], len);
		local[len] = '\0';
		if (unique && ml_user_add(&q->user, &q->nuser, local, (uint16_t)i, 1) != 0)
			return -1;
	}
	return 0;
}

/* Every "aliases" pair names a configured mailbox. */
static int ml_check_aliases(const struct maillog *q, char *err, size_t errlen)
{
	for (size_t i = 0; i < q->nalias; i++) {
		int known = 0;

		if (q->alias[i].box != 0xFFFF)
			continue;
		for (size_t j = 0; j < q->nbox; j++)
			known |= strcmp(q->box[j], q->alias[i].name) == 0;
		if (!known)
			return rd_filesrc_fail(err, errlen,
			                       "aliases: '%s' is not one of the mailboxes",
			                       q->alias[i].name);
	}
	return 0;
}

/* Turn the pending "users" pairs into (user, mailbox) entries. */
static int ml_resolve_users(struct maillog *q, char *err, size_t errlen)
{
	int box = -1;

	ml_free_users(q->user, q->nuser);
	q->user = NULL;
	q->nuser = 0;
	if (ml_own_users(q) != 0)
		return rd_filesrc_fail(err, errlen, "out of memory");
	for (size_t i = 0; i < q->npending; i++) {
		const struct ml_user *p = &q->pending[i];

		if (p->box == 0xFFFF) {
			box = ml_box_index(q, p->name);
			if (box < 0)
				return rd_filesrc_fail(err, errlen,
				                       "users: '%s' is not one of the mailboxes",
				                       p->name);
		} else if (ml_user_add(&q->user, &q->nuser, p->name, (uint16_t)box, 0) != 0) {
			return rd_filesrc_fail(err, errlen, "users: too many or out of memory");
		}
	}
	return 0;
}

/* The system's zone, or UTC with a warning. */
static void ml_default_zone(struct maillog *q)
{
	char why[256];

	q->tz = rd_tz_load(NULL, why, sizeof(why));
	if (q->tz == NULL)
		rd_collector_log(q->c, RD_LOG_WARN,
		                 "no system time zone (%s): year-less stamps are read as UTC", why);
}

static int ml_check(void *priv, char *err, size_t errlen)
{
	struct maillog *q = priv;

	if (q->fs.path == NULL)
		return rd_filesrc_fail(err, errlen, "a maillog collector needs a path");
	if (q->nbox == 0)
		return rd_filesrc_fail(err, errlen, "a maillog collector needs mailboxes");
	if (ml_resolve_users(q, err, errlen) != 0 || ml_check_aliases(q, err, errlen) != 0)
		return -1;
	if (!q->tz_set && q->tz == NULL)
		ml_default_zone(q);
	return 0;
}

/* Mailboxes that a user acts for; own_only: only users named like them. */
static size_t ml_user_boxes(const struct maillog *q, const char *user, int own_only, uint16_t *out,
                            size_t max)
{
	size_t n = 0;

	if (user == NULL)
		return 0;
	for (size_t i = 0; i < q->nuser && n < max; i++) {
		size_t k;

		if ((own_only && !q->user[i].own) || strcasecmp(q->user[i].name, user) != 0)
			continue;
		for (k = 0; k < n && out[k] != q->user[i].box; k++)
			;
		if (k == n)
			out[n++] = q->user[i].box;
	}
	return n;
}

/* A closed folder, or one below it (Archives/2026, Archives.2026), seen
 * directly or through a shared namespace (shared/<owner>/Archives). */
static int ml_closed_folder(const struct maillog *q, const char *folder)
{
	if (folder == NULL)
		return 0;
	if (strncmp(folder, "shared/", 7) == 0 && strchr(folder + 7, '/'))
		folder = strchr(folder + 7, '/') + 1;
	for (size_t i = 0; i < q->nfolder; i++) {
		size_t n = strlen(q->folder[i]);

		if (strcmp(q->folder[i], folder) == 0 ||
		    (strcasecmp(folder, "INBOX") == 0 && strcasecmp(q->folder[i], "INBOX") == 0) ||
		    (strncmp(q->folder[i], folder, n) == 0 &&
		     (folder[n] == '/' || folder[n] == '.')))
			return 1;
	}
	return 0;
}

/* --- lives ---------------------------------------------------------------- */

static struct ml_life *ml_life_find(const struct maillog *q, const char *qid)
{
	struct ml_life *l = q->qtab[ml_hash(qid) & (ML_BUCKETS - 1)];

	while (l != NULL && strcmp(l->qid, qid) != 0)
		l = l->qnext;
	return l;
}

static void ml_unchain(struct ml_life **head, struct ml_life *l, int by_msgid)
{
	for (struct ml_life **pp = head; *pp != NULL;
	     pp = by_msgid ? &(*pp)->mnext : &(*pp)->qnext) {
		if (*pp == l) {
			*pp = by_msgid ? l->mnext : l->qnext;
			return;
		}
	}
}

static void ml_life_free(struct maillog *q, struct ml_life *l)
{
	ml_unchain(&q->qtab[ml_hash(l->qid) & (ML_BUCKETS - 1)], l, 0);
	if (l->msgid != NULL)
		ml_unchain(&q->mtab[l->mhash & (ML_BUCKETS - 1)], l, 1);
	if (l->older != NULL)
		l->older->newer = l->newer;
	else
		q->oldest = l->newer;
	if (l->newer != NULL)
		l->newer->older = l->older;
	else
		q->newest = l->older;
	q->nlives--;
	free(l->msgid);
	free(l->sender);
	free(l->irt);
	free(l->refs);
	free(l->sasl);
	free(l);
}

static struct ml_life *ml_life_new(struct maillog *q, const char *qid, uint64_t off, int64_t ts)
{
	struct ml_life *l;
	uint64_t h = ml_hash(qid);

	if (q->nlives >= ML_MAX_LIVES) {
		ml_life_free(q, q->oldest);
		q->forgotten++;
	}
	l = calloc(1, sizeof(*l));
	if (l == NULL) {
		rd_collector_log(q->c, RD_LOG_ERR, "out of memory: queue ID %s not followed", qid);
		return NULL;
	}
	ml_copy(l->qid, sizeof(l->qid), qid);
	l->off = off;
	l->gen = q->gen;
	l->start_ts = ts;
	l->qnext = q->qtab[h & (ML_BUCKETS - 1)];
	q->qtab[h & (ML_BUCKETS - 1)] = l;
	l->older = q->newest;
	if (q->newest != NULL)
		q->newest->newer = l;
	else
		q->oldest = l;
	q->newest = l;
	q->nlives++;
	return l;
}

/* The life of qid, opened here when its first lines were not seen. */
static struct ml_life *ml_life_get(struct maillog *q, const char *qid, uint64_t off, int64_t ts)
{
	struct ml_life *l = ml_life_find(q, qid);

	return l != NULL ? l : ml_life_new(q, qid, off, ts);
}

/* Next life after prev (NULL: first) whose Message-ID is msgid. */
static struct ml_life *ml_by_msgid(const struct maillog *q, const char *msgid, struct ml_life *prev)
{
	struct ml_life *l = prev != NULL ? prev->mnext : q->mtab[ml_hash(msgid) & (ML_BUCKETS - 1)];

	while (l != NULL && strcmp(l->msgid, msgid) != 0)
		l = l->mnext;
	return l;
}

static void ml_life_set_msgid(struct maillog *q, struct ml_life *l, const char *msgid)
{
	if (l->msgid != NULL)
		ml_unchain(&q->mtab[l->mhash & (ML_BUCKETS - 1)], l, 1);
	ml_set(q, &l->msgid, msgid, ML_MSGID_MAX, 0);
	if (l->msgid == NULL)
		return;
	l->mhash = ml_hash(l->msgid);
	l->mnext = q->mtab[l->mhash & (ML_BUCKETS - 1)];
	q->mtab[l->mhash & (ML_BUCKETS - 1)] = l;
}

/* A message handed on (content filter, forward) comes back under a new
 * queue ID with the same Message-ID, usually without header INFO lines
 * (receive_override_options): it takes them from its parent. */
static void ml_inherit(struct maillog *q, struct ml_life *l)
{
	for (struct ml_life *o = ml_by_msgid(q, l->msgid, NULL); o != NULL;
	     o = ml_by_msgid(q, l->msgid, o)) {
		if (o == l)
			continue;
		l->automatic |= o->automatic;
		l->notification |= o->notification;
		if (l->irt == NULL && o->irt != NULL)
			ml_set(q, &l->irt, o->irt, ML_MSGID_MAX, 0);
		if (l->refs == NULL && o->refs != NULL)
			ml_set(q, &l->refs, o->refs, ML_REFS_MAX, 0);
	}
}

static struct ml_rcpt *ml_rcpt(struct ml_life *l, int box)
{
	for (uint8_t i = 0; i < l->nrcpt; i++)
		if (l->rcpt[i].box == box)
			return &l->rcpt[i];
	if (l->nrcpt == ML_LIFE_RCPTS)
		return NULL; /* untracked: an event may then come twice, which is harmless */
	l->rcpt[l->nrcpt].box = (uint16_t)box;
	l->rcpt[l->nrcpt].done = 0;
	return &l->rcpt[l->nrcpt++];
}

static int ml_done(struct ml_life *l, int box, uint8_t what)
{
	struct ml_rcpt *r = ml_rcpt(l, box);

	return r != NULL && (r->done & what) != 0;
}

static void ml_mark(struct ml_life *l, int box, uint8_t what)
{
	struct ml_rcpt *r = ml_rcpt(l, box);

	if (r != NULL)
		r->done |= what;
}

/* --- memory of recent deliveries, copies, closes -------------------------- */

static const struct ml_recent *ml_recent_find(const struct maillog *q, const char *msgid, int box)
{
	for (size_t i = 0; i < ML_RECENT; i++) {
		const struct ml_recent *r = &q->recent[i];

		if (r->msgid != NULL && r->box == box && strcmp(r->msgid, msgid) == 0)
			return r;
	}
	return NULL;
}

static void ml_recent_add(struct maillog *q, const char *msgid, const char *sender, int box,
                          int64_t ts)
{
	struct ml_recent *r = &q->recent[q->recent_next];

	if (msgid == NULL)
		return;
	q->recent_next = (q->recent_next + 1) % ML_RECENT;
	free(r->msgid);
	free(r->sender);
	r->msgid = strdup(msgid);
	r->sender = sender != NULL ? strdup(sender) : NULL;
	r->box = (uint16_t)box;
	r->ts = ts;
	if (r->msgid == NULL)
		rd_collector_log(q->c, RD_LOG_ERR, "out of memory remembering a delivery");
}

/* The latest delivery matching: to box (box >= 0), from sender. */
static const struct ml_recent *ml_recent_from(const struct maillog *q, const char *sender, int box)
{
	const struct ml_recent *best = NULL;

	for (size_t i = 0; i < ML_RECENT; i++) {
		const struct ml_recent *r = &q->recent[i];

		if (r->msgid != NULL && r->sender != NULL && (box < 0 || r->box == box) &&
		    strcasecmp(r->sender, sender) == 0 && (best == NULL || r->ts >= best->ts))
			best = r;
	}
	return best;
}

/* mail_log cuts headers at 80 bytes with "...": find the whole msgid among
 * recent deliveries. */
static const char *ml_full_msgid(const struct maillog *q, const char *msgid)
{
	size_t n = strlen(msgid);

	if (n < 4 || strcmp(msgid + n - 3, "...") != 0)
		return msgid;
	for (size_t i = 0; i < ML_RECENT; i++) {
		const char *m = q->recent[i].msgid;

		if (m != NULL && strlen(m) > n - 3 && strncmp(m, msgid, n - 3) == 0)
			return m;
	}
	return msgid;
}

static int ml_seen_find(const struct maillog *q, enum ml_seen_kind kind, int box, const char *user,
                        const char *folder, const char *msgid, int64_t since)
{
	for (size_t i = 0; i < ML_SEEN; i++) {
		const struct ml_seen *s = &q->seen[i];

		if (s->kind == kind && s->ts >= since && strcmp(s->msgid, msgid) == 0 &&
		    (box < 0 || s->box == box) && (user == NULL || strcmp(s->user, user) == 0) &&
		    (folder == NULL || strcmp(s->folder, folder) == 0))
			return 1;
	}
	return 0;
}

static void ml_seen_add(struct maillog *q, enum ml_seen_kind kind, int box, const char *user,
                        const char *folder, const char *msgid, int64_t ts)
{
	struct ml_seen *s = &q->seen[q->seen_next];

	q->seen_next = (q->seen_next + 1) % ML_SEEN;
	s->kind = kind;
	s->box = (uint16_t)(box < 0 ? 0 : box);
	s->ts = ts;
	ml_copy(s->user, sizeof(s->user), user != NULL ? user : "");
	ml_copy(s->folder, sizeof(s->folder), folder != NULL ? folder : "");
	ml_copy(s->msgid, sizeof(s->msgid), msgid);
}

/* --- events ---------------------------------------------------------------- */

static void ml_emit(struct maillog *q, const struct rd_mail_event *ev)
{
	rd_collector_emit_mail(q->c, ev);
}

static uint32_t ml_life_automatic(const struct ml_life *l)
{
	return l->automatic | ml_sender_automatic(l->sender);
}

/* A message reached a mailbox: once per (life, mailbox), and not again
 * when LMTP already reported it. */
static void ml_received(struct maillog *q, struct ml_life *l, int box, int64_t ts)
{
	struct rd_mail_event ev = {.type = RD_MAIL_RECEIVED, .ts = ts, .mailbox = q->box[box]};

	if (ml_done(l, box, ML_R_RECEIVED))
		return;
	ml_mark(l, box, ML_R_RECEIVED);
	if (l->msgid != NULL && ml_recent_find(q, l->msgid, box) != NULL)
		return;
	ev.msgid = l->msgid;
	ev.sender = l->sender;
	ev.automatic = ml_life_automatic(l);
	ml_emit(q, &ev);
	ml_recent_add(q, l->msgid, l->sender, box, ts);
}

static void ml_rejected(struct maillog *q, struct ml_life *l, int box, int64_t ts)
{
	struct rd_mail_event ev = {.type = RD_MAIL_REJECTED, .ts = ts, .mailbox = q->box[box]};

	if (ml_done(l, box, ML_R_REJECTED | ML_R_RECEIVED))
		return;
	ml_mark(l, box, ML_R_REJECTED);
	ev.msgid = l->msgid;
	ev.sender = l->sender;
	ev.automatic = ml_life_automatic(l);
	ml_emit(q, &ev);
}

/* 1 if a life sharing l's Message-ID (a content filter's hop) already did
 * what flag says. */
static int ml_sibling_done(const struct maillog *q, const struct ml_life *l, int sent)
{
	if (l->msgid == NULL)
		return 0;
	for (struct ml_life *o = ml_by_msgid(q, l->msgid, NULL); o != NULL;
	     o = ml_by_msgid(q, l->msgid, o))
		if (o != l && (sent ? o->sent_done : o->ack_done))
			return 1;
	return 0;
}

/* The mailboxes a message leaves from: its envelope sender, and those the
 * authenticated (SASL) user acts for. */
static size_t ml_sent_boxes(const struct maillog *q, const struct ml_life *l, uint16_t *out,
                            size_t max)
{
	int b = ml_box_index(q, l->sender);
	size_t n = ml_user_boxes(q, l->sasl, 0, out, max);

	if (b >= 0) {
		size_t k;

		for (k = 0; k < n && out[k] != b; k++)
			;
		if (k == n && n < max)
			out[n++] = (uint16_t)b;
	}
	return n;
}

/* Once the queue manager has the message (cleanup has logged its
 * headers): SENT, dated when cleanup named it (else at submission), for
 * each mailbox it leaves from. */
static void ml_maybe_sent(struct maillog *q, struct ml_life *l)
{
	uint16_t boxes[16];
	size_t n = ml_sent_boxes(q, l, boxes, 16);

	if (n == 0 || l->sent_done)
		return;
	l->sent_done = 1;
	if (ml_sibling_done(q, l, 1))
		return;
	for (size_t i = 0; i < n; i++) {
		struct rd_mail_event ev = {.type = RD_MAIL_SENT,
		                           .ts = l->msgid_ts ? l->msgid_ts : l->start_ts,
		                           .mailbox = q->box[boxes[i]],
		                           .msgid = l->msgid,
		                           .sender = l->sender,
		                           .in_reply_to = l->irt,
		                           .references = l->refs,
		                           .user = l->sasl,
		                           .automatic = ml_life_automatic(l)};

		ml_emit(q, &ev);
	}
}

static void ml_ack(struct maillog *q, int box, const char *msgid, const char *to, int64_t ts)
{
	struct rd_mail_event ev = {
	    .type = RD_MAIL_ACK, .ts = ts, .mailbox = q->box[box], .msgid = msgid, .sender = to};

	if (msgid != NULL && ml_seen_find(q, ML_SEEN_ACK, box, NULL, NULL, msgid, INT64_MIN))
		return;
	ml_emit(q, &ev);
	if (msgid != NULL)
		ml_seen_add(q, ML_SEEN_ACK, box, NULL, NULL, msgid, ts);
}

/* How many mailboxes a recent message was delivered to. */
static int ml_recent_boxes(const struct maillog *q, const char *msgid)
{
	int n = 0;

	for (size_t i = 0; i < ML_RECENT; i++)
		n += q->recent[i].msgid != NULL && strcmp(q->recent[i].msgid, msgid) == 0;
	return n;
}

/* An automatic message (null sender, or Auto-Submitted & co.) that left for
 * rcpt: an acknowledgement if it answers a message a mailbox received, by
 * In-Reply-To or else as the latest message from rcpt. Bounces are not. */
static void ml_maybe_ack(struct maillog *q, struct ml_life *l, const char *rcpt, int64_t ts)
{
	uint32_t why = l->automatic | (l->sender != NULL && *l->sender == '\0');
	const struct ml_recent *r = NULL;
	int box = ml_box_index(q, l->sender);
	char to[ML_ADDR_MAX];

	if (l->ack_done || l->notification || why == 0 || rcpt == NULL ||
	    (ml_sender_automatic(l->sender) & RD_MAIL_AUTO_DAEMON))
		return;
	/* From <> Postfix cannot tell which mailbox answered a message that
	 * reached several: Dovecot's Sieve lines say it, this guess must not. */
	if (box < 0 && l->irt != NULL && ml_recent_boxes(q, l->irt) > 1)
		return;
	ml_copy_lower(to, sizeof(to), rcpt, 1);
	if (l->irt != NULL)
		for (size_t i = 0; i < ML_RECENT && r == NULL; i++)
			if (q->recent[i].msgid != NULL && strcmp(q->recent[i].msgid, l->irt) == 0 &&
			    (box < 0 || q->recent[i].box == box))
				r = &q->recent[i];
	if (r == NULL)
		r = ml_recent_from(q, to, box);
	if (r == NULL)
		return;
	l->ack_done = 1;
	if (!ml_sibling_done(q, l, 0))
		ml_ack(q, r->box, r->msgid, to, ts);
}

/* --- Postfix lines ----------------------------------------------------------- */

/* Where the message ends up in a mailbox here (not a relay hop). */
static int ml_final_agent(const char *service)
{
	return strcmp(service, "lmtp") == 0 || strcmp(service, "local") == 0 ||
	       strcmp(service, "virtual") == 0 || strcmp(service, "pipe") == 0;
}

/* "250 2.0.0 Ok: queued as X" (a content filter), "forwarded as X". */
static int ml_handoff(const char *text)
{
	return strstr(text, "queued as ") != NULL || strstr(text, "forwarded as ") != NULL;
}

struct ml_at {
	int64_t ts;
	uint64_t off;
	int64_t pid;
	const char *service;
};

/* client= or uid=: a new life (a queue ID is reused after "removed"). */
static struct ml_life *ml_open(struct maillog *q, const struct ml_rec *r, const struct ml_at *at)
{
	struct ml_life *l = ml_life_find(q, r->qid);

	if (l != NULL)
		ml_life_free(q, l);
	return ml_life_new(q, r->qid, at->off, at->ts);
}

static void ml_on_client(struct maillog *q, const struct ml_rec *r, const struct ml_at *at)
{
	struct ml_life *l = ml_open(q, r, at);

	if (l == NULL)
		return;
	l->smtpd_pid = at->pid > 0 ? at->pid : 0;
	if (r->sasl_username != NULL)
		ml_set(q, &l->sasl, r->sasl_username, ML_ADDR_MAX, 1);
}

static void ml_on_pickup(struct maillog *q, const struct ml_rec *r, const struct ml_at *at)
{
	struct ml_life *l = ml_open(q, r, at);

	if (l != NULL)
		ml_set(q, &l->sender, r->sender, ML_ADDR_MAX, 1);
}

static void ml_on_msgid(struct maillog *q, const struct ml_rec *r, const struct ml_at *at)
{
	struct ml_life *l = ml_life_get(q, r->qid, at->off, at->ts);

	if (l == NULL || r->msgid == NULL)
		return;
	ml_life_set_msgid(q, l, r->msgid);
	if (l->msgid_ts == 0)
		l->msgid_ts = at->ts;
	if (l->msgid != NULL)
		ml_inherit(q, l);
}

static void ml_on_header(struct maillog *q, const struct ml_rec *r, const struct ml_at *at)
{
	struct ml_life *l = ml_life_get(q, r->qid, at->off, at->ts);
	char buf[ML_REFS_MAX];

	if (l == NULL)
		return;
	/* nested_header_checks (default: $header_checks) also logs the headers
	 * of attached messages, after the message's own: the first one wins */
	l->automatic |= ml_header_automatic(r->header_name, r->header_value);
	if (strcasecmp(r->header_name, "In-Reply-To") == 0 && l->irt == NULL &&
	    ml_msgid_list(r->header_value, 1, buf, ML_MSGID_MAX) == 1)
		ml_set(q, &l->irt, buf, ML_MSGID_MAX, 0);
	else if (strcasecmp(r->header_name, "References") == 0 && l->refs == NULL &&
	         ml_msgid_list(r->header_value, 64, buf, sizeof(buf)) > 0)
		ml_set(q, &l->refs, buf, ML_REFS_MAX, 0);
	else if (strcasecmp(r->header_name, "Message-ID") == 0 && l->msgid == NULL &&
	         ml_msgid_list(r->header_value, 1, buf, ML_MSGID_MAX) == 1) {
		ml_life_set_msgid(q, l, buf);
		if (l->msgid != NULL)
			ml_inherit(q, l);
	}
	if (l->sender == NULL && r->sender != NULL)
		ml_set(q, &l->sender, r->sender, ML_ADDR_MAX, 1);
}

/* smtpd RCPT/DATA rejects (NOQUEUE, or a queue ID already open), cleanup
 * header/body rejects: REJECTED when meant for a mailbox. */
static void ml_on_reject(struct maillog *q, const struct ml_rec *r, const struct ml_at *at)
{
	int box = ml_box_index(q, r->rcpt), from_smtpd = strcmp(at->service, "smtpd") == 0;
	struct ml_life *l = strcmp(r->qid, "NOQUEUE") != 0 ? ml_life_find(q, r->qid) : NULL;
	char sender[ML_ADDR_MAX], synth[80];
	struct rd_mail_event ev = {.type = RD_MAIL_REJECTED, .ts = at->ts};

	if (box >= 0) {
		ml_copy_lower(sender, sizeof(sender), r->sender, 1);
		if (l != NULL && ml_done(l, box, ML_R_REJECTED))
			return;
		if (l != NULL)
			ml_mark(l, box, ML_R_REJECTED);
		ev.mailbox = q->box[box];
		ev.msgid = l != NULL ? l->msgid : NULL;
		if (ev.msgid == NULL) {
			/* a RCPT reject comes before any Message-ID: name it after
			 * its line, the same at every replay, so it is counted once */
			snprintf(synth, sizeof(synth), "<rejected.%lld.%llu@reachd.invalid>",
			         (long long)at->ts, (unsigned long long)at->off);
			ev.msgid = synth;
		}
		ev.sender = sender;
		ev.automatic = ml_sender_automatic(sender) | (l != NULL ? l->automatic : 0);
		ml_emit(q, &ev);
	}
	/* a message refused by cleanup, or by smtpd after its DATA (cleanup
	 * named it), never gets "removed"; a RCPT reject leaves the others */
	if (l != NULL && (!from_smtpd || l->msgid != NULL))
		ml_life_free(q, l);
}

static void ml_on_queued(struct maillog *q, const struct ml_rec *r, const struct ml_at *at)
{
	struct ml_life *l = ml_life_get(q, r->qid, at->off, at->ts);

	if (l == NULL)
		return;
	if (!l->queued)
		ml_set(q, &l->sender, r->sender, ML_ADDR_MAX, 1);
	l->queued = 1;
	ml_maybe_sent(q, l);
}

static void ml_on_delivery(struct maillog *q, const struct ml_rec *r, const struct ml_at *at)
{
	struct ml_life *l = ml_life_get(q, r->qid, at->off, at->ts);
	int box = ml_box_index(q, r->rcpt);

	if (l == NULL)
		return;
	if (box < 0)
		box = ml_box_index(q, r->orig_rcpt);
	if (strcmp(r->status, "sent") == 0) {
		/* handed to a content filter or an alias: the next queue ID
		 * delivers it (a remote MTA's "queued as" is no delivery here
		 * either, but an acknowledgement has left all the same) */
		if (box >= 0 && ml_final_agent(at->service) && !ml_handoff(r->status_text))
			ml_received(q, l, box, at->ts);
		ml_maybe_ack(q, l, r->rcpt, at->ts);
	} else if (box >= 0 && strcmp(r->status, "bounced") == 0) {
		ml_rejected(q, l, box, at->ts);
	} else if (box >= 0 && strcmp(r->status, "deferred") == 0) {
		ml_mark(l, box, ML_R_DEFERRED);
	}
}

/* "status=expired, returned to sender": mailboxes still waiting lose it. */
static void ml_on_expired(struct maillog *q, const struct ml_rec *r, const struct ml_at *at)
{
	struct ml_life *l = ml_life_find(q, r->qid);

	if (l == NULL)
		return;
	for (uint8_t i = 0; i < l->nrcpt; i++)
		if (l->rcpt[i].done == ML_R_DEFERRED)
			ml_rejected(q, l, l->rcpt[i].box, at->ts);
}

static void ml_on_notify(struct maillog *q, const struct ml_rec *r, const struct ml_at *at)
{
	struct ml_life *n = ml_life_get(q, r->new_qid, at->off, at->ts);

	if (n != NULL)
		n->notification = 1;
}

/* The end of an SMTP session: its queue IDs that never got to cleanup
 * (the client gave up before the end of DATA) are gone, silently. */
static void ml_on_disconnect(struct maillog *q, const struct ml_at *at)
{
	struct ml_life *l = q->newest, *older;

	for (; l != NULL && l->start_ts >= at->ts - ML_SESSION_S; l = older) {
		older = l->older;
		if (at->pid > 0 && l->smtpd_pid == at->pid && l->msgid == NULL && !l->queued)
			ml_life_free(q, l);
	}
}

static void ml_postfix(struct maillog *q, const struct ml_rec *r, const struct ml_at *at)
{
	struct ml_life *l;

	switch (r->kind) {
	case ML_PF_CLIENT: ml_on_client(q, r, at); break;
	case ML_PF_PICKUP: ml_on_pickup(q, r, at); break;
	case ML_PF_MSGID: ml_on_msgid(q, r, at); break;
	case ML_PF_HEADER: ml_on_header(q, r, at); break;
	case ML_PF_REJECT: ml_on_reject(q, r, at); break;
	case ML_PF_QUEUED: ml_on_queued(q, r, at); break;
	case ML_PF_EXPIRED: ml_on_expired(q, r, at); break;
	case ML_PF_DELIVERY: ml_on_delivery(q, r, at); break;
	case ML_PF_NOTIFY: ml_on_notify(q, r, at); break;
	case ML_PF_DISCONNECT: ml_on_disconnect(q, at); break;
	case ML_PF_REMOVED:
		if ((l = ml_life_find(q, r->qid)) != NULL)
			ml_life_free(q, l);
		break;
	default: break;
	}
}

/* --- Dovecot lines -------------------------------------------------------- */

/* LMTP/LDA saved a message in the INBOX of a mailbox's own user. The
 * Postfix life with the same Message-ID (still open: Postfix logs its
 * delivery after LMTP answers) gives sender and automatic reasons. */
static void ml_dc_received(struct maillog *q, int box, const char *msgid, int64_t ts)
{
	struct rd_mail_event ev = {
	    .type = RD_MAIL_RECEIVED, .ts = ts, .mailbox = q->box[box], .msgid = msgid};
	struct ml_life *best = NULL, *l;

	for (l = ml_by_msgid(q, msgid, NULL); l != NULL; l = ml_by_msgid(q, msgid, l)) {
		if (ml_done(l, box, ML_R_RECEIVED))
			return;
		if (best == NULL || (l->queued && !best->queued))
			best = l;
	}
	for (l = ml_by_msgid(q, msgid, NULL); l != NULL; l = ml_by_msgid(q, msgid, l))
		ml_mark(l, box, ML_R_RECEIVED);
	if (ml_recent_find(q, msgid, box) != NULL)
		return;
	if (best != NULL) {
		ev.sender = best->sender;
		ev.automatic = ml_life_automatic(best);
	}
	ml_emit(q, &ev);
	ml_recent_add(q, msgid, ev.sender, box, ts);
}

static void ml_on_dc_delivered(struct maillog *q, const struct ml_rec *r, int64_t ts)
{
	uint16_t boxes[16];
	size_t n;

	/* without a Message-ID it cannot be told from Postfix's own report */
	if (r->msgid == NULL || r->folder == NULL || strcasecmp(r->folder, "INBOX") != 0)
		return;
	n = ml_user_boxes(q, r->user, 1, boxes, 16);
	for (size_t i = 0; i < n; i++)
		ml_dc_received(q, boxes[i], r->msgid, ts);
}

/* Sieve vacation: the msgid on the line is the incoming message's. */
static void ml_on_dc_vacation(struct maillog *q, const struct ml_rec *r, int64_t ts)
{
	uint16_t boxes[16];
	size_t n = ml_user_boxes(q, r->user, 1, boxes, 16);
	char to[ML_ADDR_MAX];

	ml_copy_lower(to, sizeof(to), r->vacation_to, 1);
	for (size_t i = 0; i < n; i++)
		ml_ack(q, boxes[i], r->msgid, to, ts);
}

static void ml_closed(struct maillog *q, int box, const char *msgid, const char *folder,
                      const char *user, int64_t ts)
{
	struct rd_mail_event ev = {.type = RD_MAIL_CLOSED,
	                           .ts = ts,
	                           .mailbox = q->box[box],
	                           .msgid = msgid,
	                           .folder = folder,
	                           .user = user};

	if (ml_seen_find(q, ML_SEEN_CLOSED, box, NULL, NULL, msgid, INT64_MIN))
		return;
	ml_seen_add(q, ML_SEEN_CLOSED, box, NULL, NULL, msgid, ts);
	ml_emit(q, &ev);
}

static void ml_flags(struct maillog *q, int box, const char *msgid, const struct ml_rec *r,
                     const char *user, int64_t ts)
{
	struct rd_mail_event ev = {.type = RD_MAIL_FLAGS,
	                           .ts = ts,
	                           .mailbox = q->box[box],
	                           .msgid = msgid,
	                           .folder = r->folder,
	                           .user = user,
	                           .flags = r->flags};

	ml_emit(q, &ev);
}

/* A MOVE is logged as "copy from SRC" then "expunge" in SRC (COPY + STORE
 * \Deleted + EXPUNGE as copy, delete, expunge): the removal from SRC is no
 * closing, the copy's destination decides. */
static int ml_moved_away(const struct maillog *q, const struct ml_rec *r, const char *user,
                         const char *msgid, int64_t ts)
{
	return r->folder != NULL &&
	       ml_seen_find(q, ML_SEEN_COPY, -1, user, r->folder, msgid, ts - ML_MOVE_S);
}

/* mail_log, for the mailboxes the IMAP user acts for: the flags after a
 * change or a save, a copy to a closed folder, a deletion. */
static void ml_on_dc_maillog(struct maillog *q, const struct ml_rec *r, int64_t ts)
{
	uint16_t boxes[16];
	size_t n = ml_user_boxes(q, r->user, 0, boxes, 16);
	const char *msgid;
	char user[ML_NAME_MAX];

	if (r->msgid == NULL || n == 0)
		return;
	msgid = ml_full_msgid(q, r->msgid);
	ml_copy_lower(user, sizeof(user), r->user, 1);
	if (r->op == ML_OP_COPY)
		ml_seen_add(q, ML_SEEN_COPY, -1, user, r->src_folder, msgid, ts);
	for (size_t i = 0; i < n; i++) {
		switch (r->op) {
		case ML_OP_FLAG_CHANGE:
		case ML_OP_SAVE:
			if (r->has_flags)
				ml_flags(q, boxes[i], msgid, r, user, ts);
			break;
		case ML_OP_COPY:
			if (ml_closed_folder(q, r->folder))
				ml_closed(q, boxes[i], msgid, r->folder, user, ts);
			break;
		case ML_OP_EXPUNGE:
		case ML_OP_AUTOEXPUNGE:
			/* \Deleted alone can be undone (undelete): only the
			 * expunge removes the message */
			if (!ml_moved_away(q, r, user, msgid, ts))
				ml_closed(q, boxes[i], msgid, NULL, user, ts);
			break;
		default: break; /* undelete: no event reopens a message */
		}
	}
}

static void ml_dovecot(struct maillog *q, const struct ml_rec *r, int64_t ts)
{
	switch (r->kind) {
	case ML_DC_DELIVERED: ml_on_dc_delivered(q, r, ts); break;
	case ML_DC_VACATION: ml_on_dc_vacation(q, r, ts); break;
	case ML_DC_MAILLOG: ml_on_dc_maillog(q, r, ts); break;
	default: break;
	}
}

/* --- tail callbacks ------------------------------------------------------- */

/* Offsets go back only when another file (rotation) or the same file
 * truncated is being read: lives opened before cannot be resumed there. */
static void ml_track_offset(void *arg, uint64_t offset)
{
	struct maillog *q = arg;

	if (q->have_off && offset <= q->last_off)
		q->gen++;
	q->have_off = 1;
	q->last_off = offset;
}

static void ml_on_line(void *arg, const struct rd_filesrc_line *in)
{
	struct maillog *q = arg;
	struct ml_clock clk = {.now = (int64_t)time(NULL), .prev = q->prev_ts, .tz = q->tz};
	struct ml_line ln;
	struct ml_rec r;
	const char *why = "malformed line";
	int rc = 0;

	if (ml_parse_line(in->copy, in->len, &clk, &ln, &why) != 0) {
		rd_collector_rejected(q->c, in->offset, why, in->text, in->len);
		return;
	}
	q->prev_ts = ln.ts;
	if (ln.ts > q->last_ts)
		q->last_ts = ln.ts;
	if (ln.instance_len > 0)
		rc = ml_parse_postfix(ln.service, ln.msg, &r, &why);
	else if (ln.dovecot_file || strncmp(ln.program, "dovecot", 7) == 0)
		rc = ml_parse_dovecot(ln.msg, &r, &why);
	if (rc < 0) {
		rd_collector_rejected(q->c, in->offset, why, in->text, in->len);
		return;
	}
	rd_collector_accepted(q->c);
	if (rc == 1 && ln.instance_len > 0)
		ml_postfix(q, &r, &(struct ml_at){ln.ts, in->offset, ln.pid, ln.service});
	else if (rc == 1)
		ml_dovecot(q, &r, ln.ts);
}

/* Forget lives that have held the resume point too long (bytes behind the
 * read position in the same file, or log time). */
static void ml_expire(struct maillog *q, uint64_t read_off)
{
	uint64_t stale = 0;

	for (struct ml_life *l = q->oldest, *next; l != NULL; l = next) {
		int far = l->gen == q->gen && read_off > l->off && read_off - l->off > q->max_open;

		next = l->newer;
		if (far || q->last_ts - l->start_ts > q->max_age_s) {
			ml_life_free(q, l);
			q->forgotten++;
		} else if (l->gen != q->gen && q->chunk_gen != q->gen) {
			stale++;
		}
	}
	if (stale > 0)
		rd_collector_log(q->c, RD_LOG_INFO,
		                 "%llu queue IDs still open from the previous file: followed, but "
		                 "not resumed after a restart",
		                 (unsigned long long)stale);
	if (q->forgotten > 0)
		rd_collector_log(q->c, RD_LOG_INFO,
		                 "forgot %llu queue IDs open for more than max_open / max_open_age",
		                 (unsigned long long)q->forgotten);
	q->forgotten = 0;
	q->chunk_gen = q->gen;
}

/* The resume point: the first line of the oldest life still open in this
 * file; the identity is the tail's. Below the fingerprint's length the
 * fingerprint would cover other bytes: restart from 0 instead. */
static int ml_on_chunk(void *arg, const struct rd_cursor *cursor)
{
	struct maillog *q = arg;
	struct rd_cursor safe = *cursor;
	const struct ml_life *l;

	ml_expire(q, cursor->offset);
	for (l = q->oldest; l != NULL && l->gen != q->gen; l = l->newer)
		;
	if (l != NULL && l->off < cursor->offset) {
		safe.offset = l->off;
		if (safe.offset < RD_TAIL_FP_BYTES) {
			safe.offset = 0;
			safe.fingerprint = 0;
		}
	}
	return rd_collector_checkpoint_behind(q->c, &safe, cursor);
}

/* --- lifecycle -------------------------------------------------------------- */

static void ml_forget_all(struct maillog *q)
{
	while (q->oldest != NULL)
		ml_life_free(q, q->oldest);
	for (size_t i = 0; i < ML_RECENT; i++) {
		free(q->recent[i].msgid);
		free(q->recent[i].sender);
	}
	memset(q->recent, 0, sizeof(q->recent));
	memset(q->seen, 0, sizeof(q->seen));
	q->recent_next = q->seen_next = 0;
	q->have_off = 0;
	q->prev_ts = q->last_ts = 0;
}

static int ml_start(void *priv, struct event_base *base, const struct rd_cursor *resume, int once)
{
	struct maillog *q = priv;

	if (rd_filesrc_running(&q->fs) || q->fs.path == NULL)
		return -1;
	ml_forget_all(q);
	return rd_filesrc_start(&q->fs, base, q->fs.path, resume, once);
}

static void ml_pause(void *priv)
{
	struct maillog *q = priv;

	rd_filesrc_pause(&q->fs);
}

static void ml_resume(void *priv)
{
	struct maillog *q = priv;

	rd_filesrc_resume(&q->fs);
}

static void ml_stop(void *priv)
{
	struct maillog *q = priv;

	rd_filesrc_stop(&q->fs);
}

static void ml_destroy(void *priv)
{
	struct maillog *q = priv;

	if (q == NULL)
		return;
	rd_filesrc_release(&q->fs);
	ml_forget_all(q);
	ml_free_strings(q->box, q->nbox);
	ml_free_strings(q->folder, q->nfolder);
	ml_free_users(q->user, q->nuser);
	ml_free_users(q->pending, q->npending);
	ml_free_users(q->alias, q->nalias);
	rd_tz_free(q->tz);
	free(q);
}

static const char *ml_source(void *priv)
{
	const struct maillog *q = priv;

	return q->fs.path != NULL ? q->fs.path : "mail log";
}

static int ml_owns(void *priv, const char *mailbox)
{
	const struct maillog *q = priv;

	return ml_box_index(q, mailbox) >= 0;
}

const struct rd_collector_type rd_maillog_type = {
    .abi = RD_COLLECTOR_ABI,
    .size = sizeof(struct rd_collector_type),
    .name = "maillog",
    .create = ml_create,
    .configure = ml_configure,
    .check = ml_check,
    .start = ml_start,
    .pause = ml_pause,
    .resume = ml_resume,
    .stop = ml_stop,
    .destroy = ml_destroy,
    .source = ml_source,
    .owns = ml_owns,
};
