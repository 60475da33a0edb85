/* SPDX-License-Identifier: ISC */
/*
 * check_mlt_policy.c: the milter's decisions without libmilter: a
 * configuration and what the MTA hands over in, the protections that fired
 * (in judging order) and the reply out.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mlt_policy.h"

/* x86 NOP sled: what the fake detector calls code. */
#define SLED	"\x90\x90\x90\x90\x90\x90\x90\x90"

/* Stand-in for the Malicious Code Protector: deterministic, so these
 * tests judge the milter's rules, not the detector. */
static bool
fake_scan(const void *buf, size_t len, enum mcp_sensitivity s,
    char reason[MCP_REASON_MAX])
{
	if (memmem(buf, len, SLED, 8) == NULL)
		return false;
	snprintf(reason, MCP_REASON_MAX, "fake sled");
	return true;
}

/* Load a configuration text through the real parser. */
static struct policy *
load_conf(const char *text)
{
	char		 path[] = "/tmp/check_mlt_policy.XXXXXX";
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

/* A session of a client at addr (NULL: no address). */
static struct policy *
start(struct mlt_session *s, const char *conf, const char *addr)
{
	struct policy		*pol = load_conf(conf);
	struct sockaddr_in	 sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	if (addr != NULL)
		ck_assert_int_eq(inet_pton(AF_INET, addr, &sin.sin_addr), 1);
	mlt_session_init(s, pol, addr != NULL ? (void *)&sin : NULL,
	    fake_scan);
	return pol;
}

/* "smtp.auth/prevent smtp.x/detect": the hits of a verdict. */
static void
hits_text(const struct mlt_verdict *v, char *buf, size_t sz)
{
	size_t	 i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < v->nhits; i++)
		n += (size_t)snprintf(buf + n, sz - n, "%s%s/%s",
		    i > 0 ? " " : "", reg_get(v->hit[i].prot)->fullname,
		    reg_action_name(v->hit[i].action));
}

/* Compare a verdict with what a case wants. */
static void
want(const struct mlt_verdict *v, enum mlt_reply reply, const char *hits,
    const char *detail)
{
	char	 got[512];

	hits_text(v, got, sizeof(got));
	ck_assert_str_eq(got, hits);
	ck_assert_int_eq(v->reply, reply);
	if (reply != MLT_R_CONTINUE)
		ck_assert_int_eq(v->hit[v->nhits - 1].action, ACT_PREVENT);
	if (detail != NULL) {
		ck_assert_uint_ge(v->nhits, 1);
		ck_assert_uint_eq(v->hit[0].detail_len, strlen(detail));
		ck_assert(memcmp(v->hit[0].detail, detail,
		    strlen(detail)) == 0);
	}
}

#define C_CONT	MLT_R_CONTINUE
#define C_550	MLT_R_REJECT
#define C_421	MLT_R_CLOSE

static char long_name[1002];		/* 1001 octets */
static char limit_name[1001];		/* 1000 octets */
static char long_sled[1100];		/* 1099 octets with a sled */

static const struct {
	const char	*conf;		/* configuration text */
	const char	*name;		/* HELO argument */
	enum mlt_reply	 reply;		/* wanted reply */
	const char	*hits;		/* wanted hits */
} helo_cases[] = {
	{ "", "mx.example.org", C_CONT, "" },
	{ "", limit_name, C_CONT, "" },
	{ "", long_name, C_550, "smtp.max_line_length/prevent" },
	{ "", "a" SLED "b", C_421, "smtp.malicious_code/prevent" },
	/* line length judged first and blocks: one event */
	{ "", long_sled, C_550, "smtp.max_line_length/prevent" },
	{ "smtp { protection max_line_length { action = detect } }",
	  long_sled, C_421,
	  "smtp.max_line_length/detect smtp.malicious_code/prevent" },
	{ "smtp { protection max_line_length { action = off }\n"
	  "protection malicious_code { action = detect } }", long_sled,
	  C_CONT, "smtp.malicious_code/detect" },
	{ "exempt_networks = {\"127.0.0.0/8\"}", long_sled, C_CONT, "" },
	{ "smtp { protection malicious_code { action = prevent "
	  "exempt_networks = {\"127.0.0.1\"} } }", "a" SLED, C_CONT, "" },
	{ "smtp { protection max_line_length { limit = 10 } }",
	  "exactly-10", C_CONT, "" },
	{ "smtp { protection max_line_length { limit = 10 } }",
	  "eleven-long", C_550, "smtp.max_line_length/prevent" },
	{ "", "", C_CONT, "" },
};

