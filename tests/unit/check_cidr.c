/* SPDX-License-Identifier: ISC */
/*
 * check_cidr.c: network sets: parsing, /0 /32 /128 edges, v4-mapped IPv6.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"

/* Build a sockaddr for a numeric address of either family. */
static void
make_sa(const char *addr, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(addr, ':') != NULL) {
		struct sockaddr_in6 *s6 = (void *)ss;

		s6->sin6_family = AF_INET6;
		ck_assert_int_eq(inet_pton(AF_INET6, addr, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (void *)ss;

		s4->sin_family = AF_INET;
		ck_assert_int_eq(inet_pton(AF_INET, addr, &s4->sin_addr), 1);
	}
}

static const struct {
	const char	*net;		/* set of one network */
	const char	*addr;		/* client */
	bool		 want;		/* contained */
} match_cases[] = {
	{ "0.0.0.0/0", "203.0.113.5", true },
	{ "0.0.0.0/0", "::ffff:203.0.113.5", true },
	{ "0.0.0.0/0", "2001:db8::1", false },
	{ "::/0", "2001:db8::1", true },
	{ "::/0", "10.1.2.3", true },
	{ "10.0.0.0/8", "10.255.255.255", true },
	{ "10.0.0.0/8", "11.0.0.0", false },
	{ "10.0.0.0/8", "::ffff:10.9.8.7", true },
	{ "10.0.0.0/8", "::10.9.8.7", false },
	{ "192.0.2.7/32", "192.0.2.7", true },
	{ "192.0.2.7/32", "192.0.2.8", false },
	{ "192.0.2.7", "192.0.2.7", true },
	{ "192.0.2.0/25", "192.0.2.127", true },
	{ "192.0.2.0/25", "192.0.2.128", false },
	{ "192.0.2.77/24", "192.0.2.1", true },
	{ "2001:db8::1/128", "2001:db8::1", true },
	{ "2001:db8::1/128", "2001:db8::2", false },
	{ "2001:db8::/32", "2001:db8:ffff::1", true },
	{ "2001:db8::/32", "2001:db9::1", false },
	{ "fe80::/10", "febf::1", true },
	{ "fe80::/10", "fec0::1", false },
	{ "::ffff:10.0.0.0/104", "10.2.3.4", true },
	{ "::1", "::1", true },
	{ "::1", "127.0.0.1", false },
};

START_TEST(test_match)
{
	struct cidr_set		 set = { NULL, 0 };
	struct cidr		 c;
	struct sockaddr_storage	 ss;

	ck_assert_int_eq(cidr_parse(match_cases[_i].net, &c), 0);
	ck_assert_int_eq(cidr_set_add(&set, &c), 0);
	make_sa(match_cases[_i].addr, &ss);
	ck_assert_msg(cidr_set_contains(&set, (struct sockaddr *)&ss) ==
	    match_cases[_i].want, "%s in %s", match_cases[_i].addr,
	    match_cases[_i].net);
	cidr_set_free(&set);
}
END_TEST

static const char *const bad_nets[] = {
	"", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/08",
	"10.0.0", "10.0.0.256", "1.2.3.4/8/8", "2001:db8::/129", "::/x",
	"2001:db8:::1", "host.example", "10.0.0.0 /8", "/8", "1.2.3.4/ 8",
	"1.2.3.4/99999999999999999999",
};

START_TEST(test_bad)
{
	struct cidr	 c;

	ck_assert_msg(cidr_parse(bad_nets[_i], &c) == -1, "'%s' accepted",
	    bad_nets[_i]);
}
END_TEST

/* An empty set holds nothing; a non-IP family is never contained. */
START_TEST(test_empty_and_family)
{
	struct cidr_set		 set = { NULL, 0 };
	struct cidr		 c;
	struct sockaddr_storage	 ss;

	make_sa("10.0.0.1", &ss);
	ck_assert(!cidr_set_contains(&set, (struct sockaddr *)&ss));
	ck_assert_int_eq(cidr_parse("0.0.0.0/0", &c), 0);
	cidr_set_add(&set, &c);
	ss.ss_family = AF_UNIX;
	ck_assert(!cidr_set_contains(&set, (struct sockaddr *)&ss));
	ck_assert(!cidr_set_contains(&set, NULL));
	cidr_set_free(&set);
}
END_TEST

/* Many networks: the match is found wherever it sits. */
START_TEST(test_many)
{
	struct cidr_set		 set = { NULL, 0 };
	struct cidr		 c;
	struct sockaddr_storage	 ss;
	char			 net[32];
	int			 i;

	for (i = 0; i < 200; i++) {
		snprintf(net, sizeof(net), "10.%d.0.0/16", i);
		ck_assert_int_eq(cidr_parse(net, &c), 0);
		ck_assert_int_eq(cidr_set_add(&set, &c), 0);
	}
	make_sa("10.199.3.4", &ss);
	ck_assert(cidr_set_contains(&set, (struct sockaddr *)&ss));
	make_sa("10.200.3.4", &ss);
	ck_assert(!cidr_set_contains(&set, (struct sockaddr *)&ss));
	cidr_set_free(&set);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("cidr");
	TCase	*tc = tcase_create("cidr");
	SRunner	*sr;
	int	 nf;

	tcase_add_loop_test(tc, test_match, 0,
	    sizeof(match_cases) / sizeof(match_cases[0]));
	tcase_add_loop_test(tc, test_bad, 0,
	    sizeof(bad_nets) / sizeof(bad_nets[0]));
	tcase_add_test(tc, test_empty_and_family);
	tcase_add_test(tc, test_many);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
