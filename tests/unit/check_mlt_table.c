/* SPDX-License-Identifier: ISC */
/*
 * check_mlt_table.c: the -P smtpd_command_filter table.  Each case prints
 * the table for a configuration and looks a command line up the way
 * Postfix's regexp: table does (POSIX extended, case-insensitive, first
 * match, if/endif), so what is pinned is what Postfix will rewrite.
 */
#include <check.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mlt_table.h"

/* Load a configuration text through the real parser. */
static struct policy *
load_conf(const char *text)
{
	char		 path[] = "/tmp/check_mlt_table.XXXXXX";
	int		 fd = mkstemp(path);
	struct policy	*pol;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	pol = pol_load(path, stderr);
	unlink(path);
	ck_assert_msg(pol != NULL, "configuration rejected: %s", text);
	return pol;
}

/* The table for a configuration, as text. */
static char *
table_for(const char *conf)
{
	struct policy	*pol = load_conf(conf);
	char		*buf = NULL;
	size_t		 len = 0;
	FILE		*f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(mlt_table_write(f, pol, "/etc/x.conf"), 0);
	fclose(f);
	pol_unref(pol);
	return buf;
}

/* Match a "/re/" pattern of the table against line. */
static bool
tbl_match(const char *pat, size_t plen, const char *line)
{
	char	 re[512];
	regex_t	 rx;
	bool	 m;

	ck_assert_uint_lt(plen, sizeof(re));
	memcpy(re, pat, plen);
	re[plen] = '\0';
	ck_assert_int_eq(regcomp(&rx, re, REG_EXTENDED | REG_ICASE |
	    REG_NOSUB), 0);
	m = regexec(&rx, line, 0, NULL, 0) == 0;
	regfree(&rx);
	return m;
}

/*
 * Postfix's regexp: lookup of line in table: the result, or NULL.
 * Supports what mlt_table.c writes: comments, "/re/ result", and one
 * level of "if /re/" ... "endif".
 */
static char *
lookup(const char *table, const char *line)
{
	static char	 result[128];
	const char	*p = table, *nl, *end;
	bool		 skipping = false;

	for (; *p != '\0'; p = *nl != '\0' ? nl + 1 : nl) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		if (*p == '#' || p == nl)
			continue;
		if (strncmp(p, "endif", 5) == 0) {
			skipping = false;
			continue;
		}
		if (strncmp(p, "if /", 4) == 0) {
			end = memchr(p + 4, '/', (size_t)(nl - p - 4));
			while (end != NULL && end[1] != '\n' && end[1] != '\0')
				end = memchr(end + 1, '/',
				    (size_t)(nl - end - 1));
			ck_assert_ptr_nonnull(end);
			skipping = !tbl_match(p + 4, (size_t)(end - p - 4),
			    line);
			continue;
		}
		ck_assert_msg(*p == '/', "bad table line: %.*s",
		    (int)(nl - p), p);
		end = memchr(p, '\t', (size_t)(nl - p));
		ck_assert_ptr_nonnull(end);
		ck_assert_int_eq(end[-1], '/');
		if (skipping || !tbl_match(p + 1, (size_t)(end - 1 - p - 1),
		    line))
			continue;
		snprintf(result, sizeof(result), "%.*s", (int)(nl - end - 1),
		    end + 1);
		return result;
	}
	return NULL;
}

#define BLOCK \
	"smtp { protection unknown_command { action = prevent " \
	"block_commands = {\"AUTH\", \"VRFY\", \"X.Y\"} } }"
#define LIM64 "smtp { protection auth_overflow { limit = 64 } }"

static char long_auth[600];		/* AUTH line of 511 octets + CRLF */
static char ok_auth[600];		/* AUTH line of 510 octets + CRLF */