/* HELO/EHLO rules. */
START_TEST(test_helo)
{
	struct mlt_session	 s;
	struct mlt_verdict	 v;
	struct policy		*pol;

	memset(long_name, 'a', sizeof(long_name) - 1);
	memset(limit_name, 'b', sizeof(limit_name) - 1);
	memset(long_sled, 'c', sizeof(long_sled) - 1);
	memcpy(long_sled + 500, SLED, 8);
	pol = start(&s, helo_cases[_i].conf, "127.0.0.1");
	mlt_judge_helo(&s, helo_cases[_i].name, &v);
	want(&v, helo_cases[_i].reply, helo_cases[_i].hits, NULL);
	pol_unref(pol);
}
END_TEST

#define AUTH_NETS \
	"smtp { protection auth { allow_networks = {\"10.0.0.0/8\"} } }"
#define AUTH_DENY \
	"smtp { protection auth { deny_mechanisms = {\"CRAM-MD5\", " \
	"\"login\"} } }"
#define AUTH_TLS "smtp { protection auth { require_tls = true } }"

static char long_id[300];		/* 299-octet identity */

static const struct {
	const char	*conf;		/* configuration */
	const char	*client;	/* client address */
	const char	*type;		/* {auth_type} */
	const char	*authen;	/* {auth_authen} */
	const char	*tls;		/* {tls_version} */
	const char	*from;		/* MAIL FROM address */
	enum mlt_reply	 reply;		/* wanted reply */
	const char	*hits;		/* wanted hits */
	const char	*detail;	/* first hit's detail, NULL: any */
} mail_cases[] = {
	{ "", "127.0.0.1", NULL, NULL, NULL, "<a@example.org>", C_CONT, "",
	  NULL },
	{ AUTH_NETS, "127.0.0.1", NULL, NULL, NULL, "<a@example.org>",
	  C_CONT, "", NULL },
	{ AUTH_NETS, "127.0.0.1", "PLAIN", "alice", NULL, "<a@example.org>",
	  C_550, "smtp.auth/prevent", "AUTH PLAIN from outside "
	  "allow_networks" },
	{ AUTH_NETS, "10.1.2.3", "PLAIN", "alice", NULL, "<a@example.org>",
	  C_CONT, "", NULL },
	{ AUTH_NETS, NULL, "PLAIN", "alice", NULL, "<>", C_550,
	  "smtp.auth/prevent", NULL },
	{ AUTH_DENY, "127.0.0.1", "CRAM-MD5", "alice", NULL, "<>", C_550,
	  "smtp.auth/prevent", "AUTH CRAM-MD5: mechanism denied" },
	{ AUTH_DENY, "127.0.0.1", "LOGIN", "alice", NULL, "<>", C_550,
	  "smtp.auth/prevent", "AUTH LOGIN: mechanism denied" },
	{ AUTH_DENY, "127.0.0.1", "login", "alice", NULL, "<>", C_550,
	  "smtp.auth/prevent", NULL },
	{ AUTH_DENY, "127.0.0.1", "PLAIN", "alice", NULL, "<>", C_CONT, "",
	  NULL },
	{ AUTH_TLS, "127.0.0.1", "PLAIN", "alice", NULL, "<>", C_550,
	  "smtp.auth/prevent", "AUTH PLAIN without TLS" },
	{ AUTH_TLS, "127.0.0.1", "PLAIN", "alice", "", "<>", C_550,
	  "smtp.auth/prevent", NULL },
	{ AUTH_TLS, "127.0.0.1", "PLAIN", "alice", "TLSv1.3", "<>", C_CONT,
	  "", NULL },
	/* an empty {auth_type} is no login */
	{ AUTH_TLS, "127.0.0.1", "", "alice", NULL, "<>", C_CONT, "", NULL },
	{ "smtp { protection auth { require_tls = true action = detect } }",
	  "127.0.0.1", "LOGIN", "bob", NULL, "<>", C_CONT, "smtp.auth/detect",
	  NULL },
	{ "smtp { protection auth { require_tls = true "
	  "exempt_networks = {\"127.0.0.1\"} } }", "127.0.0.1", "LOGIN",
	  "bob", NULL, "<>", C_CONT, "", NULL },
	{ "", "127.0.0.1", "PLAIN", long_id, NULL, "<>", C_421,
	  "smtp.auth_overflow/prevent", "authenticated identity of 299 "
	  "octets" },
	{ "", "127.0.0.1", "PLAIN", "ali\x01" "ce", NULL, "<>", C_421,
	  "smtp.auth_overflow/prevent", "authenticated identity with "
	  "control bytes" },
	/* auth_overflow comes before auth */
	{ AUTH_TLS, "127.0.0.1", "PLAIN", long_id, NULL, "<>", C_421,
	  "smtp.auth_overflow/prevent", NULL },
	{ "smtp { protection auth_overflow { action = detect } }\n" AUTH_TLS,
	  "127.0.0.1", "PLAIN", long_id, NULL, "<>", C_550,
	  "smtp.auth_overflow/detect smtp.auth/prevent", NULL },
	{ "", "127.0.0.1", NULL, NULL, NULL, "<" SLED "@example.org>", C_421,
	  "smtp.malicious_code/prevent", "MAIL: fake sled" },
	{ "smtp { protection max_line_length { limit = 20 } }", "127.0.0.1",
	  NULL, NULL, NULL, "<a-long-sender@example.org>", C_550,
	  "smtp.max_line_length/prevent", "MAIL FROM:<a-long-sender@"
	  "example.org>" },
};

