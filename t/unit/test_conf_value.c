/* test_conf_value.c — the directive value grammars (lib/push_conf_value.c):
 * what each accepts, what it refuses, and the edges of its range. */
#include <stdint.h>

#include "lib/push_conf_value.h"
#include "check.h"

static void test_size(void)
{
    CHECK_EQ(push_parse_size("0"), 0);
    CHECK_EQ(push_parse_size("64"), 64);
    CHECK_EQ(push_parse_size("64K"), 65536);
    CHECK_EQ(push_parse_size("64k"), 65536);
    CHECK_EQ(push_parse_size("64KB"), 65536);
    CHECK_EQ(push_parse_size("64kb"), 65536);
    CHECK_EQ(push_parse_size("1M"), 1048576);
    CHECK_EQ(push_parse_size("2g"), INT64_C(2) << 30);
    CHECK_EQ(push_parse_size("512B"), 512);
    CHECK_EQ(push_parse_size("007"), 7);
    CHECK_EQ(push_parse_size("9223372036854775807"), INT64_MAX);
    CHECK_EQ(push_parse_size("8589934591G"), INT64_C(8589934591) << 30);

    CHECK_EQ(push_parse_size(""), -1);
    CHECK_EQ(push_parse_size("K"), -1);
    CHECK_EQ(push_parse_size("-1"), -1);
    CHECK_EQ(push_parse_size("+1"), -1);
    CHECK_EQ(push_parse_size(" 1"), -1);
    CHECK_EQ(push_parse_size("1 "), -1);
    CHECK_EQ(push_parse_size("1T"), -1);
    CHECK_EQ(push_parse_size("1KK"), -1);
    CHECK_EQ(push_parse_size("1BK"), -1);
    CHECK_EQ(push_parse_size("1.5M"), -1);
    CHECK_EQ(push_parse_size("0x10"), -1);
    CHECK_EQ(push_parse_size("9223372036854775808"), -1);
    CHECK_EQ(push_parse_size("8589934592G"), -1);
    CHECK_EQ(push_parse_size("99999999999999999999999"), -1);
}

static void test_seconds(void)
{
    CHECK_EQ(push_parse_seconds("0", 0, 100), 0);
    CHECK_EQ(push_parse_seconds("90", 0, 100), 90);
    CHECK_EQ(push_parse_seconds("30s", 0, 100), 30);
    CHECK_EQ(push_parse_seconds("5m", 0, 86400), 300);
    CHECK_EQ(push_parse_seconds("1h", 0, 86400), 3600);
    CHECK_EQ(push_parse_seconds("1h30m", 0, 86400), 5400);
    CHECK_EQ(push_parse_seconds("2d12h", 0, INT64_MAX), 216000);
    CHECK_EQ(push_parse_seconds("1w1d1h1m1s", 0, INT64_MAX), 694861);
    CHECK_EQ(push_parse_seconds("0m", 0, 10), 0);
    /* out of range, malformed */
    CHECK_EQ(push_parse_seconds("2m", 0, 100), -1);
    CHECK_EQ(push_parse_seconds("0", 1, 100), -1);
    CHECK_EQ(push_parse_seconds("", 0, 100), -1);
    CHECK_EQ(push_parse_seconds("m", 0, 100), -1);
    CHECK_EQ(push_parse_seconds("30m1h", 0, 86400), -1);
    CHECK_EQ(push_parse_seconds("1m1m", 0, 86400), -1);
    CHECK_EQ(push_parse_seconds("5 m", 0, 86400), -1);
    CHECK_EQ(push_parse_seconds("5M", 0, 86400), -1);
    CHECK_EQ(push_parse_seconds("5m3", 0, 86400), -1);
    CHECK_EQ(push_parse_seconds("-5m", 0, 86400), -1);
    CHECK_EQ(push_parse_seconds("1ms", 0, 86400), -1);
    CHECK_EQ(push_parse_seconds("15250284452472w", 0, INT64_MAX), -1);
    CHECK_EQ(push_parse_seconds("15250284452471w1s", 0, INT64_MAX), INT64_C(9223372036854460801));
    CHECK_EQ(push_parse_seconds("15250284452471w6d", 0, INT64_MAX), -1);
    CHECK_EQ(push_parse_seconds("9223372036854775807", 0, INT64_MAX), INT64_MAX);
    CHECK_EQ(push_parse_seconds("9223372036854775807s", 0, INT64_MAX), INT64_MAX);
}

static void test_count(void)
{
    CHECK_EQ(push_parse_count("0", 0, 10), 0);
    CHECK_EQ(push_parse_count("10", 0, 10), 10);
    CHECK_EQ(push_parse_count("1", 1, 1), 1);
    CHECK_EQ(push_parse_count("0010", 0, 10), 10);
    CHECK_EQ(push_parse_count("9223372036854775807", 0, INT64_MAX), INT64_MAX);

    CHECK_EQ(push_parse_count("11", 0, 10), -1);
    CHECK_EQ(push_parse_count("0", 1, 10), -1);
    CHECK_EQ(push_parse_count("", 0, 10), -1);
    CHECK_EQ(push_parse_count("-0", 0, 10), -1);
    CHECK_EQ(push_parse_count("1K", 0, 10000), -1);
    CHECK_EQ(push_parse_count("5 ", 0, 10), -1);
    CHECK_EQ(push_parse_count("9223372036854775808", 0, INT64_MAX), -1);
}

static void test_origin(void)
{
    CHECK(push_origin_valid("*"));
    CHECK(push_origin_valid("https://example.com"));
    CHECK(push_origin_valid("http://localhost:8080"));
    CHECK(push_origin_valid("https://app.example"));
    CHECK(push_origin_valid("http://127.0.0.1:1"));
    CHECK(push_origin_valid("http://[::1]:65535"));
    CHECK(push_origin_valid("chrome-extension://abcdef"));
    CHECK(push_origin_valid("coap+tcp://h"));

    CHECK(!push_origin_valid(""));
    CHECK(!push_origin_valid("**"));
    CHECK(!push_origin_valid("example.com"));
    CHECK(!push_origin_valid("https://"));
    CHECK(!push_origin_valid("https://example.com/"));
    CHECK(!push_origin_valid("https://example.com/app"));
    CHECK(!push_origin_valid("https://example.com?x"));
    CHECK(!push_origin_valid("https://user@example.com"));
    CHECK(!push_origin_valid("https://example.com:"));
    CHECK(!push_origin_valid("https://example.com:0"));
    CHECK(!push_origin_valid("https://example.com:65536"));
    CHECK(!push_origin_valid("https://example.com:80x"));
    CHECK(!push_origin_valid("https://.example.com"));
    CHECK(!push_origin_valid("https://[]"));
    CHECK(!push_origin_valid("https://[::1"));
    CHECK(!push_origin_valid("1http://example.com"));
    CHECK(!push_origin_valid("http:/example.com"));
    CHECK(!push_origin_valid("http://exa mple.com"));
}

int main(void)
{
    test_size();
    test_count();
    test_seconds();
    test_origin();
    return CHECK_DONE("test_conf_value");
}
