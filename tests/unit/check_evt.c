/* SPDX-License-Identifier: ISC */
/*
 * check_evt.c: attack events: the exact JSON and syslog lines (golden),
 * RFC 8259 escaping of peer bytes, the 200-character cut, the rate limiter,
 * and the writer against good, missing and unwritable files.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evt.h"

/* The session of SPEC section 4's example. */
static void
example_session(struct evt_session *s)
{
	struct sockaddr_in	 sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(51234);
	inet_pton(AF_INET, "203.0.113.5", &sin.sin_addr);
	evt_session_init(s, REG_SVC_POP3, (struct sockaddr *)&sin);
	strcpy(s->session, "0f3a9c1b2d4e5f60");
}

/* SPEC section 4's example line, byte for byte. */
START_TEST(test_golden_json)
{
	struct evt_session	 s;
	char			 buf[EVT_LINE_MAX];
	int			 n;

	example_session(&s);
	n = evt_format_json(buf, sizeof(buf), 1795444523123LL, &s,
	    PROT_P3_EMPTY_USERNAME, ACT_PREVENT, NULL, "USER", 4);
	ck_assert_int_gt(n, 0);
	ck_assert_str_eq(buf, "{\"ts\":\"2026-11-23T14:35:23.123Z\","
	    "\"event\":\"attack\",\"service\":\"pop3\","
	    "\"protection\":\"pop3.empty_username\",\"action\":\"prevent\","
	    "\"attack_name\":\"POP3 Policy Violation\","
	    "\"attack_info\":\"No username supplied in USER command\","
	    "\"client\":\"203.0.113.5\",\"client_port\":51234,"
	    "\"session\":\"0f3a9c1b2d4e5f60\",\"user\":null,"
	    "\"detail\":\"USER\"}\n");
	ck_assert_int_eq(n, (int)strlen(buf));
}
END_TEST

/* The syslog line: same fields, key=value. */
START_TEST(test_golden_syslog)
{
	struct evt_session	 s;
	char			 buf[1024];

	example_session(&s);
	ck_assert_int_gt(evt_format_syslog(buf, sizeof(buf), &s,
	    PROT_P3_EMPTY_USERNAME, ACT_PREVENT, NULL, "USER", 4), 0);
	ck_assert_str_eq(buf, "attack service=pop3 "
	    "protection=pop3.empty_username action=prevent "
	    "attack_name=\"POP3 Policy Violation\" "
	    "attack_info=\"No username supplied in USER command\" "
	    "client=203.0.113.5 client_port=51234 session=0f3a9c1b2d4e5f60 "
	    "user=- detail=\"USER\"");
}
END_TEST

/* The VERB of smtp.unknown_command, a known user, detect. */
START_TEST(test_unknown_verb_and_user)
{
	struct evt_session	 s;
	char			 buf[EVT_LINE_MAX];

	example_session(&s);
	s.service = REG_SVC_SMTP;
	evt_session_user(&s, "bob\"x", 5);
	ck_assert_int_gt(evt_format_json(buf, sizeof(buf), 0, &s,
	    PROT_SMTP_UNKNOWN_COMMAND, ACT_DETECT, "AUTH", "AUTH", 4), 0);
	ck_assert_ptr_nonnull(strstr(buf, "\"ts\":\"1970-01-01T00:00:00.000Z\""));
	ck_assert_ptr_nonnull(strstr(buf, "\"service\":\"smtp\","
	    "\"protection\":\"smtp.unknown_command\",\"action\":\"detect\","
	    "\"attack_name\":\"Received an unknown command (AUTH)\","
	    "\"attack_info\":\"mail server\""));
	ck_assert_ptr_nonnull(strstr(buf, "\"user\":\"bob\\\"x\""));
	ck_assert_int_gt(evt_format_syslog(buf, sizeof(buf), &s,
	    PROT_SMTP_UNKNOWN_COMMAND, ACT_DETECT, "AUTH", "AUTH", 4), 0);
	ck_assert_ptr_nonnull(strstr(buf,
	    "attack_name=\"Received an unknown command (AUTH)\""));
	ck_assert_ptr_nonnull(strstr(buf, "user=\"bob\\\"x\""));
	/* a quote in the verb cannot end the syslog value early */
	ck_assert_int_gt(evt_format_syslog(buf, sizeof(buf), &s,
	    PROT_SMTP_UNKNOWN_COMMAND, ACT_DETECT, "A\"B", "A\"B", 3), 0);
	ck_assert_ptr_nonnull(strstr(buf,
	    "attack_name=\"Received an unknown command (A\\\"B)\""));
	ck_assert_int_gt(evt_format_json(buf, sizeof(buf), 0, &s,
	    PROT_SMTP_UNKNOWN_COMMAND, ACT_DETECT, "A\"B", "A\"B", 3), 0);
	ck_assert_ptr_nonnull(strstr(buf,
	    "\"attack_name\":\"Received an unknown command (A\\\"B)\""));
}
END_TEST

