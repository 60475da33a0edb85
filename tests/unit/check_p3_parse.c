/* SPDX-License-Identifier: ISC */
/*
 * check_p3_parse.c: pop3hook's pure helpers: the resumable line scanner,
 * command splitting and argument rules, server status kinds, multi-line
 * body scanning in every split, SASL judging, PROXY/XCLIENT headers and
 * the per-address connection table.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p3_hdr.h"
#include "p3_iptab.h"
#include "p3_parse.h"
#include "p3_sasl.h"

/* Line scanning: where each line ends, fed in every split. */
static const struct {
	const char	*in;		/* bytes */
	size_t		 limit;		/* max_line_length limit */
	const char	*want;		/* "L<n>" per line, "X<n>" overlong */
} scan_cases[] = {
	{ "USER a\r\n", 255, "L8" },
	{ "USER a\n", 255, "L7" },
	{ "NOOP\r\nSTAT\r\nQUIT\r\n", 255, "L6L6L6" },
	{ "aaaaaaaaaa", 10, "X10" },
	{ "aaaaaaaa\r\n", 10, "L10" },
	{ "aaaaaaaaa\r\n", 10, "X10" },
	{ "aaaaaaaaaaaa\r\nNOOP\r\n", 10, "X10" },
	{ "\r\n", 10, "L2" },
	{ "a\0b\r\n", 10, "L5" },
	{ "partial", 255, "" },
};

START_TEST(test_scan)
{
	const char	*in = scan_cases[_i].in;
	size_t		 len = _i == 8 ? 5 : strlen(in);	/* holds a NUL */
	size_t		 split, fed, pos, ll;
	char		 got[64];
	struct p3_lexer	 lx;
	enum p3_scan	 r;

	for (split = 1; split <= len; split++) {
		p3_lexer_reset(&lx);
		got[0] = '\0';
		pos = 0;
		for (fed = 0; fed < len && strchr(got, 'X') == NULL;) {
			fed = fed + split > len ? len : fed + split;
			while ((r = p3_line_scan(&lx, in + pos, fed - pos,
			    scan_cases[_i].limit, &ll)) != P3_SCAN_MORE) {
				snprintf(got + strlen(got), sizeof(got) -
				    strlen(got), "%c%zu",
				    r == P3_SCAN_LINE ? 'L' : 'X', ll);
				pos += ll;
				if (r == P3_SCAN_LONG)
					break;
			}
		}
		ck_assert_msg(strcmp(got, scan_cases[_i].want) == 0,
		    "case %d split %zu: %s", _i, split, got);
	}
}
END_TEST