/* MAIL FROM rules: auth, auth_overflow, line length, malicious code. */
START_TEST(test_mail)
{
	struct mlt_session	 s;
	struct mlt_verdict	 v;
	struct mlt_mail_macros	 m;
	struct policy		*pol;
	char			*argv[2];

	memset(long_id, 'u', sizeof(long_id) - 1);
	pol = start(&s, mail_cases[_i].conf, mail_cases[_i].client);
	m.auth_type = mail_cases[_i].type;
	m.auth_authen = mail_cases[_i].authen;
	m.auth_author = NULL;
	m.tls_version = mail_cases[_i].tls;
	argv[0] = (char *)mail_cases[_i].from;
	argv[1] = NULL;
	mlt_judge_mail(&s, argv, &m, &v);
	want(&v, mail_cases[_i].reply, mail_cases[_i].hits,
	    mail_cases[_i].detail);
	pol_unref(pol);
}
END_TEST

#define EXT \
	"smtp { internal_networks = {\"127.0.0.0/8\"} " \
	"local_domains = {\"example.org\", \"Mail.Example.NET\"} " \
	"protection external_mail { action = prevent } }"

static const struct {
	const char	*conf;		/* configuration */
	const char	*client;	/* client address */
	bool		 authenticated;	/* an {auth_type} at MAIL */
	const char	*rcpt;		/* RCPT TO address */
	enum mlt_reply	 reply;		/* wanted reply */
	const char	*hits;		/* wanted hits */
	const char	*detail;	/* first hit's detail, NULL: any */
} rcpt_cases[] = {
	{ "", "127.0.0.1", false, "<a@example.com>", C_CONT, "", NULL },
	{ EXT, "127.0.0.1", false, "<a@example.com>", C_550,
	  "smtp.external_mail/prevent", "RCPT TO:<a@example.com>" },
	{ EXT, "127.0.0.1", false, "<a@example.org>", C_CONT, "", NULL },
	{ EXT, "127.0.0.1", false, "<a@EXAMPLE.ORG.>", C_CONT, "", NULL },
	{ EXT, "127.0.0.1", false, "<a@mail.example.net>", C_CONT, "",
	  NULL },
	{ EXT, "127.0.0.1", false, "<a@sub.example.org>", C_550,
	  "smtp.external_mail/prevent", NULL },
	{ EXT, "127.0.0.1", false, "<postmaster>", C_CONT, "", NULL },
	{ EXT, "127.0.0.1", false, "<\"x@y\"@example.com>", C_550,
	  "smtp.external_mail/prevent", NULL },
	{ EXT, "127.0.0.1", true, "<a@example.com>", C_CONT, "", NULL },
	{ EXT, "192.0.2.1", false, "<a@example.com>", C_CONT, "", NULL },
	{ EXT, NULL, false, "<a@example.com>", C_CONT, "", NULL },
	{ "smtp { internal_networks = {\"127.0.0.0/8\"} "
	  "protection external_mail { action = detect } }", "127.0.0.1",
	  false, "<a@example.org>", C_CONT, "smtp.external_mail/detect",
	  NULL },
	/* malicious code is judged before external_mail, and blocks */
	{ EXT, "127.0.0.1", false, "<" SLED "@example.com>", C_421,
	  "smtp.malicious_code/prevent", NULL },
};

