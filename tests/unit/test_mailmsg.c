/* test_mailmsg.c - the composed alert e-mail, byte for byte (daemon/mailmsg.c).
 * The expected encoded words were computed apart (Python's base64 module on
 * the characters each word must hold by RFC 2047's limits), not copied from
 * this code's output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mailmsg.h"

#define T_20261129_0800 ((time_t)1795939200) /* Sunday 29 November 2026, 08:00 UTC */

static void expect_header(const char *name, const char *value, size_t len, const char *want)
{
	char *got = rd_mail_header_text(name, value, len);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void expect_qp(const char *in, const char *want)
{
	char *got = rd_mail_qp(in, strlen(in));

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

/* n copies of c, in a static buffer (one use at a time). */
static const char *rep(char c, size_t n)
{
	static char buf[4][256];
	static int k;

	k = (k + 1) % 4;
	memset(buf[k], c, n);
	buf[k][n] = '\0';
	return buf[k];
}

static void test_date(void **state)
{
	char d[RD_MAIL_DATE_LEN];

	(void)state;
	rd_mail_date(0, d);
	assert_string_equal(d, "Thu, 01 Jan 1970 00:00:00 +0000");
	rd_mail_date(T_20261129_0800, d);
	assert_string_equal(d, "Sun, 29 Nov 2026 08:00:00 +0000");
	rd_mail_date((time_t)1709164800 + 3599, d); /* 29 February 2024 00:59:59 */
	assert_string_equal(d, "Thu, 29 Feb 2024 00:59:59 +0000");
}

static void test_subject_ascii(void **state)
{
	(void)state;
	expect_header("Subject", "[reachd] Test", 13, "Subject: [reachd] Test\r\n");
	/* 10 words of 10: "Subject:" + 6 x " abcdefghij" = 74 columns, a 7th
	 * would make 85 > 78, so the line folds before its space */
	expect_header(
	    "Subject",
	    "abcdefghij abcdefghij abcdefghij abcdefghij abcdefghij abcdefghij "
	    "abcdefghij abcdefghij abcdefghij abcdefghij",
	    109,
	    "Subject: abcdefghij abcdefghij abcdefghij abcdefghij abcdefghij abcdefghij\r\n"
	    " abcdefghij abcdefghij abcdefghij abcdefghij\r\n");
	/* something that looks like an encoded word is encoded itself */
	expect_header("Subject", "=?x?", 4, "Subject: =?UTF-8?B?PT94Pw==?=\r\n");
}

static void test_subject_encoded_boundaries(void **state)
{
	char in[64];

	(void)state;
	expect_header("Subject", "Rétabli", strlen("Rétabli"),
	              "Subject: =?UTF-8?B?UsOpdGFibGk=?=\r\n");
	/* first line: "Subject: " leaves 67 columns, so 39 bytes at most (52
	 * base64 + 12). 36 'a' + 'é' = 38 bytes fit; the second 'é' would make
	 * 40, so it opens the next word, never cut in half */
	snprintf(in, sizeof(in),
	         "%séé"
	         "z",
	         rep('a', 36));
	expect_header(
	    "Subject", in, strlen(in),
	    "Subject: =?UTF-8?B?YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhw6k=?=\r\n"
	    " =?UTF-8?B?w6l6?=\r\n");
	/* a 4-byte emoji after 37 bytes: 41 > 39, it goes to the next word */
	snprintf(in, sizeof(in), "%s\xF0\x9F\x98\x80 fin", rep('a', 37));
	expect_header(
	    "Subject", in, strlen(in),
	    "Subject: =?UTF-8?B?YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYQ==?=\r\n"
	    " =?UTF-8?B?8J+YgCBmaW4=?=\r\n");
}

static void test_subject_long_encoded(void **state)
{
	/* 100 'é' (200 bytes): 19 per word on the first line (38 bytes), then
	 * 22 per word (44 bytes, 72 characters: " " + 72 <= 76) */
	char in[256] = "";
	const char *w19 = "w6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6k=";
	const char *w22 = "w6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6k=";
	const char *w15 = "w6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOp";
	char want[1024];
	char *got;

	(void)state;
	for (int i = 0; i < 100; i++)
		strcat(in, "é");
	snprintf(want, sizeof(want),
	         "Subject: =?UTF-8?B?%s?=\r\n =?UTF-8?B?%s?=\r\n =?UTF-8?B?%s?=\r\n"
	         " =?UTF-8?B?%s?=\r\n =?UTF-8?B?%s?=\r\n",
	         w19, w22, w22, w22, w15);
	got = rd_mail_header_text("Subject", in, strlen(in));
	assert_non_null(got);
	assert_string_equal(got, want);
	/* and every line within 76, every word within 75 */
	for (char *line = got, *end; (end = strstr(line, "\r\n")) != NULL; line = end + 2)
		assert_true(end - line <= 76);
	free(got);
}

static void test_header_controls(void **state)
{
	(void)state;
	/* CR, LF, NUL, TAB and DEL become one space: no new header line */
	expect_header("Subject", "file\r\nBcc: evil@example.com\0x\t\x7fy", 33,
	              "Subject: file Bcc: evil@example.com x y\r\n");
	/* invalid UTF-8 becomes U+FFFD, then the word is encoded */
	expect_header("Subject", "caf\xe9", 4, "Subject: =?UTF-8?B?Y2Fm77+9?=\r\n");
	expect_header("Subject", "", 0, "Subject:\r\n");
}

static void test_qp(void **state)
{
	char in[256], want[512];

	(void)state;
	expect_qp("a=b\n", "a=3Db\r\n");
	expect_qp("trailing  \nspace\t\r\nend", "trailing =20\r\nspace=09\r\nend");
	expect_qp("caf\xc3\xa9\rx", "caf=C3=A9\r\nx");
	expect_qp("-- \n", "--=20\r\n");
	/* 76 characters fit on a line; 77 need a soft break after 75 */
	expect_qp(rep('x', 76), rep('x', 76));
	snprintf(in, sizeof(in), "%s", rep('x', 100));
	snprintf(want, sizeof(want), "%s=\r\n%s", rep('x', 75), rep('x', 25));
	expect_qp(in, want);
	/* an escape never straddles a soft break */
	snprintf(in, sizeof(in), "%s\xc3\xa9", rep('x', 73));
	snprintf(want, sizeof(want), "%s=\r\n=C3=A9", rep('x', 73));
	expect_qp(in, want);
	snprintf(in, sizeof(in), "%s\xc3\xa9", rep('x', 72));
	snprintf(want, sizeof(want), "%s=C3=\r\n=A9", rep('x', 72));
	expect_qp(in, want);
	/* a space that would end the line is escaped after the break */
	snprintf(in, sizeof(in), "%s \n", rep('x', 75));
	snprintf(want, sizeof(want), "%s=\r\n=20\r\n", rep('x', 75));
	expect_qp(in, want);
	/* a space inside the line may sit just before a soft break */
	snprintf(in, sizeof(in), "%s yz", rep('x', 74));
	snprintf(want, sizeof(want), "%s =\r\nyz", rep('x', 74));
	expect_qp(in, want);
}

static void test_utf8_repair(void **state)
{
	size_t n;
	char *s = rd_mail_utf8_repair("a\xff"
	                              "b\xe2\x82",
	                              5, &n);

	(void)state;
	assert_non_null(s);
	assert_string_equal(s, "a\xEF\xBF\xBD"
	                       "b\xEF\xBF\xBD\xEF\xBF\xBD");
	assert_int_equal(n, 11);
	free(s);
}

static void test_addresses(void **state)
{
	static const char *const good[] = {"referent.qualite@example.gouv.fr", "a+b@x-y.fr",
	                                   "o'neil@x.org"};
	static const struct {
		const char *addr, *why;
	} bad[] = {
	    {"a b@example.fr", "'a b@example.fr' is not a valid address: it contains a space"},
	    {"a@b@example.fr", "'a@b@example.fr' is not a valid address: it needs exactly one '@'"},
	    {"<a@example.fr>", "'<a@example.fr>' is not a valid address: it contains '<' or '>' "
	                       "(give the bare address)"},
	    {"a@example.fr\r\nRCPT TO:<x@y>",
	     "'a@example.fr??RCPT TO:<x@y>' is not a valid address: it contains a line break"},
	    {"r\xc3\xa9"
	     "f@example.fr",
	     "'r??f@example.fr' is not a valid address: it is not ASCII"},
	    {"", "'' is not a valid address: it is empty"},
	    {"example.fr", "'example.fr' is not a valid address: it needs exactly one '@'"},
	    {"a..b@example.fr",
	     "'a..b@example.fr' is not a valid address: its local part is not a dot-atom"},
	    {"@example.fr",
	     "'@example.fr' is not a valid address: its local part is not a dot-atom"},
	    {"a@", "'a@' is not a valid address: its domain is not a host name"},
	    {"a@exa_mple.fr",
	     "'a@exa_mple.fr' is not a valid address: its domain is not a host name"},
	    {"a\tb@x.fr", "'a?b@x.fr' is not a valid address: it contains a control character"},
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(rd_mail_address_check(good[i], err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(rd_mail_address_check(bad[i].addr, err, sizeof(err)), -1);
		assert_string_equal(err, bad[i].why);
	}
}

static void test_msgids(void **state)
{
	static const char *const bad[] = {"alert-1@x",         "<alert-1>", "<a@b@c>", "<a b@c>",
	                                  "<a@b>\r\nBcc: x@y", "<.a@b>",    "<a@>",    ""};
	char err[256];

	(void)state;
	assert_int_equal(rd_mail_msgid_check("<alert-123-4@reachd.example>", err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(rd_mail_msgid_check(bad[i], err, sizeof(err)), -1);
	assert_string_equal(
	    err, "'' is not a valid message ID (expected <left@right>, at most 250 characters)");
}

static const struct rd_mailbox TO[] = {{"referent@example.gouv.fr", "Référent qualité"},
                                       {"chef@example.gouv.fr", NULL}};

static void test_compose_plain(void **state)
{
	struct rd_mailmsg m = {
	    .from = {"reachd@example.gouv.fr", "reachd\r\nBcc: evil@x"},
	    .to = TO,
	    .nto = 2,
	    .subject = "Alerte accueil\r\nBcc: evil@example.com",
	    .message_id = "<alert-123-4@reachd.example>",
	    .date = T_20261129_0800,
	    .text = "Bonjour,\nFile : accueil\r\nBcc: evil@example.com\n-- \n",
	};
	char *out = NULL, err[256];

	(void)state;
	assert_int_equal(rd_mailmsg_compose(&m, &out, err, sizeof(err)), 0);
	/* exactly these header lines: the injected "Bcc:" stays inside values */
	assert_string_equal(
	    out, "Date: Sun, 29 Nov 2026 08:00:00 +0000\r\n"
	         "From: =?UTF-8?B?cmVhY2hkIEJjYzogZXZpbEB4?= <reachd@example.gouv.fr>\r\n"
	         "To: =?UTF-8?B?UsOpZsOpcmVudCBxdWFsaXTDqQ==?= <referent@example.gouv.fr>,\r\n"
	         " chef@example.gouv.fr\r\n"
	         "Subject: Alerte accueil Bcc: evil@example.com\r\n"
	         "Message-ID: <alert-123-4@reachd.example>\r\n"
	         "Auto-Submitted: auto-generated\r\n"
	         "MIME-Version: 1.0\r\n"
	         "Content-Type: text/plain; charset=UTF-8\r\n"
	         "Content-Transfer-Encoding: quoted-printable\r\n"
	         "\r\n"
	         "Bonjour,\r\n"
	         "File : accueil\r\n"
	         "Bcc: evil@example.com\r\n" /* in the body: harmless text */
	         "--=20\r\n");
	free(out);
}

/* Cc: a header of its own, folded like To; a bad Cc address is refused. */
static void test_compose_cc(void **state)
{
	static const struct rd_mailbox cc[] = {{"chef@example.gouv.fr", NULL},
	                                       {"direction@example.gouv.fr", NULL}};
	static const struct rd_mailbox bad[] = {{"chef@example.gouv.fr>\r\nBcc: x@y", NULL}};
	struct rd_mailmsg m = {.from = {"reachd@example.gouv.fr", NULL},
	                       .to = TO + 1,
	                       .nto = 1,
	                       .cc = cc,
	                       .ncc = 2,
	                       .subject = "s",
	                       .message_id = "<a@b>",
	                       .date = T_20261129_0800,
	                       .text = "x\n"};
	char *out = NULL, err[256];

	(void)state;
	assert_int_equal(rd_mailmsg_compose(&m, &out, err, sizeof(err)), 0);
	assert_non_null(strstr(out, "\r\nTo: chef@example.gouv.fr\r\n"
	                            "Cc: chef@example.gouv.fr, direction@example.gouv.fr\r\n"
	                            "Subject: s\r\n"));
	free(out);
	m.cc = bad;
	m.ncc = 1;
	assert_int_equal(rd_mailmsg_compose(&m, &out, err, sizeof(err)), -1);
	assert_int_equal(strncmp(err, "Cc: ", 4), 0);
}

static void test_compose_thread_and_html(void **state)
{
	const char *refs[] = {"<alert-123-1@reachd.example>", "<alert-123-2@reachd.example>"};
	struct rd_mailmsg m = {
	    .from = {"reachd@example.gouv.fr", "Indicateurs d accueil"},
	    .to = TO + 1,
	    .nto = 1,
	    .subject = "[reachd] Resolved",
	    .message_id = "<alert-123-4@reachd.example>",
	    .in_reply_to = "<alert-123-2@reachd.example>",
	    .references = refs,
	    .nreferences = 2,
	    .date = T_20261129_0800,
	    .text = "Value: 92%\n",
	    .html = "<p>Value =&gt; 92%</p>\n",
	};
	char *out = NULL, err[256];

	(void)state;
	assert_int_equal(rd_mailmsg_compose(&m, &out, err, sizeof(err)), 0);
	/* the boundary: "=_reachd_" + FNV-1a 64 of the message ID in hex */
	assert_string_equal(
	    out, "Date: Sun, 29 Nov 2026 08:00:00 +0000\r\n"
	         "From: Indicateurs d accueil <reachd@example.gouv.fr>\r\n"
	         "To: chef@example.gouv.fr\r\n"
	         "Subject: [reachd] Resolved\r\n"
	         "Message-ID: <alert-123-4@reachd.example>\r\n"
	         "In-Reply-To: <alert-123-2@reachd.example>\r\n"
	         "References: <alert-123-1@reachd.example> <alert-123-2@reachd.example>\r\n"
	         "Auto-Submitted: auto-generated\r\n"
	         "MIME-Version: 1.0\r\n"
	         "Content-Type: multipart/alternative; boundary=\"=_reachd_907c09c866c92e3e\"\r\n"
	         "\r\n"
	         "--=_reachd_907c09c866c92e3e\r\n"
	         "Content-Type: text/plain; charset=UTF-8\r\n"
	         "Content-Transfer-Encoding: quoted-printable\r\n"
	         "\r\n"
	         "Value: 92%\r\n"
	         "--=_reachd_907c09c866c92e3e\r\n"
	         "Content-Type: text/html; charset=UTF-8\r\n"
	         "Content-Transfer-Encoding: quoted-printable\r\n"
	         "\r\n"
	         "<p>Value =3D&gt; 92%</p>\r\n"
	         "--=_reachd_907c09c866c92e3e--\r\n");
	free(out);
	/* In-Reply-To alone is also the References */
	m.references = NULL;
	m.nreferences = 0;
	m.html = NULL;
	assert_int_equal(rd_mailmsg_compose(&m, &out, err, sizeof(err)), 0);
	assert_non_null(strstr(out, "\r\nIn-Reply-To: <alert-123-2@reachd.example>\r\n"
	                            "References: <alert-123-2@reachd.example>\r\n"
	                            "Auto-Submitted: auto-generated\r\n"));
	free(out);
}

static void test_compose_refused(void **state)
{
	struct rd_mailbox bad_to[] = {{"referent@example.gouv.fr\r\nBcc: x@y", NULL}};
	struct rd_mailmsg m = {
	    .from = {"reachd@example.gouv.fr", NULL},
	    .to = bad_to,
	    .nto = 1,
	    .subject = "x",
	    .message_id = "<a@b>",
	    .text = "x",
	};
	char *out = (char *)1, err[256];

	(void)state;
	assert_int_equal(rd_mailmsg_compose(&m, &out, err, sizeof(err)), -1);
	assert_null(out);
	assert_string_equal(err, "To: 'referent@example.gouv.fr??Bcc: x@y' is not a valid address: "
	                         "it contains a line break");
	m.nto = 0;
	assert_int_equal(rd_mailmsg_compose(&m, &out, err, sizeof(err)), -1);
	assert_string_equal(err, "no recipient");
	m.to = TO;
	m.nto = 1;
	m.message_id = "<a@b>\r\nBcc: x@y";
	assert_int_equal(rd_mailmsg_compose(&m, &out, err, sizeof(err)), -1);
	m.message_id = "<a@b>";
	m.in_reply_to = "not-an-id";
	assert_int_equal(rd_mailmsg_compose(&m, &out, err, sizeof(err)), -1);
	assert_string_equal(err, "'not-an-id' is not a valid message ID (expected <left@right>, at "
	                         "most 250 characters)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_date),
	    cmocka_unit_test(test_subject_ascii),
	    cmocka_unit_test(test_subject_encoded_boundaries),
	    cmocka_unit_test(test_subject_long_encoded),
	    cmocka_unit_test(test_header_controls),
	    cmocka_unit_test(test_qp),
	    cmocka_unit_test(test_utf8_repair),
	    cmocka_unit_test(test_addresses),
	    cmocka_unit_test(test_msgids),
	    cmocka_unit_test(test_compose_plain),
	    cmocka_unit_test(test_compose_cc),
	    cmocka_unit_test(test_compose_thread_and_html),
	    cmocka_unit_test(test_compose_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