/* Command lines: keyword, table row, arguments, findings, rule problems. */
static const struct {
	const char	*line;		/* with terminator */
	enum p3_cmd	 cmd;		/* wanted command */
	unsigned	 nargs;		/* wanted arguments */
	unsigned	 flags;		/* wanted P3_L_* */
	bool		 blank;		/* no or blank arguments */
	bool		 bad;		/* p3_args_problem() finds one */
	bool		 multi;		/* +OK answer multi-line */
} cmd_cases[] = {
	{ "USER alice\r\n", P3_CMD_USER, 1, 0, false, false, false },
	{ "user alice\r\n", P3_CMD_USER, 1, 0, false, false, false },
	{ "USER\r\n", P3_CMD_USER, 0, 0, true, true, false },
	{ "USER \r\n", P3_CMD_USER, 0, P3_L_EMPTY_ARG, true, true, false },
	{ "USER a b\r\n", P3_CMD_USER, 2, 0, false, true, false },
	{ "PASS a b\r\n", P3_CMD_PASS, 2, 0, false, false, false },
	{ "PASS\r\n", P3_CMD_PASS, 0, 0, true, true, false },
	{ "APOP a c4c9334bac560ecc979e58001b3e22fb\r\n", P3_CMD_APOP, 2, 0,
	  false, false, false },
	{ "APOP a xyz\r\n", P3_CMD_APOP, 2, 0, false, true, false },
	{ "AUTH\r\n", P3_CMD_AUTH, 0, 0, true, false, true },
	{ "AUTH PLAIN\r\n", P3_CMD_AUTH, 1, 0, false, false, false },
	{ "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n", P3_CMD_AUTH, 2, 0, false,
	  false, false },
	{ "AUTH PL@IN\r\n", P3_CMD_AUTH, 1, 0, false, true, false },
	{ "QUIT\r\n", P3_CMD_QUIT, 0, 0, true, false, false },
	{ "QUIT x\r\n", P3_CMD_QUIT, 1, 0, false, true, false },
	{ "STAT\r\n", P3_CMD_STAT, 0, 0, true, false, false },
	{ "LIST\r\n", P3_CMD_LIST, 0, 0, true, false, true },
	{ "LIST 3\r\n", P3_CMD_LIST, 1, 0, false, false, false },
	{ "LIST x\r\n", P3_CMD_LIST, 1, 0, false, true, false },
	{ "LIST -1\r\n", P3_CMD_LIST, 1, 0, false, true, false },
	{ "RETR 1\r\n", P3_CMD_RETR, 1, 0, false, false, true },
	{ "RETR\r\n", P3_CMD_RETR, 0, 0, true, true, true },
	{ "DELE 1\r\n", P3_CMD_DELE, 1, 0, false, false, false },
	{ "NOOP\r\n", P3_CMD_NOOP, 0, 0, true, false, false },
	{ "RSET\r\n", P3_CMD_RSET, 0, 0, true, false, false },
	{ "TOP 1 10\r\n", P3_CMD_TOP, 2, 0, false, false, true },
	{ "TOP 1\r\n", P3_CMD_TOP, 1, 0, false, true, true },
	{ "UIDL\r\n", P3_CMD_UIDL, 0, 0, true, false, true },
	{ "UIDL 2\r\n", P3_CMD_UIDL, 1, 0, false, false, false },
	{ "CAPA\r\n", P3_CMD_CAPA, 0, 0, true, false, true },
	{ "STLS\r\n", P3_CMD_STLS, 0, 0, true, false, false },
	{ "UTF8\r\n", P3_CMD_UTF8, 0, 0, true, false, false },
	{ "LANG\r\n", P3_CMD_LANG, 0, 0, true, false, true },
	{ "LANG fr\r\n", P3_CMD_LANG, 1, 0, false, false, false },
	{ "XCLIENT ADDR=1.2.3.4\r\n", P3_CMD_XCLIENT, 1, 0, false, true,
	  false },
	{ "XYZ\r\n", P3_CMD_UNKNOWN, 0, 0, true, true, false },
	{ "USER a\n", P3_CMD_USER, 1, P3_L_BARE_LF, false, false, false },
	{ "USER \x01\r\n", P3_CMD_USER, 1, P3_L_CTRL, false, false, false },
	{ "USER \xe9\r\n", P3_CMD_USER, 1, P3_L_8BIT, false, false, false },
	{ "LIST  1\r\n", P3_CMD_LIST, 1, P3_L_EMPTY_ARG, false, true, false },
};

START_TEST(test_command)
{
	struct p3_cmdline cl;
	const char	*l = cmd_cases[_i].line;

	p3_parse_command(l, strlen(l), false, &cl);
	ck_assert_msg(cl.cmd == cmd_cases[_i].cmd, "%s: cmd %d", l, cl.cmd);
	ck_assert_msg(cl.nargs == cmd_cases[_i].nargs, "%s: nargs %u", l,
	    cl.nargs);
	ck_assert_msg(cl.flags == cmd_cases[_i].flags, "%s: flags %x", l,
	    cl.flags);
	ck_assert_msg(cl.blank == cmd_cases[_i].blank, "%s: blank", l);
	ck_assert_msg((p3_args_problem(&cl) != NULL) == cmd_cases[_i].bad,
	    "%s: problem %s", l, p3_args_problem(&cl));
	ck_assert_msg(p3_cmd_multiline(&cl) == cmd_cases[_i].multi,
	    "%s: multi", l);
}
END_TEST

