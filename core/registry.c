/* SPDX-License-Identifier: ISC */
/*
 * registry.c: the table of protections.  SPEC section 3 is the source of
 * every string here; tests pin them.
 */
#include <string.h>

#include "registry.h"

#define P3_POLICY	"POP3 Policy Violation"
#define SMTP_SECURITY	"SMTP Security Violation"
#define MCP_INFO	"Malicious Code Protector"

static const struct reg_prot reg_table[PROT_COUNT] = {
	{ PROT_P3_MAX_LINE_LENGTH, REG_SVC_POP3, "max_line_length",
	  "pop3.max_line_length", "POP3 Format Violation",
	  "Command line is too long", ACT_PREVENT, 255, 4096,
	  REG_K_LIMIT | REG_K_SASL_LIMIT },
	{ PROT_P3_MAX_COMMANDS, REG_SVC_POP3, "max_commands",
	  "pop3.max_commands", P3_POLICY, "Too many commands",
	  ACT_PREVENT, 10000, 30, REG_K_LIMIT | REG_K_PREAUTH_LIMIT },
	{ PROT_P3_STARTTLS, REG_SVC_POP3, "starttls", "pop3.starttls",
	  P3_POLICY, "Illegal POP3 TLS session", ACT_PREVENT, 0, 0, 0 },
	{ PROT_P3_EMPTY_USERNAME, REG_SVC_POP3, "empty_username",
	  "pop3.empty_username", P3_POLICY,
	  "No username supplied in USER command", ACT_PREVENT, 0, 0, 0 },
	{ PROT_P3_EMPTY_PASSWORD, REG_SVC_POP3, "empty_password",
	  "pop3.empty_password", P3_POLICY,
	  "No password supplied in PASS command", ACT_PREVENT, 0, 0, 0 },
	{ PROT_P3_MALICIOUS_CODE, REG_SVC_POP3, "malicious_code",
	  "pop3.malicious_code", "POP3 Security Violation", MCP_INFO,
	  ACT_PREVENT, 0, 0, REG_K_SENSITIVITY },
	{ PROT_P3_NON_COMPLIANT, REG_SVC_POP3, "non_compliant",
	  "pop3.non_compliant", P3_POLICY,
	  "Non protocol-compliant connection", ACT_PREVENT, 0, 0,
	  REG_K_STRICT_CRLF },
	{ PROT_P3_MAX_BAD_COMMANDS, REG_SVC_POP3, "max_bad_commands",
	  "pop3.max_bad_commands", P3_POLICY, "Too many bad commands",
	  ACT_PREVENT, 10, 0, REG_K_LIMIT },
	{ PROT_SMTP_MAX_LINE_LENGTH, REG_SVC_SMTP, "max_line_length",
	  "smtp.max_line_length", "SMTP Format Violation",
	  "Command line is too long", ACT_PREVENT, 1000, 0, REG_K_LIMIT },
	{ PROT_SMTP_UNKNOWN_COMMAND, REG_SVC_SMTP, "unknown_command",
	  "smtp.unknown_command", "Received an unknown command (%s)",
	  "mail server", ACT_DETECT, 0, 0, REG_K_BLOCK_COMMANDS },
	{ PROT_SMTP_AUTH_OVERFLOW, REG_SVC_SMTP, "auth_overflow",
	  "smtp.auth_overflow", "SMTP AUTH CRAM-MD5 Buffer Overflow",
	  "CVE-2007-4440", ACT_PREVENT, 512, 0, REG_K_LIMIT },
	{ PROT_SMTP_AUTH, REG_SVC_SMTP, "auth", "smtp.auth", SMTP_SECURITY,
	  "Command was blocked by Security Policy", ACT_PREVENT, 0, 0,
	  REG_K_ALLOW_NETWORKS | REG_K_DENY_MECHANISMS | REG_K_REQUIRE_TLS },
	{ PROT_SMTP_MALICIOUS_CODE, REG_SVC_SMTP, "malicious_code",
	  "smtp.malicious_code", SMTP_SECURITY, MCP_INFO, ACT_PREVENT, 0, 0,
	  REG_K_SENSITIVITY },
	{ PROT_SMTP_EXTERNAL_MAIL, REG_SVC_SMTP, "external_mail",
	  "smtp.external_mail", "Mail",
	  "A connection attempt to an external mail server", ACT_OFF, 0, 0,
	  0 },
	{ PROT_SMTP_MAX_BAD_COMMANDS, REG_SVC_SMTP, "max_bad_commands",
	  "smtp.max_bad_commands", "SMTP Policy Violation",
	  "Too many bad commands", ACT_PREVENT, 10, 0, REG_K_LIMIT },
};

/* The table entry of a protection. */
const struct reg_prot *
reg_get(enum prot_id id)
{
	return &reg_table[id];
}

/* Find a protection by service and configuration title. */
int
reg_lookup(enum reg_service svc, const char *name)
{
	int	 i;

	for (i = 0; i < PROT_COUNT; i++)
		if (reg_table[i].service == svc &&
		    strcmp(reg_table[i].name, name) == 0)
			return i;
	return -1;
}

/* Service name as logged. */
const char *
reg_service_name(enum reg_service svc)
{
	return svc == REG_SVC_POP3 ? "pop3" : "smtp";
}

/* Action name as configured and logged. */
const char *
reg_action_name(enum pol_action a)
{
	switch (a) {
	case ACT_PREVENT:
		return "prevent";
	case ACT_DETECT:
		return "detect";
	default:
		return "off";
	}
}
