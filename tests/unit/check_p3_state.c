/* SPDX-License-Identifier: ISC */
/*
 * check_p3_state.c: the pop3hook state machine driven by scripted
 * sessions, without sockets: the client's bytes are fed in every split
 * (one byte at a time up to all at once), a mock backend answers each line
 * it receives from its script, and the test compares what the backend
 * got, what the client got, the events and the verdict.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p3_state.h"

/* Bytes that may hold NUL. */
struct bytes {
	const char	*p;		/* octets */
	size_t		 n;		/* length */
};
#define B(s)	{ (s), sizeof(s) - 1 }

#define GREETING	"+OK Dovecot ready.\r\n"
#define NOOP8	"NOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\n"
#define OK8	"+OK\r\n", "+OK\r\n", "+OK\r\n", "+OK\r\n", "+OK\r\n", \
		"+OK\r\n", "+OK\r\n", "+OK\r\n"
#define OKS8	"+OK\r\n+OK\r\n+OK\r\n+OK\r\n+OK\r\n+OK\r\n+OK\r\n+OK\r\n"

/* One scripted session. */
struct st_case {
	const char	*name;		/* what it shows */
	const char	*mods;		/* policy changes, see sim_conf() */
	const char	*greeting;	/* NULL: GREETING */
	struct bytes	 client;	/* what the client sends */
	const char	*resp[48];	/* backend answer to each line it gets */
	struct bytes	 backend;	/* what the backend must get */
	const char	*to_client;	/* what the client must get; NULL: any */
	const char	*events;	/* "name/action/detail|..." */
	int		 block;		/* protection that blocks, or -1 */
};

/* The simulated proxy, client and backend. */
struct sim {
	struct p3_conf	 conf;		/* policy */
	struct p3_state	 st;		/* under test */
	char		 cin[70000];	/* client bytes */
	size_t		 clen, cjudged;	/* in it, judged */
	char		 sin[70000];	/* backend bytes */
	size_t		 slen, sdone, sout; /* in it, processed, copied out */
	char		 backend[70000]; /* what the backend received */
	size_t		 blen, banswered; /* its length, lines answered */
	char		 client[70000];	/* what the client received */
	size_t		 tlen;		/* its length */
	char		 events[4096];	/* recorded events */
	char		 user[64];	/* last login name */
	const struct st_case *tc;	/* script */
	int		 ri;		/* next answer */
	size_t		 split;		/* octets per read */
	int		 block;		/* verdict */
	bool		 sblocked;	/* a server line was blocked */
};

/* Record an event with control bytes shown as \xNN. */
static void
sim_report(void *arg, enum prot_id id, enum pol_action a, const char *d,
    size_t len)
{
	struct sim	*s = arg;
	size_t		 n = strlen(s->events), i;

	n += snprintf(s->events + n, sizeof(s->events) - n, "%s/%s/",
	    reg_get(id)->name, reg_action_name(a));
	for (i = 0; i < len && n + 8 < sizeof(s->events); i++) {
		unsigned char c = (unsigned char)d[i];

		if (c < 0x20 || c >= 0x7f)
			n += snprintf(s->events + n, 5, "\\x%02x", c);
		else
			s->events[n++] = (char)c;
	}
	snprintf(s->events + n, sizeof(s->events) - n, "|");
}

/* Record the login name. */
static void
sim_user(void *arg, const char *u, size_t len)
{
	struct sim	*s = arg;

	snprintf(s->user, sizeof(s->user), "%.*s", (int)len, u);
}

/* The backend gets XCLIENT. */
static void
sim_xclient(void *arg)
{
	struct sim	*s = arg;

	memcpy(s->backend + s->blen, "XCLIENT\r\n", 9);
	s->blen += 9;
}

/* A stand-in detector: four NOPs in a row are "code". */
static bool
sim_scan(const void *buf, size_t len, enum mcp_sensitivity sens,
    char reason[MCP_REASON_MAX])
{
	if (memmem(buf, len, "\x90\x90\x90\x90", 4) == NULL)
		return false;
	snprintf(reason, MCP_REASON_MAX, "x86 NOP sled");
	return true;
}

static const struct p3_hooks sim_hooks = {
	sim_report, sim_user, sim_xclient, sim_scan,
};

