/* SPDX-License-Identifier: ISC */
/*
 * check_policy.c: snapshots and reload: reference counting (run under
 * valgrind by `make valgrind`), the current snapshot across threads, the
 * per-client action table with exempt networks, the registry, base64.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b64.h"
#include "policy.h"

/* Write text to a temporary file and load it. */
static struct policy *
load_text(const char *text)
{
	char		 path[] = "/tmp/check_policy.XXXXXX";
	int		 fd = mkstemp(path);
	struct policy	*pol;

	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, text, strlen(text)), (int)strlen(text));
	close(fd);
	pol = pol_load(path, stderr);
	unlink(path);
	return pol;
}

static void
make_sin(const char *addr, struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, addr, &sin->sin_addr);
}

/* Exempt networks, global and per protection, turn actions off. */
START_TEST(test_actions)
{
	struct policy		*pol = load_text(
	    "exempt_networks = {\"192.0.2.0/24\"}\n"
	    "pop3 { protection empty_username { action = detect\n"
	    "  exempt_networks = {\"198.51.100.0/24\"} } }\n");
	enum pol_action		 a[PROT_COUNT];
	struct sockaddr_in	 sin;
	int			 i;

	ck_assert_ptr_nonnull(pol);
	make_sin("203.0.113.1", &sin);
	pol_actions(pol, (struct sockaddr *)&sin, a);
	ck_assert_int_eq(a[PROT_P3_EMPTY_USERNAME], ACT_DETECT);
	ck_assert_int_eq(a[PROT_P3_EMPTY_PASSWORD], ACT_PREVENT);
	ck_assert_int_eq(a[PROT_SMTP_EXTERNAL_MAIL], ACT_OFF);
	make_sin("198.51.100.7", &sin);
	pol_actions(pol, (struct sockaddr *)&sin, a);
	ck_assert_int_eq(a[PROT_P3_EMPTY_USERNAME], ACT_OFF);
	ck_assert_int_eq(a[PROT_P3_EMPTY_PASSWORD], ACT_PREVENT);
	make_sin("192.0.2.200", &sin);
	pol_actions(pol, (struct sockaddr *)&sin, a);
	for (i = 0; i < PROT_COUNT; i++)
		ck_assert_int_eq(a[i], ACT_OFF);
	pol_actions(pol, NULL, a);
	ck_assert_int_eq(a[PROT_P3_EMPTY_USERNAME], ACT_DETECT);
	pol_unref(pol);
}
END_TEST

/* A session keeps its snapshot across a reload; the last unref frees. */
START_TEST(test_reload_refs)
{
	struct policy	*a = load_text("pop3 { max_connections = 1 }\n");
	struct policy	*b = load_text("pop3 { max_connections = 2 }\n");
	struct policy	*session, *now;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	pol_set_current(a);
	session = pol_current();		/* a session starts */
	ck_assert_int_eq(a->refs, 2);
	pol_set_current(b);			/* reload */
	ck_assert_int_eq(session->refs, 1);	/* only the session */
	ck_assert_int_eq(session->pop3.max_connections, 1);
	now = pol_current();
	ck_assert_int_eq(now->pop3.max_connections, 2);
	pol_unref(now);
	pol_unref(session);			/* frees a */
	pol_set_current(NULL);			/* frees b */
}
END_TEST

/* Reloads racing with sessions from several threads. */
static void *
session_thread(void *arg)
{
	int	 i;

	(void)arg;
	for (i = 0; i < 20000; i++) {
		struct policy *p = pol_current();

		if (p != NULL)
			pol_unref(p);
	}
	return NULL;
}

START_TEST(test_reload_threads)
{
	pthread_t	 t[4];
	struct policy	*cur;
	int		 i;

	pol_set_current(pol_defaults());
	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, session_thread, NULL);
	for (i = 0; i < 200; i++)
		pol_set_current(pol_defaults());
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	cur = pol_current();
	ck_assert_ptr_nonnull(cur);
	ck_assert_int_eq(cur->refs, 2);		/* current + ours */
	pol_unref(cur);
	pol_set_current(NULL);
}
END_TEST

