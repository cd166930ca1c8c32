/* test_channel_info.c — a publisher's answer about a channel
 * (lib/push_channel_info.c): which format an Accept header picks, as
 * nchan picks it, and each format's words, as nchan writes them. */
#include <string.h>

#include "lib/push_channel_info.h"
#include "check.h"

static push_info_format_e fmt(const char *accept, int *text_json)
{
    int dummy;

    return push_info_format(accept, text_json ? text_json : &dummy);
}

static void test_format(void)
{
    int tj;

    CHECK_EQ(fmt(NULL, NULL), PUSH_INFO_NONE);
    CHECK_EQ(fmt("*/*", NULL), PUSH_INFO_NONE);
    CHECK_EQ(fmt("", NULL), PUSH_INFO_NONE);
    CHECK_EQ(fmt("text/html", NULL), PUSH_INFO_NONE);
    CHECK_EQ(fmt("text/plain", NULL), PUSH_INFO_TEXT);
    CHECK_EQ(fmt("application/json", &tj), PUSH_INFO_JSON);
    CHECK_EQ(tj, 0);
    CHECK_EQ(fmt("text/json", &tj), PUSH_INFO_JSON);
    CHECK_EQ(tj, 1);
    CHECK_EQ(fmt("application/x-json", NULL), PUSH_INFO_JSON);
    CHECK_EQ(fmt("text/yaml", NULL), PUSH_INFO_YAML);
    CHECK_EQ(fmt("application/x-yaml", NULL), PUSH_INFO_YAML);
    CHECK_EQ(fmt("text/xml", NULL), PUSH_INFO_XML);
    CHECK_EQ(fmt("Application/JSON", NULL), PUSH_INFO_JSON);
    /* The first element that names one, as nchan reads a browser's. */
    CHECK_EQ(fmt("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                 NULL), PUSH_INFO_XML);
    CHECK_EQ(fmt("text/html, text/plain;q=0.5, application/json", NULL),
             PUSH_INFO_TEXT);
    CHECK_EQ(fmt("image/png, application/yaml", NULL), PUSH_INFO_YAML);
    CHECK_EQ(fmt("text/", NULL), PUSH_INFO_NONE);
    CHECK_EQ(fmt("application/jso", NULL), PUSH_INFO_NONE);
    CHECK_EQ(fmt(",,,text/plain", NULL), PUSH_INFO_TEXT);
    CHECK(!strcmp(push_info_content_type(PUSH_INFO_TEXT, 0), "text/plain"));
    CHECK(!strcmp(push_info_content_type(PUSH_INFO_JSON, 1), "text/json"));
    CHECK(!strcmp(push_info_content_type(PUSH_INFO_JSON, 0), "application/json"));
    CHECK(!strcmp(push_info_content_type(PUSH_INFO_YAML, 0), "text/yaml"));
    CHECK(!strcmp(push_info_content_type(PUSH_INFO_XML, 0), "text/xml"));
}

static void test_render(void)
{
    push_info_t in = { "room7", 3, 2, 57, "1795494624:1" };
    char buf[512];

    CHECK(push_info_render(buf, sizeof(buf), PUSH_INFO_TEXT, &in) > 0);
    CHECK(!strcmp(buf, "queued messages: 3\r\nlast requested: 57 sec. ago\r\n"
                       "active subscribers: 2\r\nlast message id: 1795494624:1"));
    CHECK(push_info_render(buf, sizeof(buf), PUSH_INFO_JSON, &in) > 0);
    CHECK(!strcmp(buf, "{\"channel\":\"room7\",\"messages\":3,\"requested\":57,"
                       "\"subscribers\":2,\"last_message_id\":\"1795494624:1\"}\n"));
    CHECK(push_info_render(buf, sizeof(buf), PUSH_INFO_YAML, &in) > 0);
    CHECK(!strcmp(buf, "---\r\nmessages: 3\r\nrequested: 57\r\nsubscribers: 2\r\n"
                       "last_message_id: \"1795494624:1\"\r\n\r\n"));
    CHECK(push_info_render(buf, sizeof(buf), PUSH_INFO_XML, &in) > 0);
    CHECK(!strcmp(buf, "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\r\n<channel>\r\n"
                       "  <messages>3</messages>\r\n  <requested>57</requested>\r\n"
                       "  <subscribers>2</subscribers>\r\n"
                       "  <last_message_id>1795494624:1</last_message_id>\r\n</channel>"));
    in.requested = -1;
    CHECK(push_info_render(buf, sizeof(buf), PUSH_INFO_TEXT, &in) > 0);
    CHECK(strstr(buf, "last requested: -1 sec. ago") != NULL);
    /* Too small a buffer: nothing, not a cut answer. */
    CHECK_EQ(push_info_render(buf, 10, PUSH_INFO_XML, &in), 0);

    /* Any id nchan takes is valid JSON here: quotes and backslashes
     * escaped, UTF-8 as it is. */
    in.channel = "say \"hi\" \\ caf\xc3\xa9/in:42";
    CHECK(push_info_render(buf, sizeof(buf), PUSH_INFO_JSON, &in) > 0);
    {
        const char *want = "{\"channel\":\"say \\\"hi\\\" \\\\ caf\xc3\xa9/in:42\",";

        CHECK(!strncmp(buf, want, strlen(want)));
    }
    /* The longest id, all quotes, fits PUSH_INFO_MAX. */
    {
        static char id[1025], big[PUSH_INFO_MAX];

        memset(id, '"', 1024);
        in.channel = id;
        CHECK(push_info_render(big, sizeof(big), PUSH_INFO_JSON, &in) > 2048);
    }
}

int main(void)
{
    test_format();
    test_render();
    return CHECK_DONE("test_channel_info");
}