/* RCPT TO rules: external mail. */
START_TEST(test_rcpt)
{
	struct mlt_session	 s;
	struct mlt_verdict	 v;
	struct mlt_mail_macros	 m = { NULL, NULL, NULL, NULL };
	struct policy		*pol;
	char			*argv[2] = { (char *)"<s@example.org>", NULL };

	pol = start(&s, rcpt_cases[_i].conf, rcpt_cases[_i].client);
	if (rcpt_cases[_i].authenticated) {
		m.auth_type = "PLAIN";
		m.auth_authen = "alice";
	}
	mlt_judge_mail(&s, argv, &m, &v);
	ck_assert_int_eq(v.reply, MLT_R_CONTINUE);
	argv[0] = (char *)rcpt_cases[_i].rcpt;
	mlt_judge_rcpt(&s, argv, &v);
	want(&v, rcpt_cases[_i].reply, rcpt_cases[_i].hits,
	    rcpt_cases[_i].detail);
	pol_unref(pol);
}
END_TEST

#define BLOCK_AUTH \
	"smtp { protection unknown_command { action = prevent " \
	"block_commands = {\"AUTH\"} } }"

static const struct {
	const char	*conf;		/* configuration */
	const char	*cmd;		/* what xxfi_unknown gets */
	enum mlt_reply	 reply;		/* wanted reply */
	const char	*hits;		/* wanted hits */
	const char	*verb;		/* wanted VERB */
	const char	*detail;	/* wanted detail, if not cmd */
} unknown_cases[] = {
	{ "", "XYZZY", C_CONT, "smtp.unknown_command/detect", "XYZZY", NULL },
	{ "", "xyzzy", C_CONT, "smtp.unknown_command/detect", "XYZZY", NULL },
	/* Sendmail passes the whole line: VERB is its first word, and
	 * the detail too (arguments may be anything) */
	{ "", "foo bar baz", C_CONT, "smtp.unknown_command/detect", "FOO",
	  "foo" },
	{ "", "a LOGIN alice secret", C_CONT, "smtp.unknown_command/detect",
	  "A", "a" },
	/* not a verb (SASL data out of turn): shown as neither */
	{ "", "AGFsaWNlAHNlY3JldA==", C_CONT, "smtp.unknown_command/detect",
	  "?", "(unknown command, 20 octets)" },
	{ "", "c2VjcmV0", C_CONT, "smtp.unknown_command/detect", "?",
	  "(unknown command, 8 octets)" },
	{ "", "abcdefghijklm", C_CONT, "smtp.unknown_command/detect", "?",
	  "(unknown command, 13 octets)" },
	{ "", "STARTTLS-LIKE", C_CONT, "smtp.unknown_command/detect", "?",
	  "(unknown command, 13 octets)" },
	{ "", "X-FORWARD", C_CONT, "smtp.unknown_command/detect",
	  "X-FORWARD", NULL },
	{ "smtp { protection unknown_command { action = prevent } }", "FOO",
	  C_550, "smtp.unknown_command/prevent", "FOO", NULL },
	{ "smtp { protection unknown_command { action = off } }", "FOO",
	  C_CONT, "", "FOO", NULL },
	{ BLOCK_AUTH, "X-MAILWARDEN-BLOCK-AUTH", C_550,
	  "smtp.unknown_command/prevent", "AUTH", NULL },
	/* typed by the client, in any case: the same */
	{ BLOCK_AUTH, "x-mailwarden-block-auth", C_550,
	  "smtp.unknown_command/prevent", "AUTH", NULL },
	{ "", "X-MAILWARDEN-BLOCK-VRFY", C_CONT,
	  "smtp.unknown_command/detect", "VRFY", NULL },
	{ "", "X-MAILWARDEN-LONG-AUTH", C_421, "smtp.auth_overflow/prevent",
	  "AUTH", NULL },
	{ "", "X-Mailwarden-CramIR-AUTH", C_421,
	  "smtp.auth_overflow/prevent", "AUTH", NULL },
	{ "smtp { protection auth_overflow { action = detect } }",
	  "X-MAILWARDEN-CRAMIR-AUTH", C_CONT, "smtp.auth_overflow/detect",
	  "AUTH", NULL },
	{ "", "X-MAILWARDEN-OTHER-AUTH", C_CONT,
	  "smtp.unknown_command/detect", "X-MAILWARDEN-OTHER-AUTH", NULL },
	{ "", "X-MAILWARDEN-BLOCK-", C_CONT, "smtp.unknown_command/detect",
	  "X-MAILWARDEN-BLOCK-", NULL },
	{ "", "A" SLED, C_421,
	  "smtp.unknown_command/detect smtp.malicious_code/prevent", "?",
	  "(unknown command, 9 octets)" },
	{ "smtp { protection max_bad_commands { limit = 0 } }", "FOO", C_421,
	  "smtp.unknown_command/detect smtp.max_bad_commands/prevent",
	  "FOO", NULL },
};