/* Every SPEC section 3 string, and the judging order of each service. */
START_TEST(test_registry)
{
	const struct reg_prot *p;

	p = reg_get(PROT_P3_MAX_LINE_LENGTH);
	ck_assert_str_eq(p->attack_name, "POP3 Format Violation");
	ck_assert_str_eq(p->attack_info, "Command line is too long");
	p = reg_get(PROT_P3_MALICIOUS_CODE);
	ck_assert_str_eq(p->attack_name, "POP3 Security Violation");
	ck_assert_str_eq(p->attack_info, "Malicious Code Protector");
	ck_assert_str_eq(reg_get(PROT_P3_NON_COMPLIANT)->attack_info,
	    "Non protocol-compliant connection");
	ck_assert_str_eq(reg_get(PROT_P3_STARTTLS)->attack_info,
	    "Illegal POP3 TLS session");
	ck_assert_str_eq(reg_get(PROT_P3_MAX_BAD_COMMANDS)->attack_info,
	    "Too many bad commands");
	ck_assert_str_eq(reg_get(PROT_P3_MAX_COMMANDS)->attack_info,
	    "Too many commands");
	ck_assert_str_eq(reg_get(PROT_P3_EMPTY_PASSWORD)->attack_info,
	    "No password supplied in PASS command");
	ck_assert_str_eq(reg_get(PROT_SMTP_AUTH_OVERFLOW)->attack_name,
	    "SMTP AUTH CRAM-MD5 Buffer Overflow");
	ck_assert_str_eq(reg_get(PROT_SMTP_AUTH_OVERFLOW)->attack_info,
	    "CVE-2007-4440");
	ck_assert_str_eq(reg_get(PROT_SMTP_AUTH)->attack_info,
	    "Command was blocked by Security Policy");
	ck_assert_str_eq(reg_get(PROT_SMTP_EXTERNAL_MAIL)->attack_info,
	    "A connection attempt to an external mail server");
	ck_assert_str_eq(reg_get(PROT_SMTP_MAX_LINE_LENGTH)->attack_name,
	    "SMTP Format Violation");
	ck_assert_str_eq(reg_get(PROT_SMTP_MAX_BAD_COMMANDS)->attack_name,
	    "SMTP Policy Violation");
	ck_assert_int_eq(reg_lookup(REG_SVC_SMTP, "auth"), PROT_SMTP_AUTH);
	ck_assert_int_eq(reg_lookup(REG_SVC_POP3, "auth"), -1);
	ck_assert_int_eq(reg_lookup(REG_SVC_POP3, "malicious_code"),
	    PROT_P3_MALICIOUS_CODE);
	/* SPEC order: line length, commands, starttls, username, password,
	 * malicious code, non-compliant */
	ck_assert_int_lt(PROT_P3_MAX_LINE_LENGTH, PROT_P3_MAX_COMMANDS);
	ck_assert_int_lt(PROT_P3_MAX_COMMANDS, PROT_P3_STARTTLS);
	ck_assert_int_lt(PROT_P3_STARTTLS, PROT_P3_EMPTY_USERNAME);
	ck_assert_int_lt(PROT_P3_EMPTY_PASSWORD, PROT_P3_MALICIOUS_CODE);
	ck_assert_int_lt(PROT_P3_MALICIOUS_CODE, PROT_P3_NON_COMPLIANT);
	ck_assert_int_lt(PROT_SMTP_UNKNOWN_COMMAND, PROT_SMTP_AUTH_OVERFLOW);
	ck_assert_int_lt(PROT_SMTP_AUTH_OVERFLOW, PROT_SMTP_AUTH);
	ck_assert_int_lt(PROT_SMTP_EXTERNAL_MAIL, PROT_SMTP_MAX_BAD_COMMANDS);
}
END_TEST

static const struct {
	const char	*b64;		/* input */
	long		 len;		/* decoded length, -1 = refused */
	const char	*plain;		/* decoded bytes */
} b64_cases[] = {
	{ "", 0, "" },
	{ "Zg==", 1, "f" },
	{ "Zm8=", 2, "fo" },
	{ "Zm9v", 3, "foo" },
	{ "AGJvYgBzZWNyZXQ=", 11, "\0bob\0secret" },
	{ "Zm9", -1, NULL },
	{ "Zm9v\r\n", -1, NULL },
	{ "Zm 9", -1, NULL },
	{ "Z===", -1, NULL },
	{ "=Zm9", -1, NULL },
	{ "Zg==Zg==", -1, NULL },
	{ "Zm9-", -1, NULL },
	{ "*", -1, NULL },
};

START_TEST(test_b64)
{
	unsigned char	 out[64];
	char		 enc[64];
	long		 n;

	n = b64_decode(b64_cases[_i].b64, strlen(b64_cases[_i].b64), out,
	    sizeof(out));
	ck_assert_int_eq(n, b64_cases[_i].len);
	if (n < 0)
		return;
	ck_assert_mem_eq(out, b64_cases[_i].plain, (size_t)n);
	ck_assert_int_eq(b64_encode(out, (size_t)n, enc, sizeof(enc)),
	    (long)strlen(b64_cases[_i].b64));
	ck_assert_str_eq(enc, b64_cases[_i].b64);
	/* an output buffer one short is refused, not overrun */
	if (n > 0)
		ck_assert_int_eq(b64_decode(b64_cases[_i].b64,
		    strlen(b64_cases[_i].b64), out, (size_t)n - 1), -1);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("policy");
	TCase	*tc = tcase_create("policy");
	SRunner	*sr;
	int	 nf;

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_actions);
	tcase_add_test(tc, test_reload_refs);
	tcase_add_test(tc, test_reload_threads);
	tcase_add_test(tc, test_registry);
	tcase_add_loop_test(tc, test_b64, 0,
	    sizeof(b64_cases) / sizeof(b64_cases[0]));
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
