/* mod_push_config_rec.h — the configuration's records, shared by the two
 * files that make them: mod_push_config.c (creating and merging them, and
 * the values they mean) and mod_push_directives.c (reading httpd.conf
 * into them).  Not for other files: the rest of the module asks
 * mod_push_config.h's accessors. */
#ifndef MOD_PUSH_CONFIG_REC_H
#define MOD_PUSH_CONFIG_REC_H

#include "httpd.h"
#include "ap_expr.h"

#include "mod_push_config.h"

#define PUSH_DEFAULT_SHM_SIZE (32 * 1024 * 1024)

/* PushFirstMessage: unset, or a position (see push_conf_first_message). */
#define PUSH_FIRST_UNSET INT64_MIN

typedef struct {
    const char *store;                 /* PushStore; NULL: unset */
    apr_size_t shm_size;               /* 0: unset */
    int        subscribers_per_child;  /* -1: unset, 0: derived */
    int        max_channels;           /* 0: unset (as many as fit) */
    struct push_redis_url_s *redis;    /* PushRedis' URLs; NULL: none */
    unsigned   redis_n;                /* ... how many */
    int        redis_timeout_ms;       /* PushRedisTimeout; 0: unset */
    const char *redis_prefix;          /* PushRedisPrefix; NULL: unset */
    /* PushRedisTLS*: for rediss:// URLs (NULL, -1: unset). */
    const char *redis_tls_ca_file;
    const char *redis_tls_ca_path;
    const char *redis_tls_cert_file;
    const char *redis_tls_key_file;
    const char *redis_tls_server_name;
    int        redis_tls_verify;
} push_server_conf;

struct push_dir_conf {
    /* The URL path of the most specific section that applies (a
     * <Location>'s, without a trailing slash), or NULL: the default
     * channel is the one segment below it. */
    const char         *section;
    /* PushChannel and a push-pubsub location's PushPublisherChannel,
     * PushSubscriberChannel: arrays of ap_expr_info_t *, one for each
     * channel of a multiplexed location. */
    apr_array_header_t *channel;
    apr_array_header_t *pub_channel;
    apr_array_header_t *sub_channel;
    const char         *channel_split;   /* PushChannelSplit */
    ap_expr_info_t     *events_channel;  /* PushChannelEventsChannel */
    ap_expr_info_t     *authorize;       /* PushAuthorizeRequest */
    ap_expr_info_t     *arrive;          /* PushSubscribeRequest */
    ap_expr_info_t     *leave;           /* PushUnsubscribeRequest */
    ap_expr_info_t     *upstream;        /* PushPublisherUpstreamRequest */
    unsigned            transports;      /* 1 << transport id; 0: unset */
    apr_int64_t         buffer_length;
    apr_int64_t         message_timeout;
    apr_off_t           max_message_size;
    apr_off_t           backlog;
    apr_int64_t         longpoll_timeout;
    apr_int64_t         subscriber_timeout;   /* PushSubscriberTimeout */
    apr_int64_t         ping_interval;
    apr_int64_t         first_message;
    apr_array_header_t *allow_origins;   /* of const char * */
    int                 ws_publish;
    int                 ws_deflate;
    apr_int64_t         max_channel_subscribers;   /* 0: no limit */
    apr_int64_t         max_channel_id;  /* PushMaxChannelIdLength */
    int                 info_text;       /* PushChannelInfoFormat text */
    const char         *raw_separator;   /* PushRawStreamSeparator */
    apr_uint32_t        raw_tag;         /*   its frame-cache tag */
    const char         *es_event;        /* PushEventSourceEvent */
    apr_uint32_t        es_event_tag;    /*   its frame-cache tag */
    const char         *es_ping_event;   /* PushEventSourcePing event */
    const char         *es_ping_data;
    int                 existing_only;
    int                 x_accel;         /* PushXAccelRedirect */
    int                 lp_multi;        /* PushLongPollMultipart */
    /* PushWebSocketClientHeartbeat: hb_in NULL with hb_set is "Off". */
    int                 hb_set;
    const char         *hb_in, *hb_out;
};

#endif
