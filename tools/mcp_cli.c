/* SPDX-License-Identifier: ISC */
/*
 * mcp_cli.c: mailwarden-mcp, the Malicious Code Protector on the command
 * line (SPEC section 5): one verdict line per record of the input files.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mcp.h"
#include "policy.h"

/* A record is judged on at most this many bytes; the rest is skipped. */
#define CLI_RECORD_MAX	(1024 * 1024)

/* Reading state shared by every file. */
struct cli {
	enum mcp_sensitivity	 sens;		/* -s */
	int			 delim;		/* '\n', or '\0' with -0 */
	unsigned char		*rec;		/* the record being read */
	size_t			 len;		/* its length so far */
	int			 over;		/* it passed CLI_RECORD_MAX */
	unsigned long		 nrec;		/* records judged */
};

/* Print usage to f. */
static void
cli_usage(FILE *f)
{
	fprintf(f, "usage: mailwarden-mcp [-s low|medium|high] [-0] "
	    "[FILE...]\n"
	    "  Judges each record (a line, or NUL-separated with -0) and "
	    "prints\n  \"clean\" or \"malicious <reason>\" for it.  Records "
	    "longer than %d bytes\n  are judged on their first %d bytes.\n",
	    CLI_RECORD_MAX, CLI_RECORD_MAX);
}

/* Judge the record read so far and print its verdict. */
static void
cli_judge(struct cli *c)
{
	char	 reason[MCP_REASON_MAX];
	size_t	 n = c->len;

	c->nrec++;
	if (c->delim == '\n' && n > 0 && c->rec[n - 1] == '\r')
		n--;
	if (c->over)
		fprintf(stderr, "mailwarden-mcp: record %lu longer than %d "
		    "bytes, judged on its first %d\n", c->nrec,
		    CLI_RECORD_MAX, CLI_RECORD_MAX);
	if (mcp_scan_arg(c->rec, n, c->sens, reason))
		printf("malicious %s\n", reason);
	else
		printf("clean\n");
	c->len = 0;
	c->over = 0;
}

/* Split one file into records; 0, or -1 on a read error. */
static int
cli_file(struct cli *c, FILE *f)
{
	unsigned char	 buf[65536], *d;
	size_t		 n, off, take;

	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		for (off = 0; off < n; off += take) {
			d = memchr(buf + off, c->delim, n - off);
			take = (d != NULL ? (size_t)(d - buf) : n) - off;
			if (c->len + take > CLI_RECORD_MAX) {
				memcpy(c->rec + c->len, buf + off,
				    CLI_RECORD_MAX - c->len);
				c->len = CLI_RECORD_MAX;
				c->over = 1;
			} else {
				memcpy(c->rec + c->len, buf + off, take);
				c->len += take;
			}
			if (d != NULL) {
				cli_judge(c);
				take++;
			}
		}
	}
	if (ferror(f))
		return -1;
	if (c->len > 0 || c->over)
		cli_judge(c);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct cli	 c = { .sens = MCP_MEDIUM, .delim = '\n' };
	FILE		*f;
	int		 ch, i, rc = 0, sens;

	while ((ch = getopt(argc, argv, "0hs:")) != -1) {
		switch (ch) {
		case '0':
			c.delim = '\0';
			break;
		case 's':
			if ((sens = pol_sensitivity_parse(optarg)) == -1) {
				fprintf(stderr, "mailwarden-mcp: bad "
				    "sensitivity \"%s\" (low, medium, high)\n",
				    optarg);
				return 1;
			}
			c.sens = (enum mcp_sensitivity)sens;
			break;
		case 'h':
			cli_usage(stdout);
			return 0;
		default:
			cli_usage(stderr);
			return 1;
		}
	}
	if (mcp_init() == -1) {
		fprintf(stderr, "mailwarden-mcp: capstone unusable\n");
		return 1;
	}
	if ((c.rec = malloc(CLI_RECORD_MAX)) == NULL) {
		fprintf(stderr, "mailwarden-mcp: out of memory\n");
		return 1;
	}
	if (optind == argc && cli_file(&c, stdin) == -1) {
		fprintf(stderr, "mailwarden-mcp: stdin: %s\n", strerror(errno));
		rc = 1;
	}
	for (i = optind; i < argc; i++) {
		if (strcmp(argv[i], "-") == 0)
			f = stdin;
		else if ((f = fopen(argv[i], "rb")) == NULL) {
			fprintf(stderr, "mailwarden-mcp: %s: %s\n", argv[i],
			    strerror(errno));
			rc = 1;
			continue;
		}
		if (cli_file(&c, f) == -1) {
			fprintf(stderr, "mailwarden-mcp: %s: %s\n", argv[i],
			    strerror(errno));
			rc = 1;
		}
		if (f != stdin)
			fclose(f);
	}
	if (fflush(stdout) == EOF)
		rc = 1;
	free(c.rec);
	return rc;
}