/* Defaults of SPEC section 2, changed by "key=value" words in mods. */
static void
sim_conf(struct p3_conf *c, const char *mods)
{
	char	 buf[256], *w, *save = NULL, *eq;
	int	 i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < P3_NPROT; i++)
		c->act[i] = ACT_PREVENT;
	c->sensitivity = MCP_MEDIUM;
	c->tls = POL_TLS_BLOCK;
	c->client_address = POL_CA_NONE;
	c->inspect_after_auth = true;
	c->line_limit = 255;
	c->sasl_limit = 4096;
	c->max_commands = 10000;
	c->preauth_commands = 30;
	c->max_bad = 10;
	snprintf(buf, sizeof(buf), "%s", mods != NULL ? mods : "");
	for (w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		eq = strchr(w, '=');
		ck_assert_ptr_nonnull(eq);
		*eq++ = '\0';
		if ((i = reg_lookup(REG_SVC_POP3, w)) >= 0)
			c->act[i] = strcmp(eq, "off") == 0 ? ACT_OFF :
			    strcmp(eq, "detect") == 0 ? ACT_DETECT : ACT_PREVENT;
		else if (strcmp(w, "line") == 0)
			c->line_limit = atol(eq);
		else if (strcmp(w, "sasl") == 0)
			c->sasl_limit = atol(eq);
		else if (strcmp(w, "cmds") == 0)
			c->max_commands = atol(eq);
		else if (strcmp(w, "preauth") == 0)
			c->preauth_commands = atol(eq);
		else if (strcmp(w, "bad") == 0)
			c->max_bad = atol(eq);
		else if (strcmp(w, "strict") == 0)
			c->strict_crlf = true;
		else if (strcmp(w, "inspect") == 0)
			c->inspect_after_auth = false;
		else if (strcmp(w, "tls") == 0)
			c->tls = POL_TLS_PASSTHROUGH;
		else if (strcmp(w, "ca") == 0)
			c->client_address = POL_CA_XCLIENT;
		else
			ck_abort_msg("bad mod %s", w);
	}
}

/* Feed backend bytes in split-sized reads. */
static void
sim_server(struct sim *s, const char *data, size_t len)
{
	size_t	 i, n;

	for (i = 0; i < len && !s->sblocked; i += n) {
		n = len - i < s->split ? len - i : s->split;
		memcpy(s->sin + s->slen, data + i, n);
		s->slen += n;
		if (p3_server_input(&s->st, s->sin, &s->slen, &s->sdone) ==
		    P3_V_BLOCK) {
			s->block = s->st.block_prot;
			s->sblocked = true;
		}
		memcpy(s->client + s->tlen, s->sin + s->sout,
		    s->sdone - s->sout);
		s->tlen += s->sdone - s->sout;
		s->sout = s->sdone;
	}
}

/* The backend answers every whole line it has not answered yet. */
static void
sim_answer(struct sim *s)
{
	char	*nl;
	const char *r;

	while (!s->sblocked && (nl = memchr(s->backend + s->banswered, '\n',
	    s->blen - s->banswered)) != NULL) {
		s->banswered = (size_t)(nl - s->backend) + 1;
		if (s->st.phase == P3_PH_RAW)
			continue;
		r = s->tc->resp[s->ri];
		if (r == NULL)
			continue;
		s->ri++;
		sim_server(s, r, strlen(r));
	}
}

/* Run the script with reads of split octets. */
static void
sim_run(struct sim *s, const struct st_case *tc, size_t split)
{
	size_t	 i, n, before;

	memset(s, 0, sizeof(*s));
	s->tc = tc;
	s->split = split;
	s->block = -1;
	sim_conf(&s->conf, tc->mods);
	p3_state_init(&s->st, &s->conf, &sim_hooks, s);
	sim_server(s, tc->greeting ? tc->greeting : GREETING,
	    strlen(tc->greeting ? tc->greeting : GREETING));
	sim_answer(s);
	for (i = 0; i < tc->client.n && s->block < 0; i += n) {
		n = tc->client.n - i < split ? tc->client.n - i : split;
		memcpy(s->cin + s->clen, tc->client.p + i, n);
		s->clen += n;
		do {
			before = s->cjudged;
			if (p3_client_input(&s->st, s->cin, s->clen,
			    &s->cjudged) == P3_V_BLOCK)
				s->block = s->st.block_prot;
			memcpy(s->backend + s->blen, s->cin + before,
			    s->cjudged - before);
			s->blen += s->cjudged - before;
			sim_answer(s);
		} while (s->cjudged != before && s->block < 0);
	}
	if (s->block >= 0)	/* answers to lines sent before the block */
		sim_answer(s);
}

