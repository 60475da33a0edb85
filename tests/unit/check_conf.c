/* SPDX-License-Identifier: ISC */
/*
 * check_conf.c: the configuration schema of SPEC section 2: every key and
 * its default, and every kind of bad input reported as file:line.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "policy.h"

static char	 conf_path[64];

/* Write len octets of text to a fresh temporary file, named in conf_path. */
static void
write_conf(const char *text, size_t len)
{
	int	 fd;
	FILE	*f;

	strcpy(conf_path, "/tmp/check_conf.XXXXXX");
	fd = mkstemp(conf_path);
	ck_assert_int_ne(fd, -1);
	ck_assert_ptr_nonnull(f = fdopen(fd, "w"));
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	fclose(f);
}

/* Load len octets of text; errors into errbuf. */
static struct policy *
load_bytes(const char *text, size_t len, char *errbuf, size_t errsz)
{
	struct policy	*pol;
	FILE		*ef = fmemopen(errbuf, errsz, "w");

	memset(errbuf, 0, errsz);
	write_conf(text, len);
	pol = pol_load(conf_path, ef);
	fclose(ef);
	unlink(conf_path);
	return pol;
}

/* Load a string. */
static struct policy *
load_text(const char *text, char *errbuf, size_t errsz)
{
	return load_bytes(text, strlen(text), errbuf, errsz);
}

/* An empty file gives the defaults of SPEC section 2, every one. */
START_TEST(test_defaults)
{
	char		 err[512];
	struct policy	*pol = load_text("", err, sizeof(err));

	ck_assert_ptr_nonnull(pol);
	ck_assert_str_eq(err, "");
	ck_assert_uint_eq(pol->exempt.n, 0);
	ck_assert_int_eq(pol->shutdown_timeout, 30);
	ck_assert_str_eq(pol->user, "");
	ck_assert_str_eq(pol->group, "");
	ck_assert(pol->log.syslog);
	ck_assert_int_eq(pol->log.syslog_facility, LOG_MAIL);
	ck_assert_str_eq(pol->log.json_file, "");
	ck_assert_int_eq(pol->log.max_events_per_second, 100);
	ck_assert_uint_eq(pol->pop3.listen.n, 1);
	ck_assert_str_eq(pol->pop3.listen.v[0], "127.0.0.1:1110");
	ck_assert_str_eq(pol->pop3.backend, "127.0.0.1:110");
	ck_assert_int_eq(pol->pop3.backend_client_address, POL_CA_NONE);
	ck_assert_int_eq(pol->pop3.tls, POL_TLS_BLOCK);
	ck_assert_uint_eq(pol->pop3.tls_listen.n, 0);
	ck_assert_str_eq(pol->pop3.tls_cert, "");
	ck_assert_str_eq(pol->pop3.tls_key, "");
	ck_assert(pol->pop3.disable_plaintext_auth);
	ck_assert_int_eq(pol->pop3.max_connections, 10000);
	ck_assert_int_eq(pol->pop3.max_connections_per_ip, 100);
	ck_assert_int_eq(pol->pop3.preauth_timeout, 60);
	ck_assert_int_eq(pol->pop3.session_timeout, 600);
	ck_assert_int_eq(pol->pop3.backend_timeout, 10);
	ck_assert(pol->pop3.inspect_after_auth);
	ck_assert_str_eq(pol->smtp.socket, "inet:8890@127.0.0.1");
	ck_assert_uint_eq(pol->smtp.local_domains.n, 0);
	ck_assert_uint_eq(pol->smtp.internal_networks.n, 0);
	ck_assert(!pol->smtp.detect_header);

	ck_assert_int_eq(pol->prot[PROT_P3_EMPTY_USERNAME].action, ACT_PREVENT);
	ck_assert_int_eq(pol->prot[PROT_P3_EMPTY_PASSWORD].action, ACT_PREVENT);
	ck_assert_int_eq(pol->prot[PROT_P3_NON_COMPLIANT].action, ACT_PREVENT);
	ck_assert(!pol->prot[PROT_P3_NON_COMPLIANT].strict_crlf);
	ck_assert_int_eq(pol->prot[PROT_P3_STARTTLS].action, ACT_PREVENT);
	ck_assert_int_eq(pol->prot[PROT_P3_MALICIOUS_CODE].action, ACT_PREVENT);
	ck_assert_int_eq(pol->prot[PROT_P3_MALICIOUS_CODE].sensitivity,
	    MCP_MEDIUM);
	ck_assert_int_eq(pol->prot[PROT_P3_MAX_BAD_COMMANDS].limit, 10);
	ck_assert_int_eq(pol->prot[PROT_P3_MAX_LINE_LENGTH].limit, 255);
	ck_assert_int_eq(pol->prot[PROT_P3_MAX_LINE_LENGTH].sasl_limit, 4096);
	ck_assert_int_eq(pol->prot[PROT_P3_MAX_COMMANDS].limit, 10000);
	ck_assert_int_eq(pol->prot[PROT_P3_MAX_COMMANDS].preauth_limit, 30);
	ck_assert_int_eq(pol->prot[PROT_SMTP_UNKNOWN_COMMAND].action,
	    ACT_DETECT);
	ck_assert_uint_eq(pol->prot[PROT_SMTP_UNKNOWN_COMMAND].block_commands.n,
	    0);
	ck_assert_int_eq(pol->prot[PROT_SMTP_AUTH].action, ACT_PREVENT);
	ck_assert(!pol->prot[PROT_SMTP_AUTH].require_tls);
	ck_assert_int_eq(pol->prot[PROT_SMTP_AUTH_OVERFLOW].limit, 512);
	ck_assert_int_eq(pol->prot[PROT_SMTP_MALICIOUS_CODE].sensitivity,
	    MCP_MEDIUM);
	ck_assert_int_eq(pol->prot[PROT_SMTP_MAX_LINE_LENGTH].limit, 1000);
	ck_assert_int_eq(pol->prot[PROT_SMTP_MAX_BAD_COMMANDS].limit, 10);
	ck_assert_int_eq(pol->prot[PROT_SMTP_EXTERNAL_MAIL].action, ACT_OFF);
	pol_unref(pol);
}
END_TEST