static const struct {
	const char	*conf;		/* configuration */
	const char	*line;		/* command line, without CRLF */
	const char	*want;		/* rewritten to, NULL: unchanged */
} cases[] = {
	{ "", "AUTH PLAIN AGFsaWNlAHNlY3JldA==", NULL },
	{ "", "EHLO client.example.org", NULL },
	{ "", "AUTH CRAM-MD5", NULL },
	{ "", "AUTH CRAM-MD5 ", NULL },
	{ "", "AUTH CRAM-MD5 dXNlciBhYmNkZWY=", "X-MAILWARDEN-CRAMIR-AUTH" },
	{ "", "auth cram-md5 =", "X-MAILWARDEN-CRAMIR-AUTH" },
	{ "", "  AUTH\tCRAM-MD5  x", "X-MAILWARDEN-CRAMIR-AUTH" },
	{ "", "AUTH CRAM-MD5X abc", NULL },
	{ "", long_auth, "X-MAILWARDEN-LONG-AUTH" },
	{ "", ok_auth, NULL },
	{ LIM64, "AUTH PLAIN AGFsaWNlAHNlY3JldA==", NULL },
	{ LIM64, "AUTH PLAIN AGFsaWNlAHNlY3JldAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	  "AAAAAAAAA", "X-MAILWARDEN-LONG-AUTH" },
	/* the AUTH test only sees AUTH lines */
	{ LIM64, "MAIL FROM:<aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.org>", NULL },
	{ LIM64, "AUTHX aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaa", NULL },
	{ "smtp { protection auth_overflow { action = detect } }",
	  "AUTH CRAM-MD5 abc", NULL },
	{ BLOCK, "AUTH PLAIN AGFsaWNlAHNlY3JldA==", "X-MAILWARDEN-BLOCK-AUTH" },
	{ BLOCK, "AUTH", "X-MAILWARDEN-BLOCK-AUTH" },
	{ BLOCK, "auth login", "X-MAILWARDEN-BLOCK-AUTH" },
	{ BLOCK, "AUTH CRAM-MD5 abc", "X-MAILWARDEN-BLOCK-AUTH" },
	{ BLOCK, "AUTHX", NULL },
	{ BLOCK, "VRFY root", "X-MAILWARDEN-BLOCK-VRFY" },
	{ BLOCK, "X.Y", "X-MAILWARDEN-BLOCK-X.Y" },
	{ BLOCK, "XzY", NULL },
	{ BLOCK, "MAIL FROM:<auth@example.org>", NULL },
	/* detect changes nothing in the dialogue: no rewriting */
	{ "smtp { protection unknown_command { action = detect "
	  "block_commands = {\"AUTH\"} } }", "AUTH PLAIN x", NULL },
};

/* One command line against the table of one configuration. */
START_TEST(test_rewrite)
{
	char		*t;
	const char	*got;

	memcpy(long_auth, "AUTH PLAIN ", 11);
	memset(long_auth + 11, 'A', 500);
	long_auth[511] = '\0';
	memcpy(ok_auth, long_auth, 510);
	ok_auth[510] = '\0';
	t = table_for(cases[_i].conf);
	got = lookup(t, cases[_i].line);
	if (cases[_i].want == NULL)
		ck_assert_msg(got == NULL, "rewritten to %s", got);
	else {
		ck_assert_ptr_nonnull(got);
		ck_assert_str_eq(got, cases[_i].want);
	}
	free(t);
}
END_TEST

/* The header says how to install it; defaults rewrite only auth_overflow. */
START_TEST(test_header)
{
	char	*t = table_for("");

	ck_assert_ptr_nonnull(strstr(t, "mailwarden-milter -c /etc/x.conf -P"));
	ck_assert_ptr_nonnull(strstr(t, "smtpd_command_filter = regexp:"));
	ck_assert_ptr_null(strstr(t, "BLOCK-"));
	ck_assert_ptr_nonnull(strstr(t,
	    "/^.{511,}/\tX-MAILWARDEN-LONG-AUTH\n"));
	free(t);
}
END_TEST

/* One suite for the module, table-driven cases. */
static Suite *
mlt_table_suite(void)
{
	Suite	*s = suite_create("mlt_table");
	TCase	*tc = tcase_create("table");

	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, test_rewrite, 0,
	    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_header);
	suite_add_tcase(s, tc);
	return s;
}

/* Run the suite in fork mode. */
int
main(void)
{
	SRunner	*sr = srunner_create(mlt_table_suite());
	int	 failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