static const struct st_case st_cases[] = {
	{ "user pass", NULL, NULL,
	  B("USER alice\r\nPASS secret\r\nSTAT\r\nQUIT\r\n"),
	  { "+OK\r\n", "+OK Logged in.\r\n", "+OK 1 30\r\n", "+OK Bye\r\n" },
	  B("USER alice\r\nPASS secret\r\nSTAT\r\nQUIT\r\n"),
	  GREETING "+OK\r\n+OK Logged in.\r\n+OK 1 30\r\n+OK Bye\r\n", "", -1 },
	{ "capa filtered", NULL, NULL, B("CAPA\r\nUSER a\r\n"),
	  { "+OK\r\nCAPA\r\nSTLS\r\nUSER\r\nXCLIENT\r\nSASL PLAIN\r\n.\r\n",
	    "+OK\r\n" },
	  B("CAPA\r\nUSER a\r\n"),
	  GREETING "+OK\r\nCAPA\r\nUSER\r\nSASL PLAIN\r\n.\r\n+OK\r\n", "", -1 },
	{ "capa passthrough keeps STLS", "tls=p", NULL, B("CAPA\r\n"),
	  { "+OK\r\nSTLS\r\nXCLIENT\r\n.\r\n" }, B("CAPA\r\n"),
	  GREETING "+OK\r\nSTLS\r\n.\r\n", "", -1 },
	{ "retr body is not status", "bad=0", NULL,
	  B("USER a\r\nPASS b\r\nRETR 1\r\nNOOP\r\n"),
	  { "+OK\r\n", "+OK\r\n",
	    "+OK 9 octets\r\n-ERR fake\r\n..\r\n.x\r\n+OK\r\n\r\n.\r\n",
	    "+OK\r\n" },
	  B("USER a\r\nPASS b\r\nRETR 1\r\nNOOP\r\n"),
	  GREETING "+OK\r\n+OK\r\n+OK 9 octets\r\n-ERR fake\r\n..\r\n.x\r\n"
	  "+OK\r\n\r\n.\r\n+OK\r\n", "", -1 },
	{ "list uidl top multi-line", NULL, NULL,
	  B("USER a\r\nPASS b\r\nLIST\r\nUIDL 1\r\nTOP 1 0\r\nUIDL\r\n"),
	  { "+OK\r\n", "+OK\r\n", "+OK\r\n1 5\r\n.\r\n", "+OK 1 x\r\n",
	    "+OK\r\nA: b\r\n\r\n.\r\n", "+OK\r\n1 x\r\n.\r\n" },
	  B("USER a\r\nPASS b\r\nLIST\r\nUIDL 1\r\nTOP 1 0\r\nUIDL\r\n"),
	  GREETING "+OK\r\n+OK\r\n+OK\r\n1 5\r\n.\r\n+OK 1 x\r\n"
	  "+OK\r\nA: b\r\n\r\n.\r\n+OK\r\n1 x\r\n.\r\n", "", -1 },
	{ "empty USER", NULL, NULL, B("USER\r\nNOOP\r\n"), { NULL }, B(""),
	  GREETING, "empty_username/prevent/USER|", PROT_P3_EMPTY_USERNAME },
	{ "blank USER", NULL, NULL, B("USER  \r\n"), { NULL }, B(""),
	  GREETING, "empty_username/prevent/USER  |",
	  PROT_P3_EMPTY_USERNAME },
	{ "empty USER detect", "empty_username=detect", NULL, B("USER\r\n"),
	  { NULL }, B(""), GREETING,
	  "empty_username/detect/USER|non_compliant/prevent/USER|",
	  PROT_P3_NON_COMPLIANT },
	{ "empty USER off", "empty_username=off non_compliant=off", NULL,
	  B("USER\r\n"), { "-ERR no\r\n" }, B("USER\r\n"),
	  GREETING "-ERR no\r\n", "", -1 },
	{ "empty PASS", NULL, NULL, B("USER a\r\nPASS\r\n"), { "+OK\r\n" },
	  B("USER a\r\n"), GREETING "+OK\r\n",
	  "empty_password/prevent/PASS|", PROT_P3_EMPTY_PASSWORD },
	{ "PASS with spaces", NULL, NULL, B("USER a\r\nPASS a b  c\r\n"),
	  { "+OK\r\n", "+OK\r\n" }, B("USER a\r\nPASS a b  c\r\n"), NULL, "",
	  -1 },
	{ "APOP no digest", NULL, NULL, B("APOP alice\r\n"), { NULL }, B(""),
	  GREETING, "empty_password/prevent/APOP alice|",
	  PROT_P3_EMPTY_PASSWORD },
	{ "APOP no name", NULL, NULL, B("APOP\r\n"), { NULL }, B(""), GREETING,
	  "empty_username/prevent/APOP|", PROT_P3_EMPTY_USERNAME },
	{ "APOP ok", NULL, NULL,
	  B("APOP alice c4c9334bac560ecc979e58001b3e22fb\r\nSTAT\r\n"),
	  { "+OK\r\n", "+OK 0 0\r\n" },
	  B("APOP alice c4c9334bac560ecc979e58001b3e22fb\r\nSTAT\r\n"), NULL,
	  "", -1 },
	{ "STLS blocked", NULL, NULL, B("STLS\r\n"), { NULL }, B(""), GREETING,
	  "starttls/prevent/STLS|", PROT_P3_STARTTLS },
	{ "STLS passthrough", "tls=p", NULL,
	  B("STLS\r\n\x16\x03\x01\x00\r\n\x00\xff"),
	  { "+OK Begin TLS\r\n" }, B("STLS\r\n\x16\x03\x01\x00\r\n\x00\xff"),
	  GREETING "+OK Begin TLS\r\n", "starttls/detect/STLS|", -1 },
	{ "STLS passthrough off", "tls=p starttls=off", NULL, B("STLS\r\n"),
	  { "+OK Begin TLS\r\n" }, B("STLS\r\n"), GREETING "+OK Begin TLS\r\n",
	  "", -1 },
	{ "STLS refused goes on", "tls=p", NULL, B("STLS\r\nUSER a\r\n"),
	  { "-ERR no TLS\r\n", "+OK\r\n" }, B("STLS\r\nUSER a\r\n"),
	  GREETING "-ERR no TLS\r\n+OK\r\n", "", -1 },
	{ "unknown command", NULL, NULL, B("NOOP\r\nXYZZ 1\r\n"),
	  { "+OK\r\n" }, B("NOOP\r\n"), GREETING "+OK\r\n",
	  "non_compliant/prevent/XYZZ|", PROT_P3_NON_COMPLIANT },
	{ "SASL data out of turn: not logged", NULL, NULL,
	  B("AUTH PLAIN\r\nAGFsaWNlAHNlY3JldA==\r\n"),
	  { "-ERR [AUTH] not now\r\n" }, B("AUTH PLAIN\r\n"),
	  GREETING "-ERR [AUTH] not now\r\n",
	  "non_compliant/prevent/(unknown command, 20 octets)|",
	  PROT_P3_NON_COMPLIANT },
	{ "IMAP login: keyword only", NULL, NULL,
	  B("a1 LOGIN alice secret\r\n"), { NULL }, B(""), GREETING,
	  "non_compliant/prevent/(unknown command, 21 octets)|",
	  PROT_P3_NON_COMPLIANT },
	{ "unknown command: arguments not logged", NULL, NULL,
	  B("LOGIN alice secret\r\n"), { NULL }, B(""), GREETING,
	  "non_compliant/prevent/(unknown command, 18 octets)|",
	  PROT_P3_NON_COMPLIANT },
	{ "IMAP tag of POP3 shape: the tag alone", NULL, NULL,
	  B("a001 LOGIN alice secret\r\n"), { NULL }, B(""), GREETING,
	  "non_compliant/prevent/a001|", PROT_P3_NON_COMPLIANT },
	{ "unknown verb of POP3 shape", NULL, NULL,
	  B("GET /secret HTTP/1.1\r\n"), { NULL }, B(""), GREETING,
	  "non_compliant/prevent/GET|", PROT_P3_NON_COMPLIANT },
	{ "client XCLIENT", NULL, NULL, B("XCLIENT ADDR=1.2.3.4\r\n"),
	  { NULL }, B(""), GREETING,
	  "non_compliant/prevent/XCLIENT ADDR=1.2.3.4|",
	  PROT_P3_NON_COMPLIANT },
	{ "client XCLIENT never passes", "non_compliant=off", NULL,
	  B("XCLIENT ADDR=1.2.3.4\r\n"), { NULL }, B(""), GREETING,
	  "non_compliant/prevent/XCLIENT ADDR=1.2.3.4|",
	  PROT_P3_NON_COMPLIANT },
	{ "keyword too long", NULL, NULL, B("USERS a\r\n"), { NULL }, B(""),
	  GREETING, "non_compliant/prevent/(unknown command, 7 octets)|",
	  PROT_P3_NON_COMPLIANT },
	{ "NUL", NULL, NULL, B("USER a\0b\r\n"), { NULL }, B(""), GREETING,
	  "non_compliant/prevent/USER a\\x00b|", PROT_P3_NON_COMPLIANT },
	{ "stray CR", NULL, NULL, B("USER a\rb\r\n"), { NULL }, B(""),
	  GREETING, "non_compliant/prevent/USER a\\x0db|",
	  PROT_P3_NON_COMPLIANT },
	{ "bare LF allowed", NULL, NULL, B("USER a\nNOOP\n"),
	  { "+OK\r\n", "+OK\r\n" }, B("USER a\nNOOP\n"), NULL, "", -1 },
	{ "bare LF strict", "strict=1", NULL, B("USER a\n"), { NULL }, B(""),
	  GREETING, "non_compliant/prevent/USER a|", PROT_P3_NON_COMPLIANT },
	{ "8-bit without UTF8", NULL, NULL, B("USER \xc3\xa9\r\n"), { NULL },
	  B(""), GREETING, "non_compliant/prevent/USER \\xc3\\xa9|",
	  PROT_P3_NON_COMPLIANT },
	{ "8-bit after UTF8", NULL, NULL, B("UTF8\r\nUSER \xc3\xa9\r\n"),
	  { "+OK\r\n", "+OK\r\n" }, B("UTF8\r\nUSER \xc3\xa9\r\n"), NULL, "",
	  -1 },
	{ "argument count", NULL, NULL, B("USER a b\r\n"), { NULL }, B(""),
	  GREETING, "non_compliant/prevent/USER a b|", PROT_P3_NON_COMPLIANT },
	{ "RETR needs a number", NULL, NULL,
	  B("USER a\r\nPASS b\r\nRETR x\r\n"), { "+OK\r\n", "+OK\r\n" },
	  B("USER a\r\nPASS b\r\n"), NULL, "non_compliant/prevent/RETR x|",
	  PROT_P3_NON_COMPLIANT },
	{ "TOP one argument", NULL, NULL, B("USER a\r\nPASS b\r\nTOP 1\r\n"),
	  { "+OK\r\n", "+OK\r\n" }, B("USER a\r\nPASS b\r\n"), NULL,
	  "non_compliant/prevent/TOP 1|", PROT_P3_NON_COMPLIANT },
	{ "double space", NULL, NULL, B("USER a\r\nPASS b\r\nLIST  1\r\n"),
	  { "+OK\r\n", "+OK\r\n" }, B("USER a\r\nPASS b\r\n"), NULL,
	  "non_compliant/prevent/LIST  1|", PROT_P3_NON_COMPLIANT },
	{ "STAT before login", NULL, NULL, B("STAT\r\n"), { NULL }, B(""),
	  GREETING, "non_compliant/prevent/STAT|", PROT_P3_NON_COMPLIANT },
	{ "STAT pipelined after PASS", NULL, NULL,
	  B("USER a\r\nPASS b\r\nSTAT\r\n"),
	  { "+OK\r\n", "+OK\r\n", "+OK 0 0\r\n" },
	  B("USER a\r\nPASS b\r\nSTAT\r\n"), NULL, "", -1 },
	{ "overlong line", "line=20", NULL,
	  B("USER aaaaaaaaaaaaaaaaaaaaaaaaa\r\n"), { NULL }, B(""), GREETING,
	  "max_line_length/prevent/USER aaaaaaaaaaaaaaa|",
	  PROT_P3_MAX_LINE_LENGTH },
	{ "line at the limit", "line=20", NULL,
	  B("USER aaaaaaaaaaaaa\r\nUSER aaaaaaaaaaaaaa\r\n"), { "+OK\r\n" },
	  B("USER aaaaaaaaaaaaa\r\n"), GREETING "+OK\r\n",
	  "max_line_length/prevent/USER aaaaaaaaaaaaaa\\x0d|",
	  PROT_P3_MAX_LINE_LENGTH },
	{ "overlong line detect", "line=20 max_line_length=detect", NULL,
	  B("USER aaaaaaaaaaaaaaaaaaaaaaaaa\r\nNOOP\r\n"),
	  { "-ERR too long\r\n", "+OK\r\n" },
	  B("USER aaaaaaaaaaaaaaaaaaaaaaaaa\r\nNOOP\r\n"),
	  GREETING "-ERR too long\r\n+OK\r\n",
	  "max_line_length/detect/USER aaaaaaaaaaaaaaa|", -1 },
	{ "preauth commands", "preauth=3", NULL,
	  B("NOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\n"),
	  { "+OK\r\n", "+OK\r\n", "+OK\r\n", "+OK\r\n" },
	  B("NOOP\r\nNOOP\r\nNOOP\r\n"), GREETING "+OK\r\n+OK\r\n+OK\r\n",
	  "max_commands/prevent/NOOP|", PROT_P3_MAX_COMMANDS },
	{ "max commands after login", "cmds=4", NULL,
	  B("USER a\r\nPASS b\r\nNOOP\r\nNOOP\r\nNOOP\r\n"),
	  { "+OK\r\n", "+OK\r\n", "+OK\r\n", "+OK\r\n" },
	  B("USER a\r\nPASS b\r\nNOOP\r\nNOOP\r\n"), NULL,
	  "max_commands/prevent/NOOP|", PROT_P3_MAX_COMMANDS },
	{ "bad commands", "bad=2", NULL,
	  B("USER a\r\nPASS x\r\nUSER a\r\nPASS y\r\n"),
	  { "+OK\r\n", "-ERR [AUTH] failed\r\n", "-ERR x\r\n",
	    "-ERR [AUTH] failed\r\n" },
	  B("USER a\r\nPASS x\r\nUSER a\r\nPASS y\r\n"),
	  GREETING "+OK\r\n-ERR [AUTH] failed\r\n-ERR x\r\n",
	  "max_bad_commands/prevent/-ERR [AUTH] failed|",
	  PROT_P3_MAX_BAD_COMMANDS },
	{ "bad server line", NULL, NULL, B("NOOP\r\n"), { "HELLO\r\n" },
	  B("NOOP\r\n"), GREETING, "non_compliant/prevent/HELLO|",
	  PROT_P3_NON_COMPLIANT },
	{ "bad greeting", NULL, "* OK IMAP\r\n", B(""), { NULL }, B(""), "",
	  "non_compliant/prevent/* OK IMAP|", PROT_P3_NON_COMPLIANT },
	{ "unsolicited -ERR passes", NULL, NULL, B("NOOP\r\n"),
	  { "+OK\r\n-ERR Disconnected for inactivity.\r\n" }, B("NOOP\r\n"),
	  GREETING "+OK\r\n-ERR Disconnected for inactivity.\r\n", "", -1 },
	{ "shellcode in USER", NULL, NULL, B("USER \x90\x90\x90\x90\x01\r\n"),
	  { NULL }, B(""), GREETING, "malicious_code/prevent/USER: x86 NOP sled|",
	  PROT_P3_MALICIOUS_CODE },
	{ "shellcode detect then control bytes", "malicious_code=detect",
	  NULL, B("USER \x90\x90\x90\x90\x01\r\n"), { NULL }, B(""), GREETING,
	  "malicious_code/detect/USER: x86 NOP sled|non_compliant/prevent/"
	  "USER \\x90\\x90\\x90\\x90\\x01|", PROT_P3_NON_COMPLIANT },
	{ "shellcode in PASS hides it", NULL, NULL,
	  B("USER a\r\nPASS secret\x90\x90\x90\x90\r\n"), { "+OK\r\n" },
	  B("USER a\r\n"), NULL, "malicious_code/prevent/PASS: x86 NOP sled|",
	  PROT_P3_MALICIOUS_CODE },
	{ "AUTH PLAIN initial response", NULL, NULL,
	  B("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nSTAT\r\n"),
	  { "+OK Logged in.\r\n", "+OK 0 0\r\n" },
	  B("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nSTAT\r\n"),
	  GREETING "+OK Logged in.\r\n+OK 0 0\r\n", "", -1 },
	{ "AUTH PLAIN empty authcid", NULL, NULL,
	  B("AUTH PLAIN AABzZWNyZXQ=\r\n"), { NULL }, B(""), GREETING,
	  "empty_username/prevent/AUTH PLAIN|", PROT_P3_EMPTY_USERNAME },
	{ "AUTH PLAIN empty password", NULL, NULL,
	  B("AUTH PLAIN AGFsaWNlAA==\r\n"), { NULL }, B(""), GREETING,
	  "empty_password/prevent/AUTH PLAIN|", PROT_P3_EMPTY_PASSWORD },
	{ "AUTH PLAIN continuation", NULL, NULL,
	  B("AUTH PLAIN\r\nAGFsaWNlAHNlY3JldA==\r\nSTAT\r\n"),
	  { "+ \r\n", "+OK Logged in.\r\n", "+OK 0 0\r\n" },
	  B("AUTH PLAIN\r\nAGFsaWNlAHNlY3JldA==\r\nSTAT\r\n"),
	  GREETING "+ \r\n+OK Logged in.\r\n+OK 0 0\r\n", "", -1 },
	{ "AUTH LOGIN", NULL, NULL,
	  B("AUTH LOGIN\r\nYWxpY2U=\r\nc2VjcmV0\r\n"),
	  { "+ VXNlcm5hbWU6\r\n", "+ UGFzc3dvcmQ6\r\n", "+OK\r\n" },
	  B("AUTH LOGIN\r\nYWxpY2U=\r\nc2VjcmV0\r\n"),
	  GREETING "+ VXNlcm5hbWU6\r\n+ UGFzc3dvcmQ6\r\n+OK\r\n", "", -1 },
	{ "AUTH LOGIN initial response", NULL, NULL,
	  B("AUTH LOGIN YWxpY2U=\r\nc2VjcmV0\r\n"),
	  { "+ UGFzc3dvcmQ6\r\n", "+OK\r\n" },
	  B("AUTH LOGIN YWxpY2U=\r\nc2VjcmV0\r\n"), NULL, "", -1 },
	{ "AUTH LOGIN empty password", NULL, NULL,
	  B("AUTH LOGIN\r\nYWxpY2U=\r\n\r\n"),
	  { "+ VXNlcm5hbWU6\r\n", "+ UGFzc3dvcmQ6\r\n" },
	  B("AUTH LOGIN\r\nYWxpY2U=\r\n"), NULL,
	  "empty_password/prevent/AUTH LOGIN response|",
	  PROT_P3_EMPTY_PASSWORD },
	{ "AUTH LOGIN empty user", NULL, NULL, B("AUTH LOGIN\r\n=\r\n"),
	  { "+ VXNlcm5hbWU6\r\n" }, B("AUTH LOGIN\r\n"), NULL,
	  "empty_username/prevent/AUTH LOGIN response|",
	  PROT_P3_EMPTY_USERNAME },
	{ "AUTH bad base64", NULL, NULL, B("AUTH PLAIN\r\n!!!!\r\n"),
	  { "+ \r\n" }, B("AUTH PLAIN\r\n"), NULL,
	  "non_compliant/prevent/AUTH PLAIN response|",
	  PROT_P3_NON_COMPLIANT },
	{ "AUTH cancel", NULL, NULL, B("AUTH PLAIN\r\n*\r\nUSER a\r\n"),
	  { "+ \r\n", "-ERR Authentication aborted\r\n", "+OK\r\n" },
	  B("AUTH PLAIN\r\n*\r\nUSER a\r\n"),
	  GREETING "+ \r\n-ERR Authentication aborted\r\n+OK\r\n", "", -1 },
	{ "AUTH CRAM-MD5", NULL, NULL,
	  B("AUTH CRAM-MD5\r\n"
	    "YWxpY2UgMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\r\n"),
	  { "+ PDEyMzQ+\r\n", "+OK\r\n" },
	  B("AUTH CRAM-MD5\r\n"
	    "YWxpY2UgMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\r\n"),
	  NULL, "", -1 },
	{ "AUTH CRAM-MD5 empty user", NULL, NULL,
	  B("AUTH CRAM-MD5\r\nIDAxMjM0NTY3ODlhYmNkZWY=\r\n"),
	  { "+ PDEyMzQ+\r\n" }, B("AUTH CRAM-MD5\r\n"), NULL,
	  "empty_username/prevent/AUTH CRAM-MD5 response|",
	  PROT_P3_EMPTY_USERNAME },
	{ "AUTH CRAM-MD5 initial response", NULL, NULL,
	  B("AUTH CRAM-MD5 YWxpY2UgMDEyMw==\r\n"), { NULL }, B(""), GREETING,
	  "non_compliant/prevent/AUTH CRAM-MD5|", PROT_P3_NON_COMPLIANT },
	{ "AUTH PLAIN CRLF inside", NULL, NULL,
	  B("AUTH PLAIN AGFsaQ0KY2UAcHc=\r\n"), { NULL }, B(""), GREETING,
	  "non_compliant/prevent/AUTH PLAIN|", PROT_P3_NON_COMPLIANT },
	{ "AUTH other mechanism relayed", NULL, NULL,
	  B("AUTH X-OTHER\r\nAAECAw==\r\n"), { "+ \r\n", "-ERR no\r\n" },
	  B("AUTH X-OTHER\r\nAAECAw==\r\n"), NULL, "", -1 },
	{ "AUTH mechanism list", NULL, NULL, B("AUTH\r\nNOOP\r\n"),
	  { "+OK\r\nPLAIN\r\nLOGIN\r\n.\r\n", "+OK\r\n" }, B("AUTH\r\nNOOP\r\n"),
	  GREETING "+OK\r\nPLAIN\r\nLOGIN\r\n.\r\n+OK\r\n", "", -1 },
	{ "SASL line over sasl_limit", "sasl=16", NULL,
	  B("AUTH PLAIN\r\nAGFsaWNlAHNlY3JldA==\r\n"), { "+ \r\n" },
	  B("AUTH PLAIN\r\n"), NULL,
	  "max_line_length/prevent/AUTH PLAIN response|",
	  PROT_P3_MAX_LINE_LENGTH },
	{ "XCLIENT after greeting", "ca=x", "+OK [XCLIENT] Dovecot ready.\r\n",
	  B("USER a\r\n"), { "+OK Updated\r\n", "+OK\r\n" },
	  B("XCLIENT\r\nUSER a\r\n"), GREETING "+OK\r\n", "", -1 },
	{ "XCLIENT code hidden without xclient", NULL,
	  "+OK [XCLIENT] Dovecot ready.\r\n", B("USER a\r\n"), { "+OK\r\n" },
	  B("USER a\r\n"), GREETING "+OK\r\n", "", -1 },
	{ "[XCLIENT]x is not the code", "ca=x", "+OK [XCLIENT]x ready.\r\n",
	  B("USER a\r\n"), { "+OK\r\n" }, B("USER a\r\n"),
	  "+OK [XCLIENT]x ready.\r\n+OK\r\n", "", -1 },
	{ "not inspected after login", "inspect=0", NULL,
	  B("USER a\r\nPASS b\r\nXYZZ\x01\r\n"),
	  { "+OK\r\n", "+OK\r\n.junk\r\n" },
	  B("USER a\r\nPASS b\r\nXYZZ\x01\r\n"), NULL, "", -1 },
	{ "pipelined past the queue", "preauth=100", NULL,
	  B(NOOP8 NOOP8 NOOP8 NOOP8 "NOOP\r\nNOOP\r\n"),
	  { OK8, OK8, OK8, OK8, "+OK\r\n", "+OK\r\n" },
	  B(NOOP8 NOOP8 NOOP8 NOOP8 "NOOP\r\nNOOP\r\n"),
	  GREETING OKS8 OKS8 OKS8 OKS8 "+OK\r\n+OK\r\n", "", -1 },
};