/* The annotated default file of the tree means the same as no file. */
START_TEST(test_shipped_file)
{
	struct policy	*pol = pol_load("etc/mailwarden.conf", stderr);
	struct policy	*def = pol_defaults();
	int		 i;

	ck_assert_ptr_nonnull(pol);
	for (i = 0; i < PROT_COUNT; i++) {
		ck_assert_int_eq(pol->prot[i].action, def->prot[i].action);
		ck_assert_int_eq(pol->prot[i].limit, def->prot[i].limit);
		ck_assert_int_eq(pol->prot[i].sasl_limit,
		    def->prot[i].sasl_limit);
		ck_assert_int_eq(pol->prot[i].preauth_limit,
		    def->prot[i].preauth_limit);
		ck_assert_int_eq(pol->prot[i].sensitivity,
		    def->prot[i].sensitivity);
	}
	pol_unref(pol);
	pol_unref(def);
}
END_TEST

/* Every key set to a non-default value is read. */
START_TEST(test_every_key)
{
	char		 err[512];
	struct policy	*pol = load_text(
	    "exempt_networks = {\"10.0.0.0/8\", \"2001:db8::/32\"}\n"
	    "shutdown_timeout = 5\nuser = \"mail\"\ngroup = \"mail\"\n"
	    "log { syslog = false syslog_facility = \"local3\"\n"
	    "  json_file = \"/tmp/x.json\" max_events_per_second = 7 }\n"
	    "pop3 { listen = {\"127.0.0.1:2110\", \"[::1]:2110\"}\n"
	    "  backend = \"unix:/run/dovecot/pop3\"\n"
	    "  backend_client_address = \"proxy-v2\" tls = \"passthrough\"\n"
	    "  tls_listen = {\"127.0.0.1:2995\"} tls_cert = \"c.pem\"\n"
	    "  tls_key = \"k.pem\" disable_plaintext_auth = false\n"
	    "  max_connections = 50 max_connections_per_ip = 3\n"
	    "  preauth_timeout = 11 session_timeout = 12 backend_timeout = 13\n"
	    "  inspect_after_auth = false\n"
	    "  protection non_compliant { action = detect strict_crlf = true }\n"
	    "  protection malicious_code { sensitivity = high\n"
	    "    exempt_networks = {192.0.2.0/24} }\n"
	    "  protection max_line_length { limit = 512 sasl_limit = 8192 }\n"
	    "  protection max_commands { action = off limit = 99 "
	    "preauth_limit = 9 }\n"
	    "}\n"
	    "smtp { socket = \"unix:/var/spool/postfix/mw/mw.sock\"\n"
	    "  local_domains = {\"Example.ORG\"}\n"
	    "  internal_networks = {\"192.168.0.0/16\"} detect_header = true\n"
	    "  protection unknown_command { action = prevent "
	    "block_commands = {\"auth\", \"ETRN\"} }\n"
	    "  protection auth { allow_networks = {10.1.0.0/16}\n"
	    "    deny_mechanisms = {\"cram-md5\"} require_tls = true }\n"
	    "  protection auth_overflow { limit = 300 }\n"
	    "  protection external_mail { action = detect }\n"
	    "}\n", err, sizeof(err));

	ck_assert_msg(pol != NULL, "errors: %s", err);
	ck_assert_uint_eq(pol->exempt.n, 2);
	ck_assert_int_eq(pol->shutdown_timeout, 5);
	ck_assert_str_eq(pol->user, "mail");
	ck_assert_str_eq(pol->group, "mail");
	ck_assert(!pol->log.syslog);
	ck_assert_int_eq(pol->log.syslog_facility, LOG_LOCAL3);
	ck_assert_str_eq(pol->log.json_file, "/tmp/x.json");
	ck_assert_int_eq(pol->log.max_events_per_second, 7);
	ck_assert_uint_eq(pol->pop3.listen.n, 2);
	ck_assert_str_eq(pol->pop3.listen.v[1], "[::1]:2110");
	ck_assert_str_eq(pol->pop3.backend, "unix:/run/dovecot/pop3");
	ck_assert_int_eq(pol->pop3.backend_client_address, POL_CA_PROXY_V2);
	ck_assert_int_eq(pol->pop3.tls, POL_TLS_PASSTHROUGH);
	ck_assert_str_eq(pol->pop3.tls_listen.v[0], "127.0.0.1:2995");
	ck_assert_str_eq(pol->pop3.tls_cert, "c.pem");
	ck_assert_str_eq(pol->pop3.tls_key, "k.pem");
	ck_assert(!pol->pop3.disable_plaintext_auth);
	ck_assert_int_eq(pol->pop3.max_connections, 50);
	ck_assert_int_eq(pol->pop3.max_connections_per_ip, 3);
	ck_assert_int_eq(pol->pop3.preauth_timeout, 11);
	ck_assert_int_eq(pol->pop3.session_timeout, 12);
	ck_assert_int_eq(pol->pop3.backend_timeout, 13);
	ck_assert(!pol->pop3.inspect_after_auth);
	ck_assert_int_eq(pol->prot[PROT_P3_NON_COMPLIANT].action, ACT_DETECT);
	ck_assert(pol->prot[PROT_P3_NON_COMPLIANT].strict_crlf);
	ck_assert_int_eq(pol->prot[PROT_P3_MALICIOUS_CODE].sensitivity,
	    MCP_HIGH);
	ck_assert_uint_eq(pol->prot[PROT_P3_MALICIOUS_CODE].exempt.n, 1);
	ck_assert_int_eq(pol->prot[PROT_P3_MAX_LINE_LENGTH].limit, 512);
	ck_assert_int_eq(pol->prot[PROT_P3_MAX_LINE_LENGTH].sasl_limit, 8192);
	ck_assert_int_eq(pol->prot[PROT_P3_MAX_COMMANDS].action, ACT_OFF);
	ck_assert_int_eq(pol->prot[PROT_P3_MAX_COMMANDS].limit, 99);
	ck_assert_int_eq(pol->prot[PROT_P3_MAX_COMMANDS].preauth_limit, 9);
	ck_assert_str_eq(pol->smtp.socket,
	    "unix:/var/spool/postfix/mw/mw.sock");
	ck_assert_str_eq(pol->smtp.local_domains.v[0], "example.org");
	ck_assert_uint_eq(pol->smtp.internal_networks.n, 1);
	ck_assert(pol->smtp.detect_header);
	ck_assert_int_eq(pol->prot[PROT_SMTP_UNKNOWN_COMMAND].action,
	    ACT_PREVENT);
	ck_assert_str_eq(pol->prot[PROT_SMTP_UNKNOWN_COMMAND].block_commands.v[0],
	    "AUTH");
	ck_assert_str_eq(pol->prot[PROT_SMTP_UNKNOWN_COMMAND].block_commands.v[1],
	    "ETRN");
	ck_assert_uint_eq(pol->prot[PROT_SMTP_AUTH].allow_networks.n, 1);
	ck_assert_str_eq(pol->prot[PROT_SMTP_AUTH].deny_mechanisms.v[0],
	    "CRAM-MD5");
	ck_assert(pol->prot[PROT_SMTP_AUTH].require_tls);
	ck_assert_int_eq(pol->prot[PROT_SMTP_AUTH_OVERFLOW].limit, 300);
	ck_assert_int_eq(pol->prot[PROT_SMTP_EXTERNAL_MAIL].action, ACT_DETECT);
	/* untouched protections keep their defaults */
	ck_assert_int_eq(pol->prot[PROT_P3_EMPTY_USERNAME].action, ACT_PREVENT);
	ck_assert_int_eq(pol->prot[PROT_SMTP_MAX_LINE_LENGTH].limit, 1000);
	pol_unref(pol);
}
END_TEST