static const struct {
	const char	*in;		/* peer bytes */
	size_t		 len;		/* their length */
	const char	*want;		/* JSON string body */
} esc_cases[] = {
	{ "plain", 5, "plain" },
	{ "a\"b", 3, "a\\\"b" },
	{ "a\\b", 3, "a\\\\b" },
	{ "\r\n\t", 3, "\\r\\n\\t" },
	{ "\x01\x1f\x7f", 3, "\\u0001\\u001f\\u007f" },
	{ "a\0b", 3, "a\\u0000b" },
	{ "caf\xc3\xa9", 5, "caf\xc3\xa9" },
	{ "\xe2\x82\xac\xf0\x9f\x98\x80", 7, "\xe2\x82\xac\xf0\x9f\x98\x80" },
	{ "\xff", 1, "\\ufffd" },
	{ "\xc3", 1, "\\ufffd" },			/* cut sequence */
	{ "\xc3(", 2, "\\ufffd(" },
	{ "\xc0\xaf", 2, "\\ufffd\\ufffd" },		/* overlong */
	{ "\xed\xa0\x80", 3, "\\ufffd\\ufffd\\ufffd" },	/* surrogate */
	{ "\xf4\x90\x80\x80", 4, "\\ufffd\\ufffd\\ufffd\\ufffd" },
	{ "\x90\x90\x90\xcc", 4, "\\ufffd\\ufffd\\ufffd\\ufffd" },
};

START_TEST(test_escape)
{
	char	 buf[256];

	ck_assert_int_ge(evt_json_escape(buf, sizeof(buf), esc_cases[_i].in,
	    esc_cases[_i].len, EVT_DETAIL_MAX), 0);
	ck_assert_str_eq(buf, esc_cases[_i].want);
}
END_TEST

/* 200 characters are kept, and never half an escape or a sequence. */
START_TEST(test_truncation)
{
	char		 in[1000], buf[4096], want[4096];
	size_t		 i;

	memset(in, 'x', 199);
	memcpy(in + 199, "\xc3\xa9", 2);	/* 200th char: 2 octets */
	memcpy(in + 201, "yyy", 3);
	ck_assert_int_ge(evt_json_escape(buf, sizeof(buf), in, 204, 200), 0);
	memset(want, 'x', 199);
	strcpy(want + 199, "\xc3\xa9");
	ck_assert_str_eq(buf, want);

	memset(in, 'x', 199);
	in[199] = '\n';				/* 200th char: an escape */
	in[200] = 'z';
	evt_json_escape(buf, sizeof(buf), in, 201, 200);
	ck_assert_uint_eq(strlen(buf), 201);
	ck_assert_str_eq(buf + 199, "\\n");

	for (i = 0; i < sizeof(in); i++)
		in[i] = 0x01;			/* worst case growth */
	ck_assert_int_eq(evt_json_escape(buf, sizeof(buf), in, sizeof(in),
	    200), 200 * 6);
	/* too small a buffer is refused, not overrun */
	ck_assert_int_eq(evt_json_escape(buf, 10, in, sizeof(in), 200), -1);
}
END_TEST

/* A whole event line cuts a long detail at 200 characters. */
START_TEST(test_detail_cut_in_line)
{
	struct evt_session	 s;
	char			 buf[EVT_LINE_MAX], det[5000];
	const char		*p;

	example_session(&s);
	memset(det, 'A', sizeof(det));
	ck_assert_int_gt(evt_format_json(buf, sizeof(buf), 0, &s,
	    PROT_P3_MAX_LINE_LENGTH, ACT_DETECT, NULL, det, sizeof(det)), 0);
	p = strstr(buf, "\"detail\":\"");
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(strlen(p), strlen("\"detail\":\"") + 200 + 3);
	ck_assert_int_gt(evt_format_syslog(buf, sizeof(buf), &s,
	    PROT_P3_MAX_LINE_LENGTH, ACT_DETECT, NULL, "a\nb\"\xff", 5), 0);
	ck_assert_ptr_nonnull(strstr(buf, "detail=\"a\\x0ab\\\"\\xff\""));
}
END_TEST