/* One unknown command on a fresh session. */
START_TEST(test_unknown)
{
	struct mlt_session	 s;
	struct mlt_verdict	 v;
	struct policy		*pol;

	pol = start(&s, unknown_cases[_i].conf, "127.0.0.1");
	mlt_judge_unknown(&s, unknown_cases[_i].cmd, &v);
	want(&v, unknown_cases[_i].reply, unknown_cases[_i].hits,
	    unknown_cases[_i].hits[0] == '\0' ? NULL :
	    unknown_cases[_i].detail != NULL ? unknown_cases[_i].detail :
	    unknown_cases[_i].cmd);
	if (unknown_cases[_i].verb != NULL)
		ck_assert_str_eq(v.verb, unknown_cases[_i].verb);
	ck_assert_int_eq(v.nhits > 0 && v.hit[0].prot ==
	    PROT_SMTP_UNKNOWN_COMMAND, v.nhits > 0 && v.hit[0].has_verb);
	pol_unref(pol);
}
END_TEST

/* The malicious_code detail names the command word and the detector's
 * reason, never the bytes; for an unknown command not shaped like a verb,
 * the placeholder. */
START_TEST(test_code_detail)
{
	static const struct {
		int		 stage;		/* 0 HELO, 1 RCPT, 2 unknown */
		const char	*arg;		/* what the MTA hands over */
		const char	*detail;	/* wanted detail of the hit */
	} cases[] = {
		{ 0, "a" SLED "b", "HELO: fake sled" },
		{ 1, "<a" SLED "@example.org>", "RCPT: fake sled" },
		{ 2, "A" SLED, "(unknown command, 9 octets): fake sled" },
		{ 2, "XYZZY a" SLED, "XYZZY: fake sled" },
	};
	struct mlt_session	 s;
	struct mlt_verdict	 v;
	struct policy		*pol;
	size_t			 i;
	char			*argv[2];
	const struct mlt_hit	*h;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pol = start(&s, "", "127.0.0.1");
		argv[0] = (char *)cases[i].arg;
		argv[1] = NULL;
		if (cases[i].stage == 0)
			mlt_judge_helo(&s, cases[i].arg, &v);
		else if (cases[i].stage == 1)
			mlt_judge_rcpt(&s, argv, &v);
		else
			mlt_judge_unknown(&s, cases[i].arg, &v);
		ck_assert_uint_ge(v.nhits, 1);
		h = &v.hit[v.nhits - 1];
		ck_assert_int_eq(h->prot, PROT_SMTP_MALICIOUS_CODE);
		ck_assert_uint_eq(h->detail_len, strlen(cases[i].detail));
		ck_assert(memcmp(h->detail, cases[i].detail,
		    h->detail_len) == 0);
		pol_unref(pol);
	}
}
END_TEST