/* Bad input: the text, the line the error must name, words it must say. */
static const struct {
	const char	*text;		/* configuration */
	int		 line;		/* line named in the error */
	const char	*want;		/* substring of the message */
} bad_cases[] = {
	{ "shutdown_timeout = 3\nfoo = 1\n", 2, "no such option 'foo'" },
	{ "pop3 {\n  listn = {\"127.0.0.1:1\"}\n}\n", 2, "listn" },
	{ "pop3 {\n protection bogus { action = prevent }\n}\n", 2,
	  "unknown protection 'bogus'" },
	{ "smtp {\n protection empty_username { action = off }\n}\n", 2,
	  "unknown protection 'empty_username'" },
	{ "pop3 {\n\n protection empty_password { action = block }\n}\n", 3,
	  "action must be prevent, detect or off" },
	{ "\nexempt_networks = {\"10.0.0.0/33\"}\n", 2, "bad network" },
	{ "exempt_networks = {\"10.0.0.1/8x\"}\n", 1, "bad network" },
	{ "exempt_networks = {\"2001:db8::/129\"}\n", 1, "bad network" },
	{ "exempt_networks = {\"300.1.1.1\"}\n", 1, "bad network" },
	{ "smtp {\n  internal_networks = {\"nonsense\"}\n}\n", 2,
	  "bad network" },
	{ "pop3 {\n max_connections = abc\n}\n", 2, "invalid integer" },
	{ "pop3 {\n max_connections = 0\n}\n", 2, "between 1 and" },
	{ "pop3 {\n preauth_timeout = -5\n}\n", 2, "between" },
	{ "log {\n syslog = maybe\n}\n", 2, "invalid boolean" },
	{ "pop3 {\n inspect_after_auth = \"yes please\"\n}\n", 2,
	  "invalid boolean" },
	{ "log {\n syslog_facility = \"kernel\"\n}\n", 2, "syslog_facility" },
	{ "pop3 {\n protection starttls { action = prevent }\n"
	  " protection starttls { action = detect }\n}\n", 3,
	  "duplicate title 'starttls'" },
	{ "pop3 {\n protection empty_username { limit = 5 }\n}\n", 2,
	  "takes no 'limit'" },
	{ "pop3 {\n protection max_line_length { limit = 4 }\n}\n", 2,
	  "between 16 and 65536" },
	{ "pop3 {\n protection malicious_code { sensitivity = extreme }\n}\n",
	  2, "sensitivity must be one of low, medium, high" },
	{ "pop3 {\n backend_client_address = \"proxy\"\n}\n", 2,
	  "backend_client_address must be one of" },
	{ "pop3 {\n tls = \"on\"\n}\n", 2, "tls must be one of" },
	{ "pop3 {\n listen = {\"1.2.3.4\"}\n}\n", 2, "not host:port" },
	{ "pop3 {\n backend = \"host:99999\"\n}\n", 2, "not host:port" },
	{ "smtp {\n socket = \"inet:99999@localhost\"\n}\n", 2,
	  "socket 'inet:99999@localhost'" },
	/* UNIX socket paths: at most 107 octets (sun_path) */
	{ "pop3 {\n backend = \"unix:/"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\n}\n", 2,
	  "backend: UNIX socket path longer than 107 octets" },
	{ "smtp {\n socket = \"local:/"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\n}\n", 2,
	  "socket: UNIX socket path longer than 107 octets" },
	{ "smtp {\n protection auth { deny_mechanisms = {\"CRAM MD5\"} }\n}\n",
	  2, "not a valid name" },
	{ "pop3 {\n", 1, "section not closed" },
	{ "shutdown_timeout = \n", 2, "" },
	/* Comments count as the lines they are (libconfuse 3.3 counted
	 * each as three), whatever their kind and place. */
	{ "# one\n# two\n// three\npop3 {\n bogus = 1\n}\n", 5,
	  "no such option 'bogus'" },
	{ "/* a\n b\n */ pop3 { # x\n listen = {\"1.2.3.4\"}\n}\n", 4,
	  "not host:port" },
	{ "pop3 { // a\n # b\n max_connections = 0 # c\n}\n", 3,
	  "between 1 and" },
	/* A string continued with a backslash spans two lines. */
	{ "pop3 {\n backend = \"127.0.0.1:\\\n110\"\n max_connections = 0\n}\n",
	  4,
	  "between 1 and" },
	/* What was open at the end is named where it opened. */
	{ "pop3 {\n backend = \"127.0.0.1:110\n}\n", 2,
	  "string not closed: missing '\"'" },
	{ "log { json_file = '/x\n", 1, "string not closed: missing \'\'\'" },
	{ "pop3 {\n /* unfinished\n}\n", 2,
	  "comment not closed: missing '*/'" },
	{ "pop3 {\n protection max_line_length {\n  limit = 100\n\n", 2,
	  "section not closed: missing '}'" },
	{ "\n${HOME\n", 2, "'${' not closed" },
	/* A refused value spanning lines stays on one message line. */
	{ "pop3 {\n backend = \"a\nb\tc\"\n}\n", 3,
	  "backend: 'a\\nb\\x09c' is not host:port" },
};