/* max events per second, then counting; a new second starts over. */
START_TEST(test_rate)
{
	struct evt_rate	 r = { 0, 0, 0 };
	int		 i, allowed = 0;

	for (i = 0; i < 10; i++)
		allowed += evt_rate_allow(&r, 100, 3);
	ck_assert_int_eq(allowed, 3);
	ck_assert_int_eq(r.suppressed, 7);
	ck_assert(evt_rate_allow(&r, 101, 3));
	ck_assert_int_eq(r.suppressed, 7);	/* until summarised */
	ck_assert(evt_rate_allow(&r, 101, 3));
	ck_assert(evt_rate_allow(&r, 101, 3));
	ck_assert(!evt_rate_allow(&r, 101, 3));
}
END_TEST

/* Count lines of a file holding s. */
static int
count_lines(const char *path, const char *s)
{
	FILE	*f = fopen(path, "r");
	char	 line[4096];
	int	 n = 0;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, s) != NULL)
			n++;
	fclose(f);
	return n;
}

/* Sum of the "count" of the suppressed summaries in a file. */
static long
sum_counts(const char *path)
{
	FILE		*f = fopen(path, "r");
	char		 line[4096];
	const char	*p;
	long		 n = 0;

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, "\"event\":\"suppressed\"") != NULL &&
		    (p = strstr(line, "\"count\":")) != NULL)
			n += strtol(p + 8, NULL, 10);
	if (f != NULL)
		fclose(f);
	return n;
}

/* The writer writes each event once, rate-limits and summarises. */
START_TEST(test_writer)
{
	char			 path[] = "/tmp/check_evt.XXXXXX";
	struct pol_log		 cfg = { false, 0, path, 5 };
	struct evt_session	 s;
	int			 i, fd = mkstemp(path);

	ck_assert_int_ne(fd, -1);
	close(fd);
	ck_assert_int_eq(evt_init(&cfg, "check_evt"), 0);
	example_session(&s);
	for (i = 0; i < 50; i++)
		evt_attack(&s, PROT_P3_NON_COMPLIANT, ACT_PREVENT, NULL,
		    "X", 1);
	evt_attack(&s, PROT_P3_EMPTY_PASSWORD, ACT_DETECT, NULL, "PASS", 4);
	evt_attack(&s, PROT_P3_EMPTY_PASSWORD, ACT_OFF, NULL, "PASS", 4);
	sleep(2);
	evt_shutdown();
	i = count_lines(path, "\"event\":\"attack\",\"service\":\"pop3\","
	    "\"protection\":\"pop3.non_compliant\"");
	/* 5 a second; the loop may straddle a second boundary */
	ck_assert_msg(i >= 5 && i <= 10, "%d lines", i);
	ck_assert_int_eq(i + sum_counts(path), 50);
	ck_assert_int_eq(count_lines(path, "pop3.empty_password"), 1);
	unlink(path);
}
END_TEST

/* A reload reopens the file (log rotation); switching the log off stops
 * writing; events before and after land where they belong. */
START_TEST(test_reopen)
{
	char			 path[] = "/tmp/check_evt_rot.XXXXXX";
	char			 rotated[64];
	struct pol_log		 cfg = { false, 0, path, 100 };
	struct evt_session	 s;
	int			 fd = mkstemp(path);

	ck_assert_int_ne(fd, -1);
	close(fd);
	snprintf(rotated, sizeof(rotated), "%s.1", path);
	example_session(&s);
	evt_init(&cfg, "check_evt");
	evt_attack(&s, PROT_P3_STARTTLS, ACT_PREVENT, NULL, "one", 3);
	usleep(300000);
	ck_assert_int_eq(rename(path, rotated), 0);
	evt_reconfigure(&cfg);
	evt_attack(&s, PROT_P3_STARTTLS, ACT_PREVENT, NULL, "two", 3);
	usleep(300000);
	cfg.json_file = "";
	evt_reconfigure(&cfg);
	evt_attack(&s, PROT_P3_STARTTLS, ACT_PREVENT, NULL, "three", 5);
	evt_shutdown();
	ck_assert_int_eq(count_lines(rotated, "\"detail\":\"one\""), 1);
	ck_assert_int_eq(count_lines(rotated, "\"event\""), 1);
	ck_assert_int_eq(count_lines(path, "\"detail\":\"two\""), 1);
	ck_assert_int_eq(count_lines(path, "\"event\""), 1);
	unlink(path);
	unlink(rotated);
}
END_TEST

