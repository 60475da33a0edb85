/* SPDX-License-Identifier: ISC */
/*
 * conf.c: the configuration schema of SPEC section 2 in libconfuse, and its
 * copy into a plain struct policy.  The only file that includes confuse.h:
 * values are checked while parsing (so errors carry the line they are on),
 * then copied out and libconfuse's tree is freed.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <confuse.h>

#include "conf.h"
#include "conf_text.h"

/* Keys every protection section may carry, whatever its title. */
#define PROT_COMMON_OPTS \
	CFG_STR("action", NULL, CFGF_NODEFAULT), \
	CFG_STR_LIST("exempt_networks", NULL, CFGF_NODEFAULT)

static cfg_opt_t conf_prot_opts[] = {
	PROT_COMMON_OPTS,
	CFG_INT("limit", 0, CFGF_NODEFAULT),
	CFG_INT("sasl_limit", 0, CFGF_NODEFAULT),
	CFG_INT("preauth_limit", 0, CFGF_NODEFAULT),
	CFG_BOOL("strict_crlf", cfg_false, CFGF_NODEFAULT),
	CFG_STR("sensitivity", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("allow_networks", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("deny_mechanisms", NULL, CFGF_NODEFAULT),
	CFG_BOOL("require_tls", cfg_false, CFGF_NODEFAULT),
	CFG_STR_LIST("block_commands", NULL, CFGF_NODEFAULT),
	CFG_END()
};

static cfg_opt_t conf_log_opts[] = {
	CFG_BOOL("syslog", cfg_true, CFGF_NONE),
	CFG_STR("syslog_facility", "mail", CFGF_NONE),
	CFG_STR("json_file", "", CFGF_NONE),
	CFG_INT("max_events_per_second", 100, CFGF_NONE),
	CFG_END()
};

static cfg_opt_t conf_pop3_opts[] = {
	CFG_STR_LIST("listen", "{127.0.0.1:1110}", CFGF_NONE),
	CFG_STR("backend", "127.0.0.1:110", CFGF_NONE),
	CFG_STR("backend_client_address", "none", CFGF_NONE),
	CFG_STR("tls", "block", CFGF_NONE),
	CFG_STR_LIST("tls_listen", "{}", CFGF_NONE),
	CFG_STR("tls_cert", "", CFGF_NONE),
	CFG_STR("tls_key", "", CFGF_NONE),
	CFG_BOOL("disable_plaintext_auth", cfg_true, CFGF_NONE),
	CFG_INT("max_connections", 10000, CFGF_NONE),
	CFG_INT("max_connections_per_ip", 100, CFGF_NONE),
	CFG_INT("preauth_timeout", 60, CFGF_NONE),
	CFG_INT("session_timeout", 600, CFGF_NONE),
	CFG_INT("backend_timeout", 10, CFGF_NONE),
	CFG_BOOL("inspect_after_auth", cfg_true, CFGF_NONE),
	CFG_SEC("protection", conf_prot_opts,
	    CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
	CFG_END()
};

static cfg_opt_t conf_smtp_opts[] = {
	CFG_STR("socket", "inet:8890@127.0.0.1", CFGF_NONE),
	CFG_STR_LIST("local_domains", "{}", CFGF_NONE),
	CFG_STR_LIST("internal_networks", "{}", CFGF_NONE),
	CFG_BOOL("detect_header", cfg_false, CFGF_NONE),
	CFG_SEC("protection", conf_prot_opts,
	    CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
	CFG_END()
};

static cfg_opt_t conf_root_opts[] = {
	CFG_STR_LIST("exempt_networks", "{}", CFGF_NONE),
	CFG_INT("shutdown_timeout", 30, CFGF_NONE),
	CFG_STR("user", "", CFGF_NONE),
	CFG_STR("group", "", CFGF_NONE),
	CFG_SEC("log", conf_log_opts, CFGF_NONE),
	CFG_SEC("pop3", conf_pop3_opts, CFGF_NONE),
	CFG_SEC("smtp", conf_smtp_opts, CFGF_NONE),
	CFG_END()
};

/* Integer keys and their accepted ranges. */
struct conf_range {
	const char	*path;		/* cfg_set_validate_func path */
	long		 min;		/* smallest accepted */
	long		 max;		/* largest accepted */
};

static const struct conf_range conf_ranges[] = {
	{ "shutdown_timeout", 0, 3600 },
	{ "log|max_events_per_second", 1, 1000000 },
	{ "pop3|max_connections", 1, 1000000 },
	{ "pop3|max_connections_per_ip", 1, 1000000 },
	{ "pop3|preauth_timeout", 1, 86400 },
	{ "pop3|session_timeout", 1, 86400 },
	{ "pop3|backend_timeout", 1, 3600 },
};

/* Per-protection limits: pop3 line buffers are sized from these. */
struct conf_limit {
	enum prot_id	 id;		/* protection */
	const char	*key;		/* limit, sasl_limit, preauth_limit */
	long		 min;		/* smallest accepted */
	long		 max;		/* largest accepted */
};

static const struct conf_limit conf_limits[] = {
	{ PROT_P3_MAX_LINE_LENGTH, "limit", 16, 65536 },
	{ PROT_P3_MAX_LINE_LENGTH, "sasl_limit", 16, 65536 },
	{ PROT_P3_MAX_COMMANDS, "limit", 1, 1000000000 },
	{ PROT_P3_MAX_COMMANDS, "preauth_limit", 1, 1000000000 },
	{ PROT_P3_MAX_BAD_COMMANDS, "limit", 0, 1000000 },
	{ PROT_SMTP_MAX_LINE_LENGTH, "limit", 1, 1000000 },
	{ PROT_SMTP_AUTH_OVERFLOW, "limit", 16, 1000000 },
	{ PROT_SMTP_MAX_BAD_COMMANDS, "limit", 0, 1000000 },
};

/* Protection-specific keys and the REG_K_* bit that allows each. */
static const struct {
	const char	*key;		/* option name */
	unsigned	 bit;		/* REG_K_* */
} conf_prot_keys[] = {
	{ "limit", REG_K_LIMIT },
	{ "sasl_limit", REG_K_SASL_LIMIT },
	{ "preauth_limit", REG_K_PREAUTH_LIMIT },
	{ "strict_crlf", REG_K_STRICT_CRLF },
	{ "sensitivity", REG_K_SENSITIVITY },
	{ "allow_networks", REG_K_ALLOW_NETWORKS },
	{ "deny_mechanisms", REG_K_DENY_MECHANISMS },
	{ "require_tls", REG_K_REQUIRE_TLS },
	{ "block_commands", REG_K_BLOCK_COMMANDS },
};

static FILE	*conf_errf;		/* where errors go during conf_read */
static const char *conf_path;		/* the file conf_read parses */
static int	 conf_nerrors;		/* errors reported so far */

/*
 * libconfuse error sink: "file:line: message" on one line.  A message
 * quotes the value it refuses, which may hold any octet of the file:
 * control characters are escaped, so a value spanning lines cannot break
 * the message in two.
 */
static void
conf_errfunc_cb(cfg_t *cfg, const char *fmt, va_list ap)
{
	const char	*file = conf_path != NULL ? conf_path : "(config)";
	char		 msg[1024];
	const char	*c;

	conf_nerrors++;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(conf_errf, "%s:%d: ", file, cfg != NULL ? cfg->line : 0);
	for (c = msg; *c != '\0'; c++) {
		if (*c == '\n')
			fputs("\\n", conf_errf);
		else if ((unsigned char)*c < 0x20 || *c == 0x7f)
			fprintf(conf_errf, "\\x%02x", (unsigned char)*c);
		else
			fputc(*c, conf_errf);
	}
	fputc('\n', conf_errf);
}

/* Validate an "action" value. */
static int
conf_action_cb(cfg_t *cfg, cfg_opt_t *opt)
{
	const char	*v = cfg_opt_getnstr(opt, cfg_opt_size(opt) - 1);

	if (strcmp(v, "prevent") && strcmp(v, "detect") && strcmp(v, "off")) {
		cfg_error(cfg, "action must be prevent, detect or off, "
		    "not '%s'", v);
		return -1;
	}
	return 0;
}

/* Validate the newest element of a list of networks. */
static int
conf_cidr_cb(cfg_t *cfg, cfg_opt_t *opt)
{
	unsigned	 i;
	struct cidr	 c;

	for (i = 0; i < cfg_opt_size(opt); i++) {
		const char *v = cfg_opt_getnstr(opt, i);

		if (cidr_parse(v, &c) == -1) {
			cfg_error(cfg, "%s: bad network '%s'", opt->name, v);
			return -1;
		}
	}
	return 0;
}

/* Validate an integer against its range in conf_ranges. */
static int
conf_range_cb(cfg_t *cfg, cfg_opt_t *opt)
{
	long	 v = cfg_opt_getnint(opt, 0);
	size_t	 i;

	for (i = 0; i < sizeof(conf_ranges) / sizeof(conf_ranges[0]); i++) {
		const char *leaf = strrchr(conf_ranges[i].path, '|');

		leaf = leaf != NULL ? leaf + 1 : conf_ranges[i].path;
		if (strcmp(leaf, opt->name) != 0)
			continue;
		if (v < conf_ranges[i].min || v > conf_ranges[i].max) {
			cfg_error(cfg, "%s must be between %ld and %ld, not %ld",
			    opt->name, conf_ranges[i].min, conf_ranges[i].max,
			    v);
			return -1;
		}
		return 0;
	}
	return 0;
}

/* Validate one of a fixed set of words. */
static int
conf_word_check(cfg_t *cfg, cfg_opt_t *opt, const char *const *words)
{
	const char	*v = cfg_opt_getnstr(opt, 0);
	size_t		 i, n = 0;
	char		 list[128] = "";

	for (i = 0; words[i] != NULL; i++) {
		if (strcmp(v, words[i]) == 0)
			return 0;
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
		    i > 0 ? ", " : "", words[i]);
		if (n >= sizeof(list))
			n = sizeof(list) - 1;
	}
	cfg_error(cfg, "%s must be one of %s, not '%s'", opt->name, list, v);
	return -1;
}

static const char *const conf_ca_words[] = {
	"none", "proxy-v1", "proxy-v2", "xclient", NULL
};
static const char *const conf_tls_words[] = {
	"block", "terminate", "passthrough", NULL
};
static const char *const conf_sens_words[] = {
	"low", "medium", "high", NULL
};

/* backend_client_address */
static int
conf_ca_cb(cfg_t *cfg, cfg_opt_t *opt)
{
	return conf_word_check(cfg, opt, conf_ca_words);
}

/* tls */
static int
conf_tls_cb(cfg_t *cfg, cfg_opt_t *opt)
{
	return conf_word_check(cfg, opt, conf_tls_words);
}

/* sensitivity */
static int
conf_sens_cb(cfg_t *cfg, cfg_opt_t *opt)
{
	return conf_word_check(cfg, opt, conf_sens_words);
}

/* Syslog facility names accepted, with their values. */
static const struct {
	const char	*name;		/* as configured */
	int		 facility;	/* LOG_* */
} conf_facilities[] = {
	{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON }, { "auth", LOG_AUTH },
	{ "authpriv", LOG_AUTHPRIV }, { "user", LOG_USER },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

/* The LOG_* value of a facility name, or -1. */
static int
conf_facility(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(conf_facilities) / sizeof(conf_facilities[0]);
	    i++)
		if (strcmp(conf_facilities[i].name, name) == 0)
			return conf_facilities[i].facility;
	return -1;
}

/* syslog_facility */
static int
conf_facility_cb(cfg_t *cfg, cfg_opt_t *opt)
{
	const char	*v = cfg_opt_getnstr(opt, 0);

	if (conf_facility(v) == -1) {
		cfg_error(cfg, "syslog_facility '%s' is not a syslog facility "
		    "(mail, daemon, auth, authpriv, user, local0-local7)", v);
		return -1;
	}
	return 0;
}

/*
 * A UNIX socket's path must fit a sockaddr_un: refused here, with the
 * line, rather than when the daemon first binds or connects.
 */
static int
conf_unix_path(cfg_t *cfg, const char *name, const char *path)
{
	size_t	 max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;

	if (strlen(path) <= max)
		return 0;
	cfg_error(cfg, "%s: UNIX socket path longer than %zu octets", name,
	    max);
	return -1;
}

/* listen, tls_listen, backend: "host:port", "[v6]:port", "unix:/path". */
static int
conf_hostport_cb(cfg_t *cfg, cfg_opt_t *opt)
{
	unsigned	 i, port;
	char		 host[256];

	for (i = 0; i < cfg_opt_size(opt); i++) {
		const char *v = cfg_opt_getnstr(opt, i);

		if (strcmp(opt->name, "backend") == 0 &&
		    strncmp(v, "unix:/", 6) == 0) {
			if (conf_unix_path(cfg, opt->name, v + 5) == -1)
				return -1;
			continue;
		}
		if (pol_hostport(v, host, sizeof(host), &port) == -1) {
			cfg_error(cfg, "%s: '%s' is not host:port or "
			    "[address]:port%s", opt->name, v,
			    strcmp(opt->name, "backend") == 0 ?
			    " or unix:/path" : "");
			return -1;
		}
	}
	return 0;
}

/* smtp socket: the libmilter syntax. */
static int
conf_socket_cb(cfg_t *cfg, cfg_opt_t *opt)
{
	const char	*v = cfg_opt_getnstr(opt, 0), *at;
	char		*end;
	long		 port;

	if (strncmp(v, "unix:/", 6) == 0 || strncmp(v, "local:/", 7) == 0)
		return conf_unix_path(cfg, opt->name, strchr(v, ':') + 1);
	if (strncmp(v, "inet:", 5) == 0 || strncmp(v, "inet6:", 6) == 0) {
		const char *p = strchr(v, ':') + 1;

		errno = 0;
		port = strtol(p, &end, 10);
		at = strchr(p, '@');
		if (errno == 0 && end != p && port > 0 && port < 65536 &&
		    (*end == '\0' || (end == at && at[1] != '\0')))
			return 0;
	}
	cfg_error(cfg, "socket '%s' is not inet:PORT@HOST, inet6:PORT@HOST "
	    "or unix:/path", v);
	return -1;
}

/* Words that must be SMTP/SASL tokens: letters, digits, '-', '_'. */
static int
conf_token_cb(cfg_t *cfg, cfg_opt_t *opt)
{
	unsigned	 i;
	const char	*p;

	for (i = 0; i < cfg_opt_size(opt); i++) {
		const char *v = cfg_opt_getnstr(opt, i);

		for (p = v; *p != '\0'; p++)
			if (!isalnum((unsigned char)*p) && *p != '-' &&
			    *p != '_' && *p != '.')
				break;
		if (*v == '\0' || *p != '\0' || p - v > 64) {
			cfg_error(cfg, "%s: '%s' is not a valid name",
			    opt->name, v);
			return -1;
		}
	}
	return 0;
}

/*
 * A protection section: its title must name a protection of the service
 * and it may carry only the keys that protection takes.  libconfuse calls
 * this once the section has been read, so the errors carry the line of the
 * section's closing brace at worst; the section's own line is used.
 */
static int
conf_prot_cb(cfg_t *parent, cfg_opt_t *opt)
{
	cfg_t		*sec = cfg_opt_getnsec(opt, cfg_opt_size(opt) - 1);
	enum reg_service svc = strcmp(parent->name, "pop3") == 0 ?
	    REG_SVC_POP3 : REG_SVC_SMTP;
	const char	*title = cfg_title(sec);
	const struct reg_prot *rp;
	int		 id;
	size_t		 i;

	if ((id = reg_lookup(svc, title)) == -1) {
		cfg_error(parent, "unknown protection '%s' in %s section",
		    title, reg_service_name(svc));
		return -1;
	}
	rp = reg_get((enum prot_id)id);
	for (i = 0; i < sizeof(conf_prot_keys) / sizeof(conf_prot_keys[0]);
	    i++) {
		if (cfg_size(sec, conf_prot_keys[i].key) == 0 ||
		    (rp->keys & conf_prot_keys[i].bit) != 0)
			continue;
		cfg_error(parent, "protection %s takes no '%s'", rp->fullname,
		    conf_prot_keys[i].key);
		return -1;
	}
	for (i = 0; i < sizeof(conf_limits) / sizeof(conf_limits[0]); i++) {
		long	 v;

		if (conf_limits[i].id != rp->id ||
		    cfg_size(sec, conf_limits[i].key) == 0)
			continue;
		v = cfg_getint(sec, conf_limits[i].key);
		if (v < conf_limits[i].min || v > conf_limits[i].max) {
			cfg_error(parent, "protection %s: %s must be between "
			    "%ld and %ld, not %ld", rp->fullname,
			    conf_limits[i].key, conf_limits[i].min,
			    conf_limits[i].max, v);
			return -1;
		}
	}
	return 0;
}

/* Register every value check on a fresh cfg tree. */
static void
conf_set_validators(cfg_t *cfg)
{
	static const char *const cidr_paths[] = {
		"exempt_networks", "pop3|protection|exempt_networks",
		"smtp|protection|exempt_networks",
		"smtp|protection|allow_networks", "smtp|internal_networks",
		"pop3|protection|allow_networks",
	};
	static const char *const token_paths[] = {
		"smtp|protection|deny_mechanisms",
		"smtp|protection|block_commands", "smtp|local_domains",
		"pop3|protection|deny_mechanisms",
		"pop3|protection|block_commands",
	};
	size_t	 i;

	for (i = 0; i < sizeof(cidr_paths) / sizeof(cidr_paths[0]); i++)
		cfg_set_validate_func(cfg, cidr_paths[i], conf_cidr_cb);
	for (i = 0; i < sizeof(token_paths) / sizeof(token_paths[0]); i++)
		cfg_set_validate_func(cfg, token_paths[i], conf_token_cb);
	for (i = 0; i < sizeof(conf_ranges) / sizeof(conf_ranges[0]); i++)
		cfg_set_validate_func(cfg, conf_ranges[i].path, conf_range_cb);
	cfg_set_validate_func(cfg, "pop3|protection|action", conf_action_cb);
	cfg_set_validate_func(cfg, "smtp|protection|action", conf_action_cb);
	cfg_set_validate_func(cfg, "pop3|protection|sensitivity",
	    conf_sens_cb);
	cfg_set_validate_func(cfg, "smtp|protection|sensitivity",
	    conf_sens_cb);
	cfg_set_validate_func(cfg, "pop3|protection", conf_prot_cb);
	cfg_set_validate_func(cfg, "smtp|protection", conf_prot_cb);
	cfg_set_validate_func(cfg, "pop3|backend_client_address", conf_ca_cb);
	cfg_set_validate_func(cfg, "pop3|tls", conf_tls_cb);
	cfg_set_validate_func(cfg, "pop3|listen", conf_hostport_cb);
	cfg_set_validate_func(cfg, "pop3|tls_listen", conf_hostport_cb);
	cfg_set_validate_func(cfg, "pop3|backend", conf_hostport_cb);
	cfg_set_validate_func(cfg, "smtp|socket", conf_socket_cb);
	cfg_set_validate_func(cfg, "log|syslog_facility", conf_facility_cb);
}

/* Copy a string list, optionally folding case. */
static int
conf_copy_strlist(cfg_t *cfg, const char *key, struct strlist *out, int fold)
{
	unsigned	 i, n = cfg_size(cfg, key);
	char		*p;

	out->n = 0;
	if (n == 0)
		return 0;
	if ((out->v = calloc(n, sizeof(*out->v))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if ((out->v[i] = strdup(cfg_getnstr(cfg, key, i))) == NULL)
			return -1;
		out->n++;
		for (p = out->v[i]; fold != 0 && *p != '\0'; p++)
			*p = (char)(fold > 0 ? toupper((unsigned char)*p) :
			    tolower((unsigned char)*p));
	}
	return 0;
}

/* Copy a list of networks (already validated). */
static int
conf_copy_cidrs(cfg_t *cfg, const char *key, struct cidr_set *out)
{
	unsigned	 i, n = cfg_size(cfg, key);
	struct cidr	 c;

	for (i = 0; i < n; i++) {
		if (cidr_parse(cfg_getnstr(cfg, key, i), &c) == -1)
			return -1;
		if (cidr_set_add(out, &c) == -1)
			return -1;
	}
	return 0;
}

/* Replace a string with a copy of a configured one. */
static int
conf_copy_str(cfg_t *cfg, const char *key, char **out)
{
	char	*s = strdup(cfg_getstr(cfg, key));

	if (s == NULL)
		return -1;
	free(*out);
	*out = s;
	return 0;
}

/* Index of word in a NULL-terminated list (already validated). */
static int
conf_word_index(const char *const *words, const char *v)
{
	int	 i;

	for (i = 0; words[i] != NULL; i++)
		if (strcmp(words[i], v) == 0)
			return i;
	return 0;
}

/* Copy the protection sections of one service over the defaults. */
static int
conf_copy_prots(cfg_t *svc_cfg, enum reg_service svc, struct policy *pol)
{
	unsigned	 i, n = cfg_size(svc_cfg, "protection");

	for (i = 0; i < n; i++) {
		cfg_t		*sec = cfg_getnsec(svc_cfg, "protection", i);
		int		 id = reg_lookup(svc, cfg_title(sec));
		struct pol_prot	*p;
		const char	*a;

		if (id < 0)
			return -1;
		p = &pol->prot[id];
		if (cfg_size(sec, "action") > 0) {
			a = cfg_getstr(sec, "action");
			p->action = strcmp(a, "prevent") == 0 ? ACT_PREVENT :
			    strcmp(a, "detect") == 0 ? ACT_DETECT : ACT_OFF;
		}
		if (cfg_size(sec, "limit") > 0)
			p->limit = cfg_getint(sec, "limit");
		if (cfg_size(sec, "sasl_limit") > 0)
			p->sasl_limit = cfg_getint(sec, "sasl_limit");
		if (cfg_size(sec, "preauth_limit") > 0)
			p->preauth_limit = cfg_getint(sec, "preauth_limit");
		if (cfg_size(sec, "strict_crlf") > 0)
			p->strict_crlf = cfg_getbool(sec, "strict_crlf");
		if (cfg_size(sec, "require_tls") > 0)
			p->require_tls = cfg_getbool(sec, "require_tls");
		if (cfg_size(sec, "sensitivity") > 0)
			p->sensitivity = conf_word_index(conf_sens_words,
			    cfg_getstr(sec, "sensitivity"));
		if (conf_copy_cidrs(sec, "exempt_networks", &p->exempt) ||
		    conf_copy_cidrs(sec, "allow_networks",
		    &p->allow_networks) ||
		    conf_copy_strlist(sec, "deny_mechanisms",
		    &p->deny_mechanisms, 1) ||
		    conf_copy_strlist(sec, "block_commands",
		    &p->block_commands, 1))
			return -1;
	}
	return 0;
}

/* Copy the pop3 { } section. */
static int
conf_copy_pop3(cfg_t *c, struct pol_pop3 *p)
{
	free(p->listen.v[0]);
	free(p->listen.v);
	p->listen.v = NULL;
	p->listen.n = 0;
	if (conf_copy_strlist(c, "listen", &p->listen, 0) ||
	    conf_copy_str(c, "backend", &p->backend) ||
	    conf_copy_strlist(c, "tls_listen", &p->tls_listen, 0) ||
	    conf_copy_str(c, "tls_cert", &p->tls_cert) ||
	    conf_copy_str(c, "tls_key", &p->tls_key))
		return -1;
	p->backend_client_address = conf_word_index(conf_ca_words,
	    cfg_getstr(c, "backend_client_address"));
	p->tls = conf_word_index(conf_tls_words, cfg_getstr(c, "tls"));
	p->disable_plaintext_auth = cfg_getbool(c, "disable_plaintext_auth");
	p->max_connections = cfg_getint(c, "max_connections");
	p->max_connections_per_ip = cfg_getint(c, "max_connections_per_ip");
	p->preauth_timeout = cfg_getint(c, "preauth_timeout");
	p->session_timeout = cfg_getint(c, "session_timeout");
	p->backend_timeout = cfg_getint(c, "backend_timeout");
	p->inspect_after_auth = cfg_getbool(c, "inspect_after_auth");
	return 0;
}

/* Copy the whole tree over the defaults in pol. */
static int
conf_copy(cfg_t *cfg, struct policy *pol)
{
	cfg_t	*log = cfg_getsec(cfg, "log");
	cfg_t	*smtp = cfg_getsec(cfg, "smtp");

	pol->shutdown_timeout = cfg_getint(cfg, "shutdown_timeout");
	pol->log.syslog = cfg_getbool(log, "syslog");
	pol->log.syslog_facility =
	    conf_facility(cfg_getstr(log, "syslog_facility"));
	pol->log.max_events_per_second =
	    cfg_getint(log, "max_events_per_second");
	pol->smtp.detect_header = cfg_getbool(smtp, "detect_header");
	if (conf_copy_cidrs(cfg, "exempt_networks", &pol->exempt) ||
	    conf_copy_str(cfg, "user", &pol->user) ||
	    conf_copy_str(cfg, "group", &pol->group) ||
	    conf_copy_str(log, "json_file", &pol->log.json_file) ||
	    conf_copy_pop3(cfg_getsec(cfg, "pop3"), &pol->pop3) ||
	    conf_copy_str(smtp, "socket", &pol->smtp.socket) ||
	    conf_copy_strlist(smtp, "local_domains", &pol->smtp.local_domains,
	    -1) ||
	    conf_copy_cidrs(smtp, "internal_networks",
	    &pol->smtp.internal_networks) ||
	    conf_copy_prots(cfg_getsec(cfg, "pop3"), REG_SVC_POP3, pol) ||
	    conf_copy_prots(smtp, REG_SVC_SMTP, pol))
		return -1;
	return 0;
}

/* The defaults of SPEC section 2. */
int
conf_defaults(struct policy *pol)
{
	int	 i;

	memset(pol, 0, sizeof(*pol));
	pol->refs = 1;
	pol->shutdown_timeout = 30;
	pol->log.syslog = true;
	pol->log.syslog_facility = LOG_MAIL;
	pol->log.max_events_per_second = 100;
	pol->pop3.backend_client_address = POL_CA_NONE;
	pol->pop3.tls = POL_TLS_BLOCK;
	pol->pop3.disable_plaintext_auth = true;
	pol->pop3.max_connections = 10000;
	pol->pop3.max_connections_per_ip = 100;
	pol->pop3.preauth_timeout = 60;
	pol->pop3.session_timeout = 600;
	pol->pop3.backend_timeout = 10;
	pol->pop3.inspect_after_auth = true;
	for (i = 0; i < PROT_COUNT; i++) {
		const struct reg_prot *rp = reg_get((enum prot_id)i);
		struct pol_prot	*p = &pol->prot[i];

		p->action = rp->def_action;
		p->limit = rp->def_limit;
		if (rp->keys & REG_K_SASL_LIMIT)
			p->sasl_limit = rp->def_limit2;
		if (rp->keys & REG_K_PREAUTH_LIMIT)
			p->preauth_limit = rp->def_limit2;
		p->sensitivity = MCP_MEDIUM;
	}
	if ((pol->file = strdup("")) == NULL ||
	    (pol->user = strdup("")) == NULL ||
	    (pol->group = strdup("")) == NULL ||
	    (pol->log.json_file = strdup("")) == NULL ||
	    (pol->pop3.listen.v = calloc(1, sizeof(char *))) == NULL ||
	    (pol->pop3.listen.v[0] = strdup("127.0.0.1:1110")) == NULL ||
	    (pol->pop3.backend = strdup("127.0.0.1:110")) == NULL ||
	    (pol->pop3.tls_cert = strdup("")) == NULL ||
	    (pol->pop3.tls_key = strdup("")) == NULL ||
	    (pol->smtp.socket = strdup("inet:8890@127.0.0.1")) == NULL)
		return -1;
	pol->pop3.listen.n = 1;
	return 0;
}

/* Parse the file into a new policy; errors to errf. */
struct policy *
conf_read(const char *path, FILE *errf)
{
	struct policy	*pol;
	struct conf_text text;
	cfg_t		*cfg;
	int		 rc;

	conf_errf = errf != NULL ? errf : stderr;
	conf_path = path;
	conf_nerrors = 0;
	if ((pol = calloc(1, sizeof(*pol))) == NULL ||
	    conf_defaults(pol) == -1) {
		fprintf(conf_errf, "%s: out of memory\n", path);
		pol_unref(pol);
		return NULL;
	}
	free(pol->file);
	if ((pol->file = strdup(path)) == NULL) {
		pol_unref(pol);
		return NULL;
	}
	if (conf_text_read(path, &text, conf_errf) == -1) {
		pol_unref(pol);
		return NULL;
	}
	if ((cfg = cfg_init(conf_root_opts, CFGF_NONE)) == NULL) {
		fprintf(conf_errf, "%s: out of memory\n", path);
		conf_text_free(&text);
		pol_unref(pol);
		return NULL;
	}
	cfg_set_error_function(cfg, conf_errfunc_cb);
	conf_set_validators(cfg);
	rc = cfg_parse_buf(cfg, text.buf);
	if (rc != CFG_SUCCESS && conf_nerrors == 0) {
		fprintf(conf_errf, "%s:%d: cannot parse\n", path, text.lines);
	} else if (rc == CFG_SUCCESS && conf_copy(cfg, pol) == -1) {
		fprintf(conf_errf, "%s: out of memory\n", path);
		rc = CFG_PARSE_ERROR;
	}
	cfg_free(cfg);
	conf_text_free(&text);
	if (rc != CFG_SUCCESS) {
		pol_unref(pol);
		return NULL;
	}
	return pol;
}