/* Each bad input fails, naming the file and the right line. */
START_TEST(test_bad)
{
	char		 err[1024], want[128];
	struct policy	*pol;

	pol = load_text(bad_cases[_i].text, err, sizeof(err));
	ck_assert_msg(pol == NULL, "case %d accepted", _i);
	snprintf(want, sizeof(want), "%s:%d: ", conf_path,
	    bad_cases[_i].line);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0,
	    "case %d: want prefix '%s', got '%s'", _i, want, err);
	ck_assert_msg(strstr(err, bad_cases[_i].want) != NULL,
	    "case %d: want '%s' in '%s'", _i, bad_cases[_i].want, err);
}
END_TEST

/* Comments anywhere: inside a list, between key and value, after a
 * brace; the values around them are read. */
START_TEST(test_comments)
{
	char		 err[1024];
	struct policy	*pol;

	pol = load_text("# head\npop3 { // section\n"
	    "  listen = {\n"
	    "    \"127.0.0.1:1110\", # the usual one\n"
	    "    # \"127.0.0.1:2110\", commented out\n"
	    "    /* another */ \"[::1]:1110\"\n"
	    "  }\n"
	    "  backend = # where Dovecot is\n"
	    "    \"127.0.0.1:110\"\n"
	    "  max_connections = /* inline */ 7\n"
	    "}\n"
	    "log { json_file = \"/var/log/a#b//c/*d\" }\n", err, sizeof(err));
	ck_assert_msg(pol != NULL, "%s", err);
	ck_assert_uint_eq(pol->pop3.listen.n, 2);
	ck_assert_str_eq(pol->pop3.listen.v[0], "127.0.0.1:1110");
	ck_assert_str_eq(pol->pop3.listen.v[1], "[::1]:1110");
	ck_assert_str_eq(pol->pop3.backend, "127.0.0.1:110");
	ck_assert_int_eq(pol->pop3.max_connections, 7);
	ck_assert_str_eq(pol->log.json_file, "/var/log/a#b//c/*d");
	pol_unref(pol);
}
END_TEST