#define NCASES	(sizeof(st_cases) / sizeof(st_cases[0]))

static const size_t splits[] = { 1, 2, 3, 7, 100000 };

/* Each scripted session, in every split, gives the same wanted result. */
START_TEST(test_session)
{
	const struct st_case *tc = &st_cases[_i];
	static struct sim s;
	size_t		 k;

	for (k = 0; k < sizeof(splits) / sizeof(splits[0]); k++) {
		sim_run(&s, tc, splits[k]);
		ck_assert_msg(s.blen == tc->backend.n &&
		    memcmp(s.backend, tc->backend.p, s.blen) == 0,
		    "%s split %zu: backend got [%.*s]", tc->name, splits[k],
		    (int)s.blen, s.backend);
		if (tc->to_client != NULL)
			ck_assert_msg(s.tlen == strlen(tc->to_client) &&
			    memcmp(s.client, tc->to_client, s.tlen) == 0,
			    "%s split %zu: client got [%.*s]", tc->name,
			    splits[k], (int)s.tlen, s.client);
		ck_assert_msg(strcmp(s.events, tc->events) == 0,
		    "%s split %zu: events [%s]", tc->name, splits[k],
		    s.events);
		ck_assert_msg(s.block == tc->block, "%s split %zu: block %d",
		    tc->name, splits[k], s.block);
	}
}
END_TEST

