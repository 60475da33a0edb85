/* SPDX-License-Identifier: ISC */
/*
 * registry.h: the one table of every protection of SPEC section 3: its id,
 * service, configuration name, attack_name and attack_info.  Nothing else in
 * the tree spells those strings.
 */
#ifndef MW_REGISTRY_H
#define MW_REGISTRY_H

enum reg_service {
	REG_SVC_POP3,
	REG_SVC_SMTP,
};

/* Table order is the SPEC's judging order within each service. */
enum prot_id {
	PROT_P3_MAX_LINE_LENGTH,
	PROT_P3_MAX_COMMANDS,
	PROT_P3_STARTTLS,
	PROT_P3_EMPTY_USERNAME,
	PROT_P3_EMPTY_PASSWORD,
	PROT_P3_MALICIOUS_CODE,
	PROT_P3_NON_COMPLIANT,
	PROT_P3_MAX_BAD_COMMANDS,
	PROT_SMTP_MAX_LINE_LENGTH,
	PROT_SMTP_UNKNOWN_COMMAND,
	PROT_SMTP_AUTH_OVERFLOW,
	PROT_SMTP_AUTH,
	PROT_SMTP_MALICIOUS_CODE,
	PROT_SMTP_EXTERNAL_MAIL,
	PROT_SMTP_MAX_BAD_COMMANDS,
	PROT_COUNT
};

enum pol_action {
	ACT_OFF,
	ACT_DETECT,
	ACT_PREVENT,
};

/* Which protection-specific keys a protection section accepts. */
#define REG_K_LIMIT		0x001	/* limit */
#define REG_K_SASL_LIMIT	0x002	/* sasl_limit */
#define REG_K_PREAUTH_LIMIT	0x004	/* preauth_limit */
#define REG_K_STRICT_CRLF	0x008	/* strict_crlf */
#define REG_K_SENSITIVITY	0x010	/* sensitivity */
#define REG_K_ALLOW_NETWORKS	0x020	/* allow_networks */
#define REG_K_DENY_MECHANISMS	0x040	/* deny_mechanisms */
#define REG_K_REQUIRE_TLS	0x080	/* require_tls */
#define REG_K_BLOCK_COMMANDS	0x100	/* block_commands */

/*
 * The detail of a client line that is not a command of its protocol and
 * not shaped like one either (SASL data out of turn, a password at the
 * wrong prompt): its length only, never its bytes.  printf format of one
 * size_t; REG_UNKNOWN_DETAIL_MAX holds it.
 */
#define REG_UNKNOWN_DETAIL	"(unknown command, %zu octets)"
#define REG_UNKNOWN_DETAIL_MAX	48

struct reg_prot {
	enum prot_id	 id;		/* index into the table */
	enum reg_service service;	/* pop3 or smtp */
	const char	*name;		/* configuration title: "empty_username" */
	const char	*fullname;	/* log name: "pop3.empty_username" */
	const char	*attack_name;	/* SPEC section 3; may hold one %s (VERB) */
	const char	*attack_info;	/* SPEC section 3 */
	enum pol_action	 def_action;	/* default action */
	long		 def_limit;	/* default limit, 0 if none */
	long		 def_limit2;	/* default sasl_limit / preauth_limit */
	unsigned	 keys;		/* REG_K_* accepted in its section */
};

/* The entry of protection id (never NULL for id < PROT_COUNT). */
const struct reg_prot	*reg_get(enum prot_id);
/* Find a protection by service and configuration name; -1 if unknown. */
int			 reg_lookup(enum reg_service, const char *name);
/* "pop3" or "smtp". */
const char		*reg_service_name(enum reg_service);
/* "off", "detect", "prevent". */
const char		*reg_action_name(enum pol_action);

#endif