/* An error in the shipped, heavily commented file names its own line. */
START_TEST(test_shipped_file_lines)
{
	static char	 text[64 * 1024];
	char		 err[1024], want[128], line[512];
	FILE		*in = fopen("etc/mailwarden.conf", "r");
	struct policy	*pol;
	size_t		 len = 0;
	int		 n = 0, at = 0;

	ck_assert_ptr_nonnull(in);
	/* Break the pop3 section's max_commands line, after ~40 comments. */
	while (fgets(line, sizeof(line), in) != NULL) {
		n++;
		if (at == 0 && strstr(line, "protection max_commands") != NULL) {
			strcpy(line, "  protection max_commands { limit = 0 }\n");
			at = n;
		}
		ck_assert_uint_lt(len + strlen(line), sizeof(text));
		memcpy(text + len, line, strlen(line) + 1);
		len += strlen(line);
	}
	fclose(in);
	ck_assert_int_gt(at, 40);
	pol = load_text(text, err, sizeof(err));
	ck_assert_ptr_null(pol);
	snprintf(want, sizeof(want), "%s:%d: ", conf_path, at);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0,
	    "want prefix '%s', got '%s'", want, err);
}
END_TEST

/* A NUL octet is refused at its line, not read as the end of the file. */
START_TEST(test_nul_octet)
{
	static const char text[] = "pop3 {\n max_connections = 5\n\0"
	    "bogus = 1\n}\n";
	char		 err[1024], want[128];

	ck_assert_ptr_null(load_bytes(text, sizeof(text) - 1, err,
	    sizeof(err)));
	snprintf(want, sizeof(want), "%s:3: NUL octet in the file\n",
	    conf_path);
	ck_assert_str_eq(err, want);
}
END_TEST