/* Eleven unknown commands: the eleventh closes the session. */
START_TEST(test_bad_command_cutoff)
{
	struct mlt_session	 s;
	struct mlt_verdict	 v;
	struct policy		*pol;
	int			 i;

	pol = start(&s, "", "127.0.0.1");
	for (i = 1; i <= 10; i++) {
		mlt_judge_unknown(&s, "BOGUS", &v);
		want(&v, C_CONT, "smtp.unknown_command/detect", "BOGUS");
	}
	mlt_judge_unknown(&s, "BOGUS", &v);
	want(&v, C_421,
	    "smtp.unknown_command/detect smtp.max_bad_commands/prevent",
	    "BOGUS");
	ck_assert_int_eq(v.by, PROT_SMTP_MAX_BAD_COMMANDS);
	pol_unref(pol);
}
END_TEST

/* A transaction reset forgets the login; the next MAIL learns it again. */
START_TEST(test_second_transaction)
{
	struct mlt_session	 s;
	struct mlt_verdict	 v;
	struct mlt_mail_macros	 m = { "PLAIN", "alice", NULL, NULL };
	struct policy		*pol;
	char			*argv[2] = { (char *)"<a@example.org>", NULL };

	pol = start(&s, EXT, "127.0.0.1");
	mlt_judge_mail(&s, argv, &m, &v);
	argv[0] = (char *)"<x@example.com>";
	mlt_judge_rcpt(&s, argv, &v);
	want(&v, C_CONT, "", NULL);
	mlt_session_reset_tx(&s);
	m.auth_type = NULL;
	argv[0] = (char *)"<a@example.org>";
	mlt_judge_mail(&s, argv, &m, &v);
	argv[0] = (char *)"<x@example.com>";
	mlt_judge_rcpt(&s, argv, &v);
	want(&v, C_550, "smtp.external_mail/prevent", NULL);
	pol_unref(pol);
}
END_TEST

static const struct {
	const char	*cmd;		/* candidate */
	int		 prot;		/* wanted result */
	const char	*verb;		/* wanted VERB */
} marker_cases[] = {
	{ "X-MAILWARDEN-BLOCK-AUTH", PROT_SMTP_UNKNOWN_COMMAND, "AUTH" },
	{ "X-MAILWARDEN-BLOCK-X-EXPS", PROT_SMTP_UNKNOWN_COMMAND, "X-EXPS" },
	{ "x-mailwarden-block-etrn", PROT_SMTP_UNKNOWN_COMMAND, "ETRN" },
	{ "X-MAILWARDEN-LONG-AUTH", PROT_SMTP_AUTH_OVERFLOW, "AUTH" },
	{ "X-MAILWARDEN-CRAMIR-AUTH", PROT_SMTP_AUTH_OVERFLOW, "AUTH" },
	{ "X-MAILWARDEN-BLOCK", -1, NULL },
	{ "X-MAILWARDEN-BLOCK-", -1, NULL },
	{ "X-MAILWARDEN-BLOCKAUTH", -1, NULL },
	{ "X-MAILWARDEN-", -1, NULL },
	{ "X-MAILWARDEN", -1, NULL },
	{ "AUTH", -1, NULL },
	{ "", -1, NULL },
};

/* Marker verbs. */
START_TEST(test_marker)
{
	char	 verb[MLT_VERB_MAX + 1];
	int	 r;

	r = mlt_marker_parse(marker_cases[_i].cmd,
	    strlen(marker_cases[_i].cmd), verb, sizeof(verb));
	ck_assert_int_eq(r, marker_cases[_i].prot);
	if (r >= 0)
		ck_assert_str_eq(verb, marker_cases[_i].verb);
}
END_TEST

