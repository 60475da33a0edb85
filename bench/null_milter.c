/* SPDX-License-Identifier: ISC */
/*
 * null_milter.c: the benchmark's two baselines, milters that inspect
 * nothing and accept everything.  "-m all" registers every callback with
 * libmilter's defaults (every event, every reply awaited): the ceiling for
 * a milter that sees everything.  "-m same" registers exactly the
 * callbacks and asks for exactly the protocol steps, no-reply flags and
 * macros that mailwarden-milter asks for under a configuration (-c, else
 * the defaults): the ceiling for what mailwarden-milter does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "mlt_filter.h"
#include "policy.h"

static struct policy	*nm_pol;	/* policy of "-m same" */
static int		 nm_same;	/* "-m same": set before smfi_main */

/* Every event: nothing to say. */
static sfsistat
nm_connect_cb(SMFICTX *ctx, char *host, struct sockaddr *sa)
{
	/* Mirror mailwarden-milter: a per-connection context. */
	void	*c = calloc(1, 64);

	smfi_setpriv(ctx, c);
	/* mailwarden-milter always asks SMFIP_NR_CONN */
	return nm_same ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* HELO: nothing. */
static sfsistat
nm_helo_cb(SMFICTX *ctx, char *name)
{
	return SMFIS_CONTINUE;
}

/* MAIL, RCPT: nothing. */
static sfsistat
nm_env_cb(SMFICTX *ctx, char **argv)
{
	return SMFIS_CONTINUE;
}

/* Header: nothing. */
static sfsistat
nm_header_cb(SMFICTX *ctx, char *name, char *value)
{
	return SMFIS_CONTINUE;
}

/* EOH, EOM, abort, DATA: nothing. */
static sfsistat
nm_void_cb(SMFICTX *ctx)
{
	return SMFIS_CONTINUE;
}

/* Body chunk: nothing. */
static sfsistat
nm_body_cb(SMFICTX *ctx, unsigned char *buf, size_t len)
{
	return SMFIS_CONTINUE;
}

/* Unknown command: nothing. */
static sfsistat
nm_unknown_cb(SMFICTX *ctx, const char *cmd)
{
	return SMFIS_CONTINUE;
}

/* Close: free the context. */
static sfsistat
nm_close_cb(SMFICTX *ctx)
{
	free(smfi_getpriv(ctx));
	smfi_setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}

/* "-m same": mailwarden-milter's own negotiation. */
static sfsistat
nm_negotiate_cb(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	mlt_filter_flags(nm_pol, f0, f1, pf0, pf1);
	*pf2 = 0;
	*pf3 = 0;
	mlt_filter_symlist(ctx, f0);
	return SMFIS_CONTINUE;
}

/* Options, registration, then libmilter until SIGTERM. */
int
main(int argc, char **argv)
{
	struct smfiDesc	 d;
	const char	*sock = NULL, *mode = "all", *conf = NULL;
	int		 ch;

	while ((ch = getopt(argc, argv, "c:m:p:")) != -1) {
		switch (ch) {
		case 'c':
			conf = optarg;
			break;
		case 'm':
			mode = optarg;
			break;
		case 'p':
			sock = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (sock == NULL || (strcmp(mode, "all") != 0 &&
	    strcmp(mode, "same") != 0))
		goto usage;
	memset(&d, 0, sizeof(d));
	d.xxfi_name = "null-milter";
	d.xxfi_version = SMFI_VERSION;
	d.xxfi_connect = nm_connect_cb;
	d.xxfi_helo = nm_helo_cb;
	d.xxfi_envfrom = nm_env_cb;
	d.xxfi_envrcpt = nm_env_cb;
	d.xxfi_eom = nm_void_cb;
	d.xxfi_abort = nm_void_cb;
	d.xxfi_close = nm_close_cb;
	d.xxfi_unknown = nm_unknown_cb;
	if (strcmp(mode, "all") == 0) {
		d.xxfi_header = nm_header_cb;
		d.xxfi_eoh = nm_void_cb;
		d.xxfi_body = nm_body_cb;
		d.xxfi_data = nm_void_cb;
	} else {
		nm_same = 1;
		nm_pol = conf != NULL ? pol_load(conf, stderr) : pol_defaults();
		if (nm_pol == NULL)
			return 1;
		d.xxfi_flags = SMFIF_ADDHDRS | SMFIF_SETSYMLIST;
		d.xxfi_negotiate = nm_negotiate_cb;
	}
	if (smfi_setconn((char *)sock) == MI_FAILURE ||
	    smfi_register(d) == MI_FAILURE || smfi_opensocket(true) ==
	    MI_FAILURE) {
		fprintf(stderr, "null_milter: cannot listen on %s\n", sock);
		return 1;
	}
	return smfi_main() == MI_SUCCESS ? 0 : 1;
usage:
	fprintf(stderr, "usage: null_milter -p socket [-m all|same] "
	    "[-c conf]\n");
	return 1;
}
