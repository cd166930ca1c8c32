/* mod_push_transport.c — the registry of transports.
 *
 * Each transport file registers its table as an httpd provider (group
 * "push_transport", named by its PushTransports keyword), so adding a
 * transport is one file: the directive, the dispatch and push-status
 * find it here. */
#include <stdlib.h>

#include "apr_strings.h"

#include "httpd.h"
#include "http_config.h"
#include "ap_provider.h"

#include "mod_push.h"
#include "mod_push_transport.h"

#define PUSH_TRANSPORT_GROUP   "push_transport"
#define PUSH_TRANSPORT_VERSION "0"

/* This generation's lists (post_config). */
static const push_transport_t  *by_id[PUSH_TRANSPORTS_MAX];
static const push_transport_t **by_precedence;
static unsigned                 default_bits;

void push_transport_register(apr_pool_t *p, const push_transport_t *t)
{
    ap_register_provider(p, PUSH_TRANSPORT_GROUP, t->name,
                         PUSH_TRANSPORT_VERSION, t);
}

const push_transport_t *push_transport_find(apr_pool_t *p, const char *name)
{
    char *lower = apr_pstrdup(p, name);

    ap_str_tolower(lower);
    return ap_lookup_provider(PUSH_TRANSPORT_GROUP, lower,
                              PUSH_TRANSPORT_VERSION);
}

/* The registered tables in p, in id order; *n of them. */
static const push_transport_t **registered(apr_pool_t *p, int *n)
{
    apr_array_header_t *names = ap_list_provider_names(
        p, PUSH_TRANSPORT_GROUP, PUSH_TRANSPORT_VERSION);
    const push_transport_t **all, *ids[PUSH_TRANSPORTS_MAX] = { NULL };
    int i, k = 0;

    for (i = 0; names && i < names->nelts; i++) {
        const push_transport_t *t = ap_lookup_provider(
            PUSH_TRANSPORT_GROUP,
            APR_ARRAY_IDX(names, i, ap_list_provider_names_t)
                .provider_name,
            PUSH_TRANSPORT_VERSION);

        if (t && t->id < PUSH_TRANSPORTS_MAX) {
            ids[t->id] = t;
        }
    }
    all = apr_pcalloc(p, sizeof(*all) * (PUSH_TRANSPORTS_MAX + 1));
    for (i = 0; i < PUSH_TRANSPORTS_MAX; i++) {
        if (ids[i]) {
            all[k++] = ids[i];
        }
    }
    *n = k;
    return all;
}

const char *push_transport_names(apr_pool_t *p)
{
    int i, n;
    const push_transport_t **all = registered(p, &n);
    const char *list = "";

    for (i = 0; i < n; i++) {
        list = apr_pstrcat(p, list, i ? " " : "", all[i]->name, NULL);
    }
    return list;
}

static int by_precedence_cmp(const void *a, const void *b)
{
    const push_transport_t *x = *(const push_transport_t *const *)a;
    const push_transport_t *y = *(const push_transport_t *const *)b;

    return x->precedence - y->precedence;
}

void push_transports_setup(apr_pool_t *pconf)
{
    int i, n;
    const push_transport_t **all = registered(pconf, &n);

    default_bits = 0;
    for (i = 0; i < PUSH_TRANSPORTS_MAX; i++) {
        by_id[i] = NULL;
    }
    for (i = 0; i < n; i++) {
        by_id[all[i]->id] = all[i];
        if (all[i]->flags & PUSH_T_DEFAULT) {
            default_bits |= 1u << all[i]->id;
        }
    }
    qsort(all, (size_t)n, sizeof(*all), by_precedence_cmp);
    by_precedence = all;
}

const push_transport_t *const *push_transports(void)
{
    return by_precedence;
}

const push_transport_t *push_transport_by_id(unsigned id)
{
    return id < PUSH_TRANSPORTS_MAX ? by_id[id] : NULL;
}

unsigned push_transports_default(void)
{
    return default_bits;
}