/* NUL inside a line is seen, the line is not cut there. */
START_TEST(test_nul)
{
	struct p3_cmdline cl;

	p3_parse_command("USER a\0b\r\n", 10, false, &cl);
	ck_assert_uint_eq(cl.flags, P3_L_NUL | P3_L_CTRL);
	ck_assert_uint_eq(cl.arglen[0], 3);
	p3_parse_command("USER aaaa", 9, true, &cl);
	ck_assert_uint_eq(cl.flags, P3_L_LONG);
}
END_TEST

static const struct {
	const char	*line;		/* server line, no terminator */
	enum p3_status	 want;		/* kind */
} status_cases[] = {
	{ "+OK", P3_ST_OK }, { "+OK Logged in.", P3_ST_OK },
	{ "-ERR", P3_ST_ERR }, { "-ERR [AUTH] no", P3_ST_ERR },
	{ "+ ", P3_ST_CONT }, { "+ PDEyMzQ+", P3_ST_CONT }, { "+", P3_ST_CONT },
	{ "+OKAY", P3_ST_BAD }, { "-ERRx", P3_ST_BAD }, { "OK", P3_ST_BAD },
	{ "", P3_ST_BAD }, { "* OK", P3_ST_BAD }, { "+ok", P3_ST_BAD },
};

START_TEST(test_status)
{
	const char	*l = status_cases[_i].line;

	ck_assert_msg(p3_status_kind(l, strlen(l)) == status_cases[_i].want,
	    "%s", l);
}
END_TEST

/* Multi-line bodies: where the terminating line ends, in every split. */
static const struct {
	const char	*in;		/* body after the +OK line */
	long		 end;		/* octets through ".CRLF", -1: none */
} body_cases[] = {
	{ ".\r\n", 3 },
	{ "a\r\n.\r\n", 6 },
	{ "..\r\n.\r\n", 7 },
	{ ".x\r\n\r\n.\r\nNEXT", 9 },
	{ "+OK\r\n-ERR\r\n.\r\n", 14 },
	{ "a\r\n.\n", 5 },
	{ "a.\r\n\r\n", -1 },
	{ "a\r\n..\r\n", -1 },
	{ "x\r\n.\r", -1 },
	{ "a.b.\r\n.c.\r\n...\r\n.\r\n", 19 },
	{ "end.\r\n.\r\n", 9 },
	{ ".\r.\r\n.\r\n", 8 },
	{ "x\r\n.\r.\r\n.\r\n", 11 },
	{ "a\r\n.\r\r\n.\r\n", 10 },
	{ "mail.example.org\n.\n", 19 },
};

START_TEST(test_body)
{
	const char	*in = body_cases[_i].in;
	size_t		 len = strlen(in), split, pos, n;
	struct p3_body	 b;
	bool		 done;
	long		 end;

	for (split = 1; split <= len; split++) {
		p3_body_start(&b);
		end = -1;
		for (pos = 0; pos < len && end < 0; pos += n) {
			n = len - pos < split ? len - pos : split;
			n = p3_body_scan(&b, in + pos, n, &done);
			if (done)
				end = (long)(pos + n);
		}
		ck_assert_msg(end == body_cases[_i].end,
		    "case %d split %zu: %ld", _i, split, end);
	}
}
END_TEST