/* The stages the MTA is asked for, and whether it awaits a reply. */
START_TEST(test_stage_need)
{
	struct policy	*pol = load_conf("");

	ck_assert_int_eq(mlt_stage_need(pol, MLT_ST_HELO), ACT_PREVENT);
	ck_assert_int_eq(mlt_stage_need(pol, MLT_ST_UNKNOWN), ACT_PREVENT);
	pol_unref(pol);
	pol = load_conf("smtp {\n"
	    "protection max_line_length { action = off }\n"
	    "protection malicious_code { action = off }\n"
	    "protection auth { action = detect }\n"
	    "protection auth_overflow { action = off }\n"
	    "protection unknown_command { action = detect }\n"
	    "protection max_bad_commands { action = detect }\n}\n");
	ck_assert_int_eq(mlt_stage_need(pol, MLT_ST_HELO), ACT_OFF);
	ck_assert_int_eq(mlt_stage_need(pol, MLT_ST_MAIL), ACT_DETECT);
	ck_assert_int_eq(mlt_stage_need(pol, MLT_ST_RCPT), ACT_OFF);
	ck_assert_int_eq(mlt_stage_need(pol, MLT_ST_UNKNOWN), ACT_DETECT);
	pol_unref(pol);
	pol = load_conf("smtp {\n"
	    "protection max_line_length { action = off }\n"
	    "protection malicious_code { action = off }\n"
	    "protection auth { action = off }\n"
	    "protection auth_overflow { action = off }\n"
	    "protection external_mail { action = prevent }\n}\n");
	/* external_mail needs MAIL (was there a login?) but blocks at RCPT */
	ck_assert_int_eq(mlt_stage_need(pol, MLT_ST_MAIL), ACT_DETECT);
	ck_assert_int_eq(mlt_stage_need(pol, MLT_ST_RCPT), ACT_PREVENT);
	pol_unref(pol);
}
END_TEST

/* MAIL/RCPT with many parameters: every one counts for the length and is
 * scanned (found by fuzz_mlt: the 65th and later were ignored). */
static const struct {
	const char	*conf;		/* configuration */
	bool		 rcpt;		/* RCPT TO, else MAIL FROM */
	int		 nparams;	/* "A=B" parameters after the address */
	bool		 sled;		/* the last one holds code */
	enum mlt_reply	 reply;		/* wanted reply */
	const char	*hits;		/* wanted hits */
} many_cases[] = {
	{ "", false, 100, true, C_421, "smtp.malicious_code/prevent" },
	{ "", true, 100, true, C_421, "smtp.malicious_code/prevent" },
	{ "", false, 100, false, C_CONT, "" },
	/* "<a@example.org>" + 100 x " A=B": 415 octets */
	{ "smtp { protection max_line_length { limit = 414 } }", false, 100,
	  false, C_550, "smtp.max_line_length/prevent" },
	{ "smtp { protection max_line_length { limit = 415 } }", false, 100,
	  false, C_CONT, "" },
	{ "smtp { protection max_line_length { limit = 414 } }", true, 100,
	  false, C_550, "smtp.max_line_length/prevent" },
};

/* Many parameters. */
START_TEST(test_many_params)
{
	struct mlt_session	 s;
	struct mlt_verdict	 v;
	struct mlt_mail_macros	 m = { NULL, NULL, NULL, NULL };
	struct policy		*pol;
	char			*argv[102];
	int			 i, n = many_cases[_i].nparams;

	pol = start(&s, many_cases[_i].conf, "127.0.0.1");
	argv[0] = (char *)"<a@example.org>";
	for (i = 1; i <= n; i++)
		argv[i] = (char *)"A=B";
	if (many_cases[_i].sled)
		argv[n] = (char *)"A=" SLED;
	argv[n + 1] = NULL;
	if (many_cases[_i].rcpt)
		mlt_judge_rcpt(&s, argv, &v);
	else
		mlt_judge_mail(&s, argv, &m, &v);
	want(&v, many_cases[_i].reply, many_cases[_i].hits, NULL);
	pol_unref(pol);
}
END_TEST