/* A file of 1 MiB loads; one octet more is refused whole. */
START_TEST(test_too_large)
{
	static char	 text[1024 * 1024 + 1];
	char		 err[1024], want[128];
	struct policy	*pol;

	memset(text, '\n', sizeof(text));
	memcpy(text, "# big\n", 6);
	pol = load_bytes(text, sizeof(text) - 1, err, sizeof(err));
	ck_assert_msg(pol != NULL, "%s", err);
	pol_unref(pol);
	ck_assert_ptr_null(load_bytes(text, sizeof(text), err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: too large (over 1048576 octets)\n",
	    conf_path);
	ck_assert_str_eq(err, want);
}
END_TEST

/* The longest UNIX socket path a sockaddr_un holds (107 octets) loads,
 * for the backend and for the milter socket. */
START_TEST(test_unix_path_max)
{
	char		 err[1024], path[108], text[512];
	struct policy	*pol;

	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	snprintf(text, sizeof(text), "pop3 { backend = \"unix:%s\" }\n"
	    "smtp { socket = \"unix:%s\" }\n", path, path);
	pol = load_text(text, err, sizeof(err));
	ck_assert_msg(pol != NULL, "%s", err);
	ck_assert_uint_eq(strlen(pol->pop3.backend), 5 + 107);
	pol_unref(pol);
}
END_TEST

/* A file that cannot be read. */
START_TEST(test_missing_file)
{
	char	 err[256] = "";
	FILE	*ef = fmemopen(err, sizeof(err), "w");

	ck_assert_ptr_null(pol_load("/nonexistent/mw.conf", ef));
	fclose(ef);
	ck_assert_str_eq(err,
	    "/nonexistent/mw.conf: cannot read: No such file or directory\n");
}
END_TEST

/* host:port forms. */
static const struct {
	const char	*spec;		/* input */
	int		 rc;		/* 0 or -1 */
	const char	*host;		/* host part when 0 */
	unsigned	 port;		/* port when 0 */
} hp_cases[] = {
	{ "127.0.0.1:110", 0, "127.0.0.1", 110 },
	{ "[::1]:995", 0, "::1", 995 },
	{ "*:1110", 0, "", 1110 },
	{ "mail.example.org:110", 0, "mail.example.org", 110 },
	{ "127.0.0.1", -1, NULL, 0 },
	{ "::1:110", -1, NULL, 0 },
	{ "[::1]110", -1, NULL, 0 },
	{ "host:0", -1, NULL, 0 },
	{ "host:65536", -1, NULL, 0 },
	{ "host:12a", -1, NULL, 0 },
	{ ":110", -1, NULL, 0 },
	{ "ho st:110", -1, NULL, 0 },
	{ "[1.2.3.4]:5", -1, NULL, 0 },
};

START_TEST(test_hostport)
{
	char		 host[64];
	unsigned	 port = 0;
	int		 rc;

	rc = pol_hostport(hp_cases[_i].spec, host, sizeof(host), &port);
	ck_assert_int_eq(rc, hp_cases[_i].rc);
	if (rc == 0) {
		ck_assert_str_eq(host, hp_cases[_i].host);
		ck_assert_uint_eq(port, hp_cases[_i].port);
	}
}
END_TEST

static Suite *
conf_suite(void)
{
	Suite	*s = suite_create("conf");
	TCase	*tc = tcase_create("conf");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_shipped_file);
	tcase_add_test(tc, test_every_key);
	tcase_add_loop_test(tc, test_bad, 0,
	    sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_test(tc, test_comments);
	tcase_add_test(tc, test_shipped_file_lines);
	tcase_add_test(tc, test_nul_octet);
	tcase_add_test(tc, test_too_large);
	tcase_add_test(tc, test_unix_path_max);
	tcase_add_test(tc, test_missing_file);
	tcase_add_loop_test(tc, test_hostport, 0,
	    sizeof(hp_cases) / sizeof(hp_cases[0]));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(conf_suite());
	int	 nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