/* SASL: what each message holds. */
static const struct {
	const char	*mech;		/* mechanism */
	unsigned	 step;		/* client message number */
	const char	*b64;		/* the line */
	const char	*want;		/* flags: c b x u p, then =user */
} sasl_cases[] = {
	{ "PLAIN", 0, "AGFsaWNlAHNlY3JldA==", "=alice" },
	{ "plain", 0, "YWRtaW4AYWxpY2UAc2VjcmV0", "=alice" },
	{ "PLAIN", 0, "AABzZWNyZXQ=", "u=" },
	{ "PLAIN", 0, "AGFsaWNlAA==", "p=alice" },
	{ "PLAIN", 0, "", "up" },
	{ "PLAIN", 0, "=", "up" },
	{ "PLAIN", 0, "YWxpY2U=", "x" },
	{ "PLAIN", 0, "AGFsaQ0KY2UAcHc=", "x=ali\r\nce" },
	{ "PLAIN", 0, "AGEAYgBj", "x=a" },
	{ "PLAIN", 0, "!!!!", "b" },
	{ "PLAIN", 0, "AGFsaWNl", "x" },
	{ "PLAIN", 0, "*", "c" },
	{ "LOGIN", 0, "YWxpY2U=", "=alice" },
	{ "LOGIN", 0, "", "u=" },
	{ "LOGIN", 1, "c2VjcmV0", "" },
	{ "LOGIN", 1, "", "p" },
	{ "LOGIN", 1, "YQ1i", "x" },
	{ "CRAM-MD5", 0,
	  "YWxpY2UgMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "=alice" },
	{ "CRAM-MD5", 0, "IDAxMjM0NTY3ODlhYmNkZWY=", "u=" },
	{ "CRAM-MD5", 0, "YWxpY2U=", "x=alice" },
	{ "X-OTHER", 0, "AAECAw==", "" },
	{ "X-OTHER", 0, "AAECAw=", "b" },
};

START_TEST(test_sasl)
{
	unsigned char	 dec[P3_SASL_DECODED_MAX];
	struct p3_sasl_res r;
	char		 got[128];
	const char	*m = sasl_cases[_i].mech, *b = sasl_cases[_i].b64;

	p3_sasl_judge(p3_mech_lookup(m, strlen(m)), sasl_cases[_i].step, b,
	    strlen(b), dec, sizeof(dec), &r);
	snprintf(got, sizeof(got), "%s%s%s%s%s%s%.*s", r.cancel ? "c" : "",
	    r.bad_b64 ? "b" : "", r.bad_bytes ? "x" : "", r.no_user ? "u" : "",
	    r.no_pass ? "p" : "", r.user != NULL ? "=" : "",
	    (int)(r.user != NULL ? r.userlen : 0),
	    r.user != NULL ? (const char *)r.user : "");
	ck_assert_msg(strcmp(got, sasl_cases[_i].want) == 0, "%s %s: %s", m,
	    b, got);
}
END_TEST

/* Build an IPv4 or IPv6 socket address. */
static void
make_sa(const char *a, unsigned port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(a, ':') != NULL) {
		struct sockaddr_in6 *s6 = (void *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		ck_assert_int_eq(inet_pton(AF_INET6, a, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (void *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		ck_assert_int_eq(inet_pton(AF_INET, a, &s4->sin_addr), 1);
	}
}

/* PROXY v1/v2 and XCLIENT as haproxy's spec and Dovecot read them. */
START_TEST(test_headers)
{
	struct sockaddr_storage src, dst;
	char		 buf[P3_HDR_MAX];
	unsigned char	 bin[P3_HDR_MAX];
	static const unsigned char want4[] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00,
	    0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x21, 0x11, 0x00, 0x0c,
	    192, 0, 2, 7, 127, 0, 0, 1, 0xc8, 0x14, 0x04, 0x56 };
	int		 n;

	make_sa("192.0.2.7", 51220, &src);
	make_sa("127.0.0.1", 1110, &dst);
	n = p3_proxy_v1((void *)&src, (void *)&dst, buf, sizeof(buf));
	ck_assert_int_eq(n, (int)strlen(buf));
	ck_assert_str_eq(buf, "PROXY TCP4 192.0.2.7 127.0.0.1 51220 1110\r\n");
	n = p3_proxy_v2((void *)&src, (void *)&dst, bin, sizeof(bin));
	ck_assert_int_eq(n, (int)sizeof(want4));
	ck_assert(memcmp(bin, want4, sizeof(want4)) == 0);
	n = p3_xclient_line((void *)&src, buf, sizeof(buf));
	ck_assert_str_eq(buf, "XCLIENT ADDR=192.0.2.7 PORT=51220\r\n");

	make_sa("::ffff:192.0.2.7", 51220, &src);
	make_sa("::ffff:127.0.0.1", 1110, &dst);
	p3_proxy_v1((void *)&src, (void *)&dst, buf, sizeof(buf));
	ck_assert_str_eq(buf, "PROXY TCP4 192.0.2.7 127.0.0.1 51220 1110\r\n");

	make_sa("2001:db8::7", 5, &src);
	make_sa("::1", 110, &dst);
	p3_proxy_v1((void *)&src, (void *)&dst, buf, sizeof(buf));
	ck_assert_str_eq(buf, "PROXY TCP6 2001:db8::7 ::1 5 110\r\n");
	n = p3_proxy_v2((void *)&src, (void *)&dst, bin, sizeof(bin));
	ck_assert_int_eq(n, 16 + 36);
	ck_assert_int_eq(bin[13], 0x21);
	p3_xclient_line((void *)&src, buf, sizeof(buf));
	ck_assert_str_eq(buf, "XCLIENT ADDR=2001:db8::7 PORT=5\r\n");

	make_sa("192.0.2.7", 1, &src);
	make_sa("::1", 110, &dst);
	p3_proxy_v1((void *)&src, (void *)&dst, buf, sizeof(buf));
	ck_assert_str_eq(buf, "PROXY UNKNOWN\r\n");
	ck_assert_int_eq(p3_proxy_v2((void *)&src, (void *)&dst, bin, 10), -1);
}
END_TEST

/* Connection counts: per address and in all, and freed slots reused. */
START_TEST(test_iptab)
{
	uint8_t		 a[16] = { 0 }, b[16] = { 0 };
	int		 i;

	a[15] = 1;
	b[15] = 2;
	ck_assert(p3_iptab_acquire(a, 10, 2));
	ck_assert(p3_iptab_acquire(a, 10, 2));
	ck_assert(!p3_iptab_acquire(a, 10, 2));
	ck_assert(p3_iptab_acquire(b, 3, 2));
	ck_assert(!p3_iptab_acquire(b, 3, 2));	/* 3 in all */
	ck_assert_int_eq(p3_iptab_total(), 3);
	p3_iptab_release(a);
	ck_assert(p3_iptab_acquire(b, 10, 2));
	p3_iptab_release(a);
	p3_iptab_release(b);
	p3_iptab_release(b);
	ck_assert_int_eq(p3_iptab_total(), 0);
	ck_assert_uint_eq(p3_iptab_addresses(), 0);
	/* Many addresses: the table grows and shrinks back to empty. */
	for (i = 0; i < 5000; i++) {
		a[12] = (uint8_t)(i >> 8);
		a[13] = (uint8_t)i;
		ck_assert(p3_iptab_acquire(a, 100000, 1));
	}
	ck_assert_uint_eq(p3_iptab_addresses(), 5000);
	for (i = 0; i < 5000; i += 2) {
		a[12] = (uint8_t)(i >> 8);
		a[13] = (uint8_t)i;
		p3_iptab_release(a);
	}
	for (i = 1; i < 5000; i += 2) {
		a[12] = (uint8_t)(i >> 8);
		a[13] = (uint8_t)i;
		ck_assert(!p3_iptab_acquire(a, 100000, 1));
		p3_iptab_release(a);
	}
	ck_assert_uint_eq(p3_iptab_addresses(), 0);
	ck_assert_int_eq(p3_iptab_total(), 0);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("p3_parse");
	TCase	*tc = tcase_create("p3_parse");
	SRunner	*sr;
	int	 nf;

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_scan, 0,
	    sizeof(scan_cases) / sizeof(scan_cases[0]));
	tcase_add_loop_test(tc, test_command, 0,
	    sizeof(cmd_cases) / sizeof(cmd_cases[0]));
	tcase_add_test(tc, test_nul);
	tcase_add_loop_test(tc, test_status, 0,
	    sizeof(status_cases) / sizeof(status_cases[0]));
	tcase_add_loop_test(tc, test_body, 0,
	    sizeof(body_cases) / sizeof(body_cases[0]));
	tcase_add_loop_test(tc, test_sasl, 0,
	    sizeof(sasl_cases) / sizeof(sasl_cases[0]));
	tcase_add_test(tc, test_headers);
	tcase_add_test(tc, test_iptab);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