/* X-Mailwarden-Detect names what fired, in registry order. */
START_TEST(test_detect_header)
{
	struct mlt_session	 s;
	struct mlt_verdict	 v;
	struct policy		*pol;
	char			 hdr[256];
	char			*argv[2] = { (char *)"<a@example.com>", NULL };

	pol = start(&s, "smtp { internal_networks = {\"127.0.0.1\"} "
	    "protection external_mail { action = detect } }", "127.0.0.1");
	ck_assert_uint_eq(mlt_detect_header(&s, hdr, sizeof(hdr)), 0);
	ck_assert_str_eq(hdr, "");
	mlt_judge_unknown(&s, "FOO", &v);
	mlt_judge_rcpt(&s, argv, &v);
	mlt_detect_header(&s, hdr, sizeof(hdr));
	ck_assert_str_eq(hdr, "smtp.unknown_command, smtp.external_mail");
	/* A buffer too small keeps whole names only (found by fuzz_mlt). */
	ck_assert_uint_eq(mlt_detect_header(&s, hdr, 30), 20);
	ck_assert_str_eq(hdr, "smtp.unknown_command");
	ck_assert_uint_eq(mlt_detect_header(&s, hdr, 5), 0);
	ck_assert_str_eq(hdr, "");
	pol_unref(pol);
}
END_TEST

/* smfi_setreply text: '%' doubled, no CR or LF. */
START_TEST(test_reply_text)
{
	char	 buf[32];

	mlt_reply_text(buf, sizeof(buf), "mail server");
	ck_assert_str_eq(buf, "mail server");
	mlt_reply_text(buf, sizeof(buf), "100% bad\r\nx");
	ck_assert_str_eq(buf, "100%% badx");
	mlt_reply_text(buf, 6, "%%%%%%");
	ck_assert_str_eq(buf, "%%%%");
}
END_TEST

/* Peer input the MTA could hand over at its worst: never a crash. */
START_TEST(test_hostile_input)
{
	struct mlt_session	 s;
	struct mlt_verdict	 v;
	struct mlt_mail_macros	 m = { "", NULL, NULL, NULL };
	struct policy		*pol;
	static char		 big[70000];
	char			*argv[80];
	int			 i;

	memset(big, 'x', sizeof(big) - 1);
	pol = start(&s, EXT, NULL);
	for (i = 0; i < 79; i++)
		argv[i] = big;
	argv[79] = NULL;
	mlt_judge_helo(&s, NULL, &v);
	mlt_judge_helo(&s, big, &v);
	ck_assert_int_eq(v.reply, MLT_R_REJECT);
	ck_assert_uint_eq(v.hit[0].detail_len, EVT_DETAIL_MAX);
	mlt_judge_mail(&s, argv, &m, &v);
	mlt_judge_rcpt(&s, argv, &v);
	mlt_judge_unknown(&s, NULL, &v);
	mlt_judge_unknown(&s, big, &v);
	ck_assert_str_eq(v.verb, "?");
	memcpy(big, "X-MAILWARDEN-", 13);
	mlt_judge_unknown(&s, big, &v);
	ck_assert_uint_eq(strlen(v.verb), MLT_VERB_MAX);
	argv[0] = NULL;
	mlt_judge_rcpt(&s, argv, &v);
	pol_unref(pol);
}
END_TEST

#define N(a)	((int)(sizeof(a) / sizeof((a)[0])))

/* One suite for the module, table-driven cases. */
static Suite *
mlt_policy_suite(void)
{
	Suite	*s = suite_create("mlt_policy");
	TCase	*tc = tcase_create("decisions");

	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, test_helo, 0, N(helo_cases));
	tcase_add_loop_test(tc, test_mail, 0, N(mail_cases));
	tcase_add_loop_test(tc, test_rcpt, 0, N(rcpt_cases));
	tcase_add_loop_test(tc, test_many_params, 0, N(many_cases));
	tcase_add_loop_test(tc, test_unknown, 0, N(unknown_cases));
	tcase_add_test(tc, test_bad_command_cutoff);
	tcase_add_test(tc, test_code_detail);
	tcase_add_test(tc, test_second_transaction);
	tcase_add_loop_test(tc, test_marker, 0, N(marker_cases));
	tcase_add_test(tc, test_stage_need);
	tcase_add_test(tc, test_detect_header);
	tcase_add_test(tc, test_reply_text);
	tcase_add_test(tc, test_hostile_input);
	suite_add_tcase(s, tc);
	return s;
}

/* Run the suite in fork mode. */
int
main(void)
{
	SRunner	*sr = srunner_create(mlt_policy_suite());
	int	 failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