/* A missing directory or an unwritable file: no crash, events dropped. */
START_TEST(test_bad_file)
{
	struct pol_log		 cfg = { false, 0,
	    "/nonexistent/dir/events.json", 100 };
	struct evt_session	 s;
	int			 i;

	ck_assert_int_eq(evt_init(&cfg, "check_evt"), 0);
	example_session(&s);
	for (i = 0; i < 1000; i++)
		evt_attack(&s, PROT_P3_STARTTLS, ACT_PREVENT, NULL, "STLS", 4);
	evt_shutdown();
	cfg.json_file = "/dev/full";
	evt_init(&cfg, "check_evt");
	for (i = 0; i < 10; i++)
		evt_attack(&s, PROT_P3_STARTTLS, ACT_PREVENT, NULL, "STLS", 4);
	evt_shutdown();
}
END_TEST

/* Session ids are 16 hex digits and differ; v4-mapped shows as IPv4. */
START_TEST(test_session)
{
	struct evt_session	 a, b;
	struct sockaddr_in6	 s6;

	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	s6.sin6_port = htons(110);
	inet_pton(AF_INET6, "::ffff:198.51.100.9", &s6.sin6_addr);
	evt_session_init(&a, REG_SVC_POP3, (struct sockaddr *)&s6);
	evt_session_init(&b, REG_SVC_POP3, NULL);
	ck_assert_uint_eq(strlen(a.session), 16);
	ck_assert_uint_eq(strspn(a.session, "0123456789abcdef"), 16);
	ck_assert_str_ne(a.session, b.session);
	ck_assert_str_eq(a.client, "198.51.100.9");
	ck_assert_uint_eq(a.client_port, 110);
	ck_assert_str_eq(b.client, "");
}
END_TEST

/*
 * The longest line peer bytes can make: a 256-octet user name, a 64-octet
 * VERB and a detail all of control bytes (6 octets each in JSON) or of
 * invalid UTF-8.  It must fit: evt_attack() treats a line that does not as
 * a broken invariant, so a peer able to overflow it could stop a daemon.
 */
START_TEST(test_worst_case_fits)
{
	static const unsigned char fill[] = { 0x01, 0xff, '"' };
	struct evt_session	 s;
	char			 json[EVT_LINE_MAX], sys[EVT_LINE_MAX];
	char			 peer[5000], verb[65];
	int			 f, p;

	for (f = 0; f < 3; f++) {
		example_session(&s);
		strcpy(s.client, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255");
		memset(peer, fill[f], sizeof(peer));
		evt_session_user(&s, peer, sizeof(peer));
		memset(verb, fill[f], 64);
		verb[64] = '\0';
		for (p = 0; p < PROT_COUNT; p++) {
			ck_assert_int_gt(evt_format_json(json, sizeof(json),
			    253402300799999LL, &s, p, ACT_PREVENT, verb, peer,
			    sizeof(peer)), 0);
			ck_assert_int_gt(evt_format_syslog(sys, sizeof(sys), &s,
			    p, ACT_PREVENT, verb, peer, sizeof(peer)), 0);
		}
	}
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("evt");
	TCase	*tc = tcase_create("evt");
	SRunner	*sr;
	int	 nf;

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_golden_json);
	tcase_add_test(tc, test_golden_syslog);
	tcase_add_test(tc, test_unknown_verb_and_user);
	tcase_add_loop_test(tc, test_escape, 0,
	    sizeof(esc_cases) / sizeof(esc_cases[0]));
	tcase_add_test(tc, test_truncation);
	tcase_add_test(tc, test_detail_cut_in_line);
	tcase_add_test(tc, test_rate);
	tcase_add_test(tc, test_writer);
	tcase_add_test(tc, test_reopen);
	tcase_add_test(tc, test_bad_file);
	tcase_add_test(tc, test_session);
	tcase_add_test(tc, test_worst_case_fits);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