/* The login name reaches the events, from USER and from decoded SASL. */
START_TEST(test_user)
{
	static struct sim s;
	static const struct st_case c1 = { "u", NULL, NULL,
	    B("AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"), { "+OK\r\n" }, B(""),
	    NULL, "", -1 };
	static const struct st_case c2 = { "u", NULL, NULL,
	    B("USER bob\r\n"), { "+OK\r\n" }, B(""), NULL, "", -1 };

	sim_run(&s, &c1, 100);
	ck_assert_str_eq(s.user, "alice");
	sim_run(&s, &c2, 1);
	ck_assert_str_eq(s.user, "bob");
}
END_TEST

/* The QUIT answer ends the session (RFC 1939 section 6), not before. */
START_TEST(test_quit)
{
	static struct sim s;
	static const struct st_case c1 = { "quit", NULL, NULL,
	    B("NOOP\r\nQUIT\r\n"), { "+OK\r\n", "+OK bye\r\n" }, B(""),
	    NULL, "", -1 };
	static const struct st_case c2 = { "noquit", NULL, NULL,
	    B("NOOP\r\n"), { "+OK\r\n" }, B(""), NULL, "", -1 };

	sim_run(&s, &c1, 1);
	ck_assert(s.st.quit_answered);
	ck_assert(!p3_awaiting_server(&s.st));
	sim_run(&s, &c2, 1);
	ck_assert(!s.st.quit_answered);
}
END_TEST

/* A server line without end is judged at P3_SRV_LINE_MAX. */
START_TEST(test_long_server_line)
{
	static struct sim s;
	static char	 resp[P3_SRV_LINE_MAX + 100];
	static struct st_case c = { "long", NULL, NULL, B("NOOP\r\n"),
	    { resp }, B("NOOP\r\n"), GREETING, NULL, PROT_P3_NON_COMPLIANT };

	memset(resp, 'A', sizeof(resp) - 1);
	sim_run(&s, &c, 4096);
	ck_assert_int_eq(s.block, PROT_P3_NON_COMPLIANT);
	ck_assert_uint_eq(s.tlen, strlen(GREETING));
}
END_TEST

/*
 * An overlong CAPA line under detect is judged in any split (its LF in
 * the same read or not) and skipped inside the CAPA body: the lines after
 * it are still capabilities (STLS dropped) and the next status line
 * answers the next command.
 */
START_TEST(test_long_capa_line)
{
	static struct sim s;
	static char	 resp[P3_SRV_LINE_MAX + 100], want[sizeof(resp) + 64];
	static char	 events[128];
	static struct st_case c = { "long capa", "non_compliant=detect", NULL,
	    B("CAPA\r\nUSER a\r\n"), { resp, "+OK\r\n" },
	    B("CAPA\r\nUSER a\r\n"), want, events, -1 };
	size_t		 n = P3_SRV_LINE_MAX + 10, k;
	static const size_t capa_splits[] = { 1, 4096, 100000 };

	memcpy(resp, "+OK\r\n", 5);
	memset(resp + 5, 'L', n);
	strcpy(resp + 5 + n, "\r\nSTLS\r\nUSER\r\n.\r\n");
	snprintf(want, sizeof(want), "%s+OK\r\n%.*s\r\nUSER\r\n.\r\n+OK\r\n",
	    GREETING, (int)n, resp + 5);
	snprintf(events, sizeof(events), "non_compliant/detect/%.64s|",
	    resp + 5);
	for (k = 0; k < sizeof(capa_splits) / sizeof(capa_splits[0]); k++) {
		sim_run(&s, &c, capa_splits[k]);
		ck_assert_int_eq(s.block, -1);
		ck_assert_str_eq(s.events, events);
		ck_assert_uint_eq(s.tlen, strlen(want));
		ck_assert(memcmp(s.client, want, s.tlen) == 0);
		ck_assert(!p3_awaiting_server(&s.st));
	}
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("p3_state");
	TCase	*tc = tcase_create("p3_state");
	SRunner	*sr;
	int	 nf;

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_session, 0, NCASES);
	tcase_add_test(tc, test_user);
	tcase_add_test(tc, test_quit);
	tcase_add_test(tc, test_long_server_line);
	tcase_add_test(tc, test_long_capa_line);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
